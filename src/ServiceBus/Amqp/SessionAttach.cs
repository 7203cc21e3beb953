using Fleet.ServiceBus.Entities;
using Microsoft.Azure.Amqp;
using Microsoft.Azure.Amqp.Encoding;
using Microsoft.Azure.Amqp.Framing;

namespace Fleet.ServiceBus.Amqp;

/// <summary>
/// A session receiver's attach, as the service serves it: the source's <c>com.microsoft:session-filter</c> names the
/// session to accept, or holds null for the next session with available messages, which the attach waits for up to the
/// link's <c>com.microsoft:timeout</c>. The attach sent back names the accepted session in the same filter and its lock
/// expiry in the link properties (<c>com.microsoft:locked-until-utc</c>, as DateTime ticks).
/// </summary>
internal static class SessionAttach
{
    private static readonly AmqpSymbol SessionFilter = "com.microsoft:session-filter";
    private static readonly AmqpSymbol LockedUntilUtc = "com.microsoft:locked-until-utc";
    private static readonly AmqpSymbol TimeoutProperty = "com.microsoft:timeout";

    /// <summary>Whether the link asks for a session, and which (null for the next available one).</summary>
    public static bool IsRequested(AmqpLinkSettings settings, out string? sessionId)
    {
        sessionId = null;
        if ((settings.Source as Source)?.FilterSet is not { } filters)
        {
            return false;
        }

        foreach (var (key, value) in filters)
        {
            if (SessionFilter.Equals(key.Key))
            {
                sessionId = value as string;
                return true;
            }
        }

        return false;
    }

    /// <summary>
    /// Accepts the session for <paramref name="receiver"/> and writes it into the link's settings, or throws the
    /// service's error: session-cannot-be-locked for a session another receiver holds, timeout when no session came.
    /// </summary>
    public static async Task AcceptAsync(SendingAmqpLink link, ISessionConsumer receiver, MessageQueue queue, string? sessionId, TimeSpan defaultWait)
    {
        var lease = sessionId is not null
            ? queue.AcceptSession(receiver, sessionId) ?? throw new AmqpException(ServiceBusErrors.SessionCannotBeLocked,
                $"The requested session '{sessionId}' cannot be accepted. It may be locked by another receiver.")
            : await queue.AcceptNextSessionAsync(receiver, Wait(link.Settings, defaultWait)).ConfigureAwait(false)
                ?? throw new AmqpException(ServiceBusErrors.Timeout, $"No session with available messages in '{queue.Path}' was found in time.");
        ((Source)link.Settings.Source).FilterSet[SessionFilter] = lease.SessionId;
        (link.Settings.Properties ??= new Fields())[LockedUntilUtc] = lease.LockedUntil.UtcTicks;
    }

    private static TimeSpan Wait(AmqpLinkSettings settings, TimeSpan defaultWait) =>
        settings.Properties?.TryGetValue<uint>(TimeoutProperty, out var milliseconds) == true
            ? TimeSpan.FromMilliseconds(milliseconds)
            : defaultWait;
}
