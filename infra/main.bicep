// The Azure resources of the fleet automation app (src/Functions), deployed into one resource group:
// az deployment group create -g <group> -f infra/main.bicep -p infra/main.bicepparam (docs/deploy.md).
// Every connection is identity-based: no keys or connection strings with secrets exist anywhere in the template,
// its settings or its outputs.

metadata description = 'Fleet automation Function App (Flex Consumption, .NET isolated) with identity-based storage, Service Bus, Key Vault and Application Insights.'

@description('Short name of the environment, the start of every resource name: 2-9 lowercase letters and digits, starting with a letter.')
@minLength(2)
@maxLength(9)
param prefix string

@description('Azure region of every resource; default the resource group\'s. Must offer the Flex Consumption plan.')
param location string = resourceGroup().location

@description('Tags added to every resource.')
param tags object = {}

@description('Memory of each app instance, in MB (Flex Consumption sizes).')
@allowed([
  512
  2048
  4096
])
param instanceMemoryMB int = 2048

@description('Most instances the app scales out to.')
@minValue(1)
@maxValue(1000)
param maximumInstanceCount int = 100

@description('Replication of the storage account.')
@allowed([
  'Standard_LRS'
  'Standard_ZRS'
  'Standard_GRS'
  'Standard_RAGRS'
])
param storageSku string = 'Standard_LRS'

@description('Days Log Analytics keeps the app\'s logs.')
@minValue(30)
@maxValue(730)
param logRetentionInDays int = 30

@description('Storage queue of provisioning requests (Provisioning:Queue).')
param provisioningQueueName string = 'provisioning-requests'

@description('Tenant (id or name) for provisioning requests that name none (Provisioning:DefaultTenant); empty: such requests fail.')
param defaultTenant string = ''

@description('Blob container of the compliance reports (ComplianceSweep:ReportContainer).')
param reportContainerName string = 'compliance-reports'

@description('Six-field NCRONTAB schedule of the compliance sweep timer, in UTC (ComplianceSweep:Schedule).')
param complianceSchedule string = '0 0 2 * * *'

@description('What scheduled sweeps do (ComplianceSweep:Mode).')
@allowed([
  'report'
  'remediate'
])
param complianceMode string = 'report'

@description('The desired-state policy (docs/functions.md), stored as ComplianceSweep:Policy; empty: no scheduled sweeps until one is set.')
param compliancePolicy object = {}

@description('Base address of the Azure Sphere public API (Sphere:endpoint).')
param sphereEndpoint string = 'https://prod.core.sphere.azure.net/'

@description('An IoT Central application the app manages, or null for none.')
param iotCentral iotCentralApp?

@description('An Avnet IoTConnect solution the app manages, or null for none.')
param iotConnect iotConnectSolution?

@description('IoT Central API token (when iotCentral.authentication is apiToken), written to Key Vault; empty keeps the vault\'s.')
@secure()
param iotCentralApiToken string = ''

@description('IoTConnect user name, written to Key Vault; empty keeps the vault\'s.')
@secure()
param iotConnectUsername string = ''

@description('IoTConnect password, written to Key Vault; empty keeps the vault\'s.')
@secure()
param iotConnectPassword string = ''

@description('IoTConnect solution key, written to Key Vault; empty keeps the vault\'s.')
@secure()
param iotConnectSolutionKey string = ''

@description('Whether to create the Service Bus namespace (queue of provisioning requests, topic of fleet events).')
param serviceBus bool = true

@description('Service Bus queue of provisioning requests.')
param serviceBusProvisioningQueueName string = 'provisioning-requests'

@description('Service Bus topic of fleet events.')
param fleetEventsTopicName string = 'fleet-events'

@description('Whether Key Vault purge protection is on (recommended for production; it cannot be turned off later).')
param keyVaultPurgeProtection bool = true

@description('More app settings, e.g. tuning (Sphere__retry__maxRetries). Settings this template sets itself win over these.')
param additionalAppSettings object = {}

@description('An IoT Central application.')
type iotCentralApp = {
  @description('Application URL, https://<subdomain>.azureiotcentral.com/ (IoTCentral:endpoint).')
  appUrl: string

  @description('managedIdentity: Entra tokens of the app\'s identity (add it as an app user, docs/deploy.md); apiToken: an API token from Key Vault.')
  authentication: 'managedIdentity' | 'apiToken'
}

