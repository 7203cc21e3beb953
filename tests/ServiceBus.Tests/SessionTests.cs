using Azure.Messaging.ServiceBus;

namespace Fleet.ServiceBus.Tests;

/// <summary>Session-enabled queues with the real client: accepting sessions, their order, exclusivity, state and settlement.</summary>
public sealed class SessionTests(EmulatorFixture fixture) : IClassFixture<EmulatorFixture>
{
    private ServiceBusClient Client => fixture.Client;

    [Fact]
    public async Task An_accepted_session_delivers_only_its_own_messages_in_order_with_the_session_lock()
    {
        var ct = Timeouts.Test();
        await using var sender = Client.CreateSender("session-order");
        for (var i = 0; i < 5; i++)
        {
            await sender.SendMessagesAsync([Message("device-1", $"one-{i}"), Message("device-2", $"two-{i}")], ct);
        }

        var before = DateTimeOffset.UtcNow;
        await using var receiver = await Client.AcceptSessionAsync("session-order", "device-1", cancellationToken: ct);

        Assert.Equal("device-1", receiver.SessionId);
        Assert.InRange(receiver.SessionLockedUntil, before.AddSeconds(29), DateTimeOffset.UtcNow.AddSeconds(31));
        var bodies = new List<string>();
        while (bodies.Count < 5)
        {
            foreach (var message in await receiver.ReceiveMessagesAsync(5, Timeouts.Message, ct))
            {
                Assert.Equal("device-1", message.SessionId);
                bodies.Add(message.Body.ToString());
                await receiver.CompleteMessageAsync(message, ct);
            }
        }

        Assert.Equal(Enumerable.Range(0, 5).Select(i => $"one-{i}"), bodies);
        Assert.Null(await receiver.ReceiveMessageAsync(Timeouts.Nothing, ct));
        // Peeking through a session receiver shows that session only; the other session's messages are untouched.
        await using var other = await Client.AcceptSessionAsync("session-order", "DEVICE-2", cancellationToken: ct);
        Assert.Equal("device-2", other.SessionId);
        var peeked = await other.PeekMessagesAsync(10, fromSequenceNumber: 0, cancellationToken: ct);
        Assert.Equal(Enumerable.Range(0, 5).Select(i => $"two-{i}"), peeked.Select(m => m.Body.ToString()));
    }

    [Fact]
    public async Task A_locked_session_cannot_be_accepted_again_until_its_receiver_closes()
    {
        var ct = Timeouts.Test();
        await using var sender = Client.CreateSender("session-exclusive");
        await sender.SendMessagesAsync([Message("s1", "first"), Message("s1", "second")], ct);
        var first = await Client.AcceptSessionAsync("session-exclusive", "s1", cancellationToken: ct);
        var held = await first.ReceiveMessageAsync(Timeouts.Message, ct);
        Assert.Equal("first", held.Body.ToString());

        var refused = await Assert.ThrowsAsync<ServiceBusException>(() => Client.AcceptSessionAsync("session-exclusive", "s1", cancellationToken: ct));
        Assert.Equal(ServiceBusFailureReason.SessionCannotBeLocked, refused.Reason);

        await first.DisposeAsync();
        await using var second = await Client.AcceptSessionAsync("session-exclusive", "s1", cancellationToken: ct);
        var again = await second.ReceiveMessageAsync(Timeouts.Message, ct);
        Assert.Equal("first", again.Body.ToString());
        Assert.Equal(2, again.DeliveryCount);
        await second.CompleteMessageAsync(again, ct);
        var next = await second.ReceiveMessageAsync(Timeouts.Message, ct);
        Assert.Equal("second", next.Body.ToString());
        Assert.Equal(1, next.DeliveryCount);
        await second.CompleteMessageAsync(next, ct);
    }

