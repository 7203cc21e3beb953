// A sample environment: Sphere, one IoT Central application reached with the app's identity, one IoTConnect
// solution, Service Bus, and a policy that reports drift nightly. The IoTConnect login is read from the deploying
// shell's environment, so no secret is ever written into this file (docs/deploy.md).
using './main.bicep'

param prefix = 'fleetdev'
param tags = {
  app: 'fleet-automation'
  environment: 'dev'
}

param defaultTenant = 'Contoso Fleet'
param complianceMode = 'report'
param complianceSchedule = '0 0 2 * * *'
param compliancePolicy = {
  tenants: [
    {
      tenant: 'Contoso Fleet'
      allowCreate: true
      products: [
        {
          name: 'Thermostat'
          deviceGroups: [
            { name: 'Production', osFeedType: 'Retail', updatePolicy: 'UpdateAll' }
            { name: 'Field Test' }
          ]
        }
      ]
      unassignedDevices: { action: 'assign', target: 'Thermostat/Field Test' }
    }
  ]
}

param iotCentral = {
  appUrl: 'https://contoso-fleet.azureiotcentral.com/'
  authentication: 'managedIdentity'
}

param iotConnect = {
  environment: 'prod'
  platform: 'az'
}
param iotConnectUsername = readEnvironmentVariable('IOTCONNECT_USERNAME', '')
param iotConnectPassword = readEnvironmentVariable('IOTCONNECT_PASSWORD', '')
param iotConnectSolutionKey = readEnvironmentVariable('IOTCONNECT_SOLUTION_KEY', '')

// Tuning beyond the template's own settings; any options setting of the app can go here.
param additionalAppSettings = {
  Sphere__retry__maxRetries: '5'
  Orchestrations__RetryMaxAttempts: '4'
}
