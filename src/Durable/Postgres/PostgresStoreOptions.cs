using System.Text.RegularExpressions;
using Npgsql;

namespace Fleet.Durable.Postgres;

/// <summary>
/// Settings of the PostgreSQL store. Give either <see cref="ConnectionString"/> (the store builds and owns its
/// <see cref="NpgsqlDataSource"/>) or <see cref="DataSource"/> (built and owned by the caller).
/// </summary>
public sealed partial class PostgresStoreOptions
{
    /// <summary>The OAuth scope of Azure Database for PostgreSQL: Entra access tokens for it are the password.</summary>
    public const string AzureDatabaseScope = "https://ossrdbms-aad.database.windows.net/.default";

    /// <summary>
    /// An Npgsql connection string. Use a direct (session) connection: LISTEN/NOTIFY and the advisory locks that show
    /// which hosts are alive do not work through a transaction-pooling proxy such as PgBouncer in transaction mode.
    /// </summary>
    public string? ConnectionString { get; set; }

    /// <summary>A data source the caller built and disposes (instead of <see cref="ConnectionString"/>).</summary>
    public NpgsqlDataSource? DataSource { get; set; }

    /// <summary>
    /// The database schema holding the store's tables; created at start-up when missing. Several hubs share one
    /// schema. Letters, digits and '_', starting with a letter or '_', at most 48 characters. Default <c>durable</c>.
    /// </summary>
    public string Schema { get; set; } = "durable";

    /// <summary>
    /// Microsoft Entra authentication (Azure Database for PostgreSQL): returns an access token for
    /// <see cref="AzureDatabaseScope"/>, used as the password of new physical connections and fetched again before
    /// it expires. Only with <see cref="ConnectionString"/>, which must then carry no password.
    /// </summary>
    public PostgresAccessTokenProvider? AccessTokenProvider { get; set; }

    /// <summary>Most write operations grouped into one transaction (group commit). Default 256.</summary>
    public int MaxWriteBatch { get; set; } = 256;

    /// <summary>
    /// Most work items one dispatch query locks. A host locks no more than its free concurrency slots, so work is not
    /// held back from other hosts. Default 50.
    /// </summary>
    public int MaxLockBatch { get; set; } = 50;

    /// <summary>How long <see cref="PostgresOrchestrationStore.CheckHealthAsync"/> waits for the database. Default 5 seconds.</summary>
    public TimeSpan HealthCheckTimeout { get; set; } = TimeSpan.FromSeconds(5);

    /// <summary>Throws when a setting is out of range; the message names the setting.</summary>
    internal void Validate()
    {
        var errors = new List<string>();
        if (DataSource is null == string.IsNullOrWhiteSpace(ConnectionString))
        {
            errors.Add("PostgresStoreOptions: set exactly one of ConnectionString and DataSource.");
        }

        if (string.IsNullOrEmpty(Schema) || !SchemaPattern().IsMatch(Schema))
        {
            errors.Add($"PostgresStoreOptions.Schema '{Schema}' is invalid: use 1-48 letters, digits or '_', starting with a letter or '_'.");
        }

        if (MaxWriteBatch is < 1 or > 10_000)
        {
            errors.Add($"PostgresStoreOptions.MaxWriteBatch {MaxWriteBatch} is out of range: use 1 to 10000.");
        }

        if (MaxLockBatch is < 1 or > 1_000)
        {
            errors.Add($"PostgresStoreOptions.MaxLockBatch {MaxLockBatch} is out of range: use 1 to 1000.");
        }

        if (HealthCheckTimeout <= TimeSpan.Zero || HealthCheckTimeout > TimeSpan.FromMinutes(5))
        {
            errors.Add($"PostgresStoreOptions.HealthCheckTimeout {HealthCheckTimeout} is out of range: use up to 5 minutes.");
        }

        if (AccessTokenProvider is not null)
        {
            if (DataSource is not null)
            {
                errors.Add("PostgresStoreOptions.AccessTokenProvider works with ConnectionString only: configure the password provider on your own DataSource instead.");
            }
            else if (!string.IsNullOrWhiteSpace(ConnectionString) && TryParse(ConnectionString) is { Password.Length: > 0 })
            {
                errors.Add("PostgresStoreOptions: the connection string has a password and AccessTokenProvider is set; remove one of them.");
            }
        }

        if (DataSource is null && !string.IsNullOrWhiteSpace(ConnectionString) && TryParse(ConnectionString) is null)
        {
            errors.Add("PostgresStoreOptions.ConnectionString is not a valid Npgsql connection string.");
        }

        if (errors.Count > 0)
        {
            throw new ArgumentException(string.Join(" ", errors));
        }
    }

    private static NpgsqlConnectionStringBuilder? TryParse(string connectionString)
    {
        try
        {
            return new NpgsqlConnectionStringBuilder(connectionString);
        }
        catch (ArgumentException)
        {
            // The message could quote the connection string (and a password in it): callers report it without details.
            return null;
        }
    }

    [GeneratedRegex("^[A-Za-z_][A-Za-z0-9_]{0,47}$")]
    private static partial Regex SchemaPattern();
}

/// <summary>An access token used as a PostgreSQL password, with its expiry.</summary>
/// <param name="Token">The token (a secret: never logged).</param>
/// <param name="ExpiresOn">When it stops being accepted.</param>
public readonly record struct PostgresAccessToken(string Token, DateTimeOffset ExpiresOn)
{
    /// <summary>Never shows the token.</summary>
    public override string ToString() => $"access token expiring {ExpiresOn:O}";
}

/// <summary>Gets an access token for the database (for example from a <c>TokenCredential</c>).</summary>
/// <param name="cancellationToken">Cancels the request.</param>
public delegate ValueTask<PostgresAccessToken> PostgresAccessTokenProvider(CancellationToken cancellationToken);
