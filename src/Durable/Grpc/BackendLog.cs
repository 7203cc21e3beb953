using Microsoft.Extensions.Logging;

namespace Fleet.Durable.Grpc;

/// <summary>Sidecar backend logs; event IDs 3500–3599 (episode and activity outcomes are the 31xx/32xx events of Fleet.Durable.Log).</summary>
internal static partial class BackendLog
{
    [LoggerMessage(EventId = 3500, EventName = "BackendStarted", Level = LogLevel.Information, Message = "Durable sidecar backend started for hub {HubName} (extended session idle timeout {IdleTimeoutSeconds} s)")]
    public static partial void BackendStarted(this ILogger logger, string hubName, int idleTimeoutSeconds);

    [LoggerMessage(EventId = 3501, EventName = "HistoryRequired", Level = LogLevel.Debug, Message = "The worker no longer holds {InstanceId}; its episode is handed out again with the full history")]
    public static partial void HistoryRequired(this ILogger logger, string instanceId);

    [LoggerMessage(EventId = 3502, EventName = "LockRenewalFailed", Level = LogLevel.Warning, Message = "Renewing a lock for {InstanceId} failed; it is retried at the next renewal")]
    public static partial void LockRenewalFailed(this ILogger logger, Exception exception, string instanceId);

    [LoggerMessage(EventId = 3503, EventName = "ActivityReleased", Level = LogLevel.Warning, Message = "Activity {Name} for {InstanceId} was given back (attempt {Attempt} of {Limit}); it runs again")]
    public static partial void ActivityReleased(this ILogger logger, Exception exception, string name, string instanceId, int attempt, int limit);

    [LoggerMessage(EventId = 3510, EventName = "WorkerConnected", Level = LogLevel.Information, Message = "SDK worker connected to hub {HubName} (up to {Orchestrations} episodes, {Activities} activities and {Entities} entity batches at once)")]
    public static partial void WorkerConnected(this ILogger logger, string hubName, int orchestrations, int activities, int entities);

    [LoggerMessage(EventId = 3511, EventName = "WorkerDisconnected", Level = LogLevel.Information, Message = "SDK worker disconnected from hub {HubName}; {Abandoned} work items it held were given back")]
    public static partial void WorkerDisconnected(this ILogger logger, string hubName, int abandoned);

    [LoggerMessage(EventId = 3512, EventName = "UnknownCompletionToken", Level = LogLevel.Warning, Message = "A worker completed a {Kind} work item with a completion token the backend does not hold (already settled, or its stream ended)")]
    public static partial void UnknownCompletionToken(this ILogger logger, string kind);

    [LoggerMessage(EventId = 3513, EventName = "WorkItemStreamFailed", Level = LogLevel.Warning, Message = "Handing {Kind} work to an SDK worker failed")]
    public static partial void WorkItemStreamFailed(this ILogger logger, Exception exception, string kind);

    [LoggerMessage(EventId = 3514, EventName = "ClientRequestFailed", Level = LogLevel.Warning, Message = "Sidecar request {Method} failed")]
    public static partial void ClientRequestFailed(this ILogger logger, Exception exception, string method);

    [LoggerMessage(EventId = 3520, EventName = "EntityBatchFailed", Level = LogLevel.Warning, Message = "A batch of entity {InstanceId} failed (attempt {Attempt} of {Limit}); it runs again")]
    public static partial void EntityBatchFailed(this ILogger logger, Exception exception, string instanceId, int attempt, int limit);

    [LoggerMessage(EventId = 3521, EventName = "PoisonEntityBatch", Level = LogLevel.Error, Message = "Entity {InstanceId}: after {Attempts} attempts the operations of its batch fail: {Reason}")]
    public static partial void PoisonEntityBatch(this ILogger logger, string instanceId, int attempts, string reason);

    [LoggerMessage(EventId = 3522, EventName = "EntityMessagesDropped", Level = LogLevel.Warning, Message = "Entity {InstanceId}: {Count} messages were dropped: {Reason}")]
    public static partial void EntityMessagesDropped(this ILogger logger, string instanceId, int count, string reason);

    [LoggerMessage(EventId = 3523, EventName = "StaleEntityBatch", Level = LogLevel.Debug, Message = "Entity {InstanceId} changed while its batch ran; the batch is handed out again")]
    public static partial void StaleEntityBatch(this ILogger logger, string instanceId);

    [LoggerMessage(EventId = 3524, EventName = "OrphanedLockReleased", Level = LogLevel.Information, Message = "Entity {InstanceId} was locked by {Holder}, which no longer runs; the lock is released")]
    public static partial void OrphanedLockReleased(this ILogger logger, string instanceId, string holder);

    [LoggerMessage(EventId = 3530, EventName = "RewindRequested", Level = LogLevel.Information, Message = "Rewind of failed instance {InstanceId} requested: {Reason}")]
    public static partial void RewindRequested(this ILogger logger, string instanceId, string reason);

    [LoggerMessage(EventId = 3531, EventName = "Rewound", Level = LogLevel.Information, Message = "Instance {InstanceId} rewound: {FailedTasks} failed tasks run again, {Children} failed sub-orchestrations rewound.")]
    public static partial void Rewound(this ILogger logger, string instanceId, int failedTasks, int children);
}
