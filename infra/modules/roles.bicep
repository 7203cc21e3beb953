// Roles of the app's identity, each at the narrowest scope its use allows, none at resource-group or subscription
// scope. Role definition ids are Azure's built-in ones.

@description('Principal (object) id of the app\'s identity.')
param principalId string

@description('Name of the app\'s identity (with the scope and role, the stable name of each assignment).')
param identityName string

@description('Name of the app\'s storage account.')
param storageAccountName string

@description('Name of the Key Vault.')
param keyVaultName string

@description('Name of the Application Insights component.')
param appInsightsName string

@description('Name of the Service Bus namespace, or empty when the app has none.')
param serviceBusNamespaceName string

@description('Service Bus queue of provisioning requests.')
param serviceBusProvisioningQueueName string

@description('Service Bus topic of fleet events.')
param serviceBusFleetEventsTopicName string

var roles = {
  storageBlobDataOwner: 'b7e6dc6d-f1e8-4753-8033-0f276bb0955b'
  storageQueueDataContributor: '974c5e8b-45b9-4653-ba55-5f855dd0fb88'
  storageTableDataContributor: '0a9a7e1f-b9d0-4cc4-a60d-0319b160aaa3'
  serviceBusDataReceiver: '4f6d3b9b-027b-4f4c-9142-0e5a2a2247e0'
  serviceBusDataSender: '69a216fc-b8fb-44d8-bc22-1f3c2cd27a39'
  keyVaultSecretsUser: '4633458b-17de-408a-b874-0445c86b69e6'
  monitoringMetricsPublisher: '3913510d-42f4-4e42-8a64-420c390055eb'
}
var withServiceBus = !empty(serviceBusNamespaceName)

resource storage 'Microsoft.Storage/storageAccounts@2025-06-01' existing = {
  name: storageAccountName
}

resource vault 'Microsoft.KeyVault/vaults@2025-05-01' existing = {
  name: keyVaultName
}

resource appInsights 'Microsoft.Insights/components@2020-02-02' existing = {
  name: appInsightsName
}

resource serviceBus 'Microsoft.ServiceBus/namespaces@2026-01-01' existing = if (withServiceBus) {
  name: withServiceBus ? serviceBusNamespaceName : 'none'
}

resource serviceBusProvisioningQueue 'Microsoft.ServiceBus/namespaces/queues@2026-01-01' existing = if (withServiceBus) {
  parent: serviceBus
  name: serviceBusProvisioningQueueName
}

resource serviceBusFleetEventsTopic 'Microsoft.ServiceBus/namespaces/topics@2026-01-01' existing = if (withServiceBus) {
  parent: serviceBus
  name: serviceBusFleetEventsTopicName
}

// The Functions host (AzureWebJobsStorage: host locks, timer schedule monitor and leases of ComplianceSweepTimer,
// poison records of ProvisioningQueue), the Durable Task hub of every orchestration and activity (partition leases
// and large payloads in blob containers it creates itself, hence the account scope), the Flex Consumption deployment
// package, the compliance reports written by WriteSweepReport and read by GetComplianceSweepReport, and the rate
// limiters' learned rates (container fleet-state, which the app creates).
resource storageBlobOwner 'Microsoft.Authorization/roleAssignments@2022-04-01' = {
  name: guid(storage.id, identityName, roles.storageBlobDataOwner)
  scope: storage
  properties: {
    principalId: principalId
    principalType: 'ServicePrincipal'
    roleDefinitionId: subscriptionResourceId('Microsoft.Authorization/roleDefinitions', roles.storageBlobDataOwner)
  }
}

// ProvisioningQueue (the storage queue trigger, and its poison queue) and the Durable Task hub's control and
// work-item queues, which the Azure Storage provider creates per task hub (hence the account scope).
resource storageQueueContributor 'Microsoft.Authorization/roleAssignments@2022-04-01' = {
  name: guid(storage.id, identityName, roles.storageQueueDataContributor)
  scope: storage
  properties: {
    principalId: principalId
    principalType: 'ServicePrincipal'
    roleDefinitionId: subscriptionResourceId('Microsoft.Authorization/roleDefinitions', roles.storageQueueDataContributor)
  }
}

// The Durable Task hub's History and Instances tables (every orchestration, the DurableClient of the HTTP and timer
// starters, and the Durable management API), created by the provider per task hub.
resource storageTableContributor 'Microsoft.Authorization/roleAssignments@2022-04-01' = {
  name: guid(storage.id, identityName, roles.storageTableDataContributor)
  scope: storage
  properties: {
    principalId: principalId
    principalType: 'ServicePrincipal'
    roleDefinitionId: subscriptionResourceId('Microsoft.Authorization/roleDefinitions', roles.storageTableDataContributor)
  }
}

// The Service Bus provisioning trigger: receive, complete, abandon and dead-letter on its queue only.
resource serviceBusReceiver 'Microsoft.Authorization/roleAssignments@2022-04-01' = if (withServiceBus) {
  name: guid(serviceBusProvisioningQueue.id, identityName, roles.serviceBusDataReceiver)
  scope: serviceBusProvisioningQueue
  properties: {
    principalId: principalId
    principalType: 'ServicePrincipal'
    roleDefinitionId: subscriptionResourceId('Microsoft.Authorization/roleDefinitions', roles.serviceBusDataReceiver)
  }
}

// Publishing fleet events (provisioning, sweep and rollout outcomes): send on the topic only.
resource serviceBusSender 'Microsoft.Authorization/roleAssignments@2022-04-01' = if (withServiceBus) {
  name: guid(serviceBusFleetEventsTopic.id, identityName, roles.serviceBusDataSender)
  scope: serviceBusFleetEventsTopic
  properties: {
    principalId: principalId
    principalType: 'ServicePrincipal'
    roleDefinitionId: subscriptionResourceId('Microsoft.Authorization/roleDefinitions', roles.serviceBusDataSender)
  }
}

// The platform resolves the app settings' Key Vault references (IoT Central API token, IoTConnect login) with this
// identity (keyVaultReferenceIdentity) before the app starts. Vault scope rather than per secret: the vault holds only
// this app's secrets, and an operator may add them after the deployment (a secret scope needs the secret to exist).
resource keyVaultSecretsUser 'Microsoft.Authorization/roleAssignments@2022-04-01' = {
  name: guid(vault.id, identityName, roles.keyVaultSecretsUser)
  scope: vault
  properties: {
    principalId: principalId
    principalType: 'ServicePrincipal'
    roleDefinitionId: subscriptionResourceId('Microsoft.Authorization/roleDefinitions', roles.keyVaultSecretsUser)
  }
}

// Telemetry of every function (host and worker logs, traces, metrics) sent with Entra ID, since the component has
// local authentication off.
resource metricsPublisher 'Microsoft.Authorization/roleAssignments@2022-04-01' = {
  name: guid(appInsights.id, identityName, roles.monitoringMetricsPublisher)
  scope: appInsights
  properties: {
    principalId: principalId
    principalType: 'ServicePrincipal'
    roleDefinitionId: subscriptionResourceId('Microsoft.Authorization/roleDefinitions', roles.monitoringMetricsPublisher)
  }
}
