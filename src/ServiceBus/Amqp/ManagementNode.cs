using Fleet.ServiceBus.Entities;
using Microsoft.Azure.Amqp;
using Microsoft.Azure.Amqp.Encoding;
using static Fleet.ServiceBus.Amqp.ManagementResponse;

namespace Fleet.ServiceBus.Amqp;

/// <summary>
/// An entity's <c>$management</c> node: lock renewal, peek, scheduling, deferred receipt, settlement by lock token,
/// session lock renewal and state, and rule operations, with the service's status codes and error conditions. Listing
/// sessions and batch delete are answered with not-implemented.
/// </summary>
internal sealed partial class ManagementNode(ResolvedEntity entity, int maxMessageSize)
{
    public async Task<AmqpMessage> HandleAsync(AmqpMessage request)
    {
        var operation = request.ApplicationProperties?.Map["operation"] as string;
        var map = RequestMap(request);
        if (map is null)
        {
            return Error(400, ServiceBusErrors.ArgumentError, "The request body must be an AMQP value holding a map.");
        }

        var linkName = request.ApplicationProperties?.Map["associated-link-name"] as string;
        return operation switch
        {
            "com.microsoft:renew-lock" => WithReceiver(q => RenewLock(q, map)),
            "com.microsoft:peek-message" => WithReceiver(q => Peek(q, map)),
            "com.microsoft:receive-by-sequence-number" => WithReceiver(q => ReceiveDeferred(q, map, linkName)),
            "com.microsoft:update-disposition" => entity.Receiver is { } queue ? await UpdateDispositionAsync(queue, map).ConfigureAwait(false) : NoReceiver(),
            "com.microsoft:schedule-message" => entity.Sender is { } sender ? await ScheduleAsync(sender, map).ConfigureAwait(false) : NoSender(),
            "com.microsoft:cancel-scheduled-message" => entity.Sender is { } s ? Cancel(s, map) : NoSender(),
            "com.microsoft:add-rule" => entity.Subscription is { } sub ? await AddRuleAsync(sub, map).ConfigureAwait(false) : NoSubscription(),
            "com.microsoft:remove-rule" => entity.Subscription is { } sub2 ? await RemoveRuleAsync(sub2, map).ConfigureAwait(false) : NoSubscription(),
            "com.microsoft:enumerate-rules" => entity.Subscription is { } sub3 ? EnumerateRules(sub3, map) : NoSubscription(),
            "com.microsoft:renew-session-lock" => await WithSessionAsync(map, linkName, RenewSessionLock).ConfigureAwait(false),
            "com.microsoft:get-session-state" => await WithSessionAsync(map, linkName, GetSessionState).ConfigureAwait(false),
            "com.microsoft:set-session-state" => await WithSessionAsync(map, linkName, SetSessionStateAsync).ConfigureAwait(false),
            "com.microsoft:get-message-sessions" =>
                Error(501, AmqpErrorCode.NotImplemented, "Listing sessions is not served by this emulator."),
            _ => Error(501, AmqpErrorCode.NotImplemented, $"The operation '{operation}' is not supported by this emulator."),
        };
    }

    private AmqpMessage WithReceiver(Func<MessageQueue, AmqpMessage> run) => entity.Receiver is { } queue ? run(queue) : NoReceiver();

    private AmqpMessage NoReceiver() =>
        Error(400, AmqpErrorCode.NotAllowed, $"'{entity.Path}' is a topic: receive from one of its subscriptions.");

    private AmqpMessage NoSender() =>
        Error(400, AmqpErrorCode.NotAllowed, $"'{entity.Path}' does not accept messages: send to its queue or topic.");

    private AmqpMessage NoSubscription() =>
        Error(400, AmqpErrorCode.NotAllowed, $"'{entity.Path}' is not a subscription: rules belong to subscriptions.");

    private static AmqpMessage LockLost() =>
        Error(410, ServiceBusErrors.MessageLockLost, "The lock supplied is invalid. Either the lock expired, or the message has already been removed from the queue.");

    private static AmqpMessage RenewLock(MessageQueue queue, AmqpMap map)
    {
        var tokens = Guids(map, "lock-tokens");
        if (tokens is null)
        {
            return Error(400, ServiceBusErrors.ArgumentError, "lock-tokens is required.");
        }

        var expirations = new DateTime[tokens.Count];
        for (var i = 0; i < tokens.Count; i++)
        {
            if (queue.RenewLock(tokens[i]) is not { } until)
            {
                return LockLost();
            }

            expirations[i] = until.UtcDateTime;
        }

        return Ok(new AmqpMap { [Key("expirations")] = expirations });
    }

    private static AmqpMessage Peek(MessageQueue queue, AmqpMap map)
    {
        var from = map[Key("from-sequence-number")] is { } f ? Convert.ToInt64(f) : 0;
        var count = map[Key("message-count")] is { } c ? Convert.ToInt32(c) : 1;
        var messages = queue.Peek(from, count, queue.RequiresSession ? Value<string>(map, "session-id") : null);
        if (messages.Count == 0)
        {
            return Ok(status: 204);
        }

        var list = messages.Select(m => new AmqpMap { [Key("message")] = new ArraySegment<byte>(AmqpMessageCodec.EncodeForDelivery(m with { LockToken = null, LockedUntil = null })) }).ToList();
        return Ok(new AmqpMap { [Key("messages")] = list });
    }

