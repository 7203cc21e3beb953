using Azure.Messaging.ServiceBus;
using Fleet.Testing;

namespace Fleet.ServiceBus.Tests;

/// <summary>An emulator on a fake clock, so lock expiry, time to live and scheduling happen when a test moves time.</summary>
public sealed class FakeClockEmulatorFixture : EmulatorFixture
{
    public FakeTimeProvider Clock { get; } = new(DateTimeOffset.UtcNow);

    protected override TimeProvider Time => Clock;
}

/// <summary>Lock expiry and renewal, time to live and scheduled messages, driven by the emulator's clock.</summary>
public sealed class ClockTests(FakeClockEmulatorFixture fixture) : IClassFixture<FakeClockEmulatorFixture>
{
    private ServiceBusClient Client => fixture.Client;

    private FakeTimeProvider Clock => fixture.Clock;

    [Fact]
    public async Task An_expired_lock_loses_the_settlement_and_the_message_is_delivered_again()
    {
        var ct = Timeouts.Test();
        await using var sender = Client.CreateSender("locks");
        await sender.SendMessageAsync(new ServiceBusMessage("slow") { MessageId = "slow-1" }, ct);
        await using var receiver = Client.CreateReceiver("locks");
        var first = await receiver.ReceiveMessageAsync(Timeouts.Message, ct);
        Assert.Equal(Clock.GetUtcNow().AddSeconds(5).ToUnixTimeMilliseconds(), first.LockedUntil.ToUnixTimeMilliseconds());

        Clock.Advance(TimeSpan.FromSeconds(6));

        var lost = await Assert.ThrowsAsync<ServiceBusException>(() => receiver.CompleteMessageAsync(first, ct));
        Assert.Equal(ServiceBusFailureReason.MessageLockLost, lost.Reason);
        var again = await receiver.ReceiveMessageAsync(Timeouts.Message, ct);
        Assert.Equal("slow-1", again.MessageId);
        Assert.Equal(2, again.DeliveryCount);
        await receiver.CompleteMessageAsync(again, ct);
    }

    [Fact]
    public async Task A_renewed_lock_outlives_the_original_lock_duration()
    {
        var ct = Timeouts.Test();
        await using var sender = Client.CreateSender("locks");
        await sender.SendMessageAsync(new ServiceBusMessage("renewed") { MessageId = "renewed-1" }, ct);
        await using var receiver = Client.CreateReceiver("locks");
        var received = await receiver.ReceiveMessageAsync(Timeouts.Message, ct);
        var first = received.LockedUntil;

        Clock.Advance(TimeSpan.FromSeconds(3));
        await receiver.RenewMessageLockAsync(received, ct);
        Assert.Equal(first.AddSeconds(3).ToUnixTimeMilliseconds(), received.LockedUntil.ToUnixTimeMilliseconds());
        Clock.Advance(TimeSpan.FromSeconds(3));

        await receiver.CompleteMessageAsync(received, ct);
        var lost = await Assert.ThrowsAsync<ServiceBusException>(() => receiver.RenewMessageLockAsync(received, ct));
        Assert.Equal(ServiceBusFailureReason.MessageLockLost, lost.Reason);
    }

    [Fact]
    public async Task An_expired_message_is_dead_lettered_where_the_queue_says_so_with_the_service_reason()
    {
        var ct = Timeouts.Test();
        await using var sender = Client.CreateSender("ttl");
        await sender.SendMessageAsync(new ServiceBusMessage("default ttl") { MessageId = "ttl-default" }, ct);
        await sender.SendMessageAsync(new ServiceBusMessage("short ttl") { MessageId = "ttl-short", TimeToLive = TimeSpan.FromSeconds(2) }, ct);
        await using var receiver = Client.CreateReceiver("ttl");
        var peeked = await receiver.PeekMessagesAsync(10, fromSequenceNumber: 0, cancellationToken: ct);
        Assert.Equal(TimeSpan.FromSeconds(10), peeked.Single(m => m.MessageId == "ttl-default").TimeToLive);
        Assert.Equal(TimeSpan.FromSeconds(2), peeked.Single(m => m.MessageId == "ttl-short").TimeToLive);

        Clock.Advance(TimeSpan.FromSeconds(3));
        await using var dlq = Client.CreateReceiver("ttl", new ServiceBusReceiverOptions { SubQueue = SubQueue.DeadLetter });
        var dead = await dlq.ReceiveMessageAsync(Timeouts.Message, ct);
        Assert.Equal("ttl-short", dead.MessageId);
        Assert.Equal("TTLExpiredException", dead.DeadLetterReason);
        await dlq.CompleteMessageAsync(dead, ct);

        Clock.Advance(TimeSpan.FromSeconds(8));
        var second = await dlq.ReceiveMessageAsync(Timeouts.Message, ct);
        Assert.Equal("ttl-default", second.MessageId);
        await dlq.CompleteMessageAsync(second, ct);
        Assert.Null(await receiver.ReceiveMessageAsync(Timeouts.Nothing, ct));
    }

