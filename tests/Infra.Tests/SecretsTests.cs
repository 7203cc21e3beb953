using System.Text.Json.Nodes;
using System.Text.RegularExpressions;

namespace Fleet.Infra.Tests;

/// <summary>No secret in settings or outputs, no keys at all: shared-key and local authentication off everywhere.</summary>
[Collection(InfraCollection.Name)]
public sealed partial class SecretsTests(InfraTemplate template)
{
    [Fact]
    public void TheTemplateNeverReadsAKeyOrSecretOfAResource()
    {
        // listKeys, listSecrets, listConnectionStrings, listAccountSas…: every list* function returns credentials.
        Assert.DoesNotMatch(ListFunction(), template.Compiled.ToJsonString());
    }

    [Theory]
    [MemberData(nameof(InfraTemplate.EnvironmentNames), MemberType = typeof(InfraTemplate))]
    public void NoSecretValueOrAccountKeyIsInTheSettingsOrOutputs(string environment)
    {
        var deployed = template.Environments[environment];
        var values = deployed.AppSettings.Values.Select(s => (Where: $"setting {s.Name}", s.Value))
            .Concat(deployed.Outputs.Select(o => (Where: $"output {o.Key}", Value: o.Value?.ToJsonString() ?? string.Empty)))
            .ToList();
        foreach (var (where, value) in values)
        {
            Assert.DoesNotMatch(KeyMaterial(), value);

            // The snapshot evaluates every parameter but the secure ones: a parameter left is a secret.
            Assert.False(value.Contains("parameters(", StringComparison.Ordinal), $"{where} carries a secure parameter: {value}");
        }

        foreach (var setting in deployed.AppSettings.Values.Where(s => SecretName().IsMatch(s.Name.Split("__")[^1])))
        {
            Assert.True(setting.IsKeyVaultReference, $"{setting.Name} holds a secret, so it must be a Key Vault reference.");
        }

        // The connection string names the component and its ingestion endpoint; with local authentication off it
        // cannot write telemetry without the identity's token.
        var appInsights = Assert.Single(deployed.OfType("Microsoft.Insights/components"));
        Assert.Equal(true, (bool?)appInsights.Properties?["DisableLocalAuth"]);
    }

    [Theory]
    [MemberData(nameof(InfraTemplate.EnvironmentNames), MemberType = typeof(InfraTemplate))]
    public void SecureParametersReachOnlyKeyVaultSecrets(string environment)
    {
        var deployed = template.Environments[environment];
        foreach (var resource in deployed.Resources)
        {
            var text = resource.Json.ToJsonString();
            if (resource.Type == "Microsoft.KeyVault/vaults/secrets")
            {
                Assert.Matches(@"^\[parameters\('[A-Za-z]+'\)\]$", (string?)resource.Properties?["value"]);
                continue;
            }

            Assert.False(text.Contains("parameters(", StringComparison.Ordinal), $"{resource} uses a secure parameter.");
        }
    }

    [Theory]
    [MemberData(nameof(InfraTemplate.EnvironmentNames), MemberType = typeof(InfraTemplate))]
    public void KeyVaultReferencesNameSecretsOfTheDeployedVault(string environment)
    {
        var deployed = template.Environments[environment];
        foreach (var setting in deployed.AppSettings.Values.Where(s => s.IsKeyVaultReference))
        {
            var target = setting.KeyVaultTarget;
            Assert.True(target is not null, $"{setting.Name} is not a VaultName/SecretName reference: {setting.Value}");
            Assert.NotNull(deployed.Find("Microsoft.KeyVault/vaults", target.Value.Vault));
            Assert.Contains(deployed.OfType("Microsoft.KeyVault/vaults/secrets"), s => s.Name == $"{target.Value.Vault}/{target.Value.Secret}");
        }
    }

    [Theory]
    [MemberData(nameof(InfraTemplate.EnvironmentNames), MemberType = typeof(InfraTemplate))]
    public void SharedKeyAndLocalAuthenticationAreOff(string environment)
    {
        var deployed = template.Environments[environment];
        var accounts = deployed.OfType("Microsoft.Storage/storageAccounts").ToList();
        Assert.NotEmpty(accounts);
        foreach (var account in accounts)
        {
            Assert.Equal(false, (bool?)account.Properties?["allowSharedKeyAccess"]);
            Assert.Equal(false, (bool?)account.Properties?["allowBlobPublicAccess"]);
        }

        foreach (var ns in deployed.OfType("Microsoft.ServiceBus/namespaces"))
        {
            Assert.Equal(true, (bool?)ns.Properties?["disableLocalAuth"]);
        }

        foreach (var vault in deployed.OfType("Microsoft.KeyVault/vaults"))
        {
            Assert.Equal(true, (bool?)vault.Properties?["enableRbacAuthorization"]);
        }

        Assert.Equal(true, (bool?)deployed.Site.Properties?["httpsOnly"]);
    }

    [GeneratedRegex(@"\blist[A-Z][A-Za-z]*\(")]
    private static partial Regex ListFunction();

    [GeneratedRegex("AccountKey=|SharedAccessKey=|SharedAccessSignature|[?&]sig=|ClientSecret=|Password=", RegexOptions.IgnoreCase)]
    private static partial Regex KeyMaterial();

    [GeneratedRegex("(password|secret|token|key)$", RegexOptions.IgnoreCase)]
    private static partial Regex SecretName();
}
