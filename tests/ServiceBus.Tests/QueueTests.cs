using Azure.Messaging.ServiceBus;

namespace Fleet.ServiceBus.Tests;

/// <summary>Sending, receiving and settling on queues with the real client.</summary>
public sealed class QueueTests(EmulatorFixture fixture) : IClassFixture<EmulatorFixture>
{
    private ServiceBusClient Client => fixture.Client;

    [Fact]
    public async Task Send_receive_and_complete_delivers_the_message_with_its_properties_once()
    {
        var ct = Timeouts.Test();
        await using var sender = Client.CreateSender("basic");
        var message = new ServiceBusMessage(BinaryData.FromString("device-42"))
        {
            MessageId = "m-1",
            Subject = "provision",
            CorrelationId = "c-1",
            ContentType = "text/plain",
            ApplicationProperties = { ["tenant"] = "t-1", ["attempt"] = 3 },
        };
        await sender.SendMessageAsync(message, ct);

        await using var receiver = Client.CreateReceiver("basic");
        var received = await receiver.ReceiveMessageAsync(Timeouts.Message, ct);

        Assert.NotNull(received);
        Assert.Equal("device-42", received.Body.ToString());
        Assert.Equal("m-1", received.MessageId);
        Assert.Equal("provision", received.Subject);
        Assert.Equal("c-1", received.CorrelationId);
        Assert.Equal("text/plain", received.ContentType);
        Assert.Equal("t-1", received.ApplicationProperties["tenant"]);
        Assert.Equal(3, received.ApplicationProperties["attempt"]);
        Assert.Equal(1, received.DeliveryCount);
        Assert.True(received.SequenceNumber > 0);
        Assert.True(received.LockedUntil > DateTimeOffset.UtcNow);
        Assert.True(received.EnqueuedTime > DateTimeOffset.UtcNow.AddMinutes(-1));
        Assert.NotEqual(Guid.Empty.ToString(), received.LockToken);

        await receiver.CompleteMessageAsync(received, ct);
        Assert.Null(await receiver.ReceiveMessageAsync(Timeouts.Nothing, ct));
    }

    [Fact]
    public async Task A_message_sent_without_a_message_id_gets_one_from_the_broker()
    {
        var ct = Timeouts.Test();
        await using var sender = Client.CreateSender("basic");
        await sender.SendMessageAsync(new ServiceBusMessage("anonymous") { ApplicationProperties = { ["kept"] = true } }, ct);
        await using var receiver = Client.CreateReceiver("basic");

        var received = await receiver.ReceiveMessageAsync(Timeouts.Message, ct);

        Assert.Matches("^[0-9a-f]{32}$", received.MessageId);
        Assert.Equal("anonymous", received.Body.ToString());
        Assert.Equal(true, received.ApplicationProperties["kept"]);
        await receiver.CompleteMessageAsync(received, ct);
    }

    [Fact]
    public async Task Abandon_redelivers_with_a_higher_delivery_count_and_the_modified_properties()
    {
        var ct = Timeouts.Test();
        await using var sender = Client.CreateSender("abandon");
        await sender.SendMessageAsync(new ServiceBusMessage("a") { ApplicationProperties = { ["stage"] = "new" } }, ct);
        await using var receiver = Client.CreateReceiver("abandon");

        var first = await receiver.ReceiveMessageAsync(Timeouts.Message, ct);
        await receiver.AbandonMessageAsync(first, new Dictionary<string, object> { ["stage"] = "retried", ["reason"] = "busy" }, ct);
        var second = await receiver.ReceiveMessageAsync(Timeouts.Message, ct);

        Assert.Equal(first.SequenceNumber, second.SequenceNumber);
        Assert.Equal(2, second.DeliveryCount);
        Assert.Equal("retried", second.ApplicationProperties["stage"]);
        Assert.Equal("busy", second.ApplicationProperties["reason"]);
        Assert.NotEqual(first.LockToken, second.LockToken);
        await receiver.CompleteMessageAsync(second, ct);
    }

    [Fact]
    public async Task Dead_letter_moves_the_message_to_the_dead_letter_queue_with_reason_and_description()
    {
        var ct = Timeouts.Test();
        await using var sender = Client.CreateSender("deadletter");
        await sender.SendMessageAsync(new ServiceBusMessage("poison") { MessageId = "p-1" }, ct);
        await using var receiver = Client.CreateReceiver("deadletter");
        var received = await receiver.ReceiveMessageAsync(Timeouts.Message, ct);

        await receiver.DeadLetterMessageAsync(received, new Dictionary<string, object> { ["seen-by"] = "test" }, "BadInput", "field x is missing", ct);

        Assert.Null(await receiver.ReceiveMessageAsync(Timeouts.Nothing, ct));
        await using var dlq = Client.CreateReceiver("deadletter", new ServiceBusReceiverOptions { SubQueue = SubQueue.DeadLetter });
        var dead = await dlq.ReceiveMessageAsync(Timeouts.Message, ct);
        Assert.Equal("p-1", dead.MessageId);
        Assert.Equal("poison", dead.Body.ToString());
        Assert.Equal("BadInput", dead.DeadLetterReason);
        Assert.Equal("field x is missing", dead.DeadLetterErrorDescription);
        Assert.Equal("test", dead.ApplicationProperties["seen-by"]);
        Assert.Equal(received.SequenceNumber, dead.SequenceNumber);
        await dlq.CompleteMessageAsync(dead, ct);
        Assert.Null(await dlq.ReceiveMessageAsync(Timeouts.Nothing, ct));
    }

