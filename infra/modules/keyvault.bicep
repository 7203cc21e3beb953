// Key Vault for the fleet-cloud secrets that have no Entra ID form: the IoT Central API token (when IoT Central is
// not reached with the identity) and the IoTConnect login (username, password, solution key). Access is by Azure RBAC
// only; the app reads the secrets through Key Vault references in its app settings, never as plain values.

@description('Name of the vault (3-24 letters, digits and hyphens, globally unique).')
param name string

@description('Azure region.')
param location string

@description('Tags for the resource.')
param tags object

@description('Whether purge protection is on (cannot be turned off again; a deleted vault then blocks its name for the retention period).')
param purgeProtection bool

@description('IoT Central API token; empty writes nothing, so a redeployment without it keeps what the vault holds.')
@secure()
param iotCentralApiToken string

@description('IoTConnect user name; empty writes nothing.')
@secure()
param iotConnectUsername string

@description('IoTConnect password; empty writes nothing.')
@secure()
param iotConnectPassword string

@description('IoTConnect solution key; empty writes nothing.')
@secure()
param iotConnectSolutionKey string

@description('Names of the secrets (iotCentralApiToken, iotConnectUsername, iotConnectPassword, iotConnectSolutionKey).')
param secretNames object

resource vault 'Microsoft.KeyVault/vaults@2025-05-01' = {
  name: name
  location: location
  tags: tags
  properties: {
    tenantId: tenant().tenantId
    sku: {
      family: 'A'
      name: 'standard'
    }
    enableRbacAuthorization: true
    enableSoftDelete: true
    softDeleteRetentionInDays: 90
    // The property accepts only true (or absence).
    enablePurgeProtection: purgeProtection ? true : null
    publicNetworkAccess: 'Enabled'
  }
}

resource iotCentralApiTokenSecret 'Microsoft.KeyVault/vaults/secrets@2025-05-01' = if (!empty(iotCentralApiToken)) {
  parent: vault
  name: secretNames.iotCentralApiToken
  properties: {
    value: iotCentralApiToken
  }
}

resource iotConnectUsernameSecret 'Microsoft.KeyVault/vaults/secrets@2025-05-01' = if (!empty(iotConnectUsername)) {
  parent: vault
  name: secretNames.iotConnectUsername
  properties: {
    value: iotConnectUsername
  }
}

resource iotConnectPasswordSecret 'Microsoft.KeyVault/vaults/secrets@2025-05-01' = if (!empty(iotConnectPassword)) {
  parent: vault
  name: secretNames.iotConnectPassword
  properties: {
    value: iotConnectPassword
  }
}

resource iotConnectSolutionKeySecret 'Microsoft.KeyVault/vaults/secrets@2025-05-01' = if (!empty(iotConnectSolutionKey)) {
  parent: vault
  name: secretNames.iotConnectSolutionKey
  properties: {
    value: iotConnectSolutionKey
  }
}

@description('Name of the vault.')
output name string = vault.name
