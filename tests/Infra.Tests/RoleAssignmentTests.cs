using System.Text.RegularExpressions;

namespace Fleet.Infra.Tests;

/// <summary>
/// The roles of the app's identity: every role its code needs (derived from its triggers, bindings, connections and
/// settings) at the narrowest scope, and nothing else, broader or for anyone else.
/// </summary>
[Collection(InfraCollection.Name)]
public sealed partial class RoleAssignmentTests(InfraTemplate template)
{
    private const string StorageBlobDataOwner = "b7e6dc6d-f1e8-4753-8033-0f276bb0955b";
    private const string StorageQueueDataContributor = "974c5e8b-45b9-4653-ba55-5f855dd0fb88";
    private const string StorageTableDataContributor = "0a9a7e1f-b9d0-4cc4-a60d-0319b160aaa3";
    private const string ServiceBusDataReceiver = "4f6d3b9b-027b-4f4c-9142-0e5a2a2247e0";
    private const string ServiceBusDataSender = "69a216fc-b8fb-44d8-bc22-1f3c2cd27a39";
    private const string KeyVaultSecretsUser = "4633458b-17de-408a-b874-0445c86b69e6";
    private const string MonitoringMetricsPublisher = "3913510d-42f4-4e42-8a64-420c390055eb";

    /// <summary>The roles the identity may hold, with the resource types that are their narrowest useful scope.</summary>
    private static readonly Dictionary<string, (string Name, string[] ScopeTypes)> AllowedRoles = new(StringComparer.OrdinalIgnoreCase)
    {
        // The Durable Task hub creates its containers, queues and tables itself, so the account is the narrowest scope.
        [StorageBlobDataOwner] = ("Storage Blob Data Owner", ["Microsoft.Storage/storageAccounts"]),
        [StorageQueueDataContributor] = ("Storage Queue Data Contributor", ["Microsoft.Storage/storageAccounts"]),
        [StorageTableDataContributor] = ("Storage Table Data Contributor", ["Microsoft.Storage/storageAccounts"]),
        [ServiceBusDataReceiver] = ("Azure Service Bus Data Receiver", ["Microsoft.ServiceBus/namespaces/queues", "Microsoft.ServiceBus/namespaces/topics/subscriptions"]),
        [ServiceBusDataSender] = ("Azure Service Bus Data Sender", ["Microsoft.ServiceBus/namespaces/queues", "Microsoft.ServiceBus/namespaces/topics"]),
        [KeyVaultSecretsUser] = ("Key Vault Secrets User", ["Microsoft.KeyVault/vaults", "Microsoft.KeyVault/vaults/secrets"]),
        [MonitoringMetricsPublisher] = ("Monitoring Metrics Publisher", ["Microsoft.Insights/components"]),
    };

    [Theory]
    [MemberData(nameof(InfraTemplate.EnvironmentNames), MemberType = typeof(InfraTemplate))]
    public void EveryRoleTheCodeNeedsIsAssignedToTheIdentityAtItsScope(string environment)
    {
        var deployed = template.Environments[environment];
        var needs = Needs(deployed);
        Assert.NotEmpty(needs);
        var principal = PrincipalExpression(deployed);
        var missing = needs
            .GroupBy(n => (n.Role, Scope: n.Scope.ToUpperInvariant()))
            .Where(n => !deployed.RoleAssignments.Any(a =>
                a.PrincipalId == principal && string.Equals(a.RoleDefinitionId, n.Key.Role, StringComparison.OrdinalIgnoreCase)
                && string.Equals(a.Scope, n.First().Scope, StringComparison.OrdinalIgnoreCase)))
            .Select(n => $"{AllowedRoles[n.Key.Role].Name} on {n.First().Scope} is not assigned; needed by " +
                string.Join(", ", n.Select(r => r.Reason).Distinct().Take(3)) + (n.Count() > 3 ? $" and {n.Count() - 3} more." : "."));
        Problems.AssertNone(missing);
    }

