using Azure.Messaging.ServiceBus;
using Azure.Messaging.ServiceBus.Administration;

namespace Fleet.ServiceBus.Tests;

/// <summary>
/// State in SQLite survives a stop and start: messages, counts, schedules, deferrals, dead letters, rules,
/// duplicate-detection history, session messages and session states.
/// </summary>
public sealed class RestartTests : IDisposable
{
    private readonly string _data = Path.Combine(Path.GetTempPath(), "sb-restart-" + Guid.NewGuid().ToString("N"));

    public void Dispose()
    {
        if (Directory.Exists(_data))
        {
            Directory.Delete(_data, recursive: true);
        }
    }

    [Fact]
    public async Task A_restart_loses_no_message_count_schedule_deferral_dead_letter_or_rule()
    {
        var ct = Timeouts.Test(60);
        long deferredSequence;
        long lastSequence;
        var scheduledAt = DateTimeOffset.UtcNow.AddHours(1);
        await using (var emulator = await StartAsync())
        await using (var client = EmulatorFixture.NewClient(emulator.ConnectionString))
        {
            await using var dupes = client.CreateSender("dupes");
            await dupes.SendMessageAsync(new ServiceBusMessage("first") { MessageId = "once" }, ct);
            await using var sender = client.CreateSender("basic");
            await sender.SendMessagesAsync([new ServiceBusMessage("abandoned"), new ServiceBusMessage("deferred"), new ServiceBusMessage("dead"), new ServiceBusMessage("plain")], ct);
            await sender.ScheduleMessageAsync(new ServiceBusMessage("scheduled"), scheduledAt, ct);
            await using var receiver = client.CreateReceiver("basic");
            var abandoned = await ReceiveAsync(receiver, "abandoned", ct);
            var deferred = await ReceiveAsync(receiver, "deferred", ct);
            var dead = await ReceiveAsync(receiver, "dead", ct);
            await receiver.AbandonMessageAsync(abandoned, new Dictionary<string, object> { ["note"] = "kept" }, ct);
            await receiver.DeferMessageAsync(deferred, cancellationToken: ct);
            deferredSequence = deferred.SequenceNumber;
            await receiver.DeadLetterMessageAsync(dead, "Reason", "Why", ct);
            // A lock held at shutdown is lost: the message is available again after the restart.
            var locked = await ReceiveAsync(receiver, "abandoned", ct);
            Assert.Equal(2, locked.DeliveryCount);

            await using var topic = client.CreateSender("ruled");
            await using var rules = client.CreateRuleManager("ruled", "managed");
            await rules.CreateRuleAsync("only-x", new CorrelationRuleFilter { Subject = "x" }, ct);
            await rules.DeleteRuleAsync(RuleProperties.DefaultRuleName, ct);
            await topic.SendMessageAsync(new ServiceBusMessage("to subscription") { Subject = "x" }, ct);
            lastSequence = (await receiver.PeekMessagesAsync(10, fromSequenceNumber: 0, cancellationToken: ct)).Max(m => m.SequenceNumber);
        }

        await using (var emulator = await StartAsync())
        await using (var client = EmulatorFixture.NewClient(emulator.ConnectionString))
        {
            await using var receiver = client.CreateReceiver("basic");
            var peeked = await receiver.PeekMessagesAsync(10, fromSequenceNumber: 0, cancellationToken: ct);
            Assert.Equal(["abandoned", "deferred", "plain", "scheduled"], peeked.Select(m => m.Body.ToString()));
            Assert.Equal(ServiceBusMessageState.Scheduled, peeked[3].State);
            Assert.Equal(scheduledAt.ToUnixTimeMilliseconds(), peeked[3].ScheduledEnqueueTime.ToUnixTimeMilliseconds());

            var abandoned = await ReceiveAsync(receiver, "abandoned", ct);
            Assert.Equal(2, abandoned.DeliveryCount);
            Assert.Equal("kept", abandoned.ApplicationProperties["note"]);
            await receiver.CompleteMessageAsync(abandoned, ct);
            await receiver.CompleteMessageAsync(await ReceiveAsync(receiver, "plain", ct), ct);
            var deferred = await receiver.ReceiveDeferredMessageAsync(deferredSequence, ct);
            Assert.Equal("deferred", deferred.Body.ToString());
            await receiver.CompleteMessageAsync(deferred, ct);

            await using var dlq = client.CreateReceiver("basic", new ServiceBusReceiverOptions { SubQueue = SubQueue.DeadLetter });
            var dead = await dlq.ReceiveMessageAsync(Timeouts.Message, ct);
            Assert.Equal("Reason", dead.DeadLetterReason);
            Assert.Equal("Why", dead.DeadLetterErrorDescription);
            await dlq.CompleteMessageAsync(dead, ct);

            // Duplicate detection remembers ids accepted before the restart.
            await using var dupes = client.CreateSender("dupes");
            await dupes.SendMessageAsync(new ServiceBusMessage("again") { MessageId = "once" }, ct);
            await using var dupeReceiver = client.CreateReceiver("dupes");
            Assert.Equal(["first"], (await dupeReceiver.PeekMessagesAsync(10, fromSequenceNumber: 0, cancellationToken: ct)).Select(m => m.Body.ToString()));

            await using var sender = client.CreateSender("basic");
            await sender.SendMessageAsync(new ServiceBusMessage("after restart"), ct);
            var fresh = await ReceiveAsync(receiver, "after restart", ct);
            Assert.True(fresh.SequenceNumber > lastSequence);
            await receiver.CompleteMessageAsync(fresh, ct);

            await using var rules = client.CreateRuleManager("ruled", "managed");
            var names = new List<string>();
            await foreach (var rule in rules.GetRulesAsync(ct))
            {
                names.Add(rule.Name);
            }

            Assert.Equal(["only-x"], names);
            await using var subscription = client.CreateReceiver("ruled", "managed");
            var copy = await subscription.ReceiveMessageAsync(Timeouts.Message, ct);
            Assert.Equal("to subscription", copy.Body.ToString());
            await subscription.CompleteMessageAsync(copy, ct);
        }

        await using (var emulator = await StartAsync())
        await using (var client = EmulatorFixture.NewClient(emulator.ConnectionString))
        {
            await using var receiver = client.CreateReceiver("basic");
            var left = await receiver.PeekMessagesAsync(10, fromSequenceNumber: 0, cancellationToken: ct);
            Assert.Equal(["scheduled"], left.Select(m => m.Body.ToString()));
        }
    }