    [Fact]
    public async Task A_receiver_already_waiting_on_the_dead_letter_queue_gets_a_message_as_it_is_dead_lettered()
    {
        var ct = Timeouts.Test();
        await using var dlq = Client.CreateReceiver("deadletter", new ServiceBusReceiverOptions { SubQueue = SubQueue.DeadLetter });
        await dlq.PeekMessagesAsync(1, cancellationToken: ct);
        var waiting = dlq.ReceiveMessageAsync(Timeouts.Message, ct);
        await using var sender = Client.CreateSender("deadletter");
        await sender.SendMessageAsync(new ServiceBusMessage("waited for") { MessageId = "w-1" }, ct);
        await using var receiver = Client.CreateReceiver("deadletter");
        var received = await receiver.ReceiveMessageAsync(Timeouts.Message, ct);

        await receiver.DeadLetterMessageAsync(received, "Waiting", cancellationToken: ct);

        var dead = await waiting;
        Assert.NotNull(dead);
        Assert.Equal("w-1", dead.MessageId);
        await dlq.CompleteMessageAsync(dead, ct);
    }

    [Fact]
    public async Task A_message_abandoned_max_delivery_count_times_is_dead_lettered_with_the_service_reason()
    {
        var ct = Timeouts.Test();
        await using var sender = Client.CreateSender("maxdelivery");
        await sender.SendMessageAsync(new ServiceBusMessage("flaky") { MessageId = "f-1" }, ct);
        await using var receiver = Client.CreateReceiver("maxdelivery");

        for (var attempt = 1; attempt <= 3; attempt++)
        {
            var message = await receiver.ReceiveMessageAsync(Timeouts.Message, ct);
            Assert.Equal(attempt, message.DeliveryCount);
            await receiver.AbandonMessageAsync(message, cancellationToken: ct);
        }

        Assert.Null(await receiver.ReceiveMessageAsync(Timeouts.Nothing, ct));
        await using var dlq = Client.CreateReceiver("maxdelivery", new ServiceBusReceiverOptions { SubQueue = SubQueue.DeadLetter });
        var dead = await dlq.ReceiveMessageAsync(Timeouts.Message, ct);
        Assert.Equal("f-1", dead.MessageId);
        Assert.Equal("MaxDeliveryCountExceeded", dead.DeadLetterReason);
        Assert.Equal("Message could not be consumed after 3 delivery attempts.", dead.DeadLetterErrorDescription);
        await dlq.CompleteMessageAsync(dead, ct);
    }

    [Fact]
    public async Task Peek_returns_messages_in_order_from_a_sequence_number_without_locking_them()
    {
        var ct = Timeouts.Test();
        await using var sender = Client.CreateSender("peek");
        await sender.SendMessagesAsync(Enumerable.Range(0, 5).Select(i => new ServiceBusMessage($"p{i}")), ct);
        await using var receiver = Client.CreateReceiver("peek");

        var all = await receiver.PeekMessagesAsync(10, fromSequenceNumber: 0, cancellationToken: ct);
        Assert.Equal(["p0", "p1", "p2", "p3", "p4"], all.Select(m => m.Body.ToString()));
        Assert.All(all, m => Assert.Equal(ServiceBusMessageState.Active, m.State));
        var tail = await receiver.PeekMessagesAsync(2, fromSequenceNumber: all[3].SequenceNumber, cancellationToken: ct);
        Assert.Equal(["p3", "p4"], tail.Select(m => m.Body.ToString()));
        Assert.Empty(await receiver.PeekMessagesAsync(2, fromSequenceNumber: all[4].SequenceNumber + 1, cancellationToken: ct));

        var received = await receiver.ReceiveMessagesAsync(5, Timeouts.Message, ct);
        Assert.Equal(1, received[0].DeliveryCount);
        foreach (var message in received)
        {
            await receiver.CompleteMessageAsync(message, ct);
        }
    }

    [Fact]
    public async Task A_batch_is_accepted_whole_and_its_messages_are_delivered_in_order()
    {
        var ct = Timeouts.Test();
        await using var sender = Client.CreateSender("batch");
        using var batch = await sender.CreateMessageBatchAsync(ct);
        for (var i = 0; i < 100; i++)
        {
            Assert.True(batch.TryAddMessage(new ServiceBusMessage($"b{i}") { MessageId = $"b{i}" }));
        }

        await sender.SendMessagesAsync(batch, ct);
        await using var receiver = Client.CreateReceiver("batch");
        var bodies = new List<string>();
        while (bodies.Count < 100)
        {
            var messages = await receiver.ReceiveMessagesAsync(50, Timeouts.Message, ct);
            Assert.NotEmpty(messages);
            foreach (var message in messages)
            {
                bodies.Add(message.Body.ToString());
                await receiver.CompleteMessageAsync(message, ct);
            }
        }

        Assert.Equal(Enumerable.Range(0, 100).Select(i => $"b{i}"), bodies);
    }

