// The Service Bus namespace of the app: the queue the Service Bus provisioning trigger reads and the topic the app
// publishes fleet events to. Local (SAS key) authentication is off: senders and receivers use Entra ID.

@description('Name of the namespace (6-50 letters, digits and hyphens, globally unique).')
param name string

@description('Azure region.')
param location string

@description('Tags for the resource.')
param tags object

@description('Queue of provisioning requests.')
param provisioningQueueName string

@description('Topic of fleet events.')
param fleetEventsTopicName string

@description('Deliveries of a message before it is dead-lettered (as the storage queue\'s maxDequeueCount).')
@minValue(1)
@maxValue(100)
param maxDeliveryCount int

resource namespace 'Microsoft.ServiceBus/namespaces@2026-01-01' = {
  name: name
  location: location
  tags: tags
  // Standard is the lowest tier with topics.
  sku: {
    name: 'Standard'
    tier: 'Standard'
  }
  properties: {
    disableLocalAuth: true
    minimumTlsVersion: '1.2'
    publicNetworkAccess: 'Enabled'
  }
}

resource provisioningQueue 'Microsoft.ServiceBus/namespaces/queues@2026-01-01' = {
  parent: namespace
  name: provisioningQueueName
  properties: {
    maxDeliveryCount: maxDeliveryCount
    deadLetteringOnMessageExpiration: true
    lockDuration: 'PT1M'
  }
}

resource fleetEventsTopic 'Microsoft.ServiceBus/namespaces/topics@2026-01-01' = {
  parent: namespace
  name: fleetEventsTopicName
  properties: {
    defaultMessageTimeToLive: 'P14D'
  }
}

@description('Name of the namespace.')
output name string = namespace.name

@description('Host name of the namespace (ServiceBus__fullyQualifiedNamespace).')
output fullyQualifiedNamespace string = '${namespace.name}.servicebus.windows.net'
