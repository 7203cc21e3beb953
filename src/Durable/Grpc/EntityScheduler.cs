using System.Text.Json;
using System.Text.Json.Serialization;
using P = Microsoft.DurableTask.Protobuf;

namespace Fleet.Durable.Grpc;

/// <summary>
/// What an entity keeps besides its state (stored as JSON in its row's custom status): the orchestration holding its
/// lock, if any, and the requests that wait until the lock is released, oldest first.
/// </summary>
internal sealed class EntitySchedulerState
{
    private static readonly JsonSerializerOptions Json = new() { DefaultIgnoreCondition = JsonIgnoreCondition.WhenWritingNull };

    /// <summary>The orchestration holding the entity's lock (a critical section), or null.</summary>
    public string? LockedBy { get; set; }

    /// <summary>Requests waiting for the lock holder to release it, oldest first.</summary>
    public List<P.HistoryEvent> Queue { get; } = [];

    /// <summary>Whether nothing but the state is kept: no lock and no waiting request.</summary>
    public bool IsIdle => LockedBy is null && Queue.Count == 0;

    /// <exception cref="InvalidDataException">The stored text is no scheduler state.</exception>
    public static EntitySchedulerState Parse(string? text, string instanceId)
    {
        var state = new EntitySchedulerState();
        if (string.IsNullOrEmpty(text))
        {
            return state;
        }

        Stored stored;
        try
        {
            stored = JsonSerializer.Deserialize<Stored>(text, Json) ?? new Stored(null, null);
        }
        catch (JsonException ex)
        {
            throw new InvalidDataException($"The scheduler state of entity '{instanceId}' is unreadable: {ex.Message}", ex);
        }

        state.LockedBy = stored.LockedBy;
        foreach (var item in stored.Queue ?? [])
        {
            state.Queue.Add(ProtoCodec.DecodeEvent(item, $"A queued request of entity '{instanceId}'"));
        }

        return state;
    }

    public string Serialize() =>
        JsonSerializer.Serialize(new Stored(LockedBy, Queue.Count == 0 ? null : Queue.ConvertAll(ProtoCodec.Encode)), Json);

    /// <summary>
    /// Takes in a batch of messages and decides what runs now, as DurableTask.Core's entity scheduler does: a release
    /// from the lock holder frees the lock; requests from the lock holder go first; other requests wait while the
    /// entity is locked. Operations are taken in order up to the first lock request, which is granted after them.
    /// </summary>
    public EntityWork TakeWork(IEnumerable<P.HistoryEvent> messages)
    {
        var fromHolder = new List<P.HistoryEvent>();
        foreach (var message in messages)
        {
            if (message.EventTypeCase == P.HistoryEvent.EventTypeOneofCase.EntityUnlockSent)
            {
                if (LockedBy is not null && LockedBy == message.EntityUnlockSent.ParentInstanceId)
                {
                    LockedBy = null;
                }
            }
            else if (LockedBy is not null && LockedBy == EntityMessages.ParentOf(message))
            {
                fromHolder.Add(message);
            }
            else
            {
                Queue.Add(message);
            }
        }

        Queue.InsertRange(0, fromHolder);
        var work = new EntityWork();
        while (Queue.Count > 0 && (LockedBy is null || LockedBy == EntityMessages.ParentOf(Queue[0])))
        {
            var next = Queue[0];
            Queue.RemoveAt(0);
            if (next.EventTypeCase == P.HistoryEvent.EventTypeOneofCase.EntityLockRequested)
            {
                work.LockRequest = next;
                break;
            }

            if (next.EventTypeCase is P.HistoryEvent.EventTypeOneofCase.EntityOperationSignaled or P.HistoryEvent.EventTypeOneofCase.EntityOperationCalled)
            {
                work.Operations.Add(next);
            }
        }

        return work;
    }

    /// <summary>Puts work that was not done back at the head of the queue, in its order.</summary>
    public void PutBack(IEnumerable<P.HistoryEvent> requests) => Queue.InsertRange(0, requests);

    private sealed record Stored(
        [property: JsonPropertyName("lockedBy")] string? LockedBy,
        [property: JsonPropertyName("queue")] List<string>? Queue);
}

/// <summary>What one entity batch does: operations in order, then at most one lock request.</summary>
internal sealed class EntityWork
{
    /// <summary>Signals and calls to run in the worker, in order.</summary>
    public List<P.HistoryEvent> Operations { get; } = [];

    /// <summary>The lock request granted after the operations, if any.</summary>
    public P.HistoryEvent? LockRequest { get; set; }
}
