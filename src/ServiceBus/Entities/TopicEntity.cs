using Fleet.ServiceBus.Config;
using Fleet.ServiceBus.Persistence;

namespace Fleet.ServiceBus.Entities;

/// <summary>A subscription of a topic: its rules and its messages.</summary>
internal sealed class Subscription
{
    private readonly object _gate = new();
    private readonly QueueContext _context;
    private List<SubscriptionRule> _rules;

    public Subscription(string topicName, SubscriptionDefinition definition, QueueContext context)
    {
        Name = definition.Name;
        _context = context;
        _rules = [.. definition.Rules];
        Messages = new MessageQueue($"{topicName}/Subscriptions/{definition.Name}", definition.Delivery, context);
    }

    public string Name { get; }

    public MessageQueue Messages { get; }

    public IReadOnlyList<SubscriptionRule> Rules
    {
        get
        {
            lock (_gate)
            {
                return [.. _rules];
            }
        }
    }

    /// <summary>Replaces the rules with those a rule operation stored before a restart.</summary>
    public void RestoreRules(IEnumerable<SubscriptionRule> rules)
    {
        lock (_gate)
        {
            _rules = [.. rules];
        }
    }

    public bool Matches(FilterableProperties message)
    {
        lock (_gate)
        {
            return _rules.Exists(r => r.Filter.Matches(message));
        }
    }

    /// <summary>Adds a rule; false when one of that name exists (names are case-insensitive).</summary>
    public async Task<bool> AddRuleAsync(SubscriptionRule rule)
    {
        Task saved;
        lock (_gate)
        {
            if (_rules.Exists(r => string.Equals(r.Name, rule.Name, StringComparison.OrdinalIgnoreCase)))
            {
                return false;
            }

            _rules.Add(rule);
            saved = SaveRulesLocked();
        }

        await saved.ConfigureAwait(false);
        return true;
    }

    /// <summary>Removes a rule; false when there is none of that name.</summary>
    public async Task<bool> RemoveRuleAsync(string name)
    {
        Task saved;
        lock (_gate)
        {
            if (_rules.RemoveAll(r => string.Equals(r.Name, name, StringComparison.OrdinalIgnoreCase)) == 0)
            {
                return false;
            }

            saved = SaveRulesLocked();
        }

        await saved.ConfigureAwait(false);
        return true;
    }

    private Task SaveRulesLocked() => _context.Store.Save([new PutRules(Messages.Path, RuleJson.Write(_rules))]);
}

/// <summary>
/// A topic: each accepted message is copied, with the topic's sequence number, to every subscription with a matching
/// rule. Scheduled messages wait in the topic and are copied when they fall due.
/// </summary>
internal sealed class TopicEntity : MessageEntity
{
    private readonly object _scheduledGate = new();
    private readonly Dictionary<long, BrokerMessage> _scheduled = [];
    private readonly PriorityQueue<long, DateTimeOffset> _due = new();
    private readonly TimeSpan _defaultTimeToLive;

    public TopicEntity(TopicDefinition definition, QueueContext context)
        : base(definition.Name, definition.Duplicates, context)
    {
        _defaultTimeToLive = definition.DefaultTimeToLive;
        Subscriptions = definition.Subscriptions.ToDictionary(
            s => s.Name, s => new Subscription(definition.Name, s, context), StringComparer.OrdinalIgnoreCase);
    }

    public IReadOnlyDictionary<string, Subscription> Subscriptions { get; }

    /// <summary>Restores scheduled messages read from the store.</summary>
    public void RestoreScheduled(IEnumerable<BrokerMessage> messages)
    {
        lock (_scheduledGate)
        {
            foreach (var message in messages)
            {
                _scheduled[message.SequenceNumber] = message;
                _due.Enqueue(message.SequenceNumber, message.ScheduledAt ?? DateTimeOffset.MinValue);
            }
        }
    }

    public override bool CancelScheduled(IReadOnlyList<long> sequenceNumbers)
    {
        lock (_scheduledGate)
        {
            if (sequenceNumbers.Any(s => !_scheduled.ContainsKey(s)))
            {
                return false;
            }

            foreach (var sequence in sequenceNumbers.Distinct())
            {
                _scheduled.Remove(sequence);
                Context.Store.Save([new DeleteMessage(Name, sequence)]);
            }

            return true;
        }
    }

    public override void Sweep(DateTimeOffset now)
    {
        var due = new List<BrokerMessage>();
        lock (_scheduledGate)
        {
            while (_due.TryPeek(out var sequence, out var at) && at <= now)
            {
                _due.Dequeue();
                if (_scheduled.Remove(sequence, out var message))
                {
                    due.Add(message);
                }
            }
        }

        foreach (var message in due)
        {
            message.State = MessageState.Active;
            message.EnqueuedAt = message.ScheduledAt ?? now;
            var copies = FanOut(message, Context.Codec.Read(message.Encoded));
            var changes = copies.Select(c => (StoreChange)new PutMessage(c.Subscription.Messages.Path, MessageRow.Of(c.Copy))).ToList();
            changes.Add(new DeleteMessage(Name, message.SequenceNumber));
            Context.Store.Save(changes);
            foreach (var (subscription, copy) in copies)
            {
                subscription.Messages.Add(copy);
            }
        }

        foreach (var subscription in Subscriptions.Values)
        {
            subscription.Messages.Sweep(now);
        }
    }

    protected override Action Stage(IReadOnlyList<(BrokerMessage Message, IncomingMessage Incoming)> accepted, List<StoreChange> changes)
    {
        var scheduled = new List<BrokerMessage>();
        var copies = new List<(Subscription Subscription, BrokerMessage Copy)>();
        foreach (var (message, incoming) in accepted)
        {
            if (message.State == MessageState.Scheduled)
            {
                scheduled.Add(message);
                changes.Add(new PutMessage(Name, MessageRow.Of(message)));
                continue;
            }

            foreach (var (subscription, copy) in FanOut(message, incoming))
            {
                copies.Add((subscription, copy));
                changes.Add(new PutMessage(subscription.Messages.Path, MessageRow.Of(copy)));
            }
        }

        return () =>
        {
            RestoreScheduled(scheduled);
            foreach (var (subscription, copy) in copies)
            {
                subscription.Messages.Add(copy);
            }
        };
    }

    private List<(Subscription Subscription, BrokerMessage Copy)> FanOut(BrokerMessage message, IncomingMessage incoming)
    {
        var copies = new List<(Subscription, BrokerMessage)>();
        foreach (var subscription in Subscriptions.Values)
        {
            if (subscription.Matches(incoming.Properties))
            {
                var copy = message.CopyFor(message.SequenceNumber);
                copy.TimeToLive = EffectiveTimeToLive(incoming.TimeToLive, _defaultTimeToLive, subscription.Messages.Settings.DefaultTimeToLive);
                copies.Add((subscription, copy));
            }
        }

        return copies;
    }
}
