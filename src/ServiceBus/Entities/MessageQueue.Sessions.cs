using Fleet.ServiceBus.Persistence;

namespace Fleet.ServiceBus.Entities;

/// <summary>
/// Sessions of a session-enabled queue or subscription: a receiver accepts one session (by id, or the next one with
/// available messages, waiting for one) and holds its lock for the lock duration, renewable; it alone gets the session's
/// messages, in order. A session is released when its receiver detaches or its lock expires: the messages locked under
/// it count one more delivery attempt and are available again.
/// </summary>
internal sealed partial class MessageQueue
{
    /// <summary>The reason the service gives a message without a session id that reached a session-enabled subscription.</summary>
    public const string SessionIdIsNullReason = "Session id is null.";

    private readonly Dictionary<string, MessageSession>? _sessions;
    private readonly PriorityQueue<MessageSession, DateTimeOffset> _sessionExpiries = new();
    private readonly LinkedList<SessionWaiter> _sessionWaiters = new();

    /// <summary>Locks <paramref name="sessionId"/> for <paramref name="consumer"/>; null when another receiver holds it.</summary>
    public SessionLease? AcceptSession(ISessionConsumer consumer, string sessionId)
    {
        lock (_gate)
        {
            var session = GetOrAddSession(sessionId);
            if (session.Holder is null && _consumers.TryGetValue(consumer, out var credit))
            {
                return LockSessionLocked(session, credit);
            }

            PruneLocked(session);
            return null;
        }
    }

    /// <summary>
    /// Locks the next free session with available messages for <paramref name="consumer"/>, waiting up to
    /// <paramref name="wait"/> for one; null when none came (or the receiver detached meanwhile).
    /// </summary>
    public Task<SessionLease?> AcceptNextSessionAsync(ISessionConsumer consumer, TimeSpan wait)
    {
        lock (_gate)
        {
            if (!_consumers.TryGetValue(consumer, out var credit))
            {
                return Task.FromResult<SessionLease?>(null);
            }

            if (NextFreeSessionLocked() is { } session)
            {
                return Task.FromResult<SessionLease?>(LockSessionLocked(session, credit));
            }

            var waiter = new SessionWaiter(credit);
            waiter.Node = _sessionWaiters.AddLast(waiter);
            credit.Waiter = waiter;
            waiter.Timer = _context.Time.CreateTimer(_ => TimeOut(waiter), null, wait, Timeout.InfiniteTimeSpan);
            return waiter.Done.Task;
        }
    }

    /// <summary>
    /// Extends the lock of a held session by the lock duration; null when it is not held (by the receiver link named
    /// <paramref name="linkName"/>, when one is named).
    /// </summary>
    public DateTimeOffset? RenewSessionLock(string sessionId, string? linkName)
    {
        lock (_gate)
        {
            if (!TryGetHeldLocked(sessionId, linkName, out var session))
            {
                return null;
            }

            session.LockedUntil = Now + Settings.LockDuration;
            _sessionExpiries.Enqueue(session, session.LockedUntil);
            foreach (var token in session.Locks)
            {
                _locks[token].LockedUntil = session.LockedUntil;
            }

            return session.LockedUntil;
        }
    }

    /// <summary>Whether <paramref name="sessionId"/> is held (by the link named <paramref name="linkName"/>, when named).</summary>
    public bool IsSessionHeld(string sessionId, string? linkName)
    {
        lock (_gate)
        {
            return TryGetHeldLocked(sessionId, linkName, out _);
        }
    }

    /// <summary>Reads a held session's state (null for none); false when the session is not held.</summary>
    public bool TryGetSessionState(string sessionId, string? linkName, out byte[]? state)
    {
        lock (_gate)
        {
            var held = TryGetHeldLocked(sessionId, linkName, out var session);
            state = held ? session.State : null;
            return held;
        }
    }

    /// <summary>Replaces a held session's state (null clears it) once durable; false when the session is not held.</summary>
    public async Task<bool> SetSessionStateAsync(string sessionId, string? linkName, byte[]? state)
    {
        Task saved;
        lock (_gate)
        {
            if (!TryGetHeldLocked(sessionId, linkName, out var session))
            {
                return false;
            }

            session.State = state;
            saved = Save([new PutSessionState(Path, session.Id, state)]);
        }

        await saved.ConfigureAwait(false);
        return true;
    }

    /// <summary>Restores session states read from the store at start-up.</summary>
    public void RestoreSessionStates(IEnumerable<(string SessionId, byte[] State)> states)
    {
        lock (_gate)
        {
            foreach (var (id, state) in states)
            {
                GetOrAddSession(id).State = state;
            }
        }
    }

    private static bool InSession(BrokerMessage message, string sessionId) =>
        string.Equals(message.SessionId, sessionId, StringComparison.OrdinalIgnoreCase);

    /// <summary>The session a message belongs to here; null in a queue without sessions.</summary>
    private MessageSession? SessionOf(BrokerMessage message) =>
        _sessions is not null && message.SessionId is { } id ? GetOrAddSession(id) : null;

    private SortedSet<long> AvailableFor(BrokerMessage message) => SessionOf(message)?.Available ?? _available;

    private MessageSession GetOrAddSession(string sessionId)
    {
        if (!_sessions!.TryGetValue(sessionId, out var session))
        {
            _sessions[sessionId] = session = new MessageSession(sessionId);
        }

        return session;
    }

    private void PruneLocked(MessageSession session)
    {
        if (session.IsEmpty)
        {
            _sessions!.Remove(session.Id);
        }
    }

