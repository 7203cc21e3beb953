namespace Fleet.ServiceBus.Entities;

/// <summary>A receiver link attached to a queue, a subscription or a dead-letter queue.</summary>
internal interface IMessageConsumer
{
    /// <summary>True for receive-and-delete (pre-settled) links: a message is removed when it is sent.</summary>
    bool SettlesOnSend { get; }

    /// <summary>Sends one message; called outside the queue's lock, in the order the queue handed messages out.</summary>
    void Send(MessageView message);
}

/// <summary>What a message looks like to a receiver at one moment (taken under its queue's lock).</summary>
internal sealed record MessageView(
    long SequenceNumber,
    byte[] Encoded,
    MessageState State,
    int DeliveryCount,
    DateTimeOffset EnqueuedAt,
    TimeSpan? TimeToLive,
    Guid? LockToken,
    DateTimeOffset? LockedUntil)
{
    public static MessageView Of(BrokerMessage m) =>
        new(m.SequenceNumber, m.Encoded, m.State, m.DeliveryCount, m.EnqueuedAt, m.TimeToLive, m.LockToken,
            m.LockToken is null ? null : m.LockedUntil);
}

/// <summary>How a receiver settles a locked message.</summary>
internal enum SettlementKind
{
    Complete,
    Abandon,
    Defer,
    DeadLetter,

    /// <summary>The AMQP released outcome: returned unprocessed, not a failed attempt.</summary>
    Release,
}

/// <summary>A settlement with the property changes and dead-letter reason it carries.</summary>
internal sealed record Settlement(
    SettlementKind Kind,
    IReadOnlyDictionary<string, object?>? PropertiesToModify = null,
    string? DeadLetterReason = null,
    string? DeadLetterDescription = null)
{
    public static readonly Settlement Complete = new(SettlementKind.Complete);
    public static readonly Settlement Release = new(SettlementKind.Release);
}

/// <summary>The result of a lock operation.</summary>
internal enum LockResult
{
    Done,

    /// <summary>The lock token is unknown or its lock expired (com.microsoft:message-lock-lost).</summary>
    LockLost,
}

/// <summary>A receiver link that accepted (or waits to accept) a session of a session-enabled queue or subscription.</summary>
internal interface ISessionConsumer : IMessageConsumer
{
    /// <summary>The link's name, which management requests name as their associated link.</summary>
    string LinkName { get; }

    /// <summary>The lock of <paramref name="sessionId"/> expired: the receiver is told so (its link closes) and holds it no longer.</summary>
    void SessionLockLost(string sessionId);
}

/// <summary>The session a receiver accepted and until when it holds its lock.</summary>
internal sealed record SessionLease(string SessionId, DateTimeOffset LockedUntil);
