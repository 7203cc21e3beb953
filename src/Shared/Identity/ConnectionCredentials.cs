using Azure.Core;
using Azure.Identity;
using Microsoft.Extensions.Configuration;

namespace Fleet.Shared.Identity;

/// <summary>
/// Chooses the <see cref="TokenCredential"/> for a named connection the way Azure Functions reads
/// identity-based connections: <c>&lt;Conn&gt;__credential=managedidentity</c> (with <c>__clientId</c> for a
/// user-assigned identity), <c>__tenantId</c> + <c>__clientId</c> + <c>__clientSecret</c> for a service principal,
/// otherwise <see cref="DefaultAzureCredential"/>.
/// </summary>
public static class ConnectionCredentials
{
    /// <summary>Setting value that selects a managed identity.</summary>
    public const string ManagedIdentity = "managedidentity";

    /// <summary>
    /// Creates the credential described by the settings under <paramref name="connectionName"/>
    /// (configuration keys <c>{connectionName}:credential</c>, <c>:clientId</c>, <c>:tenantId</c>,
    /// <c>:clientSecret</c>, <c>:authorityHost</c>; in environment variables and local.settings.json the
    /// separator is <c>__</c>).
    /// </summary>
    /// <exception cref="InvalidOperationException">The settings are contradictory or incomplete; the message
    /// names the setting.</exception>
    public static TokenCredential Create(IConfiguration configuration, string connectionName)
    {
        ArgumentNullException.ThrowIfNull(configuration);
        ArgumentException.ThrowIfNullOrEmpty(connectionName);
        var section = configuration.GetSection(connectionName);
        var credential = Trimmed(section["credential"]);
        var clientId = Trimmed(section["clientId"]);
        var tenantId = Trimmed(section["tenantId"]);
        var clientSecret = Trimmed(section["clientSecret"]);
        var authorityHost = Trimmed(section["authorityHost"]);

        if (credential is not null)
        {
            if (!string.Equals(credential, ManagedIdentity, StringComparison.OrdinalIgnoreCase))
            {
                throw new InvalidOperationException(
                    $"Setting '{connectionName}__credential' has the unsupported value '{credential}'; " +
                    $"the only supported value is '{ManagedIdentity}'.");
            }

            if (clientSecret is not null)
            {
                throw new InvalidOperationException(
                    $"Settings '{connectionName}__credential=managedidentity' and '{connectionName}__clientSecret' " +
                    "contradict each other: remove one of them.");
            }

            return clientId is null
                ? new ManagedIdentityCredential(ManagedIdentityId.SystemAssigned)
                : new ManagedIdentityCredential(ManagedIdentityId.FromUserAssignedClientId(clientId));
        }

        if (clientSecret is not null)
        {
            if (tenantId is null || clientId is null)
            {
                var missing = tenantId is null ? "tenantId" : "clientId";
                throw new InvalidOperationException(
                    $"Setting '{connectionName}__{missing}' is required with '{connectionName}__clientSecret' " +
                    "for a service principal.");
            }

            var options = new ClientSecretCredentialOptions();
            if (authorityHost is not null)
            {
                options.AuthorityHost = ParseAuthority(connectionName, authorityHost);
            }

            return new ClientSecretCredential(tenantId, clientId, clientSecret, options);
        }

        var defaults = new DefaultAzureCredentialOptions();
        if (clientId is not null)
        {
            defaults.ManagedIdentityClientId = clientId;
            defaults.WorkloadIdentityClientId = clientId;
        }

        if (tenantId is not null)
        {
            defaults.TenantId = tenantId;
        }

        return new DefaultAzureCredential(defaults);
    }

    /// <summary>
    /// True when the connection names an identity explicitly (a <c>credential</c>, <c>clientId</c> or
    /// <c>clientSecret</c> setting), as opposed to relying on defaults.
    /// </summary>
    public static bool HasExplicitIdentity(IConfiguration configuration, string connectionName)
    {
        var section = configuration.GetSection(connectionName);
        return Trimmed(section["credential"]) is not null
            || Trimmed(section["clientId"]) is not null
            || Trimmed(section["clientSecret"]) is not null;
    }

    private static Uri ParseAuthority(string connectionName, string value) =>
        Uri.TryCreate(value, UriKind.Absolute, out var uri)
            ? uri
            : throw new InvalidOperationException($"Setting '{connectionName}__authorityHost' is not an absolute URI.");

    private static string? Trimmed(string? value) => string.IsNullOrWhiteSpace(value) ? null : value.Trim();
}