    [Fact]
    public async Task A_deferred_message_is_only_received_by_its_sequence_number()
    {
        var ct = Timeouts.Test();
        await using var sender = Client.CreateSender("deferred");
        await sender.SendMessageAsync(new ServiceBusMessage("later"), ct);
        await using var receiver = Client.CreateReceiver("deferred");
        var received = await receiver.ReceiveMessageAsync(Timeouts.Message, ct);

        await receiver.DeferMessageAsync(received, new Dictionary<string, object> { ["deferred-by"] = "test" }, ct);

        Assert.Null(await receiver.ReceiveMessageAsync(Timeouts.Nothing, ct));
        var peeked = await receiver.PeekMessageAsync(received.SequenceNumber, ct);
        Assert.Equal(ServiceBusMessageState.Deferred, peeked.State);
        var deferred = await receiver.ReceiveDeferredMessageAsync(received.SequenceNumber, ct);
        Assert.Equal("later", deferred.Body.ToString());
        Assert.Equal("test", deferred.ApplicationProperties["deferred-by"]);
        Assert.Equal(ServiceBusMessageState.Deferred, deferred.State);
        await receiver.CompleteMessageAsync(deferred, ct);

        var gone = await Assert.ThrowsAsync<ServiceBusException>(() => receiver.ReceiveDeferredMessageAsync(received.SequenceNumber, ct));
        Assert.Equal(ServiceBusFailureReason.MessageNotFound, gone.Reason);
    }

    [Fact]
    public async Task Duplicate_detection_drops_a_message_id_seen_within_the_window()
    {
        var ct = Timeouts.Test();
        await using var sender = Client.CreateSender("dupes");
        await sender.SendMessageAsync(new ServiceBusMessage("one") { MessageId = "same" }, ct);
        await sender.SendMessageAsync(new ServiceBusMessage("two") { MessageId = "same" }, ct);
        await sender.SendMessageAsync(new ServiceBusMessage("three") { MessageId = "other" }, ct);

        await using var receiver = Client.CreateReceiver("dupes");
        var messages = await receiver.ReceiveMessagesAsync(10, Timeouts.Message, ct);
        while (messages.Count < 2 && await receiver.ReceiveMessageAsync(Timeouts.Message, ct) is { } more)
        {
            messages = [.. messages, more];
        }

        Assert.Equal(["one", "three"], messages.Select(m => m.Body.ToString()));
        Assert.Null(await receiver.ReceiveMessageAsync(Timeouts.Nothing, ct));
    }

    [Fact]
    public async Task Receive_and_delete_removes_the_message_as_it_is_delivered()
    {
        var ct = Timeouts.Test();
        await using var sender = Client.CreateSender("receive-delete");
        await sender.SendMessageAsync(new ServiceBusMessage("once"), ct);
        await using var receiver = Client.CreateReceiver("receive-delete", new ServiceBusReceiverOptions { ReceiveMode = ServiceBusReceiveMode.ReceiveAndDelete });

        var received = await receiver.ReceiveMessageAsync(Timeouts.Message, ct);

        Assert.Equal("once", received.Body.ToString());
        Assert.Null(await receiver.ReceiveMessageAsync(Timeouts.Nothing, ct));
        Assert.Empty(await receiver.PeekMessagesAsync(10, fromSequenceNumber: 0, cancellationToken: ct));
    }

    [Fact]
    public async Task A_processor_with_auto_complete_handles_every_message_once()
    {
        var ct = Timeouts.Test();
        await using var sender = Client.CreateSender("processor");
        await sender.SendMessagesAsync(Enumerable.Range(0, 20).Select(i => new ServiceBusMessage($"job-{i}")), ct);
        var seen = new System.Collections.Concurrent.ConcurrentBag<string>();
        var done = new TaskCompletionSource(TaskCreationOptions.RunContinuationsAsynchronously);
        await using var processor = Client.CreateProcessor("processor", new ServiceBusProcessorOptions { MaxConcurrentCalls = 4, AutoCompleteMessages = true });
        processor.ProcessMessageAsync += args =>
        {
            seen.Add(args.Message.Body.ToString());
            if (seen.Count == 20)
            {
                done.TrySetResult();
            }

            return Task.CompletedTask;
        };
        processor.ProcessErrorAsync += args =>
        {
            done.TrySetException(args.Exception);
            return Task.CompletedTask;
        };

        await processor.StartProcessingAsync(ct);
        await done.Task.WaitAsync(ct);
        await processor.StopProcessingAsync(ct);

        Assert.Equal(Enumerable.Range(0, 20).Select(i => $"job-{i}").Order(), seen.Order());
        await using var receiver = Client.CreateReceiver("processor");
        Assert.Empty(await receiver.PeekMessagesAsync(10, fromSequenceNumber: 0, cancellationToken: ct));
    }
}
