using Microsoft.Azure.Amqp;

namespace Fleet.ServiceBus.Amqp;

/// <summary>
/// The request half of a request/response node ($cbs, $management): requests arrive on the client's sender link and each
/// reply goes out on the same connection's link whose target is the request's reply-to, correlated by message-id.
/// A request that throws gets a 500 reply; nothing a client sends closes the node.
/// </summary>
internal sealed class RequestNode
{
    private readonly ReceivingAmqpLink _link;
    private readonly ConnectionState _connection;
    private readonly Func<AmqpMessage, Task<AmqpMessage>> _handle;
    private readonly ILogger _logger;

    public RequestNode(ReceivingAmqpLink link, ConnectionState connection, Func<AmqpMessage, Task<AmqpMessage>> handle, ILogger logger)
    {
        _link = link;
        _connection = connection;
        _handle = handle;
        _logger = logger;
        link.RegisterMessageListener(message => _ = HandleAsync(message));
    }

    private async Task HandleAsync(AmqpMessage request)
    {
        try
        {
            AmqpMessage response;
            try
            {
                response = await _handle(request).ConfigureAwait(false);
            }
            catch (Exception ex)
            {
                _logger.RequestFailed(_link.Name, ex);
                response = ManagementResponse.Error(500, AmqpErrorCode.InternalError, "The request failed in the emulator.");
            }

            Reply(request, response);
        }
        finally
        {
            if (!request.Settled)
            {
                _link.AcceptMessage(request, settled: true, batchable: false);
            }

            request.Dispose();
        }
    }

    private void Reply(AmqpMessage request, AmqpMessage response)
    {
        var replyTo = request.Properties?.ReplyTo?.ToString();
        var replyLink = _connection.ReplyLink(replyTo);
        if (replyLink is null)
        {
            _logger.NoReplyLink(_link.Name, replyTo ?? "(none)");
            response.Dispose();
            return;
        }

        response.Properties.CorrelationId = request.Properties!.MessageId;
        if (ClosedLinks.Try(() => replyLink.SendMessageNoWait(response, new ArraySegment<byte>(Guid.NewGuid().ToByteArray()), AmqpConstants.NullBinary)) is not null)
        {
            _logger.NoReplyLink(_link.Name, replyTo ?? "(none)");
        }
    }
}
