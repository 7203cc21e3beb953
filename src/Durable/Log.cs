using Microsoft.Extensions.Logging;

namespace Fleet.Durable;

/// <summary>
/// Logs of the sidecar backend's episodes and activities (3100s, 3200s) and of the SQLite store (3300s); the
/// PostgreSQL store logs 3400s, the backend's streams and entities 3500s. Ids of removed entries are not reused.
/// </summary>
internal static partial class Log
{
    [LoggerMessage(EventId = 3100, EventName = "OrchestrationCompleted", Level = LogLevel.Debug, Message = "Orchestration {Name} ({InstanceId}) finished as {Status}")]
    public static partial void OrchestrationFinished(this ILogger logger, string name, string instanceId, string status);

    [LoggerMessage(EventId = 3101, EventName = "OrchestrationFailed", Level = LogLevel.Warning, Message = "Orchestration {Name} ({InstanceId}) failed: {ErrorType}: {ErrorMessage}")]
    public static partial void OrchestrationFailed(this ILogger logger, string name, string instanceId, string errorType, string errorMessage);

    [LoggerMessage(EventId = 3102, EventName = "StaleEpisode", Level = LogLevel.Information, Message = "Episode of {InstanceId} was not committed because the instance changed meanwhile (another host or a restart); it will be reloaded")]
    public static partial void StaleEpisode(this ILogger logger, string instanceId);

    [LoggerMessage(EventId = 3103, EventName = "EpisodeFailed", Level = LogLevel.Warning, Message = "Processing messages for {InstanceId} failed (attempt {Attempt} of {Limit}); they will be retried")]
    public static partial void EpisodeFailed(this ILogger logger, Exception exception, string instanceId, int attempt, int limit);

    [LoggerMessage(EventId = 3104, EventName = "PoisonOrchestration", Level = LogLevel.Error, Message = "Messages for {InstanceId} failed {Attempts} times; the instance is failed as poisoned: {Reason}")]
    public static partial void PoisonOrchestration(this ILogger logger, string instanceId, int attempts, string reason);

    [LoggerMessage(EventId = 3202, EventName = "PoisonActivity", Level = LogLevel.Error, Message = "Activity {Name} for {InstanceId} (#{TaskId}) was attempted {Attempts} times without completing; the call fails as poisoned")]
    public static partial void PoisonActivity(this ILogger logger, string name, string instanceId, int taskId, int attempts);

    [LoggerMessage(EventId = 3300, EventName = "StoreOpened", Level = LogLevel.Information, Message = "SQLite store opened at {Path} for hub {HubName} (journal WAL, synchronous {Synchronous})")]
    public static partial void StoreOpened(this ILogger logger, string path, string hubName, string synchronous);

    [LoggerMessage(EventId = 3301, EventName = "StoreRecovered", Level = LogLevel.Information, Message = "Hub {HubName} owned by this process; recovered {Instances} instances with pending messages and {Activities} pending activities")]
    public static partial void StoreRecovered(this ILogger logger, string hubName, int instances, int activities);

    [LoggerMessage(EventId = 3302, EventName = "WriteBatchFailed", Level = LogLevel.Warning, Message = "A write batch of {Count} operations failed; retrying them one at a time")]
    public static partial void WriteBatchFailed(this ILogger logger, Exception exception, int count);

    [LoggerMessage(EventId = 3303, EventName = "LockExpired", Level = LogLevel.Warning, Message = "Lock on {Kind} {Id} in hub {HubName} expired; the work is handed out again")]
    public static partial void LockExpired(this ILogger logger, string kind, string id, string hubName);

    [LoggerMessage(EventId = 3305, EventName = "PollFailed", Level = LogLevel.Warning, Message = "Polling hub {HubName} failed")]
    public static partial void PollFailed(this ILogger logger, Exception exception, string hubName);

    [LoggerMessage(EventId = 3306, EventName = "WriteFailed", Level = LogLevel.Error, Message = "The store writer failed while finishing {Count} write operations; they fail with the error and the writer carries on")]
    public static partial void WriteFailed(this ILogger logger, Exception exception, int count);

    [LoggerMessage(EventId = 3307, EventName = "SqliteSchemaUpgraded", Level = LogLevel.Information, Message = "SQLite store at {Path} upgraded from schema {FromVersion} to {ToVersion}")]
    public static partial void SqliteSchemaUpgraded(this ILogger logger, string path, int fromVersion, int toVersion);
}
