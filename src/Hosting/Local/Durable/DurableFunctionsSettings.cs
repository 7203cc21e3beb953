using System.Globalization;
using Fleet.Hosting.Configuration;
using Fleet.Hosting.Durable;
using Microsoft.Extensions.Configuration;

namespace Fleet.Hosting.Local.Durable;

/// <summary>The durable store the local host runs.</summary>
internal enum LocalDurableStore
{
    Sqlite,
    Postgres,
}

/// <summary>
/// Durable Functions settings of the local host: task hub, concurrency and extended sessions from host.json
/// <c>extensions.durableTask</c>, and the store from local settings. host.json's <c>storageProvider</c> keeps naming
/// a provider Azure has (so the same host.json deploys) and is not read here.
/// </summary>
/// <param name="HubName">The task hub.</param>
/// <param name="MaxConcurrentOrchestratorFunctions">Orchestrator (and entity) invocations at a time.</param>
/// <param name="MaxConcurrentActivityFunctions">Activity invocations at a time.</param>
/// <param name="ExtendedSessionIdleTimeoutSeconds">How long the worker keeps an orchestration between episodes; 0 = off.</param>
/// <param name="Store">Which store runs.</param>
/// <param name="SqlitePath">The SQLite file, for the SQLite store.</param>
/// <param name="Postgres">The PostgreSQL connection, for the PostgreSQL store.</param>
/// <param name="StoreReason">Why this store runs (which setting chose it), for the start-up log.</param>
/// <param name="HostJsonStorageProvider">host.json's storageProvider.type, as written (or "(none)").</param>
/// <param name="MaxGrpcMessageSizeInBytes">The largest reply the worker's durableClient accepts (host.json <c>maxGrpcMessageSizeInBytes</c>, default 4 MiB).</param>
internal sealed record DurableFunctionsSettings(
    string HubName,
    int MaxConcurrentOrchestratorFunctions,
    int MaxConcurrentActivityFunctions,
    int ExtendedSessionIdleTimeoutSeconds,
    LocalDurableStore Store,
    string? SqlitePath,
    DurableStoreConnection.Postgres? Postgres,
    string StoreReason,
    string HostJsonStorageProvider,
    int MaxGrpcMessageSizeInBytes)
{
    /// <summary>Selects the PostgreSQL store (an Npgsql connection string); the same setting the standalone backend reads.</summary>
    public const string PostgresSetting = "DurableTask:Backend:PostgresConnectionString";

    /// <summary>The SQLite file (a path or <c>Data Source=…</c>, relative to the script root) when PostgreSQL is not selected.</summary>
    public const string SqliteSetting = "DurableTask:Backend:SqlitePath";

    /// <summary>The SQLite file used when neither setting is set, under the script root.</summary>
    public const string DefaultSqliteFile = ".data/durabletask.db";

    /// <summary>Where the store is, without secrets.</summary>
    public string StoreLocation => Store == LocalDurableStore.Postgres ? Postgres!.Server : SqlitePath!;

    /// <summary>Reads and validates the settings.</summary>
    /// <exception cref="HostConfigurationException">A setting is invalid; the exception names it.</exception>
    /// <param name="appSettings">The host's configuration: app settings, and host.json under <c>AzureFunctionsJobHost</c>.</param>
    /// <param name="scriptRoot">The app's output folder.</param>
    public static DurableFunctionsSettings Read(IConfiguration appSettings, string scriptRoot)
    {
        ArgumentNullException.ThrowIfNull(appSettings);
        var section = appSettings.GetSection(ConfigurationFiles.HostJsonPrefix + ":extensions:durableTask");
        var hub = HostSettingsReader.ReadDurableHub(appSettings, section);
        var defaultConcurrency = 10 * Environment.ProcessorCount;
        var extendedSessions = ReadBool(section, "extendedSessionsEnabled", false);
        var idleTimeout = ReadInt(section, "extendedSessionIdleTimeoutInSeconds", 30, 1, 3600);
        var provider = section["storageProvider:type"] is { Length: > 0 } type ? type : "(none)";

        var postgres = appSettings[PostgresSetting];
        var sqlite = appSettings[SqliteSetting];
        DurableStoreConnection.Postgres? connection = null;
        string? sqlitePath = null;
        LocalDurableStore store;
        string reason;
        if (!string.IsNullOrWhiteSpace(postgres))
        {
            store = LocalDurableStore.Postgres;
            connection = DurableStoreConnection.Postgres.Parse(appSettings, PostgresSetting, postgres);
            reason = $"{EnvName(PostgresSetting)} is set";
        }
        else if (!string.IsNullOrWhiteSpace(sqlite))
        {
            store = LocalDurableStore.Sqlite;
            sqlitePath = DurableStoreConnection.SqliteFile(SqliteSetting, sqlite, scriptRoot);
            reason = $"{EnvName(SqliteSetting)} is set";
        }
        else
        {
            store = LocalDurableStore.Sqlite;
            sqlitePath = Path.Combine(scriptRoot, DefaultSqliteFile);
            reason = $"the default: set {EnvName(PostgresSetting)} for PostgreSQL or {EnvName(SqliteSetting)} for another file";
        }

        return new DurableFunctionsSettings(
            hub.HubName,
            hub.MaxConcurrentOrchestratorFunctions ?? defaultConcurrency,
            hub.MaxConcurrentActivityFunctions ?? defaultConcurrency,
            extendedSessions ? idleTimeout : 0,
            store,
            sqlitePath,
            connection,
            reason,
            provider,
            ReadInt(section, "maxGrpcMessageSizeInBytes", 4 * 1024 * 1024, 64 * 1024, int.MaxValue));
    }

    private static string EnvName(string setting) => setting.Replace(":", "__", StringComparison.Ordinal);

    private static bool ReadBool(IConfigurationSection section, string key, bool defaultValue)
    {
        var raw = section[key];
        if (raw is null)
        {
            return defaultValue;
        }

        return bool.TryParse(raw, out var value)
            ? value
            : throw new HostConfigurationException($"extensions.durableTask.{key}", $"host.json extensions.durableTask.{key} is '{raw}': use true or false.");
    }

    private static int ReadInt(IConfigurationSection section, string key, int defaultValue, int min, int max)
    {
        var raw = section[key];
        if (raw is null)
        {
            return defaultValue;
        }

        return int.TryParse(raw, NumberStyles.Integer, CultureInfo.InvariantCulture, out var value) && value >= min && value <= max
            ? value
            : throw new HostConfigurationException($"extensions.durableTask.{key}", $"host.json extensions.durableTask.{key} is '{raw}': use a whole number from {min} to {max}.");
    }
}