@description('An Avnet IoTConnect solution; its login (user name, password, solution key) comes from Key Vault.')
type iotConnectSolution = {
  @description('IoTConnect environment (IoTConnect:environment).')
  environment: 'poc' | 'prod' | 'avnet'

  @description('Cloud the solution runs on (IoTConnect:platform).')
  platform: 'az' | 'aws'
}

// Names: prefix, a type abbreviation and a hash of the resource group and prefix, within each type's rules
// (storage: 3-24 lowercase alphanumerics; Key Vault: 3-24; Service Bus: 6-50, not ending in -sb; the app: at most
// 32 so its host id, taken from the first 32 characters, is its own).
var suffix = uniqueString(resourceGroup().id, prefix)
var names = {
  identity: '${prefix}-id-${suffix}'
  storage: take('${prefix}st${suffix}', 24)
  workspace: '${prefix}-log-${suffix}'
  appInsights: '${prefix}-appi-${suffix}'
  keyVault: take('${prefix}-kv-${suffix}', 24)
  serviceBus: '${prefix}-bus-${suffix}'
  plan: '${prefix}-plan-${suffix}'
  functionApp: take('${prefix}-func-${suffix}', 32)
}
var deploymentContainerName = 'app-package'
var dotnetVersion = '10.0'
var secretNames = {
  iotCentralApiToken: 'iotcentral-api-token'
  iotConnectUsername: 'iotconnect-username'
  iotConnectPassword: 'iotconnect-password'
  iotConnectSolutionKey: 'iotconnect-solution-key'
}

module identity 'modules/identity.bicep' = {
  name: 'identity'
  params: {
    name: names.identity
    location: location
    tags: tags
  }
}

module monitoring 'modules/monitoring.bicep' = {
  name: 'monitoring'
  params: {
    workspaceName: names.workspace
    appInsightsName: names.appInsights
    location: location
    tags: tags
    retentionInDays: logRetentionInDays
  }
}

module storage 'modules/storage.bicep' = {
  name: 'storage'
  params: {
    name: names.storage
    location: location
    tags: tags
    skuName: storageSku
    deploymentContainerName: deploymentContainerName
    reportContainerName: reportContainerName
    provisioningQueueName: provisioningQueueName
  }
}

module keyVault 'modules/keyvault.bicep' = {
  name: 'keyvault'
  params: {
    name: names.keyVault
    location: location
    tags: tags
    purgeProtection: keyVaultPurgeProtection
    secretNames: secretNames
    iotCentralApiToken: iotCentralApiToken
    iotConnectUsername: iotConnectUsername
    iotConnectPassword: iotConnectPassword
    iotConnectSolutionKey: iotConnectSolutionKey
  }
}

module bus 'modules/servicebus.bicep' = if (serviceBus) {
  name: 'servicebus'
  params: {
    name: names.serviceBus
    location: location
    tags: tags
    provisioningQueueName: serviceBusProvisioningQueueName
    fleetEventsTopicName: fleetEventsTopicName
    maxDeliveryCount: 5
  }
}

// Names, not module outputs, so what-if can predict the assignments; the dependencies say what must exist first.
module roles 'modules/roles.bicep' = {
  name: 'roles'
  dependsOn: [
    storage
    keyVault
    monitoring
    bus
  ]
  params: {
    principalId: identity.outputs.principalId
    identityName: names.identity
    storageAccountName: names.storage
    keyVaultName: names.keyVault
    appInsightsName: names.appInsights
    serviceBusNamespaceName: serviceBus ? names.serviceBus : ''
    serviceBusProvisioningQueueName: serviceBusProvisioningQueueName
    serviceBusFleetEventsTopicName: fleetEventsTopicName
  }
}

resource appInsights 'Microsoft.Insights/components@2020-02-02' existing = {
  name: names.appInsights
}

// An identity-based connection in the Functions convention: <name>__credential and <name>__clientId select the
// user-assigned identity (read by the host's extensions and by Fleet.Shared.Identity.ConnectionCredentials).
var withIdentity = {
  credential: 'managedidentity'
  clientId: identity.outputs.clientId
}
func connection(name string, settings object, identity object) object =>
  toObject(items(union(settings, identity)), item => '${name}__${item.key}', item => item.value)
