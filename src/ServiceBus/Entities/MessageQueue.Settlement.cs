using Fleet.ServiceBus.Persistence;

namespace Fleet.ServiceBus.Entities;

/// <summary>Settlement, lock renewal, deferred receipt and dead-lettering.</summary>
internal sealed partial class MessageQueue
{
    /// <summary>The reason the service gives messages it dead-letters after too many deliveries.</summary>
    public const string MaxDeliveryCountExceededReason = "MaxDeliveryCountExceeded";

    /// <summary>The reason the service gives messages it dead-letters when they expire.</summary>
    public const string TtlExpiredReason = "TTLExpiredException";

    /// <summary>
    /// Settles the message locked with <paramref name="lockToken"/>. The task completes once the change is durable;
    /// <see cref="LockResult.LockLost"/> when the token is unknown or its lock has expired.
    /// </summary>
    public Task<LockResult> SettleAsync(Guid lockToken, Settlement settlement)
    {
        List<(ConsumerCredit, MessageView)> sends;
        Task saved;
        lock (_gate)
        {
            if (!TryGetLocked(lockToken, out var message))
            {
                return Task.FromResult(LockResult.LockLost);
            }

            saved = SettleLocked(message, settlement);
            sends = DispatchLocked();
        }

        Send(sends);
        return Completed(saved);
    }

    /// <summary>
    /// Extends a lock by the lock duration; returns the new expiry, or null when the lock is lost. A session's message
    /// is locked by its session, so its expiry is the session lock's (renewed with renew-session-lock).
    /// </summary>
    public DateTimeOffset? RenewLock(Guid lockToken)
    {
        lock (_gate)
        {
            if (!TryGetLocked(lockToken, out var message))
            {
                return null;
            }

            if (SessionOf(message)?.Locks.Contains(lockToken) == true)
            {
                return message.LockedUntil;
            }

            message.LockedUntil = Now + Settings.LockDuration;
            _lockExpiries.Enqueue((lockToken, message.SequenceNumber), message.LockedUntil);
            return message.LockedUntil;
        }
    }

    /// <summary>
    /// Receives deferred messages by sequence number: each is locked (peek-lock) or removed (receive-and-delete).
    /// Returns null when any of them is not a deferred, unlocked message of this queue, or, in a session-enabled queue,
    /// not of <paramref name="sessionId"/> (the service's message-not-found).
    /// </summary>
    public List<MessageView>? ReceiveDeferred(IReadOnlyList<long> sequenceNumbers, bool peekLock, string? sessionId = null)
    {
        lock (_gate)
        {
            foreach (var sequence in sequenceNumbers)
            {
                if (!_messages.TryGetValue(sequence, out var m) || m.State != MessageState.Deferred || m.LockToken is not null ||
                    (RequiresSession && (sessionId is null || !InSession(m, sessionId))))
                {
                    return null;
                }
            }

            var now = Now;
            var result = new List<MessageView>(sequenceNumbers.Count);
            foreach (var sequence in sequenceNumbers.Distinct())
            {
                var message = _messages[sequence];
                if (peekLock)
                {
                    result.Add(MessageView.Of(LockLocked(message, now)));
                }
                else
                {
                    Untrack(message);
                    result.Add(MessageView.Of(message));
                    Save([new DeleteMessage(Path, sequence)]);
                }
            }

            return result;
        }
    }

    private bool TryGetLocked(Guid lockToken, out BrokerMessage message)
    {
        if (_locks.TryGetValue(lockToken, out message!) && message.LockedUntil > Now)
        {
            return true;
        }

        return false;
    }

