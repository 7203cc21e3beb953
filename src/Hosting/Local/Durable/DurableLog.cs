using Microsoft.Extensions.Logging;

namespace Fleet.Hosting.Local.Durable;

/// <summary>Logs of Durable Functions on the local host; event ids 4800–4999.</summary>
internal static partial class DurableLog
{
    [LoggerMessage(EventId = 4800, EventName = "DurableStoreSelected", Level = LogLevel.Information, Message = "Durable Functions: task hub {HubName} on the {Store} store {Location} ({Reason}); host.json storageProvider {StorageProvider} is for Azure and not used locally")]
    public static partial void DurableStoreSelected(this ILogger logger, string hubName, string store, string location, string reason, string storageProvider);

    [LoggerMessage(EventId = 4801, EventName = "DurableDispatchStarted", Level = LogLevel.Information, Message = "Durable Functions: dispatching {Kind} work to {FunctionCount} functions, at most {Concurrency} at a time")]
    public static partial void DurableDispatchStarted(this ILogger logger, string kind, int functionCount, int concurrency);

    [LoggerMessage(EventId = 4802, EventName = "UnknownOrchestrator", Level = LogLevel.Error, Message = "Orchestration {InstanceId} fails: {Reason}")]
    public static partial void UnknownOrchestrator(this ILogger logger, string instanceId, string reason);

    [LoggerMessage(EventId = 4803, EventName = "UnknownActivity", Level = LogLevel.Error, Message = "Activity call {TaskId} of orchestration {InstanceId} fails: {Reason}")]
    public static partial void UnknownActivity(this ILogger logger, string instanceId, int taskId, string reason);

    [LoggerMessage(EventId = 4804, EventName = "EpisodeAbandoned", Level = LogLevel.Warning, Message = "Episode of orchestration {InstanceId} ({FunctionName}) is handed back to run again: {Reason}")]
    public static partial void EpisodeAbandoned(this ILogger logger, string instanceId, string functionName, string reason);

    [LoggerMessage(EventId = 4805, EventName = "ActivityAbandoned", Level = LogLevel.Warning, Message = "Activity {FunctionName} (task {TaskId} of orchestration {InstanceId}) is handed back to run again: {Reason}")]
    public static partial void ActivityAbandoned(this ILogger logger, string functionName, string instanceId, int taskId, string reason);

    [LoggerMessage(EventId = 4806, EventName = "BadOrchestratorPayload", Level = LogLevel.Error, Message = "Orchestration {InstanceId} fails: the orchestrator function {FunctionName} answered with {Problem}")]
    public static partial void BadOrchestratorPayload(this ILogger logger, string instanceId, string functionName, string problem);

    [LoggerMessage(EventId = 4807, EventName = "OrchestratorInvocationFailed", Level = LogLevel.Error, Message = "Orchestration {InstanceId} fails: the invocation of orchestrator function {FunctionName} failed: {Error}")]
    public static partial void OrchestratorInvocationFailed(this ILogger logger, string instanceId, string functionName, string error);

    [LoggerMessage(EventId = 4808, EventName = "DurableStoreUnavailable", Level = LogLevel.Error, Message = "Durable Functions: the {Kind} dispatcher cannot reach the durable store (retrying in {Delay}): {Error}")]
    public static partial void DurableStoreUnavailable(this ILogger logger, Exception exception, string kind, TimeSpan delay, string error);

    [LoggerMessage(EventId = 4809, EventName = "SettleFailed", Level = LogLevel.Warning, Message = "Durable Functions: recording the outcome of {Kind} work for {InstanceId} failed; the work is handed out again when its lock expires")]
    public static partial void SettleFailed(this ILogger logger, Exception exception, string kind, string instanceId);

    [LoggerMessage(EventId = 4810, EventName = "DurableFunctionNotLoaded", Level = LogLevel.Warning, Message = "Durable function {FunctionName} is not loaded: {Reason}")]
    public static partial void DurableFunctionNotLoaded(this ILogger logger, string functionName, string reason);

    [LoggerMessage(EventId = 4812, EventName = "DurableStoreNotReachable", Level = LogLevel.Error, Message = "Durable Functions: the {Store} store at {Location} is not reachable: {Problem}. The host keeps trying; orchestrations and activities run once it answers")]
    public static partial void DurableStoreNotReachable(this ILogger logger, string store, string location, string problem);

    [LoggerMessage(EventId = 4811, EventName = "DurableApiFailed", Level = LogLevel.Error, Message = "Durable management API {Method} {Path} failed")]
    public static partial void DurableApiFailed(this ILogger logger, Exception exception, string method, string path);

    [LoggerMessage(EventId = 4813, EventName = "EntityBatchFails", Level = LogLevel.Error, Message = "The operations of a batch of entity {InstanceId} fail: {Reason}")]
    public static partial void EntityBatchFails(this ILogger logger, string instanceId, string reason);

    [LoggerMessage(EventId = 4814, EventName = "EntityBatchAbandoned", Level = LogLevel.Warning, Message = "Batch of entity {InstanceId} ({FunctionName}) is handed back to run again: {Reason}")]
    public static partial void EntityBatchAbandoned(this ILogger logger, string instanceId, string functionName, string reason);
}