    [Fact]
    public async Task A_restart_loses_no_session_message_or_session_state()
    {
        var ct = Timeouts.Test(60);
        await using (var emulator = await StartAsync())
        await using (var client = EmulatorFixture.NewClient(emulator.ConnectionString))
        {
            await using var sender = client.CreateSender("session-restart");
            await sender.SendMessagesAsync(new[] { "one", "two", "three", "four" }.Select(b => new ServiceBusMessage(b) { SessionId = "Device-9" }), ct);
            await using var receiver = await client.AcceptSessionAsync("session-restart", "Device-9", cancellationToken: ct);
            await receiver.SetSessionStateAsync(BinaryData.FromString("checkpoint 1"), ct);
            await receiver.CompleteMessageAsync(await receiver.ReceiveMessageAsync(Timeouts.Message, ct), ct);
            await receiver.DeferMessageAsync(await receiver.ReceiveMessageAsync(Timeouts.Message, ct), cancellationToken: ct);
            // Locked when the emulator stops: available again after the restart.
            Assert.Equal("three", (await receiver.ReceiveMessageAsync(Timeouts.Message, ct)).Body.ToString());
            await using var stateOnly = await client.AcceptSessionAsync("session-restart", "no-messages", cancellationToken: ct);
            await stateOnly.SetSessionStateAsync(new BinaryData([1, 2, 3]), ct);
            // Waits in the topic across the restart, then reaches the session subscription by its session id.
            await using var topic = client.CreateSender("session-topic");
            await topic.ScheduleMessageAsync(new ServiceBusMessage("scheduled") { SessionId = "fleet-b" }, DateTimeOffset.UtcNow.AddSeconds(3), ct);
        }

        await using (var emulator = await StartAsync())
        await using (var client = EmulatorFixture.NewClient(emulator.ConnectionString))
        {
            await using var next = await client.AcceptNextSessionAsync("session-restart", cancellationToken: ct);
            Assert.Equal("Device-9", next.SessionId);
            Assert.Equal("checkpoint 1", (await next.GetSessionStateAsync(ct)).ToString());
            var peeked = await next.PeekMessagesAsync(10, fromSequenceNumber: 0, cancellationToken: ct);
            Assert.Equal(["two", "three", "four"], peeked.Select(m => m.Body.ToString()));
            Assert.Equal(ServiceBusMessageState.Deferred, peeked[0].State);
            foreach (var body in new[] { "three", "four" })
            {
                var message = await next.ReceiveMessageAsync(Timeouts.Message, ct);
                Assert.Equal(body, message.Body.ToString());
                Assert.Equal("Device-9", message.SessionId);
                await next.CompleteMessageAsync(message, ct);
            }

            await next.CompleteMessageAsync(await next.ReceiveDeferredMessageAsync(peeked[0].SequenceNumber, ct), ct);
            await using var stateOnly = await client.AcceptSessionAsync("session-restart", "NO-MESSAGES", cancellationToken: ct);
            Assert.Equal(new byte[] { 1, 2, 3 }, (await stateOnly.GetSessionStateAsync(ct)).ToArray());

            await using var subscription = await client.AcceptSessionAsync("session-topic", "by-session", "fleet-b", cancellationToken: ct);
            var scheduled = await subscription.ReceiveMessageAsync(Timeouts.Message, ct);
            Assert.Equal("scheduled", scheduled.Body.ToString());
            await subscription.CompleteMessageAsync(scheduled, ct);
        }
    }

