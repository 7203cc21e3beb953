// The Function App on a Flex Consumption plan, running as the user-assigned identity. Flex Consumption because it
// is the serverless plan that runs .NET 10 isolated-worker apps on Linux (the Linux Consumption plan stops at
// .NET 8 and is being retired) and it takes identity-based deployment storage. The runtime comes from
// functionAppConfig, so FUNCTIONS_WORKER_RUNTIME and FUNCTIONS_EXTENSION_VERSION are not app settings here.

@description('Name of the Flex Consumption plan.')
param planName string

@description('Name of the Function App (its host name is <name>.azurewebsites.net).')
param name string

@description('Azure region.')
param location string

@description('Tags for the resources.')
param tags object

@description('Resource id of the user-assigned identity the app runs as.')
param identityId string

@description('Blob endpoint of the storage account that holds the deployment container.')
param blobEndpoint string

@description('Blob container the app package is deployed to.')
param deploymentContainerName string

@description('.NET version of the isolated worker (dotnet-isolated runtime); must match the TargetFramework of src/Functions.')
param dotnetVersion string

@description('Memory of each instance, in MB.')
param instanceMemoryMB int

@description('Most instances the app scales out to.')
param maximumInstanceCount int

@description('App settings: name to value. Values are plain settings, identity names or Key Vault references, never secrets.')
param appSettings object

resource plan 'Microsoft.Web/serverfarms@2025-03-01' = {
  name: planName
  location: location
  tags: tags
  kind: 'functionapp'
  sku: {
    tier: 'FlexConsumption'
    name: 'FC1'
  }
  properties: {
    reserved: true
  }
}

resource site 'Microsoft.Web/sites@2025-03-01' = {
  name: name
  location: location
  tags: tags
  kind: 'functionapp,linux'
  identity: {
    type: 'UserAssigned'
    userAssignedIdentities: {
      '${identityId}': {}
    }
  }
  properties: {
    serverFarmId: plan.id
    httpsOnly: true
    // Key Vault references in the app settings are resolved with the app's identity, not a system-assigned one.
    keyVaultReferenceIdentity: identityId
    siteConfig: {
      minTlsVersion: '1.2'
      appSettings: [for setting in items(appSettings): { name: setting.key, value: setting.value }]
    }
    functionAppConfig: {
      deployment: {
        storage: {
          type: 'blobContainer'
          value: '${blobEndpoint}${deploymentContainerName}'
          authentication: {
            type: 'UserAssignedIdentity'
            userAssignedIdentityResourceId: identityId
          }
        }
      }
      scaleAndConcurrency: {
        instanceMemoryMB: instanceMemoryMB
        maximumInstanceCount: maximumInstanceCount
      }
      runtime: {
        name: 'dotnet-isolated'
        version: dotnetVersion
      }
    }
  }
}

@description('Name of the app.')
output name string = site.name

@description('Default host name of the app.')
output defaultHostName string = site.properties.defaultHostName
