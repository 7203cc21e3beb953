using Microsoft.Extensions.Logging;

namespace Fleet.Shared.Sphere;

/// <summary>Log events of the Sphere client (Shared range, 1000–1099).</summary>
internal static partial class Log
{
    [LoggerMessage(EventId = 1000, EventName = "SphereRequestRetrying", Level = LogLevel.Warning,
        Message = "Sphere {Method} {Path} failed ({Reason}); retry {Retry} in {Delay}.")]
    public static partial void RequestRetrying(this ILogger logger, string method, string path, string reason, int retry,
        TimeSpan delay);

    [LoggerMessage(EventId = 1001, EventName = "SphereRequestThrottled", Level = LogLevel.Information,
        Message = "Sphere {Method} {Path} was throttled (429) in tenant {TenantId}; retry {Retry} in {Delay}.")]
    public static partial void RequestThrottled(this ILogger logger, string method, string path, string tenantId,
        int retry, TimeSpan delay);

    [LoggerMessage(EventId = 1002, EventName = "SphereRetriesExhausted", Level = LogLevel.Warning,
        Message = "Sphere {Method} {Path} gave up after {Attempts} attempts in {Elapsed}: {Reason}.")]
    public static partial void RetriesExhausted(this ILogger logger, string method, string path, int attempts,
        TimeSpan elapsed, string reason);

    [LoggerMessage(EventId = 1003, EventName = "SphereRequestFailed", Level = LogLevel.Debug,
        Message = "Sphere {Method} {Path} answered {Status} {ErrorCode} (request id {RequestId}).")]
    public static partial void RequestFailed(this ILogger logger, string method, string path, int status,
        string? errorCode, string? requestId);

    [LoggerMessage(EventId = 1004, EventName = "SphereOperationWaiting", Level = LogLevel.Debug,
        Message = "Waiting for Sphere operation {OperationId} ({OperationType}) in tenant {TenantId}: {State}.")]
    public static partial void OperationWaiting(this ILogger logger, string operationId, OperationType operationType,
        string tenantId, OperationState state);

    [LoggerMessage(EventId = 1005, EventName = "SphereOperationFinished", Level = LogLevel.Information,
        Message = "Sphere operation {OperationId} ({OperationType}) in tenant {TenantId} finished {State} after {Elapsed}.")]
    public static partial void OperationFinished(this ILogger logger, string operationId, OperationType operationType,
        string tenantId, OperationState state, TimeSpan elapsed);

    [LoggerMessage(EventId = 1006, EventName = "SphereOperationWaitTimedOut", Level = LogLevel.Warning,
        Message = "Sphere operation {OperationId} ({OperationType}) in tenant {TenantId} was still {State} after {Elapsed}; stopped waiting.")]
    public static partial void OperationWaitTimedOut(this ILogger logger, string operationId,
        OperationType operationType, string tenantId, OperationState state, TimeSpan elapsed);
}