func keyVaultReference(vaultName string, secretName string) string =>
  '@Microsoft.KeyVault(VaultName=${vaultName};SecretName=${secretName})'

var hostSettings = union(
  connection('AzureWebJobsStorage', { accountName: storage.outputs.name }, withIdentity),
  {
    APPLICATIONINSIGHTS_CONNECTION_STRING: appInsights.properties.ConnectionString
    APPLICATIONINSIGHTS_AUTHENTICATION_STRING: 'ClientId=${identity.outputs.clientId};Authorization=AAD'
    // The Durable Task hub on the default Azure Storage provider, in AzureWebJobsStorage through the identity. These
    // override whatever local store host.json names (the local host's SQLite), so the published host.json deploys.
    AzureFunctionsJobHost__extensions__durableTask__storageProvider__type: 'AzureStorage'
    AzureFunctionsJobHost__extensions__durableTask__storageProvider__connectionName: 'AzureWebJobsStorage'
    AzureFunctionsJobHost__extensions__durableTask__storageProvider__connectionStringName: 'AzureWebJobsStorage'
  }
)
var fleetSettings = union(
  {
    Provisioning__Queue: provisioningQueueName
    ComplianceSweep__Schedule: complianceSchedule
    ComplianceSweep__Mode: complianceMode
    ComplianceSweep__ReportContainer: reportContainerName
  },
  empty(defaultTenant) ? {} : { Provisioning__DefaultTenant: defaultTenant },
  empty(compliancePolicy) ? {} : { ComplianceSweep__Policy: string(compliancePolicy) },
  connection('Sphere', { endpoint: sphereEndpoint }, withIdentity)
)
var iotCentralSettings = iotCentral == null
  ? {}
  : connection(
      'IoTCentral',
      { endpoint: iotCentral!.appUrl },
      iotCentral!.authentication == 'managedIdentity'
        ? withIdentity
        : { apiToken: keyVaultReference(names.keyVault, secretNames.iotCentralApiToken) }
    )
var iotConnectSettings = iotConnect == null
  ? {}
  : connection(
      'IoTConnect',
      {
        environment: iotConnect!.environment
        platform: iotConnect!.platform
      },
      {
        username: keyVaultReference(names.keyVault, secretNames.iotConnectUsername)
        password: keyVaultReference(names.keyVault, secretNames.iotConnectPassword)
        solutionKey: keyVaultReference(names.keyVault, secretNames.iotConnectSolutionKey)
      }
    )
var serviceBusSettings = serviceBus
  ? connection('ServiceBus', { fullyQualifiedNamespace: bus!.outputs.fullyQualifiedNamespace }, withIdentity)
  : {}

module app 'modules/functionapp.bicep' = {
  name: 'functionapp'
  // The app starts only once its roles exist, so its first start does not fail on storage or Key Vault access,
  // and once the component whose connection string it reads (an existing-resource reference) is there.
  dependsOn: [
    roles
    monitoring
  ]
  params: {
    planName: names.plan
    name: names.functionApp
    location: location
    tags: tags
    identityId: identity.outputs.id
    blobEndpoint: storage.outputs.blobEndpoint
    deploymentContainerName: deploymentContainerName
    dotnetVersion: dotnetVersion
    instanceMemoryMB: instanceMemoryMB
    maximumInstanceCount: maximumInstanceCount
    appSettings: union(
      additionalAppSettings,
      hostSettings,
      fleetSettings,
      iotCentralSettings,
      iotConnectSettings,
      serviceBusSettings
    )
  }
}

@description('Name of the Function App (az functionapp commands).')
output functionAppName string = app.outputs.name

@description('Base address of the app\'s HTTP functions.')
output functionAppUrl string = 'https://${app.outputs.defaultHostName}/api/'

@description('Name of the storage account (AzureWebJobsStorage).')
output storageAccountName string = storage.outputs.name

@description('Name of the Key Vault holding the fleet-cloud secrets.')
output keyVaultName string = keyVault.outputs.name

@description('Service Bus namespace host name, or empty without Service Bus.')
output serviceBusNamespace string = serviceBus ? bus!.outputs.fullyQualifiedNamespace : ''

@description('Client id of the app\'s identity.')
output identityClientId string = identity.outputs.clientId

@description('Object id of the app\'s identity: add it as a user of the IoT Central application and the Sphere tenants.')
output identityPrincipalId string = identity.outputs.principalId
