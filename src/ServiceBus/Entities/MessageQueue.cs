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
        DeadLetterQueue = isDeadLetterQueue ? null : new MessageQueue(path + DeadLetterSuffix, settings, context, isDeadLetterQueue: true);
    }

    /// <summary>The sub-queue path the service uses for dead letters.</summary>
    public const string DeadLetterSuffix = "/$DeadLetterQueue";

    /// <summary>The entity path, e.g. <c>q1</c>, <c>t1/Subscriptions/s1</c> or <c>q1/$DeadLetterQueue</c>.</summary>
    public string Path { get; }

    public DeliverySettings Settings { get; }

    /// <summary>The dead-letter sub-queue; null for a dead-letter queue itself.</summary>
    public MessageQueue? DeadLetterQueue { get; }

    private bool IsDeadLetterQueue => DeadLetterQueue is null;

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
                Track(message);
            }
        }
    }

    /// <summary>Adds a message that is already durable (or being written in the same batch) and hands it out.</summary>
    public void Add(BrokerMessage message)
    {
        List<(ConsumerCredit, MessageView)> sends;
        lock (_gate)
        {
            Track(message);
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

    /// <summary>Forgets a receiver. Its locks stay until they expire or are settled, as in the service.</summary>
    public void Detach(IMessageConsumer consumer)
    {
        lock (_gate)
        {
            if (_consumers.Remove(consumer, out var credit) && credit.Node is not null)
            {
                _waiting.Remove(credit.Node);
                credit.Node = null;
            }
        }
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

    /// <summary>Messages from <paramref name="fromSequenceNumber"/> on, in order, in every state (peek).</summary>
    public List<MessageView> Peek(long fromSequenceNumber, int count)
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
                result.Add(MessageView.Of(_messages[sequence]));
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
        switch (message.State)
        {
            case MessageState.Scheduled:
                _scheduled.Enqueue(message.SequenceNumber, message.ScheduledAt ?? Now);
                break;
            case MessageState.Active:
                _available.Add(message.SequenceNumber);
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
        _available.Remove(message.SequenceNumber);
        if (message.LockToken is { } token)
        {
            _locks.Remove(token);
            message.LockToken = null;
        }
    }

    /// <summary>Hands available messages to waiting receivers in turn; returns the sends to make after the lock.</summary>
    private List<(ConsumerCredit, MessageView)> DispatchLocked()
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

            consumer.Credit--;
            _waiting.RemoveFirst();
            consumer.Node = consumer.Credit > 0 ? _waiting.AddLast(consumer) : null;
            if (consumer.Consumer.SettlesOnSend)
            {
                Untrack(message);
                sends.Add((consumer, MessageView.Of(message)));
                Save([new DeleteMessage(Path, sequence)]);
            }
            else
            {
                sends.Add((consumer, MessageView.Of(LockLocked(message, now))));
            }
        }

        return sends;
    }

    private BrokerMessage LockLocked(BrokerMessage message, DateTimeOffset now)
    {
        var token = Guid.NewGuid();
        message.LockToken = token;
        message.LockedUntil = now + Settings.LockDuration;
        _locks[token] = message;
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

    /// <summary>A receiver's outstanding credit and its place in the round-robin of waiting receivers.</summary>
    private sealed class ConsumerCredit(IMessageConsumer consumer)
    {
        public IMessageConsumer Consumer { get; } = consumer;

        public long Credit { get; set; }

        public LinkedListNode<ConsumerCredit>? Node { get; set; }
    }
}
