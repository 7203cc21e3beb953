using System.Collections.Concurrent;
using Microsoft.Azure.Amqp;

namespace Fleet.ServiceBus.Amqp;

/// <summary>
/// What the broker knows about one client connection: the audiences its put-token requests authorized, and the reply
/// links of its request/response pairs ($cbs and $management), found by the reply-to address requests carry.
/// </summary>
internal sealed class ConnectionState
{
    private readonly ConcurrentDictionary<string, DateTimeOffset> _audiences = new(StringComparer.OrdinalIgnoreCase);
    private readonly ConcurrentDictionary<string, SendingAmqpLink> _replyLinks = new(StringComparer.Ordinal);

    public void Authorize(string audience, DateTimeOffset expiresAt) => _audiences[audience] = expiresAt;

    /// <summary>Whether a token that has not expired covers <paramref name="entityPath"/> (a path like <c>q1/$management</c>).</summary>
    public bool IsAuthorized(string entityPath, DateTimeOffset now)
    {
        foreach (var (audience, expiresAt) in _audiences)
        {
            if (expiresAt > now && SasTokenValidator.Covers(AudiencePath(audience), entityPath))
            {
                return true;
            }
        }

        return false;
    }

    public void AddReplyLink(string address, SendingAmqpLink link)
    {
        _replyLinks[address] = link;
        link.Closed += (_, _) => _replyLinks.TryRemove(new KeyValuePair<string, SendingAmqpLink>(address, link));
    }

    public SendingAmqpLink? ReplyLink(string? address) =>
        address is not null && _replyLinks.TryGetValue(address, out var link) ? link : null;

    // An audience is a URI (amqp://host/q1); what it covers is its path.
    private static string AudiencePath(string audience) =>
        Uri.TryCreate(audience, UriKind.Absolute, out var uri) && !string.IsNullOrEmpty(uri.Host)
            ? Uri.UnescapeDataString(uri.AbsolutePath).Trim('/')
            : audience.Trim('/');
}
