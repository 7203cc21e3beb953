namespace Fleet.ServiceBus.Entities;

/// <summary>
/// One session of a session-enabled queue or subscription: its available messages in order, the receiver holding its
/// lock, the locks of the messages handed out under it, and its state. Used only under its queue's lock.
/// </summary>
internal sealed class MessageSession(string id)
{
    /// <summary>The session id as first seen (session ids are case-insensitive, as in the service).</summary>
    public string Id { get; } = id;

    /// <summary>Sequence numbers of the session's active, unlocked messages.</summary>
    public SortedSet<long> Available { get; } = [];

    /// <summary>Lock tokens of the session's messages locked under the session's lock.</summary>
    public HashSet<Guid> Locks { get; } = [];

    /// <summary>Messages of the session in the queue, in any state.</summary>
    public int MessageCount { get; set; }

    /// <summary>The session state (set-session-state); null for none.</summary>
    public byte[]? State { get; set; }

    /// <summary>The receiver holding the session's lock; null while the session is free.</summary>
    public ISessionConsumer? Holder { get; set; }

    public DateTimeOffset LockedUntil { get; set; }

    /// <summary>A session with nothing in it and no holder is forgotten, as the service forgets it.</summary>
    public bool IsEmpty => MessageCount == 0 && State is null && Holder is null;
}
