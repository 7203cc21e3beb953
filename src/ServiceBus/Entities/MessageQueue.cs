using Fleet.ServiceBus.Config;
using Fleet.ServiceBus.Persistence;

namespace Fleet.ServiceBus.Entities;

/// <summary>Everything a queue needs from its namespace.</summary>
internal sealed record QueueContext(IMessageStore Store, TimeProvider Time, IMessageCodec Codec);

/// <summary>
/// The messages of a queue, a subscription or a dead-letter queue: ordered by sequence number, handed to receivers
/// with credit one at a time under peek-lock (or removed under receive-and-delete), settled by lock token, expired,
/// activated when scheduled and dead-lettered, all under one lock. State changes are queued to the store while the
/// lock is held, so each message's changes reach the store in order.
/// </summary>
internal sealed partial class MessageQueue
{
    private readonly object _gate = new();
    private readonly QueueContext _context;
    private readonly Dictionary<long, BrokerMessage> _messages = [];
    private readonly SortedSet<long> _order = [];
    private readonly SortedSet<long> _available = [];
    private readonly Dictionary<Guid, BrokerMessage> _locks = [];
    private readonly PriorityQueue<(Guid Token, long Sequence), DateTimeOffset> _lockExpiries = new();
    private readonly PriorityQueue<long, DateTimeOffset> _scheduled = new();
    private readonly PriorityQueue<long, DateTimeOffset> _expiries = new();
    private readonly LinkedList<ConsumerCredit> _waiting = new();
    private readonly Dictionary<IMessageConsumer, ConsumerCredit> _consumers = [];

    public MessageQueue(string path, DeliverySettings settings, QueueContext context, bool isDeadLetterQueue = false)
    {
        Path = path;
        Settings = settings;
        _context = context;
        // A dead-letter queue never requires sessions, as in the service: its messages are received one by one.
        DeadLetterQueue = isDeadLetterQueue ? null : new MessageQueue(path + DeadLetterSuffix, settings with { RequiresSession = false }, context, isDeadLetterQueue: true);
        _sessions = settings.RequiresSession && !isDeadLetterQueue ? new Dictionary<string, MessageSession>(StringComparer.OrdinalIgnoreCase) : null;
    }

    /// <summary>The sub-queue path the service uses for dead letters.</summary>
    public const string DeadLetterSuffix = "/$DeadLetterQueue";

    /// <summary>The entity path, e.g. <c>q1</c>, <c>t1/Subscriptions/s1</c> or <c>q1/$DeadLetterQueue</c>.</summary>
    public string Path { get; }

    public DeliverySettings Settings { get; }

    /// <summary>The dead-letter sub-queue; null for a dead-letter queue itself.</summary>
    public MessageQueue? DeadLetterQueue { get; }

    private bool IsDeadLetterQueue => DeadLetterQueue is null;

    /// <summary>Whether receivers must accept a session (RequiresSession); false for every dead-letter queue.</summary>
    public bool RequiresSession => _sessions is not null;

    private DateTimeOffset Now => _context.Time.GetUtcNow();

    /// <summary>Number of messages held (any state).</summary>
    public int Count
    {
        get
        {
            lock (_gate)
            {
                return _messages.Count;
            }
        }
    }

    /// <summary>Adds messages read from the store at start-up; no store write, no dispatch.</summary>
    public void Restore(IEnumerable<BrokerMessage> messages)
    {
        lock (_gate)
        {
            foreach (var message in messages)
            {
                Admit(message);
            }
        }
    }

    /// <summary>Adds a message that is already durable (or being written in the same batch) and hands it out.</summary>
    public void Add(BrokerMessage message)
    {
        List<(ConsumerCredit, MessageView)> sends;
        lock (_gate)
        {
            Admit(message);
            sends = DispatchLocked();
        }

        Send(sends);
    }

    /// <summary>Registers a receiver; it gets messages as it grants credit.</summary>
    public void Attach(IMessageConsumer consumer)
    {
        lock (_gate)
        {
            _consumers[consumer] = new ConsumerCredit(consumer);
        }
    }

    /// <summary>
    /// Forgets a receiver. Its locks stay until they expire or are settled, as in the service, except that a session
    /// receiver's session is released at once (see <see cref="ReleaseSessionLocked"/>).
    /// </summary>
    public void Detach(IMessageConsumer consumer)
    {
        List<(ConsumerCredit, MessageView)> sends = [];
        lock (_gate)
        {
            if (!_consumers.Remove(consumer, out var credit))
            {
                return;
            }

            if (credit.Node is not null)
            {
                _waiting.Remove(credit.Node);
                credit.Node = null;
            }

            CancelWaiterLocked(credit);
            if (credit.Session is { } session)
            {
                ReleaseSessionLocked(session);
                sends = DispatchLocked();
            }
        }

        Send(sends);
    }

    /// <summary>
    /// Adds <paramref name="credit"/> for <paramref name="consumer"/> and sends what is available before returning; with
    /// <paramref name="drain"/> the credit left afterwards is dropped (the link then tells the receiver so).
    /// </summary>
    public void AddCredit(IMessageConsumer consumer, uint credit, bool drain)
    {
        List<(ConsumerCredit, MessageView)> sends;
        lock (_gate)
        {
            if (!_consumers.TryGetValue(consumer, out var state))
            {
                return;
            }

            state.Credit = credit == uint.MaxValue ? long.MaxValue : Math.Min(long.MaxValue - uint.MaxValue, state.Credit) + credit;
            if (state.Node is null && state.Credit > 0)
            {
                state.Node = _waiting.AddLast(state);
            }

            sends = DispatchLocked();
            if (drain)
            {
                state.Credit = 0;
                if (state.Node is not null)
                {
                    _waiting.Remove(state.Node);
                    state.Node = null;
                }
            }
        }

        Send(sends);
    }