    private Task SettleLocked(BrokerMessage message, Settlement settlement)
    {
        var deferred = message.State == MessageState.Deferred;
        switch (settlement.Kind)
        {
            case SettlementKind.Complete:
                Untrack(message);
                return Save([new DeleteMessage(Path, message.SequenceNumber)]);
            case SettlementKind.Release:
                Unlock(message);
                return Task.CompletedTask;
            case SettlementKind.Defer:
                ApplyProperties(message, settlement.PropertiesToModify);
                Unlock(message);
                if (!deferred)
                {
                    message.State = MessageState.Deferred;
                    AvailableFor(message).Remove(message.SequenceNumber);
                }

                return Save([new PutMessage(Path, MessageRow.Of(message))]);
            case SettlementKind.DeadLetter:
                var changes = new Dictionary<string, object?>(settlement.PropertiesToModify ?? new Dictionary<string, object?>());
                if (settlement.DeadLetterReason is not null)
                {
                    changes["DeadLetterReason"] = settlement.DeadLetterReason;
                }

                if (settlement.DeadLetterDescription is not null)
                {
                    changes["DeadLetterErrorDescription"] = settlement.DeadLetterDescription;
                }

                return DeadLetterLocked(message, changes);
            default:
                ApplyProperties(message, settlement.PropertiesToModify);
                return FailedAttemptLocked(message, keepDeferred: deferred);
        }
    }

    /// <summary>An abandon or a lost lock: one more failed attempt, dead-lettered at the entity's maximum.</summary>
    private Task FailedAttemptLocked(BrokerMessage message, bool keepDeferred)
    {
        message.DeliveryCount++;
        if (!IsDeadLetterQueue && message.DeliveryCount >= Settings.MaxDeliveryCount)
        {
            return DeadLetterLocked(message, new Dictionary<string, object?>
            {
                ["DeadLetterReason"] = MaxDeliveryCountExceededReason,
                ["DeadLetterErrorDescription"] = $"Message could not be consumed after {Settings.MaxDeliveryCount} delivery attempts.",
            });
        }

        Unlock(message);
        if (!keepDeferred && message.ExpiresAt is { } expiresAt && expiresAt <= Now)
        {
            return ExpireLocked(message);
        }

        return Save([new PutMessage(Path, MessageRow.Of(message))]);
    }

    private void Unlock(BrokerMessage message)
    {
        DropLock(message);
        if (message.State == MessageState.Active)
        {
            AvailableFor(message).Add(message.SequenceNumber);
        }
    }

    private Task DeadLetterLocked(BrokerMessage message, IReadOnlyDictionary<string, object?> properties)
    {
        Untrack(message);
        if (DeadLetterQueue is null)
        {
            // Dead-lettering from a dead-letter queue has nowhere to go: the message stays where it is, as in the service.
            ApplyProperties(message, properties);
            Track(message);
            return Save([new PutMessage(Path, MessageRow.Of(message))]);
        }

        ApplyProperties(message, properties);
        message.State = MessageState.Active;
        // Queued before the dead-letter queue can hand the message out, so its own later changes are written after these.
        var saved = Save([new DeleteMessage(Path, message.SequenceNumber), new PutMessage(DeadLetterQueue.Path, MessageRow.Of(message))]);
        // The dead-letter queue never locks its parent, so taking its lock here cannot deadlock.
        DeadLetterQueue.Add(message);
        return saved;
    }

    private Task ExpireLocked(BrokerMessage message)
    {
        if (Settings.DeadLetteringOnExpiration)
        {
            return DeadLetterLocked(message, new Dictionary<string, object?>
            {
                ["DeadLetterReason"] = TtlExpiredReason,
                ["DeadLetterErrorDescription"] = "The message expired and was dead lettered.",
            });
        }

        Untrack(message);
        return Save([new DeleteMessage(Path, message.SequenceNumber)]);
    }

    private void ApplyProperties(BrokerMessage message, IReadOnlyDictionary<string, object?>? properties)
    {
        if (properties is { Count: > 0 })
        {
            message.Encoded = _context.Codec.WithApplicationProperties(message.Encoded, properties);
        }
    }

    private static async Task<LockResult> Completed(Task saved)
    {
        await saved.ConfigureAwait(false);
        return LockResult.Done;
    }
}
