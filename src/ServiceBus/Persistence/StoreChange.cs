using Fleet.ServiceBus.Entities;

namespace Fleet.ServiceBus.Persistence;

/// <summary>One durable change; a batch of them is written in one transaction.</summary>
internal abstract record StoreChange;

/// <summary>Inserts or replaces a message of <paramref name="Entity"/> (a queue, subscription, dead-letter queue or topic path).</summary>
internal sealed record PutMessage(string Entity, MessageRow Row) : StoreChange;

/// <summary>Removes a message.</summary>
internal sealed record DeleteMessage(string Entity, long SequenceNumber) : StoreChange;

/// <summary>Records the last sequence number an entity handed out, so numbers never repeat after a restart.</summary>
internal sealed record SetSequence(string Entity, long LastSequenceNumber) : StoreChange;

/// <summary>Records a message id an entity with duplicate detection accepted, and when (pruned after its window).</summary>
internal sealed record PutMessageId(string Entity, string MessageId, DateTimeOffset AcceptedAt) : StoreChange;

/// <summary>Replaces the rules of a subscription (after a rule operation), serialized by <see cref="RuleJson"/>.</summary>
internal sealed record PutRules(string Subscription, string RulesJson) : StoreChange;

/// <summary>Replaces (or, with a null state, removes) the state of a session of a queue or subscription.</summary>
internal sealed record PutSessionState(string Entity, string SessionId, byte[]? State) : StoreChange;

/// <summary>An immutable snapshot of a <see cref="BrokerMessage"/>, taken under its owner's lock.</summary>
internal sealed record MessageRow(
    long SequenceNumber,
    MessageState State,
    int DeliveryCount,
    DateTimeOffset EnqueuedAt,
    DateTimeOffset? ScheduledAt,
    TimeSpan? TimeToLive,
    string? MessageId,
    byte[] Body)
{
    public static MessageRow Of(BrokerMessage m) =>
        new(m.SequenceNumber, m.State, m.DeliveryCount, m.EnqueuedAt, m.ScheduledAt, m.TimeToLive, m.MessageId, m.Encoded);

    public BrokerMessage ToMessage() => new(SequenceNumber, Body, MessageId)
    {
        State = State,
        DeliveryCount = DeliveryCount,
        EnqueuedAt = EnqueuedAt,
        ScheduledAt = ScheduledAt,
        TimeToLive = TimeToLive,
    };
}

/// <summary>What a store holds at start-up.</summary>
internal sealed record StoredState(
    IReadOnlyDictionary<string, List<MessageRow>> Messages,
    IReadOnlyDictionary<string, long> Sequences,
    IReadOnlyDictionary<string, string> Rules,
    IReadOnlyDictionary<string, List<(string MessageId, DateTimeOffset AcceptedAt)>> MessageIds,
    IReadOnlyDictionary<string, List<(string SessionId, byte[] State)>> SessionStates)
{
    public static StoredState Empty { get; } = new(
        new Dictionary<string, List<MessageRow>>(), new Dictionary<string, long>(), new Dictionary<string, string>(),
        new Dictionary<string, List<(string, DateTimeOffset)>>(), new Dictionary<string, List<(string, byte[])>>());
}

/// <summary>Where the broker's state goes: SQLite on disk, or nowhere (in-memory mode).</summary>
internal interface IMessageStore : IAsyncDisposable
{
    /// <summary>Reads everything stored (once, at start-up).</summary>
    StoredState Load();

    /// <summary>
    /// Queues <paramref name="changes"/> to be written in one transaction; batches are written in the order they are
    /// queued, so a caller that queues under an entity's lock keeps that entity's changes in order. The task completes
    /// once the changes are durable.
    /// </summary>
    Task Save(IReadOnlyList<StoreChange> changes);
}

/// <summary>The in-memory mode: nothing is written and nothing survives a restart.</summary>
internal sealed class NoStore : IMessageStore
{
    public static readonly NoStore Instance = new();

    public StoredState Load() => StoredState.Empty;

    public Task Save(IReadOnlyList<StoreChange> changes) => Task.CompletedTask;

    public ValueTask DisposeAsync() => ValueTask.CompletedTask;
}
