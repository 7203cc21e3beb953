namespace Fleet.ServiceBus;

/// <summary>The Service Bus emulator's log messages (event ids 7000–7999).</summary>
internal static partial class Log
{
    [LoggerMessage(EventId = 7000, EventName = "EmulatorStarted", Level = LogLevel.Information,
        Message = "Service Bus emulator for namespace {Namespace} listening on 127.0.0.1:{Port} ({Mode}); entities: {Entities}")]
    public static partial void EmulatorStarted(this ILogger logger, string @namespace, int port, string mode, string entities);

    [LoggerMessage(EventId = 7001, EventName = "EmulatorStopped", Level = LogLevel.Information,
        Message = "Service Bus emulator on port {Port} stopped")]
    public static partial void EmulatorStopped(this ILogger logger, int port);

    [LoggerMessage(EventId = 7002, EventName = "AttachRefused", Level = LogLevel.Debug,
        Message = "Refused attach of link {LinkName}: {Condition} {Description}")]
    public static partial void AttachRefused(this ILogger logger, string linkName, string condition, string description);

    [LoggerMessage(EventId = 7003, EventName = "TokenRejected", Level = LogLevel.Information,
        Message = "Rejected a put-token for {Audience}: {Reason}")]
    public static partial void TokenRejected(this ILogger logger, string audience, string reason);

    [LoggerMessage(EventId = 7004, EventName = "MessageRejected", Level = LogLevel.Information,
        Message = "Rejected a message sent to {Entity}: {Reason}")]
    public static partial void MessageRejected(this ILogger logger, string entity, string reason);

    [LoggerMessage(EventId = 7005, EventName = "SendFailed", Level = LogLevel.Error,
        Message = "A message sent to {Entity} could not be stored")]
    public static partial void SendFailed(this ILogger logger, string entity, Exception exception);

    [LoggerMessage(EventId = 7006, EventName = "SettleFailed", Level = LogLevel.Error,
        Message = "A settlement on {Entity} could not be stored")]
    public static partial void SettleFailed(this ILogger logger, string entity, Exception exception);

    [LoggerMessage(EventId = 7007, EventName = "DeliveryFailed", Level = LogLevel.Debug,
        Message = "Message {SequenceNumber} of {Entity} could not be sent: {Reason}")]
    public static partial void DeliveryFailed(this ILogger logger, string entity, long sequenceNumber, string reason);

    [LoggerMessage(EventId = 7008, EventName = "RequestFailed", Level = LogLevel.Error,
        Message = "A request on {LinkName} failed")]
    public static partial void RequestFailed(this ILogger logger, string linkName, Exception exception);

    [LoggerMessage(EventId = 7009, EventName = "NoReplyLink", Level = LogLevel.Debug,
        Message = "No reply link {ReplyTo} for a request on {LinkName}; the reply was dropped")]
    public static partial void NoReplyLink(this ILogger logger, string linkName, string replyTo);

    [LoggerMessage(EventId = 7010, EventName = "StoredEntityIgnored", Level = LogLevel.Warning,
        Message = "The data directory holds messages of {Entity}, which the configuration no longer defines; they are kept but not served")]
    public static partial void StoredEntityIgnored(this ILogger logger, string entity);

    [LoggerMessage(EventId = 7011, EventName = "ConnectionFailed", Level = LogLevel.Debug,
        Message = "A client connection could not be opened: {Reason}")]
    public static partial void ConnectionFailed(this ILogger logger, string reason);

    [LoggerMessage(EventId = 7012, EventName = "SessionLockExpired", Level = LogLevel.Information,
        Message = "The lock of session {SessionId} of {Entity} expired without renewal; receiver link {LinkName} was detached and its unsettled messages count a delivery attempt")]
    public static partial void SessionLockExpired(this ILogger logger, string entity, string sessionId, string linkName);
}
