using Microsoft.Azure.Amqp;
using Microsoft.Azure.Amqp.Framing;

namespace Fleet.ServiceBus.Amqp;

/// <summary>
/// The claims-based security node (<c>$cbs</c>): a put-token request carries a shared access signature for an audience;
/// a valid one authorizes the connection's links to that audience, an invalid one gets status 401 (which the client
/// raises as UnauthorizedAccessException).
/// </summary>
internal sealed class CbsNode(SasTokenValidator validator, ILogger logger)
{
    private const string SasTokenType = "servicebus.windows.net:sastoken";

    public Task<AmqpMessage> HandleAsync(AmqpMessage request, ConnectionState connection)
    {
        var properties = request.ApplicationProperties?.Map;
        var operation = properties?["operation"] as string;
        var type = properties?["type"] as string;
        var audience = properties?["name"] as string;
        if (!string.Equals(operation, "put-token", StringComparison.Ordinal) || audience is null)
        {
            return Task.FromResult(Reply(400, "Only put-token requests with a name (audience) are served by $cbs."));
        }

        if (!string.Equals(type, SasTokenType, StringComparison.Ordinal))
        {
            return Task.FromResult(Reply(401, $"Token type '{type}' is not accepted: the emulator authorizes shared access signatures ({SasTokenType}) only."));
        }

        var token = request.ValueBody?.Value as string;
        var refusal = validator.Validate(token, audience, out var expiresAt);
        if (refusal is not null)
        {
            logger.TokenRejected(audience, refusal);
            return Task.FromResult(Reply(401, refusal));
        }

        connection.Authorize(audience, expiresAt);
        return Task.FromResult(Reply(202, "Accepted"));
    }

    private static AmqpMessage Reply(int status, string description)
    {
        var reply = AmqpMessage.Create();
        reply.ApplicationProperties = new ApplicationProperties();
        reply.ApplicationProperties.Map["status-code"] = status;
        reply.ApplicationProperties.Map["status-description"] = description;
        return reply;
    }
}
