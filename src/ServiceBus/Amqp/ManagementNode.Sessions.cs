using Fleet.ServiceBus.Entities;
using Microsoft.Azure.Amqp;
using Microsoft.Azure.Amqp.Encoding;
using static Fleet.ServiceBus.Amqp.ManagementResponse;

namespace Fleet.ServiceBus.Amqp;

/// <summary>
/// Session operations: each names its session with <c>session-id</c> and is served only while that session is held
/// (by the receiver link the request names as <c>associated-link-name</c>, when it names one); otherwise the answer is
/// 410 session-lock-lost, as the service answers a receiver whose session lock expired.
/// </summary>
internal sealed partial class ManagementNode
{
    private delegate Task<AmqpMessage> SessionOperation(MessageQueue queue, string sessionId, string? linkName, AmqpMap map);

    private Task<AmqpMessage> WithSessionAsync(AmqpMap map, string? linkName, SessionOperation run)
    {
        if (entity.Receiver is not { } queue)
        {
            return Task.FromResult(NoReceiver());
        }

        if (!queue.RequiresSession)
        {
            return Task.FromResult(Error(400, AmqpErrorCode.NotAllowed,
                $"'{entity.Path}' does not require sessions: session operations need a session-enabled queue or subscription."));
        }

        return Value<string>(map, "session-id") is { } sessionId
            ? run(queue, sessionId, linkName, map)
            : Task.FromResult(Error(400, ServiceBusErrors.ArgumentError, "session-id is required."));
    }

    private static AmqpMessage SessionLockLost() => Error(410, ServiceBusErrors.SessionLockLost, ServiceBusErrors.SessionLockLostDescription);

    private static Task<AmqpMessage> RenewSessionLock(MessageQueue queue, string sessionId, string? linkName, AmqpMap map) =>
        Task.FromResult(queue.RenewSessionLock(sessionId, linkName) is { } until
            ? Ok(new AmqpMap { [Key("expiration")] = until.UtcDateTime })
            : SessionLockLost());

    private static Task<AmqpMessage> GetSessionState(MessageQueue queue, string sessionId, string? linkName, AmqpMap map)
    {
        if (!queue.TryGetSessionState(sessionId, linkName, out var state))
        {
            return Task.FromResult(SessionLockLost());
        }

        // A session without state answers without the value, which the client reads as no state.
        var body = new AmqpMap();
        if (state is not null)
        {
            body[Key("session-state")] = new ArraySegment<byte>(state);
        }

        return Task.FromResult(Ok(body));
    }

    private static async Task<AmqpMessage> SetSessionStateAsync(MessageQueue queue, string sessionId, string? linkName, AmqpMap map) =>
        await queue.SetSessionStateAsync(sessionId, linkName, Binary(map, "session-state")).ConfigureAwait(false)
            ? Ok()
            : SessionLockLost();
}
