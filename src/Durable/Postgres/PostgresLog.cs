using Microsoft.Extensions.Logging;

namespace Fleet.Durable.Postgres;

/// <summary>PostgreSQL store logs; event IDs 3400–3499 (inside the Durable range).</summary>
internal static partial class PostgresLog
{
    [LoggerMessage(EventId = 3400, EventName = "PostgresStoreReady", Level = LogLevel.Information, Message = "PostgreSQL store ready for hub {HubName} (schema {Schema} at version {Version}, migrated from {FromVersion})")]
    public static partial void StoreReady(this ILogger logger, string hubName, string schema, int version, int fromVersion);

    [LoggerMessage(EventId = 3401, EventName = "PostgresSchemaMigrating", Level = LogLevel.Information, Message = "Applying durable store migration {Version} to schema {Schema}")]
    public static partial void SchemaMigrating(this ILogger logger, string schema, int version);

    [LoggerMessage(EventId = 3402, EventName = "PostgresDispatchStarted", Level = LogLevel.Information, Message = "Hub {HubName} dispatching as host {Owner}; {Instances} instances and {Activities} activities left locked by hosts that are gone were taken back")]
    public static partial void DispatchStarted(this ILogger logger, string hubName, int owner, int instances, int activities);

    [LoggerMessage(EventId = 3403, EventName = "PostgresUnavailable", Level = LogLevel.Warning, Message = "The durable store database is unavailable ({Operation} for hub {HubName}); retrying until it is back")]
    public static partial void DatabaseUnavailable(this ILogger logger, Exception exception, string operation, string hubName);

    [LoggerMessage(EventId = 3404, EventName = "PostgresRecovered", Level = LogLevel.Information, Message = "The durable store database is reachable again for hub {HubName} after {Seconds:0.0} s")]
    public static partial void DatabaseRecovered(this ILogger logger, string hubName, double seconds);

    [LoggerMessage(EventId = 3405, EventName = "PostgresWriteBatchFailed", Level = LogLevel.Warning, Message = "A write batch of {Count} operations failed; retrying them one at a time")]
    public static partial void WriteBatchFailed(this ILogger logger, Exception exception, int count);

    [LoggerMessage(EventId = 3406, EventName = "PostgresListenerDisconnected", Level = LogLevel.Warning, Message = "The notification connection of hub {HubName} was lost; reconnecting (work is found by polling meanwhile)")]
    public static partial void ListenerDisconnected(this ILogger logger, Exception exception, string hubName);

    [LoggerMessage(EventId = 3407, EventName = "PostgresReclaimed", Level = LogLevel.Warning, Message = "Hub {HubName}: took back {Instances} instances and {Activities} activities locked by hosts that are gone")]
    public static partial void Reclaimed(this ILogger logger, string hubName, int instances, int activities);

    [LoggerMessage(EventId = 3408, EventName = "PostgresAccessTokenFetched", Level = LogLevel.Debug, Message = "Fetched a database access token expiring {ExpiresOn:O}; it is replaced from {RefreshAt:O}")]
    public static partial void AccessTokenFetched(this ILogger logger, DateTimeOffset expiresOn, DateTimeOffset refreshAt);

    [LoggerMessage(EventId = 3409, EventName = "PostgresAccessTokenRefreshFailed", Level = LogLevel.Warning, Message = "Refreshing the database access token failed; using the cached one, which expires {ExpiresOn:O}")]
    public static partial void AccessTokenRefreshFailed(this ILogger logger, Exception exception, DateTimeOffset expiresOn);

    [LoggerMessage(EventId = 3410, EventName = "PostgresStartDeferred", Level = LogLevel.Warning, Message = "The durable store database for hub {HubName} is unreachable at start-up; the store keeps trying in the background and work waits until it is reachable")]
    public static partial void StartDeferred(this ILogger logger, Exception exception, string hubName);

    [LoggerMessage(EventId = 3411, EventName = "PostgresPollFailed", Level = LogLevel.Warning, Message = "Polling hub {HubName} failed")]
    public static partial void PollFailed(this ILogger logger, Exception exception, string hubName);

    [LoggerMessage(EventId = 3413, EventName = "PostgresWriteFailed", Level = LogLevel.Error, Message = "The store writer failed while finishing {Count} write operations; they fail with the error and the writer carries on")]
    public static partial void WriteFailed(this ILogger logger, Exception exception, int count);

    [LoggerMessage(EventId = 3412, EventName = "PostgresStartFailed", Level = LogLevel.Error, Message = "The durable store for hub {HubName} cannot start: {Reason}")]
    public static partial void StartFailed(this ILogger logger, Exception exception, string hubName, string reason);
}
