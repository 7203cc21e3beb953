using Fleet.ServiceBus.Config;
using Fleet.ServiceBus.Persistence;

namespace Fleet.ServiceBus.Entities;

/// <summary>What an entity path names: where senders put messages, where receivers take them, and its rules.</summary>
/// <param name="Path">The entity path as the namespace spells it.</param>
/// <param name="Sender">The queue or topic that accepts messages at this path; null for subscriptions and dead-letter queues.</param>
/// <param name="Receiver">The messages receivers take at this path; null for topics.</param>
/// <param name="Subscription">The subscription whose rules this path manages, if it names one.</param>
internal sealed record ResolvedEntity(string Path, MessageEntity? Sender, MessageQueue? Receiver, Subscription? Subscription);

/// <summary>
/// The namespace's entities, built from the configuration and filled from the store, with the clock that expires locks
/// and messages and activates scheduled ones.
/// </summary>
internal sealed class BrokerNamespace : IDisposable
{
    private const string SubscriptionsSegment = "/Subscriptions/";
    private readonly Dictionary<string, ResolvedEntity> _paths = new(StringComparer.OrdinalIgnoreCase);
    private readonly List<MessageEntity> _entities = [];
    private readonly TimeProvider _time;
    private ITimer? _sweepTimer;
    private int _sweeping;

    public BrokerNamespace(NamespaceDefinition definition, QueueContext context, StoredState stored, Action<string>? ignoredEntity = null)
    {
        Name = definition.Name;
        _time = context.Time;
        var restoredPaths = new HashSet<string>(StringComparer.OrdinalIgnoreCase);
        foreach (var q in definition.Queues)
        {
            var queue = new QueueEntity(q, context);
            _entities.Add(queue);
            Register(new ResolvedEntity(q.Name, queue, queue.Messages, null));
            Register(new ResolvedEntity(queue.Messages.DeadLetterQueue!.Path, null, queue.Messages.DeadLetterQueue, null));
            RestoreQueue(queue.Messages, stored, restoredPaths);
            RestoreEntity(queue, stored);
        }

        foreach (var t in definition.Topics)
        {
            var topic = new TopicEntity(t, context);
            _entities.Add(topic);
            Register(new ResolvedEntity(t.Name, topic, null, null));
            if (stored.Messages.TryGetValue(t.Name, out var scheduled))
            {
                topic.RestoreScheduled(scheduled.Select(r => r.ToMessage()));
                restoredPaths.Add(t.Name);
            }

            RestoreEntity(topic, stored);
            foreach (var subscription in topic.Subscriptions.Values)
            {
                Register(new ResolvedEntity(subscription.Messages.Path, null, subscription.Messages, subscription));
                Register(new ResolvedEntity(subscription.Messages.DeadLetterQueue!.Path, null, subscription.Messages.DeadLetterQueue, null));
                RestoreQueue(subscription.Messages, stored, restoredPaths);
                if (stored.Rules.TryGetValue(subscription.Messages.Path, out var rules))
                {
                    subscription.RestoreRules(RuleJson.Read(rules));
                }
            }
        }

        foreach (var path in stored.Messages.Keys.Where(p => !restoredPaths.Contains(p)))
        {
            ignoredEntity?.Invoke(path);
        }
    }

    /// <summary>The namespace name from the configuration.</summary>
    public string Name { get; }

    /// <summary>Every path the namespace serves (queues, topics, subscriptions and their dead-letter queues).</summary>
    public IEnumerable<string> Paths => _paths.Keys;

    /// <summary>Finds the entity at <paramref name="path"/> (no leading slash; case-insensitive), or null.</summary>
    public ResolvedEntity? Resolve(string path) => _paths.GetValueOrDefault(path.Trim('/'));

    /// <summary>Starts the clock that applies lock expiry, scheduling and time to live every <paramref name="interval"/>.</summary>
    public void StartClock(TimeSpan interval) =>
        _sweepTimer = _time.CreateTimer(_ => Sweep(), null, interval, interval);

    /// <summary>Applies everything due now (the clock calls this; tests with a fake clock may too).</summary>
    public void Sweep()
    {
        if (Interlocked.Exchange(ref _sweeping, 1) == 1)
        {
            return;
        }

        try
        {
            var now = _time.GetUtcNow();
            foreach (var entity in _entities)
            {
                entity.Sweep(now);
            }
        }
        finally
        {
            Volatile.Write(ref _sweeping, 0);
        }
    }

    public void Dispose() => _sweepTimer?.Dispose();

    /// <summary>Whether <paramref name="path"/> names a subscription path shape (used to word errors).</summary>
    public static bool IsSubscriptionPath(string path) => path.Contains(SubscriptionsSegment, StringComparison.OrdinalIgnoreCase);

    private void Register(ResolvedEntity entity) => _paths[entity.Path] = entity;

    private static void RestoreQueue(MessageQueue queue, StoredState stored, HashSet<string> restored)
    {
        foreach (var q in new[] { queue, queue.DeadLetterQueue! })
        {
            if (stored.Messages.TryGetValue(q.Path, out var rows))
            {
                q.Restore(rows.Select(r => r.ToMessage()));
                restored.Add(q.Path);
            }

            // States of sessions of an entity that no longer requires sessions stay stored but are not served.
            if (q.RequiresSession && stored.SessionStates.TryGetValue(q.Path, out var states))
            {
                q.RestoreSessionStates(states);
            }
        }
    }

    private static void RestoreEntity(MessageEntity entity, StoredState stored)
    {
        if (stored.Sequences.TryGetValue(entity.Name, out var last))
        {
            entity.RestoreSequence(last);
        }

        if (stored.MessageIds.TryGetValue(entity.Name, out var ids))
        {
            entity.RestoreMessageIds(ids);
        }

        // Numbers already used by stored messages are never handed out again, even without a sequence row.
        foreach (var (path, rows) in stored.Messages)
        {
            if (rows.Count > 0 && (string.Equals(path, entity.Name, StringComparison.OrdinalIgnoreCase) ||
                path.StartsWith(entity.Name + "/", StringComparison.OrdinalIgnoreCase)))
            {
                entity.RestoreSequence(rows.Max(r => r.SequenceNumber));
            }
        }
    }
}
