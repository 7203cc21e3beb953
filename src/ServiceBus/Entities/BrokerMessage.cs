namespace Fleet.ServiceBus.Entities;

/// <summary>The service's message states (the <c>x-opt-message-state</c> annotation).</summary>
internal enum MessageState
{
    Active = 0,
    Deferred = 1,
    Scheduled = 2,
}

/// <summary>
/// A message held by a queue, a subscription, a dead-letter queue or (while scheduled) a topic. Mutated only under its
/// owner's lock. <see cref="Encoded"/> is the AMQP message as the sender sent it, with settlement's property changes
/// applied; the broker's annotations are added at delivery and never stored in it.
/// </summary>
internal sealed class BrokerMessage
{
    public BrokerMessage(long sequenceNumber, byte[] encoded, string? messageId)
    {
        SequenceNumber = sequenceNumber;
        Encoded = encoded;
        MessageId = messageId;
    }

    public long SequenceNumber { get; }

    public string? MessageId { get; }

    /// <summary>The session the message belongs to (the AMQP group-id); read from the encoding, never stored apart from it.</summary>
    public string? SessionId { get; set; }

    public byte[] Encoded { get; set; }

    public MessageState State { get; set; }

    /// <summary>Failed delivery attempts so far (abandons and lost locks); the header's delivery-count.</summary>
    public int DeliveryCount { get; set; }

    public DateTimeOffset EnqueuedAt { get; set; }

    public DateTimeOffset? ScheduledAt { get; set; }

    /// <summary>The effective time to live (the smaller of the message's and the entity's); null for none.</summary>
    public TimeSpan? TimeToLive { get; set; }

    /// <summary>When the message expires; null while scheduled, without a time to live, or beyond the calendar.</summary>
    public DateTimeOffset? ExpiresAt =>
        TimeToLive is { } ttl && State != MessageState.Scheduled && ttl < DateTimeOffset.MaxValue - EnqueuedAt ? EnqueuedAt + ttl : null;

    /// <summary>The current lock's token; null while the message is not locked. Never persisted.</summary>
    public Guid? LockToken { get; set; }

    public DateTimeOffset LockedUntil { get; set; }

    public BrokerMessage CopyFor(long sequenceNumber) => new(sequenceNumber, Encoded, MessageId)
    {
        SessionId = SessionId,
        State = State,
        DeliveryCount = DeliveryCount,
        EnqueuedAt = EnqueuedAt,
        ScheduledAt = ScheduledAt,
        TimeToLive = TimeToLive,
    };
}
