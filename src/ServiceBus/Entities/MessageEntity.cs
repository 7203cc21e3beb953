using Fleet.ServiceBus.Config;
using Fleet.ServiceBus.Persistence;

namespace Fleet.ServiceBus.Entities;

/// <summary>
/// An entity senders address (a queue or a topic): it detects duplicates, hands out sequence numbers and makes a
/// message durable before acknowledging it.
/// </summary>
internal abstract class MessageEntity
{
    private readonly object _gate = new();
    private readonly DuplicateDetector? _duplicates;
    private long _lastSequence;

    protected MessageEntity(string name, DuplicateDetectionSettings duplicates, QueueContext context)
    {
        Name = name;
        Context = context;
        _duplicates = duplicates.Enabled ? new DuplicateDetector(duplicates.Window) : null;
    }

    public string Name { get; }

    protected QueueContext Context { get; }

    /// <summary>Restores the duplicate-detection history stored before a restart (oldest first).</summary>
    public void RestoreMessageIds(IEnumerable<(string MessageId, DateTimeOffset AcceptedAt)> ids)
    {
        if (_duplicates is null)
        {
            return;
        }

        lock (_gate)
        {
            foreach (var (id, at) in ids)
            {
                _duplicates.IsDuplicate(id, at);
            }
        }
    }

    /// <summary>Continues numbering after the last number handed out before a restart.</summary>
    public void RestoreSequence(long lastSequenceNumber) => _lastSequence = Math.Max(_lastSequence, lastSequenceNumber);

    /// <summary>
    /// Accepts messages (a single send or a batch, all or nothing) and returns their sequence numbers (duplicates get
    /// none). <paramref name="schedule"/> forces scheduling (the schedule-message operation) at the message's
    /// scheduled enqueue time, or now when it has none.
    /// </summary>
    /// <exception cref="MessageRefusedException">The entity does not take one of the messages; none was accepted.</exception>
    public async Task<IReadOnlyList<long>> AcceptAsync(IReadOnlyList<IncomingMessage> messages, bool schedule = false)
    {
        foreach (var incoming in messages)
        {
            if (Refusal(incoming) is { } reason)
            {
                throw new MessageRefusedException(reason);
            }
        }

        var accepted = new List<(BrokerMessage Message, IncomingMessage Incoming)>(messages.Count);
        Task saved;
        Action publish;
        lock (_gate)
        {
            var now = Context.Time.GetUtcNow();
            var changes = new List<StoreChange>();
            foreach (var incoming in messages)
            {
                if (_duplicates is not null && incoming.MessageId is { } id && _duplicates.IsDuplicate(id, now))
                {
                    continue;
                }

                if (_duplicates is not null && incoming.MessageId is { } seen)
                {
                    changes.Add(new PutMessageId(Name, seen, now));
                }

                var message = new BrokerMessage(++_lastSequence, incoming.Encoded, incoming.MessageId)
                {
                    EnqueuedAt = now,
                    SessionId = incoming.Properties.SessionId,
                };
                var scheduledAt = incoming.ScheduledEnqueueTime ?? (schedule ? now : null);
                if (scheduledAt is { } at && (schedule || at > now))
                {
                    message.State = MessageState.Scheduled;
                    message.ScheduledAt = at;
                }

                accepted.Add((message, incoming));
            }

            if (accepted.Count == 0)
            {
                return [];
            }

            publish = Stage(accepted, changes);
            changes.Add(new SetSequence(Name, _lastSequence));
            saved = Context.Store.Save(changes);
        }

        await saved.ConfigureAwait(false);
        publish();
        return accepted.Select(a => a.Message.SequenceNumber).ToList();
    }

    /// <summary>Why the entity does not take <paramref name="message"/>, or null when it does.</summary>
    protected virtual string? Refusal(IncomingMessage message) => null;

    /// <summary>Cancels scheduled messages; false when any of them is not scheduled here.</summary>
    public abstract bool CancelScheduled(IReadOnlyList<long> sequenceNumbers);

    /// <summary>Applies what is due (scheduled messages, expiry, lost locks) at <paramref name="now"/>.</summary>
    public abstract void Sweep(DateTimeOffset now);

    /// <summary>
    /// Adds the store changes that make the accepted messages durable (called under the entity's lock) and returns what
    /// makes them visible once they are.
    /// </summary>
    protected abstract Action Stage(IReadOnlyList<(BrokerMessage Message, IncomingMessage Incoming)> accepted, List<StoreChange> changes);

    /// <summary>The smaller of the message's time to live and the entity's default; null when neither bounds it.</summary>
    protected static TimeSpan? EffectiveTimeToLive(TimeSpan? messageTtl, params TimeSpan[] defaults)
    {
        var ttl = messageTtl ?? TimeSpan.MaxValue;
        foreach (var d in defaults)
        {
            ttl = d < ttl ? d : ttl;
        }

        return ttl == TimeSpan.MaxValue ? null : ttl;
    }
}

/// <summary>A queue: its messages, dead-letter sub-queue and scheduled messages live in one <see cref="MessageQueue"/>.</summary>
internal sealed class QueueEntity : MessageEntity
{
    public QueueEntity(QueueDefinition definition, QueueContext context)
        : base(definition.Name, definition.Duplicates, context)
    {
        Messages = new MessageQueue(definition.Name, definition.Delivery, context);
    }

    public MessageQueue Messages { get; }

    public override bool CancelScheduled(IReadOnlyList<long> sequenceNumbers) => Messages.CancelScheduled(sequenceNumbers);

    public override void Sweep(DateTimeOffset now) => Messages.Sweep(now);

    // The service's words for a message without a session id sent to a session-enabled queue.
    protected override string? Refusal(IncomingMessage message) =>
        Messages.Settings.RequiresSession && string.IsNullOrEmpty(message.Properties.SessionId)
            ? "The SessionId was not set on a message, and it cannot be sent to the entity. Entities that have session support enabled can only receive messages that have the SessionId set to a valid value."
            : null;

    protected override Action Stage(IReadOnlyList<(BrokerMessage Message, IncomingMessage Incoming)> accepted, List<StoreChange> changes)
    {
        foreach (var (message, incoming) in accepted)
        {
            message.TimeToLive = EffectiveTimeToLive(incoming.TimeToLive, Messages.Settings.DefaultTimeToLive);
            changes.Add(new PutMessage(Name, MessageRow.Of(message)));
        }

        return () =>
        {
            foreach (var (message, _) in accepted)
            {
                Messages.Add(message);
            }
        };
    }
}
