// The app's storage account: AzureWebJobsStorage (host state, timer leases, the queue trigger), the Durable Task
// hub (Azure Storage provider: queues, tables, blob leases), the deployment package container of the Flex
// Consumption plan and the compliance reports. Shared-key access is off: every caller uses Entra ID.

@description('Name of the storage account (3-24 lowercase letters and digits, globally unique).')
param name string

@description('Azure region.')
param location string

@description('Tags for the resource.')
param tags object

@description('Replication of the account.')
@allowed([
  'Standard_LRS'
  'Standard_ZRS'
  'Standard_GRS'
  'Standard_RAGRS'
])
param skuName string

@description('Blob container the Flex Consumption plan deploys the app package to.')
param deploymentContainerName string

@description('Blob container of the compliance sweep reports (ComplianceSweep:ReportContainer).')
param reportContainerName string

@description('Storage queue the provisioning trigger reads (Provisioning:Queue); its poison queue is created too.')
param provisioningQueueName string

resource account 'Microsoft.Storage/storageAccounts@2025-06-01' = {
  name: name
  location: location
  tags: tags
  kind: 'StorageV2'
  sku: {
    name: skuName
  }
  properties: {
    accessTier: 'Hot'
    allowSharedKeyAccess: false
    defaultToOAuthAuthentication: true
    allowBlobPublicAccess: false
    allowCrossTenantReplication: false
    minimumTlsVersion: 'TLS1_2'
    supportsHttpsTrafficOnly: true
    publicNetworkAccess: 'Enabled'
  }
}

resource blobService 'Microsoft.Storage/storageAccounts/blobServices@2025-06-01' = {
  parent: account
  name: 'default'
}

resource deploymentContainer 'Microsoft.Storage/storageAccounts/blobServices/containers@2025-06-01' = {
  parent: blobService
  name: deploymentContainerName
  properties: {
    publicAccess: 'None'
  }
}

resource reportContainer 'Microsoft.Storage/storageAccounts/blobServices/containers@2025-06-01' = {
  parent: blobService
  name: reportContainerName
  properties: {
    publicAccess: 'None'
  }
}

resource queueService 'Microsoft.Storage/storageAccounts/queueServices@2025-06-01' = {
  parent: account
  name: 'default'
}

resource provisioningQueue 'Microsoft.Storage/storageAccounts/queueServices/queues@2025-06-01' = {
  parent: queueService
  name: provisioningQueueName
}

// The host moves a message here after maxDequeueCount failed attempts (host.json extensions.queues).
resource provisioningPoisonQueue 'Microsoft.Storage/storageAccounts/queueServices/queues@2025-06-01' = {
  parent: queueService
  name: '${provisioningQueueName}-poison'
}

@description('Name of the account.')
output name string = account.name

@description('Blob endpoint (https://<account>.blob.core.windows.net/).')
output blobEndpoint string = account.properties.primaryEndpoints.blob