    /// <summary>
    /// Tracks a new or restored message; one without a session id cannot be delivered by a session-enabled entity
    /// (it reached a subscription through its topic), so it is dead-lettered with the service's reason.
    /// </summary>
    private void Admit(BrokerMessage message)
    {
        if (RequiresSession)
        {
            // Messages read back from the store (here or, scheduled, in their topic) carry the session id only in their
            // encoding (the group-id), so it is read from there.
            message.SessionId ??= _context.Codec.Read(message.Encoded).Properties.SessionId;
        }

        Track(message);
        if (RequiresSession && string.IsNullOrEmpty(message.SessionId))
        {
            DeadLetterLocked(message, new Dictionary<string, object?>
            {
                ["DeadLetterReason"] = SessionIdIsNullReason,
                ["DeadLetterErrorDescription"] = "Session enabled entity doesn't allow a message whose session identifier is null.",
            });
        }
    }

    private bool TryGetHeldLocked(string sessionId, string? linkName, out MessageSession session)
    {
        session = null!;
        return _sessions is not null && _sessions.TryGetValue(sessionId, out session!) && session.Holder is { } holder &&
            session.LockedUntil > Now && (linkName is null || string.Equals(holder.LinkName, linkName, StringComparison.Ordinal));
    }

    private SessionLease LockSessionLocked(MessageSession session, ConsumerCredit credit)
    {
        session.Holder = (ISessionConsumer)credit.Consumer;
        session.LockedUntil = Now + Settings.LockDuration;
        credit.Session = session;
        _sessionExpiries.Enqueue(session, session.LockedUntil);
        return new SessionLease(session.Id, session.LockedUntil);
    }

    /// <summary>The free session whose oldest available message is the oldest, so sessions are served in arrival order.</summary>
    private MessageSession? NextFreeSessionLocked()
    {
        MessageSession? next = null;
        foreach (var session in _sessions!.Values)
        {
            if (session.Holder is null && session.Available.Count > 0 && (next is null || session.Available.Min < next.Available.Min))
            {
                next = session;
            }
        }

        return next;
    }

    /// <summary>Frees a session: its locked messages count a failed attempt and are available again.</summary>
    private void ReleaseSessionLocked(MessageSession session)
    {
        foreach (var token in session.Locks.ToArray())
        {
            var message = _locks[token];
            FailedAttemptLocked(message, keepDeferred: message.State == MessageState.Deferred);
        }

        if (session.Holder is { } holder && _consumers.TryGetValue(holder, out var credit))
        {
            credit.Session = null;
        }

        session.Holder = null;
        PruneLocked(session);
    }

    private bool ExpireSessionLocksLocked(DateTimeOffset now, List<(ISessionConsumer, string)> lost)
    {
        var changed = false;
        // Stale entries (renewed or released sessions) are skipped here rather than removed on change.
        while (_sessionExpiries.TryPeek(out var session, out var due) && due <= now)
        {
            _sessionExpiries.Dequeue();
            if (session.Holder is { } holder && session.LockedUntil <= now)
            {
                ReleaseSessionLocked(session);
                lost.Add((holder, session.Id));
                changed = true;
            }
        }

        return changed;
    }

    /// <summary>Gives free sessions to waiting receivers, then sends each session receiver its session's messages.</summary>
    private List<(ConsumerCredit, MessageView)> DispatchSessionsLocked()
    {
        while (_sessionWaiters.First is { } first && NextFreeSessionLocked() is { } free)
        {
            var waiter = first.Value;
            RemoveWaiterLocked(waiter);
            waiter.Done.TrySetResult(LockSessionLocked(free, waiter.Credit));
        }

        var sends = new List<(ConsumerCredit, MessageView)>();
        var now = Now;
        for (var node = _waiting.First; node is not null;)
        {
            var next = node.Next;
            var consumer = node.Value;
            while (consumer.Session is { } session && consumer.Credit > 0 && session.Available.Count > 0)
            {
                var message = _messages[session.Available.Min];
                session.Available.Remove(message.SequenceNumber);
                if (message.ExpiresAt is { } expiresAt && expiresAt <= now)
                {
                    ExpireLocked(message);
                    continue;
                }

                sends.Add((consumer, HandOutLocked(consumer, message, now)));
            }

            if (consumer.Credit == 0)
            {
                _waiting.Remove(node);
                consumer.Node = null;
            }

            node = next;
        }

        return sends;
    }

    private void TimeOut(SessionWaiter waiter)
    {
        lock (_gate)
        {
            RemoveWaiterLocked(waiter);
        }

        waiter.Done.TrySetResult(null);
    }

    private void CancelWaiterLocked(ConsumerCredit credit)
    {
        if (credit.Waiter is { } waiter)
        {
            RemoveWaiterLocked(waiter);
            waiter.Done.TrySetResult(null);
        }
    }

    private void RemoveWaiterLocked(SessionWaiter waiter)
    {
        if (waiter.Node is not null)
        {
            _sessionWaiters.Remove(waiter.Node);
            waiter.Node = null;
        }

        waiter.Credit.Waiter = null;
        waiter.Timer?.Dispose();
    }

    /// <summary>A receiver waiting for the next session with messages (accept-next-session).</summary>
    private sealed class SessionWaiter(ConsumerCredit credit)
    {
        public ConsumerCredit Credit { get; } = credit;

        public TaskCompletionSource<SessionLease?> Done { get; } = new(TaskCreationOptions.RunContinuationsAsynchronously);

        public LinkedListNode<SessionWaiter>? Node { get; set; }

        public ITimer? Timer { get; set; }
    }
}
