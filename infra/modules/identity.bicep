// The user-assigned managed identity the Function App runs as. Every connection of the app (storage, Service Bus,
// Key Vault references, the fleet clouds, Application Insights) authenticates with it, so it outlives the app and
// its roles can be granted before the app exists.

@description('Name of the identity.')
param name string

@description('Azure region.')
param location string

@description('Tags for the resource.')
param tags object

resource identity 'Microsoft.ManagedIdentity/userAssignedIdentities@2024-11-30' = {
  name: name
  location: location
  tags: tags
}

@description('Resource id, for the app\'s identity block and Key Vault references.')
output id string = identity.id

@description('Client id, the value of every <Connection>__clientId setting.')
output clientId string = identity.properties.clientId

@description('Object (principal) id, the principal of every role assignment.')
output principalId string = identity.properties.principalId