    private static AmqpMessage ReceiveDeferred(MessageQueue queue, AmqpMap map, string? linkName)
    {
        var sequences = Longs(map, "sequence-numbers");
        if (sequences is null || sequences.Count == 0)
        {
            return Error(400, ServiceBusErrors.ArgumentError, "sequence-numbers is required.");
        }

        // In a session-enabled entity only the session's receiver gets its deferred messages.
        var sessionId = Value<string>(map, "session-id");
        if (queue.RequiresSession && sessionId is not null && !queue.IsSessionHeld(sessionId, linkName))
        {
            return SessionLockLost();
        }

        // receiver-settle-mode 0 is receive-and-delete; anything else is peek-lock.
        var peekLock = map[Key("receiver-settle-mode")] is not { } mode || Convert.ToInt64(mode) != 0;
        var messages = queue.ReceiveDeferred(sequences, peekLock, sessionId);
        if (messages is null)
        {
            return Error(404, ServiceBusErrors.MessageNotFound, "No deferred message was found for one of the sequence numbers.");
        }

        var list = messages.Select(m =>
        {
            var entry = new AmqpMap { [Key("message")] = new ArraySegment<byte>(AmqpMessageCodec.EncodeForDelivery(m)) };
            if (m.LockToken is { } token)
            {
                entry[Key("lock-token")] = token;
            }

            return entry;
        }).ToList();
        return Ok(new AmqpMap { [Key("messages")] = list });
    }

    private static async Task<AmqpMessage> UpdateDispositionAsync(MessageQueue queue, AmqpMap map)
    {
        var tokens = Guids(map, "lock-tokens");
        var status = Value<string>(map, "disposition-status");
        var properties = Properties(map, "properties-to-modify");
        Settlement? settlement = status switch
        {
            "completed" => Settlement.Complete,
            "abandoned" => new Settlement(SettlementKind.Abandon, properties),
            "defered" or "deferred" => new Settlement(SettlementKind.Defer, properties),
            "suspended" => new Settlement(SettlementKind.DeadLetter, properties, Value<string>(map, "deadletter-reason"), Value<string>(map, "deadletter-description")),
            _ => null,
        };
        if (tokens is null || settlement is null)
        {
            return Error(400, ServiceBusErrors.ArgumentError, "lock-tokens and a disposition-status of completed, abandoned, defered or suspended are required.");
        }

        foreach (var token in tokens)
        {
            if (await queue.SettleAsync(token, settlement).ConfigureAwait(false) == LockResult.LockLost)
            {
                return LockLost();
            }
        }

        return Ok();
    }

    private async Task<AmqpMessage> ScheduleAsync(MessageEntity sender, AmqpMap map)
    {
        var incoming = new List<IncomingMessage>();
        foreach (var entry in Maps(map, "messages"))
        {
            var bytes = Binary(entry, "message");
            if (bytes is null)
            {
                return Error(400, ServiceBusErrors.ArgumentError, "Each scheduled message needs its encoded message.");
            }

            if (bytes.Length > maxMessageSize)
            {
                return Error(403, AmqpErrorCode.MessageSizeExceeded, $"The message is {bytes.Length} bytes; the largest the entity accepts is {maxMessageSize}.");
            }

            incoming.Add(AmqpMessageCodec.Instance.Read(bytes));
        }

        try
        {
            var sequences = await sender.AcceptAsync(incoming, schedule: true).ConfigureAwait(false);
            return Ok(new AmqpMap { [Key("sequence-numbers")] = sequences.ToArray() });
        }
        catch (MessageRefusedException ex)
        {
            return Error(400, AmqpErrorCode.NotAllowed, ex.Message);
        }
    }

    private static AmqpMessage Cancel(MessageEntity sender, AmqpMap map)
    {
        var sequences = Longs(map, "sequence-numbers");
        return sequences is null
            ? Error(400, ServiceBusErrors.ArgumentError, "sequence-numbers is required.")
            : sender.CancelScheduled(sequences)
                ? Ok()
                : Error(404, ServiceBusErrors.MessageNotFound, "No scheduled message was found for one of the sequence numbers.");
    }

    private static async Task<AmqpMessage> AddRuleAsync(Subscription subscription, AmqpMap map)
    {
        var name = Value<string>(map, "rule-name");
        if (string.IsNullOrWhiteSpace(name) || map[Key("rule-description")] is not AmqpMap description)
        {
            return Error(400, ServiceBusErrors.ArgumentError, "rule-name and rule-description are required.");
        }

        var filter = RuleDescriptions.ReadFilter(description, out var refusal);
        if (filter is null)
        {
            return Error(501, AmqpErrorCode.NotImplemented, refusal!);
        }

        return await subscription.AddRuleAsync(new SubscriptionRule(name, filter)).ConfigureAwait(false)
            ? Ok()
            : Error(409, ServiceBusErrors.EntityAlreadyExists, $"The rule '{name}' already exists in subscription '{subscription.Name}'.");
    }

    private static async Task<AmqpMessage> RemoveRuleAsync(Subscription subscription, AmqpMap map)
    {
        var name = Value<string>(map, "rule-name");
        return name is not null && await subscription.RemoveRuleAsync(name).ConfigureAwait(false)
            ? Ok()
            : Error(404, AmqpErrorCode.NotFound, $"The rule '{name}' was not found in subscription '{subscription.Name}'.");
    }

    private static AmqpMessage EnumerateRules(Subscription subscription, AmqpMap map)
    {
        var skip = map[Key("skip")] is { } s ? Convert.ToInt32(s) : 0;
        var top = map[Key("top")] is { } t ? Convert.ToInt32(t) : int.MaxValue;
        var rules = subscription.Rules.Skip(skip).Take(top)
            .Select(r => new AmqpMap { [Key("rule-description")] = RuleDescriptions.Describe(r) })
            .ToList();
        return rules.Count == 0 ? Ok(status: 204) : Ok(new AmqpMap { [Key("rules")] = rules });
    }
}
