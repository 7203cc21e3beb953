using System.Collections.Concurrent;
using Azure.Messaging.ServiceBus;

namespace Fleet.ServiceBus.Tests;

/// <summary>Many messages through one queue with competing receivers.</summary>
public sealed class LoadTests(EmulatorFixture fixture) : IClassFixture<EmulatorFixture>
{
    private const int MessageCount = 10_000;
    private const int Receivers = 8;

    [Fact]
    public async Task Ten_thousand_messages_with_eight_receivers_are_each_delivered_and_completed_once()
    {
        var ct = Timeouts.Test(60);
        await using var sender = fixture.Client.CreateSender("load");
        for (var start = 0; start < MessageCount; start += 500)
        {
            using var batch = await sender.CreateMessageBatchAsync(ct);
            for (var i = start; i < start + 500; i++)
            {
                Assert.True(batch.TryAddMessage(new ServiceBusMessage($"{i}") { MessageId = $"load-{i}" }));
            }

            await sender.SendMessagesAsync(batch, ct);
        }

        var deliveries = new ConcurrentDictionary<string, int>();
        var completed = new ConcurrentDictionary<string, int>();
        var remaining = MessageCount;
        var workers = Enumerable.Range(0, Receivers).Select(async _ =>
        {
            await using var receiver = fixture.Client.CreateReceiver("load", new ServiceBusReceiverOptions { PrefetchCount = 20 });
            while (Volatile.Read(ref remaining) > 0)
            {
                var messages = await receiver.ReceiveMessagesAsync(20, TimeSpan.FromSeconds(1), ct);
                foreach (var message in messages)
                {
                    deliveries.AddOrUpdate(message.MessageId, 1, (_, n) => n + 1);
                    await receiver.CompleteMessageAsync(message, ct);
                    completed.AddOrUpdate(message.MessageId, 1, (_, n) => n + 1);
                    Interlocked.Decrement(ref remaining);
                }
            }
        }).ToList();
        await Task.WhenAll(workers);

        Assert.Equal(MessageCount, deliveries.Count);
        Assert.All(deliveries.Values, n => Assert.Equal(1, n));
        Assert.Equal(MessageCount, completed.Count);
        Assert.All(completed.Values, n => Assert.Equal(1, n));
        await using var check = fixture.Client.CreateReceiver("load");
        Assert.Empty(await check.PeekMessagesAsync(10, fromSequenceNumber: 0, cancellationToken: ct));
    }
}
