using System.Reflection;
using System.Runtime.Versioning;
using System.Text.Json.Nodes;
using Fleet.Testing;

namespace Fleet.Infra.Tests;

/// <summary>
/// The deployed app settings against what the app reads: its options types (found from its registrations), the
/// keys it reads directly, its triggers' settings and connections, and the Functions host's own settings.
/// </summary>
[Collection(InfraCollection.Name)]
public sealed class AppSettingsTests(InfraTemplate template)
{
    /// <summary>
    /// Sections the template sets for the finished app that this build does not read yet (other work in progress).
    /// Each entry stops the test once the app reads the section, so it is removed and checked like the rest.
    /// </summary>
    private static readonly Dictionary<string, string> PendingSections = new(StringComparer.OrdinalIgnoreCase)
    {
        ["ServiceBus"] = "the Service Bus connection of the provisioning queue and the fleet-events topic",
    };

    /// <summary>Settings the Functions host reads itself, with the reason.</summary>
    private static readonly Dictionary<string, string> HostSettings = new(StringComparer.OrdinalIgnoreCase)
    {
        ["APPLICATIONINSIGHTS_CONNECTION_STRING"] = "where the host and worker send telemetry",
        ["APPLICATIONINSIGHTS_AUTHENTICATION_STRING"] = "telemetry sent with the app's identity (Entra ID)",
    };

    private const string HostJsonOverridePrefix = "AzureFunctionsJobHost__";

    [Theory]
    [MemberData(nameof(InfraTemplate.EnvironmentNames), MemberType = typeof(InfraTemplate))]
    public void TheAppBindsValidatesAndConstructsItsServicesWithTheDeployedSettings(string environment)
    {
        using var app = ComposedApp.Compose(template.Environments[environment].AppConfiguration());
        var options = app.BindOptions();

        // Two derivations of the same thing must agree: every options type declaring its section is found bound.
        var declared = ComposedApp.AppAssembly.GetTypes()
            .Select(t => (Type: t, Field: t.GetField("Section", BindingFlags.Public | BindingFlags.Static)))
            .Where(t => t.Field is { IsLiteral: true } && t.Field.FieldType == typeof(string))
            .ToList();
        Assert.NotEmpty(declared);
        foreach (var (type, field) in declared)
        {
            Assert.Contains(options, o => o.Type == type && string.Equals(o.Section, (string)field!.GetRawConstantValue()!, StringComparison.OrdinalIgnoreCase));
        }

        var invalid = options.Where(o => o.ValidationFailure is not null).Select(o => $"{o.Type.Name}: {o.ValidationFailure}");
        Problems.AssertNone(invalid);
        Problems.AssertNone(app.ConstructServices());
    }

    [Theory]
    [MemberData(nameof(InfraTemplate.EnvironmentNames), MemberType = typeof(InfraTemplate))]
    public void EverySettingNamesSomethingTheAppOrTheHostReads(string environment)
    {
        var deployed = template.Environments[environment];
        using var app = ComposedApp.Compose(deployed.AppConfiguration());
        var options = app.BindOptions().Where(o => o.Section is not null).ToList();
        app.Recorder.Clear();
        Problems.AssertNone(app.ConstructServices());
        var readDirectly = app.Recorder.Keys.ToHashSet(StringComparer.OrdinalIgnoreCase);
        var hostConnections = HostConnections(deployed);

        var problems = new List<string>();
        foreach (var setting in deployed.AppSettings.Values)
        {
            var key = setting.ConfigurationKey;
            var section = key.Split(':')[0];
            var bound = options.FirstOrDefault(o => string.Equals(o.Section, section, StringComparison.OrdinalIgnoreCase));
            if (bound is not null)
            {
                var member = key[(section.Length + 1)..];
                if (!bound.HasMember(member) && !readDirectly.Contains(key))
                {
                    problems.Add($"{setting.Name}: {bound.Type.Name} (section {section}) has no member '{member}', and the app does not read it.");
                }
            }
            else if (!readDirectly.Contains(key) && !HostSettings.ContainsKey(setting.Name)
                && !setting.Name.StartsWith(HostJsonOverridePrefix, StringComparison.Ordinal)
                && !hostConnections.Contains(section) && !PendingSections.ContainsKey(section))
            {
                problems.Add($"{setting.Name}: nothing reads it (no options type binds '{section}', the app and the host do not read it).");
            }
        }

        foreach (var pending in PendingSections.Keys)
        {
            if (options.Any(o => string.Equals(o.Section, pending, StringComparison.OrdinalIgnoreCase))
                || readDirectly.Any(k => k.StartsWith(pending + ":", StringComparison.OrdinalIgnoreCase)) || hostConnections.Contains(pending))
            {
                problems.Add($"Section '{pending}' is read now: remove it from {nameof(PendingSections)} so its settings are checked.");
            }
        }

        Problems.AssertNone(problems);
    }

