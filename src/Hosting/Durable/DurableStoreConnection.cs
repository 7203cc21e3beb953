using Azure.Core;
using Fleet.Durable;
using Fleet.Durable.Postgres;
using Fleet.Shared.Identity;
using Microsoft.Data.Sqlite;
using Microsoft.Extensions.Configuration;
using Microsoft.Extensions.DependencyInjection;
using Npgsql;

namespace Fleet.Hosting.Durable;

/// <summary>
/// Reads a durable store's connection setting (SQLite file or PostgreSQL connection string) and applies it to the
/// store builder; shared by the in-process host (host.json <c>storageProvider</c>) and the local Functions host (a
/// local setting), so both accept and refuse the same values with the same messages.
/// </summary>
internal static class DurableStoreConnection
{
    /// <summary>The SQLite database file a setting names, as a path or <c>Data Source=…</c>, rooted at <paramref name="root"/>.</summary>
    /// <exception cref="HostConfigurationException">The value is no usable SQLite file.</exception>
    public static string SqliteFile(string settingName, string value, string root)
    {
        string path;
        if (value.Contains('=', StringComparison.Ordinal))
        {
            try
            {
                path = new SqliteConnectionStringBuilder(value).DataSource;
            }
            catch (ArgumentException ex)
            {
                throw new HostConfigurationException(settingName, $"Setting '{settingName}' is not a valid SQLite connection string: {ex.Message}", ex);
            }
        }
        else
        {
            path = value;
        }

        if (string.IsNullOrWhiteSpace(path) || path == ":memory:")
        {
            throw new HostConfigurationException(settingName, $"Setting '{settingName}' must name a SQLite database file (the durable store must survive restarts).");
        }

        return Path.IsPathRooted(path) ? path : Path.Combine(root, path);
    }

    /// <summary>
    /// A PostgreSQL connection: an Npgsql connection string in setting <see cref="Name"/>. Without a password, Microsoft
    /// Entra authentication is used when the connection names an identity (<c>{name}__credential</c>, <c>__clientId</c>,
    /// <c>__tenantId</c> + <c>__clientSecret</c>, read as for any identity-based connection) or when the server is an
    /// Azure Database for PostgreSQL (<c>*.postgres.database.azure.com</c>, then <c>DefaultAzureCredential</c>); its
    /// user name is the Entra principal's name.
    /// </summary>
    internal sealed record Postgres(string Name, string ConnectionString, TokenCredential? Credential)
    {
        private const string AzureHostSuffix = ".postgres.database.azure.com";

        /// <summary>The server the connection string names (no secret), for start-up messages.</summary>
        public string Server
        {
            get
            {
                var parsed = new NpgsqlConnectionStringBuilder(ConnectionString);
                return $"{parsed.Host}:{parsed.Port}/{parsed.Database}";
            }
        }

        /// <exception cref="HostConfigurationException">The value is no usable PostgreSQL connection.</exception>
        public static Postgres Parse(IConfiguration configuration, string name, string value)
        {
            NpgsqlConnectionStringBuilder parsed;
            try
            {
                parsed = new NpgsqlConnectionStringBuilder(value);
            }
            catch (ArgumentException ex)
            {
                // The parser's message can quote the value, password included: it is not passed on.
                throw new HostConfigurationException(name, $"Setting '{name}' is not a valid PostgreSQL connection string ({ex.GetType().Name}).");
            }

            if (string.IsNullOrWhiteSpace(parsed.Host))
            {
                throw new HostConfigurationException(name, $"Setting '{name}' names no server: add 'Host=<server>' to the connection string.");
            }

            var hasPassword = !string.IsNullOrEmpty(parsed.Password);
            var namesIdentity = ConnectionCredentials.HasExplicitIdentity(configuration, name);
            var azureServer = parsed.Host.EndsWith(AzureHostSuffix, StringComparison.OrdinalIgnoreCase);
            if (hasPassword && namesIdentity)
            {
                throw new HostConfigurationException(
                    name, $"Setting '{name}' has a password and '{name}__credential' / '__clientId' / '__clientSecret' settings name an identity: remove one of them.");
            }

            if (hasPassword || (!namesIdentity && !azureServer))
            {
                return new Postgres(name, value, null);
            }

            if (string.IsNullOrWhiteSpace(parsed.Username))
            {
                throw new HostConfigurationException(
                    name, $"Setting '{name}' uses Microsoft Entra authentication and needs 'Username=<the Entra user, group or managed identity name>'.");
            }

            try
            {
                return new Postgres(name, value, ConnectionCredentials.Create(configuration, name));
            }
            catch (InvalidOperationException ex)
            {
                throw new HostConfigurationException(name, ex.Message, ex);
            }
        }

        /// <summary>Makes <paramref name="builder"/> use this PostgreSQL store (with Entra tokens when it has a credential).</summary>
        public void Apply(DurableTaskBuilder builder) => builder.UsePostgres(Configure);

        /// <summary>Sets the store options: the connection string, and an Entra token provider when it has a credential.</summary>
        public void Configure(IServiceProvider sp, PostgresStoreOptions options)
        {
            options.ConnectionString = ConnectionString;
            if (Credential is { } configured)
            {
                // A TokenCredential the app registers under the connection's name wins over the settings.
                var credential = sp.GetKeyedService<TokenCredential>(Name) ?? configured;
                options.AccessTokenProvider = async cancellationToken =>
                {
                    var token = await credential.GetTokenAsync(new TokenRequestContext([PostgresStoreOptions.AzureDatabaseScope]), cancellationToken)
                        .ConfigureAwait(false);
                    return new PostgresAccessToken(token.Token, token.ExpiresOn);
                };
            }
        }
    }
}
