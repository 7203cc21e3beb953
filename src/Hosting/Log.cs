using Microsoft.Extensions.Logging;

namespace Fleet.Hosting;

/// <summary>Logs of the host's storage triggers and request log (queues 42xx, timers 43xx, HTTP 44xx); the local host's own are in LocalHostLog (47xx) and DurableLog (48xx).</summary>
internal static partial class Log
{
    [LoggerMessage(EventId = 4200, EventName = "QueueListenerStarted", Level = LogLevel.Information, Message = "Function {FunctionName} listens on queue '{QueueName}' (batchSize {BatchSize}, newBatchThreshold {NewBatchThreshold}, maxDequeueCount {MaxDequeueCount}, messageLeaseDuration {MessageLeaseDuration})")]
    public static partial void QueueListenerStarted(this ILogger logger, string functionName, string queueName, int batchSize, int newBatchThreshold, int maxDequeueCount, TimeSpan messageLeaseDuration);

    [LoggerMessage(EventId = 4201, EventName = "QueueListenerStopping", Level = LogLevel.Information, Message = "Function {FunctionName} stops listening on queue '{QueueName}'; {InFlight} messages in flight")]
    public static partial void QueueListenerStopping(this ILogger logger, string functionName, string queueName, int inFlight);

    [LoggerMessage(EventId = 4202, EventName = "QueueListenerStopped", Level = LogLevel.Information, Message = "Function {FunctionName} stopped listening on queue '{QueueName}'; {Remaining} messages still running were released")]
    public static partial void QueueListenerStopped(this ILogger logger, string functionName, string queueName, int remaining);

    [LoggerMessage(EventId = 4203, EventName = "QueueMissing", Level = LogLevel.Warning, Message = "Queue '{QueueName}' of function {FunctionName} does not exist; polling until it does")]
    public static partial void QueueMissing(this ILogger logger, string queueName, string functionName);

    [LoggerMessage(EventId = 4204, EventName = "QueuePollFailed", Level = LogLevel.Warning, Message = "Receiving from queue '{QueueName}' for function {FunctionName} failed ({Status} {ErrorCode}): {Problem}; backing off")]
    public static partial void QueuePollFailed(this ILogger logger, string queueName, string functionName, int status, string errorCode, string problem);

    [LoggerMessage(EventId = 4205, EventName = "MessageMovedToPoison", Level = LogLevel.Warning, Message = "Message {MessageId} on queue '{QueueName}' moved to '{PoisonQueueName}' (function {FunctionName}, dequeue count {DequeueCount}, {ReasonKind}): {Reason}")]
    public static partial void MessageMovedToPoison(this ILogger logger, string messageId, string queueName, string poisonQueueName, string functionName, long dequeueCount, PoisonReasonKind reasonKind, string reason);

    [LoggerMessage(EventId = 4206, EventName = "QueueMessageHandlingFailed", Level = LogLevel.Error, Message = "Finishing message {MessageId} on queue '{QueueName}' (function {FunctionName}) failed; it is retried when its visibility ends")]
    public static partial void QueueMessageHandlingFailed(this ILogger logger, Exception exception, string messageId, string queueName, string functionName);

    [LoggerMessage(EventId = 4207, EventName = "PoisonQueueHasNoPoisonQueue", Level = LogLevel.Warning, Message = "Message {MessageId} on poison queue '{QueueName}' failed again in function {FunctionName}; it stays hidden until its visibility ends: {Reason}")]
    public static partial void PoisonQueueHasNoPoisonQueue(this ILogger logger, string messageId, string queueName, string functionName, string reason);

    [LoggerMessage(EventId = 4208, EventName = "QueueMessageNotOurs", Level = LogLevel.Debug, Message = "Could not {Operation} message {MessageId} on queue '{QueueName}': its pop receipt changed or it is gone")]
    public static partial void QueueMessageNotOurs(this ILogger logger, string messageId, string queueName, string operation);

    [LoggerMessage(EventId = 4209, EventName = "QueueMessageReleaseFailed", Level = LogLevel.Warning, Message = "Releasing message {MessageId} on queue '{QueueName}' failed ({Problem}); it reappears when its visibility ends")]
    public static partial void QueueMessageReleaseFailed(this ILogger logger, string messageId, string queueName, string problem);

