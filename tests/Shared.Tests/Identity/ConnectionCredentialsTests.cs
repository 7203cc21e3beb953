using Azure.Identity;
using Fleet.Shared.Identity;
using Microsoft.Extensions.Configuration;

namespace Fleet.Shared.Tests.Identity;

public sealed class ConnectionCredentialsTests
{
    private static IConfiguration Settings(params (string Key, string Value)[] values) =>
        new ConfigurationBuilder()
            .AddInMemoryCollection(values.Select(v => new KeyValuePair<string, string?>(v.Key, v.Value)))
            .Build();

    [Fact]
    public void Managed_identity_setting_selects_managed_identity_credential()
    {
        var credential = ConnectionCredentials.Create(Settings(("Sphere:credential", "ManagedIdentity")), "Sphere");
        Assert.IsType<ManagedIdentityCredential>(credential);
    }

    [Fact]
    public void Client_secret_with_tenant_and_client_selects_service_principal()
    {
        var credential = ConnectionCredentials.Create(
            Settings(("Sphere:tenantId", "t"), ("Sphere:clientId", "c"), ("Sphere:clientSecret", "s")), "Sphere");
        Assert.IsType<ClientSecretCredential>(credential);
    }

    [Fact]
    public void No_identity_settings_fall_back_to_default_credential()
    {
        Assert.IsType<DefaultAzureCredential>(ConnectionCredentials.Create(Settings(), "Sphere"));
        Assert.False(ConnectionCredentials.HasExplicitIdentity(Settings(), "Sphere"));
    }

    [Fact]
    public void Client_secret_without_tenant_names_the_missing_setting()
    {
        var error = Assert.Throws<InvalidOperationException>(() =>
            ConnectionCredentials.Create(Settings(("Sphere:clientId", "c"), ("Sphere:clientSecret", "hunter2-secret")), "Sphere"));
        Assert.Contains("Sphere__tenantId", error.Message, StringComparison.Ordinal);
        Assert.DoesNotContain("hunter2-secret", error.Message, StringComparison.Ordinal);
    }

    [Fact]
    public void Unknown_credential_kind_is_rejected_with_the_setting_name()
    {
        var error = Assert.Throws<InvalidOperationException>(() =>
            ConnectionCredentials.Create(Settings(("Storage:credential", "certificate")), "Storage"));
        Assert.Contains("Storage__credential", error.Message, StringComparison.Ordinal);
    }

    [Fact]
    public void Managed_identity_with_a_client_secret_is_contradictory()
    {
        var error = Assert.Throws<InvalidOperationException>(() => ConnectionCredentials.Create(
            Settings(("Sphere:credential", "managedidentity"), ("Sphere:clientSecret", "s")), "Sphere"));
        Assert.Contains("Sphere__clientSecret", error.Message, StringComparison.Ordinal);
    }
}
