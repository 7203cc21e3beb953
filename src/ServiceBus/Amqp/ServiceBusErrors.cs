using Microsoft.Azure.Amqp;
using Microsoft.Azure.Amqp.Encoding;
using Microsoft.Azure.Amqp.Framing;

namespace Fleet.ServiceBus.Amqp;

/// <summary>The error conditions Service Bus sends and the exceptions that carry them to a link or connection.</summary>
internal static class ServiceBusErrors
{
    public static readonly AmqpSymbol MessageLockLost = "com.microsoft:message-lock-lost";
    public static readonly AmqpSymbol MessageNotFound = "com.microsoft:message-not-found";
    public static readonly AmqpSymbol EntityAlreadyExists = "com.microsoft:entity-already-exists";
    public static readonly AmqpSymbol ArgumentError = "com.microsoft:argument-error";
    public static readonly AmqpSymbol DeadLetterCondition = "com.microsoft:dead-letter";
    public static readonly AmqpSymbol SessionLockLost = "com.microsoft:session-lock-lost";
    public static readonly AmqpSymbol SessionCannotBeLocked = "com.microsoft:session-cannot-be-locked";
    public static readonly AmqpSymbol Timeout = "com.microsoft:timeout";

    /// <summary>The service's words when a session's lock expired or the session is not held by the caller.</summary>
    public const string SessionLockLostDescription =
        "The session lock has expired on the MessageSession. Accept a new MessageSession.";

    public static AmqpException NotFound(string path) =>
        new(AmqpErrorCode.NotFound, $"The messaging entity 'sb://{path}' could not be found. To know more visit https://aka.ms/sbResourceMgrExceptions.");

    public static AmqpException Unauthorized(string description) => new(AmqpErrorCode.UnauthorizedAccess, description);

    public static AmqpException NotAllowed(string description) => new(AmqpErrorCode.NotAllowed, description);

    public static Rejected LockLostOutcome() => new()
    {
        Error = new Error
        {
            Condition = MessageLockLost,
            Description = "The lock supplied is invalid. Either the lock expired, or the message has already been removed from the queue.",
        },
    };

    public static Rejected RejectedOutcome(AmqpSymbol condition, string description) =>
        new() { Error = new Error { Condition = condition, Description = description } };
}
