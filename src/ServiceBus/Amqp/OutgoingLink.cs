using Fleet.ServiceBus.Entities;
using Microsoft.Azure.Amqp;
using Microsoft.Azure.Amqp.Encoding;
using Microsoft.Azure.Amqp.Framing;

namespace Fleet.ServiceBus.Amqp;

/// <summary>
/// A client's receiver link on a queue, subscription or dead-letter queue. It asks the queue for messages as the
/// client grants credit, sends each with its lock token as the delivery tag, and turns the client's dispositions into
/// settlements: accepted = complete, modified = abandon (defer when undeliverable-here), rejected = dead-letter,
/// released = returned unprocessed. On a session-enabled entity it is the receiver of the session it accepted.
/// </summary>
internal sealed class OutgoingLink : ISessionConsumer
{
    private static readonly AmqpSymbol DeadLetterReasonKey = "DeadLetterReason";
    private static readonly AmqpSymbol DeadLetterDescriptionKey = "DeadLetterErrorDescription";
    private readonly SendingAmqpLink _link;
    private readonly MessageQueue _queue;
    private readonly ILogger _logger;

    public OutgoingLink(SendingAmqpLink link, MessageQueue queue, ILogger logger)
    {
        _link = link;
        _queue = queue;
        _logger = logger;
        SettlesOnSend = link.Settings.SettleType == SettleMode.SettleOnSend;
        queue.Attach(this);
        // Also runs at once when the link closed already, so a session it accepts meanwhile is released.
        link.SafeAddClosed((_, _) => queue.Detach(this));
        link.RegisterCreditListener((credit, drain, _) => queue.AddCredit(this, credit, drain));
        link.RegisterDispositionListener(OnDisposition);
    }

    public bool SettlesOnSend { get; }

    public string LinkName => _link.Name;

    public void SessionLockLost(string sessionId)
    {
        _logger.SessionLockExpired(_queue.Path, sessionId, _link.Name);
        _link.SafeClose(new AmqpException(ServiceBusErrors.SessionLockLost, ServiceBusErrors.SessionLockLostDescription));
    }

    public void Send(MessageView message)
    {
        var tag = (message.LockToken ?? Guid.NewGuid()).ToByteArray();
        // A link that closed meanwhile: the lock expires and the message is delivered again, as in the service.
        if (ClosedLinks.Try(() => _link.SendMessageNoWait(AmqpMessageCodec.ForDelivery(message), new ArraySegment<byte>(tag), AmqpConstants.NullBinary)) is { } reason)
        {
            _logger.DeliveryFailed(_queue.Path, message.SequenceNumber, reason);
        }
    }

    private void OnDisposition(Delivery delivery)
    {
        var settlement = ToSettlement(delivery.State);
        if (settlement is null || delivery.DeliveryTag.Count != 16)
        {
            Reply(delivery, ServiceBusErrors.LockLostOutcome());
            return;
        }

        _ = SettleAsync(delivery, new Guid(delivery.DeliveryTag.AsSpan()), settlement);
    }

    private async Task SettleAsync(Delivery delivery, Guid lockToken, Settlement settlement)
    {
        try
        {
            var result = await _queue.SettleAsync(lockToken, settlement).ConfigureAwait(false);
            Reply(delivery, result == LockResult.Done ? AmqpConstants.AcceptedOutcome : ServiceBusErrors.LockLostOutcome());
        }
        catch (Exception ex)
        {
            _logger.SettleFailed(_queue.Path, ex);
            Reply(delivery, ServiceBusErrors.RejectedOutcome(AmqpErrorCode.InternalError, "The settlement could not be stored."));
        }
    }

    private void Reply(Delivery delivery, Outcome outcome)
    {
        // A link that closed before the reply: the client settles through $management or the lock expires.
        if (!delivery.Settled)
        {
            ClosedLinks.Try(() => _link.DisposeDelivery(delivery, true, outcome));
        }
    }

    private static Settlement? ToSettlement(DeliveryState? state) =>
        state switch
        {
            Accepted => Settlement.Complete,
            Released => Settlement.Release,
            Modified { UndeliverableHere: true } modified => new Settlement(SettlementKind.Defer, Properties(modified.MessageAnnotations)),
            Modified modified => new Settlement(SettlementKind.Abandon, Properties(modified.MessageAnnotations)),
            Rejected rejected => DeadLetter(rejected.Error?.Info),
            _ => null,
        };

    private static Settlement DeadLetter(Fields? info)
    {
        var properties = Properties(info) ?? new Dictionary<string, object?>();
        properties.Remove(DeadLetterReasonKey.Value, out var reason);
        properties.Remove(DeadLetterDescriptionKey.Value, out var description);
        return new Settlement(SettlementKind.DeadLetter, properties, reason as string, description as string);
    }

    private static Dictionary<string, object?>? Properties(Fields? fields)
    {
        if (fields is null || fields.Count == 0)
        {
            return null;
        }

        var result = new Dictionary<string, object?>(StringComparer.Ordinal);
        foreach (var (key, value) in fields)
        {
            result[key.Key.ToString()!] = value;
        }

        return result;
    }
}
