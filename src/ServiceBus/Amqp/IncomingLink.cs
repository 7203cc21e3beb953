using Fleet.ServiceBus.Entities;
using Microsoft.Azure.Amqp;
using Microsoft.Azure.Amqp.Framing;

namespace Fleet.ServiceBus.Amqp;

/// <summary>
/// A client's sender link to a queue or topic: each transfer (one message or a batch) is accepted once the entity has
/// made it durable, or rejected with the error the service would send. A bad message never closes the link.
/// </summary>
internal sealed class IncomingLink
{
    private readonly ReceivingAmqpLink _link;
    private readonly MessageEntity _entity;
    private readonly ILogger _logger;

    public IncomingLink(ReceivingAmqpLink link, MessageEntity entity, ILogger logger)
    {
        _link = link;
        _entity = entity;
        _logger = logger;
        link.RegisterMessageListener(OnMessage);
    }

    private void OnMessage(AmqpMessage message)
    {
        List<IncomingMessage> incoming;
        try
        {
            incoming = AmqpMessageCodec.SplitTransfer(message).Select(AmqpMessageCodec.Instance.Read).ToList();
        }
        catch (Exception ex)
        {
            _logger.MessageRejected(_entity.Name, ex.Message);
            Settle(message, ServiceBusErrors.RejectedOutcome(AmqpErrorCode.DecodeError, $"The message could not be decoded: {ex.Message}"));
            return;
        }

        _ = AcceptAsync(message, incoming);
    }

    private async Task AcceptAsync(AmqpMessage message, List<IncomingMessage> incoming)
    {
        try
        {
            await _entity.AcceptAsync(incoming).ConfigureAwait(false);
            Settle(message, AmqpConstants.AcceptedOutcome);
        }
        catch (MessageRefusedException ex)
        {
            _logger.MessageRejected(_entity.Name, ex.Message);
            Settle(message, ServiceBusErrors.RejectedOutcome(AmqpErrorCode.NotAllowed, ex.Message));
        }
        catch (Exception ex)
        {
            _logger.SendFailed(_entity.Name, ex);
            Settle(message, ServiceBusErrors.RejectedOutcome(AmqpErrorCode.InternalError, "The message could not be stored; it was not accepted."));
        }
    }

    private void Settle(AmqpMessage message, Outcome outcome)
    {
        // A link that closed before the outcome went out: the sender sees the link error instead.
        if (!message.Settled)
        {
            ClosedLinks.Try(() => _link.DisposeMessage(message, outcome, settled: true, batchable: message.Batchable));
        }

        message.Dispose();
    }
}