    [Fact]
    public async Task An_expired_message_vanishes_where_the_queue_does_not_dead_letter_on_expiry()
    {
        var ct = Timeouts.Test();
        await using var sender = Client.CreateSender("ttl-drop");
        await sender.SendMessageAsync(new ServiceBusMessage("gone soon"), ct);
        await using var receiver = Client.CreateReceiver("ttl-drop");
        Assert.Single(await receiver.PeekMessagesAsync(10, fromSequenceNumber: 0, cancellationToken: ct));

        Clock.Advance(TimeSpan.FromSeconds(11));

        Assert.Null(await receiver.ReceiveMessageAsync(Timeouts.Nothing, ct));
        Assert.Empty(await receiver.PeekMessagesAsync(10, fromSequenceNumber: 0, cancellationToken: ct));
        await using var dlq = Client.CreateReceiver("ttl-drop", new ServiceBusReceiverOptions { SubQueue = SubQueue.DeadLetter });
        Assert.Empty(await dlq.PeekMessagesAsync(10, fromSequenceNumber: 0, cancellationToken: ct));
    }

    [Fact]
    public async Task A_scheduled_message_arrives_at_its_time_and_a_cancelled_one_never()
    {
        var ct = Timeouts.Test();
        await using var sender = Client.CreateSender("scheduled");
        var at = Clock.GetUtcNow().AddMinutes(10);
        var kept = await sender.ScheduleMessageAsync(new ServiceBusMessage("kept"), at, ct);
        var cancelled = await sender.ScheduleMessageAsync(new ServiceBusMessage("cancelled"), at, ct);
        await sender.SendMessageAsync(new ServiceBusMessage("by property") { ScheduledEnqueueTime = at.AddMinutes(1) }, ct);
        await sender.CancelScheduledMessageAsync(cancelled, ct);
        await using var receiver = Client.CreateReceiver("scheduled");

        var peeked = await receiver.PeekMessagesAsync(10, fromSequenceNumber: 0, cancellationToken: ct);
        Assert.Equal(["kept", "by property"], peeked.Select(m => m.Body.ToString()));
        Assert.All(peeked, m => Assert.Equal(ServiceBusMessageState.Scheduled, m.State));
        Assert.Null(await receiver.ReceiveMessageAsync(Timeouts.Nothing, ct));

        Clock.Advance(TimeSpan.FromMinutes(10));
        var first = await receiver.ReceiveMessageAsync(Timeouts.Message, ct);
        Assert.Equal("kept", first.Body.ToString());
        Assert.Equal(kept, first.SequenceNumber);
        Assert.Equal(at.ToUnixTimeMilliseconds(), first.EnqueuedTime.ToUnixTimeMilliseconds());
        await receiver.CompleteMessageAsync(first, ct);
        Assert.Null(await receiver.ReceiveMessageAsync(Timeouts.Nothing, ct));

        Clock.Advance(TimeSpan.FromMinutes(1));
        var second = await receiver.ReceiveMessageAsync(Timeouts.Message, ct);
        Assert.Equal("by property", second.Body.ToString());
        await receiver.CompleteMessageAsync(second, ct);

        var missing = await Assert.ThrowsAsync<ServiceBusException>(() => sender.CancelScheduledMessageAsync(cancelled, ct));
        Assert.Equal(ServiceBusFailureReason.MessageNotFound, missing.Reason);
    }

    [Fact]
    public async Task A_message_scheduled_on_a_topic_reaches_its_subscriptions_when_due()
    {
        var ct = Timeouts.Test();
        await using var sender = Client.CreateSender("ruled");
        await sender.ScheduleMessageAsync(new ServiceBusMessage("topic later"), Clock.GetUtcNow().AddMinutes(5), ct);
        await using var receiver = Client.CreateReceiver("ruled", "managed");
        Assert.Null(await receiver.ReceiveMessageAsync(Timeouts.Nothing, ct));

        Clock.Advance(TimeSpan.FromMinutes(5));

        var received = await receiver.ReceiveMessageAsync(Timeouts.Message, ct);
        Assert.Equal("topic later", received.Body.ToString());
        await receiver.CompleteMessageAsync(received, ct);
    }
}