    [LoggerMessage(EventId = 4210, EventName = "QueueMessageRenewFailed", Level = LogLevel.Warning, Message = "Extending the visibility of message {MessageId} on queue '{QueueName}' failed: {Problem}")]
    public static partial void QueueMessageRenewFailed(this ILogger logger, string messageId, string queueName, string problem);

    [LoggerMessage(EventId = 4211, EventName = "QueueCreateFailed", Level = LogLevel.Debug, Message = "Could not create queue '{QueueName}' for function {FunctionName} ({Problem}); waiting for it to exist")]
    public static partial void QueueCreateFailed(this ILogger logger, string queueName, string functionName, string problem);

    [LoggerMessage(EventId = 4212, EventName = "PoisonRecordIncomplete", Level = LogLevel.Warning, Message = "Message {MessageId} on queue '{QueueName}' was copied to its poison queue, but its poison record could not be completed with the copy's id ({Problem})")]
    public static partial void PoisonRecordIncomplete(this ILogger logger, string messageId, string queueName, string problem);

    [LoggerMessage(EventId = 4300, EventName = "TimerListenerStarted", Level = LogLevel.Information, Message = "Function {FunctionName} runs on schedule '{Schedule}' (monitored: {UseMonitor}, run on startup: {RunOnStartup})")]
    public static partial void TimerListenerStarted(this ILogger logger, string functionName, string schedule, bool useMonitor, bool runOnStartup);

    [LoggerMessage(EventId = 4301, EventName = "TimerLeaseAcquired", Level = LogLevel.Information, Message = "This host now runs the schedule of {FunctionName} (lease {BlobName})")]
    public static partial void TimerLeaseAcquired(this ILogger logger, string functionName, string blobName);

    [LoggerMessage(EventId = 4302, EventName = "LeaseLost", Level = LogLevel.Warning, Message = "Lease {BlobName} was lost ({Problem}); another host may run it now")]
    public static partial void LeaseLost(this ILogger logger, string blobName, string problem);

    [LoggerMessage(EventId = 4303, EventName = "LeaseRenewFailed", Level = LogLevel.Warning, Message = "Renewing lease {BlobName} failed ({Problem}); retrying")]
    public static partial void LeaseRenewFailed(this ILogger logger, string blobName, string problem);

    [LoggerMessage(EventId = 4304, EventName = "LeaseReleaseFailed", Level = LogLevel.Debug, Message = "Releasing lease {BlobName} failed ({Problem}); it expires on its own")]
    public static partial void LeaseReleaseFailed(this ILogger logger, string blobName, string problem);

    [LoggerMessage(EventId = 4305, EventName = "TimerListenerFailed", Level = LogLevel.Error, Message = "The schedule of {FunctionName} could not run (storage unreachable?); retrying")]
    public static partial void TimerListenerFailed(this ILogger logger, Exception exception, string functionName);

    [LoggerMessage(EventId = 4306, EventName = "ScheduleStatusUnreadable", Level = LogLevel.Warning, Message = "The stored schedule status of {FunctionName} is not valid ({Problem}); starting afresh")]
    public static partial void ScheduleStatusUnreadable(this ILogger logger, string functionName, string problem);

    [LoggerMessage(EventId = 4307, EventName = "ScheduleStatusWriteFailed", Level = LogLevel.Warning, Message = "Writing the schedule status of {FunctionName} failed: {Problem}")]
    public static partial void ScheduleStatusWriteFailed(this ILogger logger, string functionName, string problem);

    [LoggerMessage(EventId = 4308, EventName = "ScheduleStatusNotWritten", Level = LogLevel.Warning, Message = "The schedule status of {FunctionName} was not written for occurrence {Occurrence}: this host lost the schedule's lease while the function ran")]
    public static partial void ScheduleStatusNotWritten(this ILogger logger, string functionName, DateTimeOffset occurrence);

    [LoggerMessage(EventId = 4401, EventName = "HttpRequestCompleted", Level = LogLevel.Information, Message = "HTTP {Method} {Path}{Query} answered {StatusCode} in {DurationMs}ms")]
    public static partial void HttpRequestCompleted(this ILogger logger, string method, string path, string query, int statusCode, long durationMs);
}
