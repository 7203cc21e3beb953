namespace Fleet.ServiceBus.Entities;

/// <summary>What the broker's clock does to a queue: lost locks, scheduled messages falling due, expiry.</summary>
internal sealed partial class MessageQueue
{
    /// <summary>Applies everything due at <paramref name="now"/> and hands out what became available.</summary>
    public void Sweep(DateTimeOffset now)
    {
        List<(ConsumerCredit, MessageView)> sends = [];
        List<(ISessionConsumer Receiver, string SessionId)> lostSessions = [];
        lock (_gate)
        {
            var changed = ExpireLocksLocked(now) | ExpireSessionLocksLocked(now, lostSessions) | ActivateScheduledLocked(now) | ExpireMessagesLocked(now);
            if (changed)
            {
                sends = DispatchLocked();
            }
        }

        foreach (var (receiver, sessionId) in lostSessions)
        {
            receiver.SessionLockLost(sessionId);
        }

        Send(sends);
        DeadLetterQueue?.Sweep(now);
    }

    private bool ExpireLocksLocked(DateTimeOffset now)
    {
        var changed = false;
        while (_lockExpiries.TryPeek(out var entry, out var due) && due <= now)
        {
            _lockExpiries.Dequeue();
            // Stale entries (settled, renewed or re-locked messages) are skipped here rather than removed on change.
            if (_locks.TryGetValue(entry.Token, out var message) && message.LockedUntil <= now)
            {
                FailedAttemptLocked(message, keepDeferred: message.State == MessageState.Deferred);
                changed = true;
            }
        }

        return changed;
    }

    private bool ActivateScheduledLocked(DateTimeOffset now)
    {
        var changed = false;
        while (_scheduled.TryPeek(out var sequence, out var due) && due <= now)
        {
            _scheduled.Dequeue();
            if (_messages.TryGetValue(sequence, out var message) && message.State == MessageState.Scheduled)
            {
                message.State = MessageState.Active;
                message.EnqueuedAt = message.ScheduledAt ?? now;
                AvailableFor(message).Add(sequence);
                TrackExpiry(message);
                Put(message);
                changed = true;
            }
        }

        return changed;
    }

    private bool ExpireMessagesLocked(DateTimeOffset now)
    {
        var changed = false;
        while (_expiries.TryPeek(out var sequence, out var due) && due <= now)
        {
            _expiries.Dequeue();
            // A locked message expires when its lock ends (the receiver may still complete it), as in the service.
            if (_messages.TryGetValue(sequence, out var message) && message.LockToken is null && message.ExpiresAt <= now)
            {
                ExpireLocked(message);
                changed = true;
            }
        }

        return changed;
    }

    /// <summary>Cancels scheduled messages; false when any of them is not a scheduled message of this queue.</summary>
    public bool CancelScheduled(IReadOnlyList<long> sequenceNumbers)
    {
        lock (_gate)
        {
            if (sequenceNumbers.Any(s => !_messages.TryGetValue(s, out var m) || m.State != MessageState.Scheduled))
            {
                return false;
            }

            foreach (var sequence in sequenceNumbers.Distinct())
            {
                Untrack(_messages[sequence]);
                Save([new Persistence.DeleteMessage(Path, sequence)]);
            }

            return true;
        }
    }
}
