using Microsoft.Extensions.Logging;

namespace Fleet.Hosting.Local.Storage;

/// <summary>Log events of the local host's timer, queue and blob bindings (4750–4799: the host core has 4600–4749; the queue and timer events both hosts share are in <c>Fleet.Hosting.Log</c>).</summary>
internal static partial class StorageLog
{
    [LoggerMessage(EventId = 4750, EventName = "QueueMessageWillBeRetried", Level = LogLevel.Warning, Message = "Message {MessageId} on queue '{QueueName}' failed in function {FunctionName} (attempt {DequeueCount} of {MaxDequeueCount}); it is retried after {VisibilityTimeout}: {Reason}")]
    public static partial void QueueMessageWillBeRetried(this ILogger logger, string messageId, string queueName, string functionName, long dequeueCount, int maxDequeueCount, TimeSpan visibilityTimeout, string reason);

    [LoggerMessage(EventId = 4751, EventName = "QueueMessagesSent", Level = LogLevel.Debug, Message = "Function {FunctionName} sent {Count} messages to queue '{QueueName}' (binding {BindingName})")]
    public static partial void QueueMessagesSent(this ILogger logger, string functionName, int count, string queueName, string bindingName);

    [LoggerMessage(EventId = 4760, EventName = "TimerInvocationFailed", Level = LogLevel.Error, Message = "Timer function {FunctionName} failed for occurrence {Occurrence} ({Reason}); the schedule goes on with the next occurrence")]
    public static partial void TimerInvocationFailed(this ILogger logger, string functionName, DateTime occurrence, string reason);

    [LoggerMessage(EventId = 4770, EventName = "BlobInputMissing", Level = LogLevel.Debug, Message = "Blob '{Container}/{Blob}' of function {FunctionName} (binding {BindingName}) does not exist; the parameter is null")]
    public static partial void BlobInputMissing(this ILogger logger, string container, string blob, string functionName, string bindingName);

    [LoggerMessage(EventId = 4771, EventName = "BlobWritten", Level = LogLevel.Debug, Message = "Function {FunctionName} wrote blob '{Container}/{Blob}' (binding {BindingName}, {Length} bytes)")]
    public static partial void BlobWritten(this ILogger logger, string functionName, string container, string blob, string bindingName, long length);
}
