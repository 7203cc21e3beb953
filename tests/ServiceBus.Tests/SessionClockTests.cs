using Azure.Messaging.ServiceBus;
using Fleet.Testing;

namespace Fleet.ServiceBus.Tests;

/// <summary>Session lock expiry and renewal, driven by the emulator's fake clock.</summary>
public sealed class SessionClockTests(FakeClockEmulatorFixture fixture) : IClassFixture<FakeClockEmulatorFixture>
{
    private ServiceBusClient Client => fixture.Client;

    private FakeTimeProvider Clock => fixture.Clock;

    [Fact]
    public async Task An_expired_session_lock_releases_the_session_and_its_unsettled_messages_are_delivered_again()
    {
        var ct = Timeouts.Test();
        await using var sender = Client.CreateSender("session-locks");
        await sender.SendMessagesAsync([new ServiceBusMessage("held") { SessionId = "expiring" }, new ServiceBusMessage("next") { SessionId = "expiring" }], ct);
        await using var first = await Client.AcceptSessionAsync("session-locks", "expiring", cancellationToken: ct);
        Assert.Equal(Clock.GetUtcNow().AddSeconds(10).ToUnixTimeMilliseconds(), first.SessionLockedUntil.ToUnixTimeMilliseconds());
        var held = await first.ReceiveMessageAsync(Timeouts.Message, ct);
        Assert.Equal(first.SessionLockedUntil.ToUnixTimeMilliseconds(), held.LockedUntil.ToUnixTimeMilliseconds());

        Clock.Advance(TimeSpan.FromSeconds(11));

        // The session is free again at once: another receiver accepts it and gets the unsettled message first.
        await using var second = await Client.AcceptSessionAsync("session-locks", "expiring", cancellationToken: ct);
        var again = await second.ReceiveMessageAsync(Timeouts.Message, ct);
        Assert.Equal("held", again.Body.ToString());
        Assert.Equal(2, again.DeliveryCount);
        // The broker detached the first receiver's link (session-lock-lost, as the service does); the 7.21 client then
        // counts the receiver closed and refuses further use of it.
        await Wait.UntilAsync(() => first.IsClosed, "the first receiver to see its session link closed");
        await Assert.ThrowsAsync<ObjectDisposedException>(() => first.CompleteMessageAsync(held, ct));

        await second.CompleteMessageAsync(again, ct);
        var next = await second.ReceiveMessageAsync(Timeouts.Message, ct);
        Assert.Equal("next", next.Body.ToString());
        await second.CompleteMessageAsync(next, ct);
    }

    [Fact]
    public async Task A_renewed_session_lock_keeps_the_session_and_its_message_locks_past_the_lock_duration()
    {
        var ct = Timeouts.Test();
        await using var sender = Client.CreateSender("session-locks");
        await sender.SendMessageAsync(new ServiceBusMessage("kept") { SessionId = "renewed" }, ct);
        await using var receiver = await Client.AcceptSessionAsync("session-locks", "renewed", cancellationToken: ct);
        var message = await receiver.ReceiveMessageAsync(Timeouts.Message, ct);

        Clock.Advance(TimeSpan.FromSeconds(6));
        await receiver.RenewSessionLockAsync(ct);
        Assert.Equal(Clock.GetUtcNow().AddSeconds(10).ToUnixTimeMilliseconds(), receiver.SessionLockedUntil.ToUnixTimeMilliseconds());
        Clock.Advance(TimeSpan.FromSeconds(6));

        var refused = await Assert.ThrowsAsync<ServiceBusException>(() => Client.AcceptSessionAsync("session-locks", "renewed", cancellationToken: ct));
        Assert.Equal(ServiceBusFailureReason.SessionCannotBeLocked, refused.Reason);
        await receiver.CompleteMessageAsync(message, ct);
        Assert.Null(await receiver.ReceiveMessageAsync(Timeouts.Nothing, ct));
    }
}