    [Fact]
    public async Task Messages_of_an_entity_left_out_of_the_configuration_are_kept_until_it_returns()
    {
        var ct = Timeouts.Test();
        var withQueue = new TestConfig().Queue("kept").Queue("other").Build();
        var withoutQueue = new TestConfig().Queue("other").Build();
        await using (var emulator = await StartAsync(withQueue))
        await using (var client = EmulatorFixture.NewClient(emulator.ConnectionString))
        await using (var sender = client.CreateSender("kept"))
        {
            await sender.SendMessageAsync(new ServiceBusMessage("parked"), ct);
        }

        await using (var emulator = await StartAsync(withoutQueue))
        await using (var client = EmulatorFixture.NewClient(emulator.ConnectionString))
        await using (var sender = client.CreateSender("kept"))
        {
            var missing = await Assert.ThrowsAsync<ServiceBusException>(() => sender.SendMessageAsync(new ServiceBusMessage("x"), ct));
            Assert.Equal(ServiceBusFailureReason.MessagingEntityNotFound, missing.Reason);
        }

        await using (var emulator = await StartAsync(withQueue))
        await using (var client = EmulatorFixture.NewClient(emulator.ConnectionString))
        await using (var receiver = client.CreateReceiver("kept"))
        {
            var parked = await receiver.ReceiveMessageAsync(Timeouts.Message, ct);
            Assert.Equal("parked", parked.Body.ToString());
            await receiver.CompleteMessageAsync(parked, ct);
        }
    }

    private Task<ServiceBusEmulator> StartAsync(string? config = null) =>
        ServiceBusEmulator.StartAsync(new ServiceBusEmulatorOptions { ConfigJson = config ?? EmulatorFixture.Config(), DataDirectory = _data }, loggerFactory: TestLogging.Factory);

    private static async Task<ServiceBusReceivedMessage> ReceiveAsync(ServiceBusReceiver receiver, string body, CancellationToken ct)
    {
        var message = await receiver.ReceiveMessageAsync(Timeouts.Message, ct);
        Assert.NotNull(message);
        Assert.Equal(body, message.Body.ToString());
        return message;
    }
}