    [Theory]
    [MemberData(nameof(InfraTemplate.EnvironmentNames), MemberType = typeof(InfraTemplate))]
    public void EverySettingATriggerNamesIsAnAppSetting(string environment)
    {
        // The Functions host resolves %Setting% in trigger attributes from app settings when it indexes the
        // functions: the worker's own defaults are not visible to it.
        var deployed = template.Environments[environment];
        var bindings = FunctionBindings.Of(ComposedApp.AppAssembly);
        Assert.NotEmpty(bindings);
        var missing = bindings
            .SelectMany(b => b.Values.Values.SelectMany(FunctionBindings.SettingReferences).Select(s => (Binding: b, Setting: s.Replace(":", "__", StringComparison.Ordinal))))
            .Where(r => !deployed.AppSettings.ContainsKey(r.Setting))
            .Select(r => $"{r.Binding} names %{r.Setting}%, which is not an app setting.");
        Problems.AssertNone(missing);
    }

    [Theory]
    [MemberData(nameof(InfraTemplate.EnvironmentNames), MemberType = typeof(InfraTemplate))]
    public void ConnectionsAuthenticateWithTheAppsIdentity(string environment)
    {
        var deployed = template.Environments[environment];
        var identityId = deployed.Identity.Id;
        var settings = deployed.AppSettings;

        var site = deployed.Site.Json;
        Assert.Equal("UserAssigned", (string?)site["identity"]?["type"]);
        Assert.Equal([identityId], site["identity"]!["userAssignedIdentities"]!.AsObject().Select(p => p.Key));
        Assert.Equal(identityId, (string?)deployed.Site.Properties!["keyVaultReferenceIdentity"]);
        var deploymentAuth = deployed.Site.Properties["functionAppConfig"]!["deployment"]!["storage"]!["authentication"]!;
        Assert.Equal("UserAssignedIdentity", (string?)deploymentAuth["type"]);
        Assert.Equal(identityId, (string?)deploymentAuth["userAssignedIdentityResourceId"]);

        var connections = settings.Keys.Where(k => k.EndsWith("__credential", StringComparison.OrdinalIgnoreCase))
            .Select(k => k[..^"__credential".Length]).ToList();
        Assert.Contains(FunctionBindings.DefaultStorageConnection, connections);
        foreach (var connection in connections)
        {
            Assert.Equal("managedidentity", settings[connection + "__credential"].Value);
            Assert.True(settings.TryGetValue(connection + "__clientId", out var clientId), $"{connection}__clientId is missing.");
            Assert.Equal(deployed.IdentityClientIdExpression, clientId.Value);
        }

        Assert.DoesNotContain(settings.Keys, k => k.EndsWith("__clientSecret", StringComparison.OrdinalIgnoreCase));
        var account = settings[FunctionBindings.DefaultStorageConnection + "__accountName"].Value;
        Assert.NotNull(deployed.Find("Microsoft.Storage/storageAccounts", account));
        if (settings.TryGetValue("ServiceBus__fullyQualifiedNamespace", out var serviceBus))
        {
            Assert.NotNull(deployed.Find("Microsoft.ServiceBus/namespaces", serviceBus.Value.Split('.')[0]));
        }
    }