    [Fact]
    public async Task Accept_next_takes_the_oldest_free_session_with_messages_waits_for_one_and_times_out_without()
    {
        var ct = Timeouts.Test(60);
        await using var sender = Client.CreateSender("session-next");
        await using var empty = await Client.AcceptSessionAsync("session-next", "no-messages", cancellationToken: ct);
        await sender.SendMessageAsync(Message("older", "a"), ct);
        await sender.SendMessageAsync(Message("newer", "b"), ct);

        await using var firstNext = await Client.AcceptNextSessionAsync("session-next", cancellationToken: ct);
        await using var secondNext = await Client.AcceptNextSessionAsync("session-next", cancellationToken: ct);
        Assert.Equal("older", firstNext.SessionId);
        Assert.Equal("newer", secondNext.SessionId);

        // A pending accept is served by the first message of a free session.
        var waiting = Client.AcceptNextSessionAsync("session-next", cancellationToken: ct);
        Assert.False(waiting.IsCompleted);
        await sender.SendMessageAsync(Message("late", "c"), ct);
        await using var late = await waiting;
        Assert.Equal("late", late.SessionId);
        Assert.Equal("c", (await late.ReceiveMessageAsync(Timeouts.Message, ct)).Body.ToString());

        await using var impatient = EmulatorFixture.NewClient(fixture.Emulator.ConnectionString, TimeSpan.FromSeconds(2));
        var timeout = await Assert.ThrowsAsync<ServiceBusException>(() => impatient.AcceptNextSessionAsync("session-next", cancellationToken: ct));
        Assert.Equal(ServiceBusFailureReason.ServiceTimeout, timeout.Reason);
    }

    [Fact]
    public async Task Session_state_is_kept_per_session_and_the_session_lock_renews()
    {
        var ct = Timeouts.Test();
        await using var receiver = await Client.AcceptSessionAsync("session-state", "with-state", cancellationToken: ct);
        Assert.Null(await receiver.GetSessionStateAsync(ct));

        await receiver.SetSessionStateAsync(BinaryData.FromString("step 3"), ct);
        Assert.Equal("step 3", (await receiver.GetSessionStateAsync(ct)).ToString());
        await using (var other = await Client.AcceptSessionAsync("session-state", "without-state", cancellationToken: ct))
        {
            Assert.Null(await other.GetSessionStateAsync(ct));
        }

        var locked = receiver.SessionLockedUntil;
        await receiver.RenewSessionLockAsync(ct);
        Assert.True(receiver.SessionLockedUntil >= locked);
        Assert.InRange(receiver.SessionLockedUntil, DateTimeOffset.UtcNow.AddSeconds(29), DateTimeOffset.UtcNow.AddSeconds(31));

        await receiver.SetSessionStateAsync(null, ct);
        Assert.Null(await receiver.GetSessionStateAsync(ct));
    }

    [Fact]
    public async Task Abandon_dead_letter_and_defer_settle_by_lock_token_within_the_session()
    {
        var ct = Timeouts.Test();
        await using var sender = Client.CreateSender("session-settle");
        await sender.SendMessagesAsync([Message("order-7", "abandoned"), Message("order-7", "dead"), Message("order-7", "deferred"), Message("order-7", "last")], ct);
        await using var receiver = await Client.AcceptSessionAsync("session-settle", "order-7", cancellationToken: ct);

        var abandoned = await receiver.ReceiveMessageAsync(Timeouts.Message, ct);
        await receiver.AbandonMessageAsync(abandoned, new Dictionary<string, object> { ["retried"] = true }, ct);
        var again = await receiver.ReceiveMessageAsync(Timeouts.Message, ct);
        Assert.Equal("abandoned", again.Body.ToString());
        Assert.Equal(2, again.DeliveryCount);
        Assert.Equal(true, again.ApplicationProperties["retried"]);
        await receiver.CompleteMessageAsync(again, ct);

        var dead = await receiver.ReceiveMessageAsync(Timeouts.Message, ct);
        await receiver.DeadLetterMessageAsync(dead, "Unprocessable", "bad payload", ct);
        var deferred = await receiver.ReceiveMessageAsync(Timeouts.Message, ct);
        Assert.Equal("deferred", deferred.Body.ToString());
        await receiver.DeferMessageAsync(deferred, cancellationToken: ct);
        var last = await receiver.ReceiveMessageAsync(Timeouts.Message, ct);
        Assert.Equal("last", last.Body.ToString());
        await receiver.CompleteMessageAsync(last, ct);

        var fetched = await receiver.ReceiveDeferredMessageAsync(deferred.SequenceNumber, ct);
        Assert.Equal("deferred", fetched.Body.ToString());
        Assert.Equal(ServiceBusMessageState.Deferred, fetched.State);
        await receiver.CompleteMessageAsync(fetched, ct);
        Assert.Empty(await receiver.PeekMessagesAsync(10, fromSequenceNumber: 0, cancellationToken: ct));

        // The dead-letter queue of a session-enabled queue is received without a session, as in the service.
        await using var dlq = Client.CreateReceiver("session-settle", new ServiceBusReceiverOptions { SubQueue = SubQueue.DeadLetter });
        var dlqMessage = await dlq.ReceiveMessageAsync(Timeouts.Message, ct);
        Assert.Equal("dead", dlqMessage.Body.ToString());
        Assert.Equal("order-7", dlqMessage.SessionId);
        Assert.Equal("Unprocessable", dlqMessage.DeadLetterReason);
        await dlq.CompleteMessageAsync(dlqMessage, ct);
    }