    [Theory]
    [MemberData(nameof(InfraTemplate.EnvironmentNames), MemberType = typeof(InfraTemplate))]
    public void EveryAssignmentIsALeastPrivilegeDataRoleOfTheIdentityOnOneResource(string environment)
    {
        var deployed = template.Environments[environment];
        var principal = PrincipalExpression(deployed);
        Assert.NotEmpty(deployed.RoleAssignments);
        foreach (var assignment in deployed.RoleAssignments)
        {
            Assert.Equal(principal, assignment.PrincipalId);
            Assert.Equal("ServicePrincipal", assignment.PrincipalType);
            Assert.True(AllowedRoles.TryGetValue(assignment.RoleDefinitionId, out var role), $"Role {assignment.RoleDefinitionId} is not one the app needs.");

            // The scope is a resource of this deployment, never the resource group or the subscription.
            var scope = deployed.Resources.SingleOrDefault(r => string.Equals(r.Id, assignment.Scope, StringComparison.OrdinalIgnoreCase));
            Assert.True(scope is not null, $"{role.Name} is assigned on {assignment.Scope}, which is not a resource of the deployment.");
            Assert.True(role.ScopeTypes.Contains(scope.Type), $"{role.Name} is assigned on a {scope.Type}; its narrowest scope is {string.Join(" or ", role.ScopeTypes)}.");
        }
    }

    [Fact]
    public void TheTemplateDeploysIntoAResourceGroupAndNothingAboveIt()
    {
        Assert.Contains("/deploymentTemplate.json#", (string?)template.Compiled["$schema"], StringComparison.Ordinal);
        var text = template.Compiled.ToJsonString();
        Assert.DoesNotMatch(SubscriptionScope(), text);
    }

    /// <summary>The principal of every assignment: the identity's principal id at deployment time.</summary>
    private static string PrincipalExpression(DeployedEnvironment deployed) =>
        $"[reference('{deployed.Identity.Id}', '{deployed.Identity.ApiVersion}').principalId]";