    [Theory]
    [MemberData(nameof(InfraTemplate.EnvironmentNames), MemberType = typeof(InfraTemplate))]
    public void TheDurableTaskHubUsesTheAzureStorageProviderOnTheHostsStorageThroughTheIdentity(string environment)
    {
        var deployed = template.Environments[environment];
        Assert.Contains(FunctionBindings.Of(ComposedApp.AppAssembly), b => b.Kind is "OrchestrationTrigger" or "DurableClient");
        var hostJson = JsonNode.Parse(File.ReadAllText(RepoPaths.Combine("host.json")))!;

        foreach (var setting in deployed.AppSettings.Values.Where(s => s.Name.StartsWith(HostJsonOverridePrefix, StringComparison.Ordinal)))
        {
            // An override is only right if host.json has the section it changes (a misspelt path is silently ignored).
            var path = setting.Name[HostJsonOverridePrefix.Length..].Split("__");
            var parent = path[..^1].Aggregate((JsonNode?)hostJson, (node, part) => node?[part]);
            Assert.True(parent is JsonObject, $"{setting.Name}: host.json has no section {string.Join('.', path[..^1])}.");
        }

        const string Provider = HostJsonOverridePrefix + "extensions__durableTask__storageProvider__";
        Assert.Equal("AzureStorage", deployed.AppSettings[Provider + "type"].Value);
        foreach (var name in new[] { "connectionName", "connectionStringName" })
        {
            // Both spellings: host.json may name the local store's setting with the older one, which would win.
            Assert.Equal(FunctionBindings.DefaultStorageConnection, deployed.AppSettings[Provider + name].Value);
        }
    }

    [Theory]
    [MemberData(nameof(InfraTemplate.EnvironmentNames), MemberType = typeof(InfraTemplate))]
    public void TheAppRunsOnFlexConsumptionWithItsOwnDotnetVersion(string environment)
    {
        var deployed = template.Environments[environment];
        var plan = Assert.Single(deployed.OfType("Microsoft.Web/serverfarms"));
        Assert.Equal("FlexConsumption", (string?)plan.Json["sku"]?["tier"]);
        Assert.Equal(plan.Id, (string?)deployed.Site.Properties!["serverFarmId"]);
        var runtime = deployed.Site.Properties["functionAppConfig"]!["runtime"]!;
        Assert.Equal("dotnet-isolated", (string?)runtime["name"]);

        // ".NETCoreApp,Version=v10.0" → "10.0": the runtime the platform starts must be the one the app is built for.
        var framework = ComposedApp.AppAssembly.GetCustomAttribute<TargetFrameworkAttribute>()!.FrameworkName;
        Assert.Equal(framework[(framework.IndexOf("=v", StringComparison.Ordinal) + 2)..], (string?)runtime["version"]);
        Assert.DoesNotContain(deployed.AppSettings.Keys, k => k is "FUNCTIONS_WORKER_RUNTIME" or "FUNCTIONS_EXTENSION_VERSION");
    }

    /// <summary>Connections the Functions host opens for the app's triggers and bindings (the default one included).</summary>
    private static HashSet<string> HostConnections(DeployedEnvironment deployed)
    {
        var connections = new HashSet<string>(StringComparer.OrdinalIgnoreCase) { FunctionBindings.DefaultStorageConnection };
        foreach (var binding in FunctionBindings.Of(ComposedApp.AppAssembly))
        {
            foreach (var name in new[] { binding["Connection"], binding["ConnectionName"] })
            {
                if (!string.IsNullOrEmpty(name))
                {
                    connections.Add(name);
                }
            }
        }

        connections.IntersectWith(deployed.AppSettings.Values.Select(s => s.ConfigurationKey.Split(':')[0]));
        return connections;
    }
}