    [Fact]
    public async Task A_topic_routes_session_messages_to_a_session_subscription_and_dead_letters_those_without_a_session_id()
    {
        var ct = Timeouts.Test();
        await using var sender = Client.CreateSender("session-topic");
        await sender.SendMessageAsync(new ServiceBusMessage("no session"), ct);
        await sender.SendMessageAsync(Message("fleet-a", "with session"), ct);

        await using var session = await Client.AcceptSessionAsync("session-topic", "by-session", "fleet-a", cancellationToken: ct);
        var received = await session.ReceiveMessageAsync(Timeouts.Message, ct);
        Assert.Equal("with session", received.Body.ToString());
        await session.CompleteMessageAsync(received, ct);

        await using var dlq = Client.CreateReceiver("session-topic", "by-session", new ServiceBusReceiverOptions { SubQueue = SubQueue.DeadLetter });
        var dead = await dlq.ReceiveMessageAsync(Timeouts.Message, ct);
        Assert.Equal("no session", dead.Body.ToString());
        Assert.Equal("Session id is null.", dead.DeadLetterReason);
        await dlq.CompleteMessageAsync(dead, ct);

        await using var plain = Client.CreateReceiver("session-topic", "plain");
        var copies = await plain.ReceiveMessagesAsync(2, Timeouts.Message, ct);
        while (copies.Count < 2)
        {
            copies = [.. copies, .. await plain.ReceiveMessagesAsync(2 - copies.Count, Timeouts.Message, ct)];
        }

        Assert.Equal(["no session", "with session"], copies.Select(m => m.Body.ToString()).Order());
    }

    [Fact]
    public async Task Session_mismatches_are_refused_with_the_service_errors()
    {
        var ct = Timeouts.Test();
        await using var sender = Client.CreateSender("session-errors");
        var noSession = await Assert.ThrowsAsync<InvalidOperationException>(() => sender.SendMessageAsync(new ServiceBusMessage("x"), ct));
        Assert.Contains("The SessionId was not set on a message", noSession.Message);
        var batch = await Assert.ThrowsAsync<InvalidOperationException>(() => sender.SendMessagesAsync([Message("s", "kept out"), new ServiceBusMessage("y")], ct));
        Assert.Contains("SessionId", batch.Message);
        await Assert.ThrowsAsync<InvalidOperationException>(() => sender.ScheduleMessageAsync(new ServiceBusMessage("z"), DateTimeOffset.UtcNow.AddHours(1), ct));

        await using var plain = Client.CreateReceiver("session-errors");
        var nonSession = await Assert.ThrowsAsync<InvalidOperationException>(() => plain.ReceiveMessageAsync(Timeouts.Nothing, ct));
        Assert.Contains("requires sessions", nonSession.Message);
        var sessionOnPlain = await Assert.ThrowsAsync<InvalidOperationException>(() => Client.AcceptSessionAsync("basic", "s", cancellationToken: ct));
        Assert.Contains("does not require sessions", sessionOnPlain.Message);

        // Nothing of the refused batch was accepted.
        Assert.Empty(await plain.PeekMessagesAsync(10, fromSequenceNumber: 0, cancellationToken: ct));
    }

    private static ServiceBusMessage Message(string sessionId, string body) => new(body) { SessionId = sessionId };
}