    /// <summary>
    /// Messages from <paramref name="fromSequenceNumber"/> on, in order, in every state (peek); only those of
    /// <paramref name="sessionId"/> when one is given.
    /// </summary>
    public List<MessageView> Peek(long fromSequenceNumber, int count, string? sessionId = null)
    {
        var result = new List<MessageView>();
        lock (_gate)
        {
            if (_order.Count == 0 || count <= 0)
            {
                return result;
            }

            foreach (var sequence in _order.GetViewBetween(Math.Max(fromSequenceNumber, _order.Min), long.MaxValue))
            {
                var message = _messages[sequence];
                if (sessionId is not null && !InSession(message, sessionId))
                {
                    continue;
                }

                result.Add(MessageView.Of(message));
                if (result.Count == count)
                {
                    break;
                }
            }
        }

        return result;
    }

    private void Track(BrokerMessage message)
    {
        _messages[message.SequenceNumber] = message;
        _order.Add(message.SequenceNumber);
        if (SessionOf(message) is { } session)
        {
            session.MessageCount++;
        }

        switch (message.State)
        {
            case MessageState.Scheduled:
                _scheduled.Enqueue(message.SequenceNumber, message.ScheduledAt ?? Now);
                break;
            case MessageState.Active:
                AvailableFor(message).Add(message.SequenceNumber);
                TrackExpiry(message);
                break;
            default:
                TrackExpiry(message);
                break;
        }
    }

    private void TrackExpiry(BrokerMessage message)
    {
        if (!IsDeadLetterQueue && message.ExpiresAt is { } expiresAt)
        {
            _expiries.Enqueue(message.SequenceNumber, expiresAt);
        }
    }

    private void Untrack(BrokerMessage message)
    {
        _messages.Remove(message.SequenceNumber);
        _order.Remove(message.SequenceNumber);
        AvailableFor(message).Remove(message.SequenceNumber);
        DropLock(message);
        if (SessionOf(message) is { } session)
        {
            session.MessageCount--;
            PruneLocked(session);
        }
    }

    private void DropLock(BrokerMessage message)
    {
        if (message.LockToken is { } token)
        {
            _locks.Remove(token);
            SessionOf(message)?.Locks.Remove(token);
            message.LockToken = null;
        }
    }

    /// <summary>Hands available messages to waiting receivers; returns the sends to make after the lock.</summary>
    private List<(ConsumerCredit, MessageView)> DispatchLocked() => RequiresSession ? DispatchSessionsLocked() : DispatchSharedLocked();

    /// <summary>Hands the queue's available messages to its waiting receivers in turn.</summary>
    private List<(ConsumerCredit, MessageView)> DispatchSharedLocked()
    {
        var sends = new List<(ConsumerCredit, MessageView)>();
        var now = Now;
        while (_available.Count > 0 && _waiting.First is { } node)
        {
            var consumer = node.Value;
            var sequence = _available.Min;
            _available.Remove(sequence);
            var message = _messages[sequence];
            if (!IsDeadLetterQueue && message.ExpiresAt is { } expiresAt && expiresAt <= now)
            {
                ExpireLocked(message);
                continue;
            }

            _waiting.RemoveFirst();
            consumer.Node = consumer.Credit > 1 ? _waiting.AddLast(consumer) : null;
            sends.Add((consumer, HandOutLocked(consumer, message, now)));
        }

        return sends;
    }

    /// <summary>Takes one credit and removes (receive-and-delete) or locks (peek-lock) the message for the receiver.</summary>
    private MessageView HandOutLocked(ConsumerCredit consumer, BrokerMessage message, DateTimeOffset now)
    {
        consumer.Credit--;
        if (consumer.Consumer.SettlesOnSend)
        {
            Untrack(message);
            Save([new DeleteMessage(Path, message.SequenceNumber)]);
            return MessageView.Of(message);
        }

        return MessageView.Of(LockLocked(message, now));
    }

    private BrokerMessage LockLocked(BrokerMessage message, DateTimeOffset now)
    {
        var token = Guid.NewGuid();
        message.LockToken = token;
        _locks[token] = message;
        if (SessionOf(message) is { Holder: not null } session)
        {
            // A session's messages are locked by the session's lock: they expire, and are renewed, with it.
            message.LockedUntil = session.LockedUntil;
            session.Locks.Add(token);
            return message;
        }

        message.LockedUntil = now + Settings.LockDuration;
        _lockExpiries.Enqueue((token, message.SequenceNumber), message.LockedUntil);
        return message;
    }

    private static void Send(List<(ConsumerCredit Credit, MessageView Message)> sends)
    {
        foreach (var (credit, message) in sends)
        {
            credit.Consumer.Send(message);
        }
    }

    private Task Save(IReadOnlyList<StoreChange> changes) => _context.Store.Save(changes);

    private void Put(BrokerMessage message) => Save([new PutMessage(Path, MessageRow.Of(message))]);

    /// <summary>A receiver's outstanding credit, its place in the round-robin of waiting receivers and its session.</summary>
    private sealed class ConsumerCredit(IMessageConsumer consumer)
    {
        public IMessageConsumer Consumer { get; } = consumer;

        public long Credit { get; set; }

        public LinkedListNode<ConsumerCredit>? Node { get; set; }

        /// <summary>The session this receiver holds the lock of; null before it accepted one or after it lost it.</summary>
        public MessageSession? Session { get; set; }

        /// <summary>The pending accept-next-session of this receiver, if any.</summary>
        public SessionWaiter? Waiter { get; set; }
    }
}
