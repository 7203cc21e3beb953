using System.Text.RegularExpressions;

namespace Fleet.Infra.Tests;

/// <summary>Generated names follow each resource type's length and character rules, with the longest prefix too.</summary>
[Collection(InfraCollection.Name)]
public sealed class ResourceNameTests(InfraTemplate template)
{
    /// <summary>The naming rule of each top-level resource type the template creates.</summary>
    private static readonly Dictionary<string, (string Pattern, string Rule)> Rules = new(StringComparer.Ordinal)
    {
        ["Microsoft.Storage/storageAccounts"] = ("^[a-z0-9]{3,24}$", "3-24 lowercase letters and digits"),
        ["Microsoft.KeyVault/vaults"] = ("^(?!.*--)[a-zA-Z][a-zA-Z0-9-]{1,22}[a-zA-Z0-9]$", "3-24 letters, digits and single hyphens, starting with a letter"),
        ["Microsoft.ServiceBus/namespaces"] = ("^[a-zA-Z][a-zA-Z0-9-]{4,48}[a-zA-Z0-9](?<!-sb)(?<!-mgmt)$", "6-50 letters, digits and hyphens, starting with a letter, not ending in -sb or -mgmt"),
        // At most 32: the host id is derived from the first 32 characters, and must not collide with another app's.
        ["Microsoft.Web/sites"] = ("^[a-zA-Z0-9](?:[a-zA-Z0-9-]{0,30}[a-zA-Z0-9])?$", "2-32 letters, digits and hyphens, not at either end"),
        ["Microsoft.Web/serverfarms"] = ("^[a-zA-Z0-9-]{1,60}$", "1-60 letters, digits and hyphens"),
        ["Microsoft.OperationalInsights/workspaces"] = ("^[a-zA-Z0-9][a-zA-Z0-9-]{2,61}[a-zA-Z0-9]$", "4-63 letters, digits and hyphens, not at either end"),
        ["Microsoft.Insights/components"] = (@"^[^%&\\?/]{1,260}$", "1-260 characters other than %&\\?/"),
        ["Microsoft.ManagedIdentity/userAssignedIdentities"] = ("^[a-zA-Z0-9][a-zA-Z0-9_-]{2,127}$", "3-128 letters, digits, hyphens and underscores"),
    };

    [Theory]
    [MemberData(nameof(InfraTemplate.EnvironmentNames), MemberType = typeof(InfraTemplate))]
    public void EveryNameFollowsItsTypesRules(string environment)
    {
        var deployed = template.Environments[environment];
        var topLevel = deployed.Resources.Where(r => r.Type.Count(c => c == '/') == 1 && r.Type != "Microsoft.Authorization/roleAssignments").ToList();
        Assert.NotEmpty(topLevel);
        foreach (var resource in topLevel)
        {
            Assert.True(Rules.TryGetValue(resource.Type, out var rule), $"{resource.Type} has no naming rule here: add one.");
            Assert.True(Regex.IsMatch(resource.Name, rule.Pattern), $"{resource.Type} name '{resource.Name}' breaks the rule: {rule.Rule}.");
        }
    }

    [Theory]
    [MemberData(nameof(InfraTemplate.EnvironmentNames), MemberType = typeof(InfraTemplate))]
    public void GloballyUniqueNamesDifferBetweenEnvironments(string environment)
    {
        // The hash of resource group and prefix makes them unique; two environments must not share one.
        var other = template.Environments.Single(e => e.Key != environment).Value;
        foreach (var resource in template.Environments[environment].Resources.Where(r => Rules.ContainsKey(r.Type)))
        {
            Assert.DoesNotContain(other.OfType(resource.Type), r => string.Equals(r.Name, resource.Name, StringComparison.OrdinalIgnoreCase));
        }
    }
}