    /// <summary>What the code needs, derived from its bindings and the settings that configure them.</summary>
    private static List<(string Role, string Scope, string Reason)> Needs(DeployedEnvironment deployed)
    {
        var needs = new List<(string Role, string Scope, string Reason)>();
        var bindings = FunctionBindings.Of(ComposedApp.AppAssembly);
        string Account(string connection, string reason)
        {
            Assert.True(deployed.AppSettings.TryGetValue(connection + "__accountName", out var name), $"{reason}: {connection}__accountName is not set.");
            return (deployed.Find("Microsoft.Storage/storageAccounts", name.Value) ?? throw new Xunit.Sdk.XunitException($"{reason}: no storage account {name.Value}.")).Id;
        }

        // The Functions host keeps its locks, timer schedules and poison records in AzureWebJobsStorage.
        var host = Account(FunctionBindings.DefaultStorageConnection, "the Functions host");
        needs.Add((StorageBlobDataOwner, host, "the Functions host"));

        foreach (var binding in bindings)
        {
            var connection = binding["Connection"] is { Length: > 0 } named ? named : FunctionBindings.DefaultStorageConnection;
            switch (binding.Kind)
            {
                case "QueueTrigger" or "QueueOutput":
                    needs.Add((StorageQueueDataContributor, Account(connection, binding.ToString()), binding.ToString()));
                    break;
                case "BlobTrigger" or "BlobInput" or "BlobOutput":
                    needs.Add((StorageBlobDataOwner, Account(connection, binding.ToString()), binding.ToString()));
                    break;
                case "TableInput" or "TableOutput":
                    needs.Add((StorageTableDataContributor, Account(connection, binding.ToString()), binding.ToString()));
                    break;
                case "OrchestrationTrigger" or "ActivityTrigger" or "EntityTrigger" or "DurableClient":
                    var hub = deployed.AppSettings.TryGetValue("AzureFunctionsJobHost__extensions__durableTask__storageProvider__connectionName", out var hubConnection)
                        ? hubConnection.Value : FunctionBindings.DefaultStorageConnection;
                    var account = Account(hub, binding.ToString());
                    needs.Add((StorageBlobDataOwner, account, binding.ToString()));
                    needs.Add((StorageQueueDataContributor, account, binding.ToString()));
                    needs.Add((StorageTableDataContributor, account, binding.ToString()));
                    break;
                case "ServiceBusTrigger":
                    needs.Add((ServiceBusDataReceiver, ServiceBusEntity(deployed, binding, binding["QueueName"] is { } queue
                        ? ["queues", queue] : ["topics", binding["TopicName"], "subscriptions", binding["SubscriptionName"]]), binding.ToString()));
                    break;
                case "ServiceBusOutput":
                    var entity = binding["QueueOrTopicName"];
                    needs.Add((ServiceBusDataSender, ServiceBusEntity(deployed, binding, ["queues", entity], ["topics", entity]), binding.ToString()));
                    break;
            }
        }

        foreach (var reference in deployed.AppSettings.Values.Select(s => (s.Name, Target: s.KeyVaultTarget)).Where(s => s.Target is not null))
        {
            var vault = deployed.Find("Microsoft.KeyVault/vaults", reference.Target!.Value.Vault);
            Assert.True(vault is not null, $"{reference.Name} refers to vault {reference.Target.Value.Vault}, which the deployment does not create.");
            needs.Add((KeyVaultSecretsUser, vault.Id, $"the Key Vault reference {reference.Name}"));
        }

        if (deployed.AppSettings.TryGetValue("APPLICATIONINSIGHTS_AUTHENTICATION_STRING", out var telemetry)
            && telemetry.Value.Contains("Authorization=AAD", StringComparison.Ordinal))
        {
            var component = ReferencedResource().Match(deployed.AppSettings["APPLICATIONINSIGHTS_CONNECTION_STRING"].Value);
            Assert.True(component.Success, "APPLICATIONINSIGHTS_CONNECTION_STRING does not come from a component of the deployment.");
            needs.Add((MonitoringMetricsPublisher, component.Groups["id"].Value, "telemetry with Entra ID"));
        }

        return needs;
    }

    /// <summary>The id of the first of <paramref name="paths"/> that is an entity of the binding's namespace.</summary>
    private static string ServiceBusEntity(DeployedEnvironment deployed, Binding binding, params string?[][] paths)
    {
        var connection = binding["Connection"] is { Length: > 0 } named ? named : "AzureWebJobsServiceBus";
        Assert.True(deployed.AppSettings.TryGetValue(connection + "__fullyQualifiedNamespace", out var host), $"{binding}: {connection}__fullyQualifiedNamespace is not set.");
        var ns = deployed.Find("Microsoft.ServiceBus/namespaces", host.Value.Split('.')[0]);
        Assert.True(ns is not null, $"{binding}: the deployment has no namespace {host.Value}.");
        foreach (var path in paths)
        {
            var id = $"{ns.Id}/{string.Join('/', path)}";
            if (deployed.Resources.Any(r => string.Equals(r.Id, id, StringComparison.OrdinalIgnoreCase)))
            {
                return id;
            }
        }

        throw new Xunit.Sdk.XunitException($"{binding}: its entity is not in namespace {ns.Name}.");
    }

    [GeneratedRegex(@"^\[reference\('(?<id>[^']+)', '[^']+'\)\.ConnectionString\]$")]
    private static partial Regex ReferencedResource();

    [GeneratedRegex(@"subscriptionDeploymentTemplate|managementGroupDeploymentTemplate|tenantDeploymentTemplate|""subscriptionId""\s*:|""scope""\s*:\s*""\[subscription\(\)")]
    private static partial Regex SubscriptionScope();
}
