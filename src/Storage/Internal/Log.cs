using Microsoft.Extensions.Logging;

namespace Fleet.Storage;

/// <summary>Storage log events (ids 2000–2999). No keys, signatures, tokens or pop receipts.</summary>
internal static partial class Log
{
    [LoggerMessage(EventId = 2000, EventName = "StorageRequestFailed", Level = LogLevel.Debug,
        Message = "Storage {Operation} on {Resource} failed with {Status} {ErrorCode} (request id {RequestId})")]
    public static partial void StorageRequestFailed(
        this ILogger logger, string operation, string resource, int status, string? errorCode, string? requestId);

    [LoggerMessage(EventId = 2001, EventName = "StorageRequestNoResponse", Level = LogLevel.Warning,
        Message = "Storage {Operation} on {Resource} got no response")]
    public static partial void StorageRequestNoResponse(this ILogger logger, string operation, string resource, Exception exception);

    [LoggerMessage(EventId = 2002, EventName = "QueueCreated", Level = LogLevel.Information,
        Message = "Created queue {QueueName}")]
    public static partial void QueueCreated(this ILogger logger, string queueName);

    [LoggerMessage(EventId = 2003, EventName = "ContainerCreated", Level = LogLevel.Information,
        Message = "Created blob container {ContainerName}")]
    public static partial void ContainerCreated(this ILogger logger, string containerName);

    [LoggerMessage(EventId = 2004, EventName = "QueueMessageNotBase64", Level = LogLevel.Warning,
        Message = "Message {MessageId} in queue {QueueName} is not valid Base64; it is passed on undecoded")]
    public static partial void QueueMessageNotBase64(this ILogger logger, string messageId, string queueName);
}
