using System.Collections.Concurrent;
using Azure.Messaging.ServiceBus;

namespace Fleet.ServiceBus.Tests;

/// <summary>The real <see cref="ServiceBusSessionProcessor"/> over many sessions.</summary>
public sealed class SessionProcessorTests(EmulatorFixture fixture) : IClassFixture<EmulatorFixture>
{
    private const int Sessions = 20;
    private const int PerSession = 25;

    [Fact]
    public async Task Four_concurrent_sessions_process_every_message_once_in_order_per_session()
    {
        var ct = Timeouts.Test(120);
        await using var sender = fixture.Client.CreateSender("session-processor");
        for (var i = 0; i < PerSession; i++)
        {
            await sender.SendMessagesAsync(Enumerable.Range(0, Sessions).Select(s => new ServiceBusMessage($"{i}") { SessionId = $"device-{s}" }), ct);
        }

        var processed = new ConcurrentDictionary<string, List<int>>();
        var total = 0;
        var done = new TaskCompletionSource(TaskCreationOptions.RunContinuationsAsynchronously);
        var errors = new ConcurrentQueue<Exception>();
        await using var processor = fixture.Client.CreateSessionProcessor("session-processor", new ServiceBusSessionProcessorOptions
        {
            MaxConcurrentSessions = 4,
            SessionIdleTimeout = TimeSpan.FromMilliseconds(500),
        });
        processor.ProcessMessageAsync += args =>
        {
            var list = processed.GetOrAdd(args.SessionId, _ => []);
            lock (list)
            {
                list.Add(int.Parse(args.Message.Body.ToString(), System.Globalization.CultureInfo.InvariantCulture));
            }

            if (Interlocked.Increment(ref total) == Sessions * PerSession)
            {
                done.TrySetResult();
            }

            return Task.CompletedTask;
        };
        processor.ProcessErrorAsync += args =>
        {
            errors.Enqueue(args.Exception);
            return Task.CompletedTask;
        };

        await processor.StartProcessingAsync(ct);
        await done.Task.WaitAsync(ct);
        await processor.StopProcessingAsync(ct);

        Assert.Equal(Sessions, processed.Count);
        Assert.All(processed.Values, list => Assert.Equal(Enumerable.Range(0, PerSession), list));
        Assert.Empty(errors);
        await using var peek = fixture.Client.CreateReceiver("session-processor");
        Assert.Empty(await peek.PeekMessagesAsync(10, fromSequenceNumber: 0, cancellationToken: ct));
    }
}
