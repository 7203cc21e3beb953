using System.Diagnostics;
using Azure.Messaging.ServiceBus;
using Fleet.ServiceBus;

namespace Fleet.Bench.ServiceBus;

/// <summary>
/// Messages per second through one emulator queue with the real Azure.Messaging.ServiceBus client: senders send
/// batches while competing peek-lock receivers receive and complete every message; the clock runs from the first send
/// to the last completion. Measured in memory and with SQLite state (every send and completion committed before it is
/// acknowledged).
/// </summary>
public sealed class ServiceBusThroughputBenchmark : IBenchmark
{
    private const int Messages = 20_000;
    private const int Senders = 4;
    private const int BatchSize = 50;
    private const int Receivers = 8;
    private const int Prefetch = 50;

    public string Name => "servicebus";

    public IReadOnlyList<string> Figures => ["sb_msgs_per_s", "sb_msgs_per_s_sqlite"];

    public async Task RunAsync(BenchReporter reporter, CancellationToken cancellationToken)
    {
        reporter.Note($"servicebus: {Messages} messages, {Senders} senders in batches of {BatchSize}, {Receivers} peek-lock receivers (prefetch {Prefetch}) completing each message");
        var memory = await MeasureAsync(dataDirectory: null, cancellationToken);
        reporter.Report("sb_msgs_per_s", memory, "msgs/s");

        var data = Path.Combine(Path.GetTempPath(), "sb-bench-" + Guid.NewGuid().ToString("N"));
        try
        {
            var sqlite = await MeasureAsync(data, cancellationToken);
            reporter.Report("sb_msgs_per_s_sqlite", sqlite, "msgs/s");
        }
        finally
        {
            Directory.Delete(data, recursive: true);
        }
    }

    private static async Task<double> MeasureAsync(string? dataDirectory, CancellationToken cancellationToken)
    {
        var config = """
            {"UserConfig":{"Namespaces":[{"Name":"bench","Queues":[{"Name":"q","Properties":{"LockDuration":"PT1M","MaxDeliveryCount":10}}]}]}}
            """;
        await using var emulator = await ServiceBusEmulator.StartAsync(new ServiceBusEmulatorOptions { ConfigJson = config, DataDirectory = dataDirectory });
        await using var client = new ServiceBusClient(emulator.ConnectionString);
        await RoundAsync(client, Messages / 2, cancellationToken); // warm-up: links, tiered JIT, store
        var stopwatch = Stopwatch.StartNew();
        await RoundAsync(client, Messages, cancellationToken);
        return Messages / stopwatch.Elapsed.TotalSeconds;
    }

    private static async Task RoundAsync(ServiceBusClient client, int count, CancellationToken cancellationToken)
    {
        using var timeout = CancellationTokenSource.CreateLinkedTokenSource(cancellationToken);
        timeout.CancelAfter(TimeSpan.FromMinutes(5));
        var ct = timeout.Token;
        var remaining = count;
        var senders = Enumerable.Range(0, Senders).Select(async s =>
        {
            await using var sender = client.CreateSender("q");
            for (var i = s * BatchSize; i < count; i += Senders * BatchSize)
            {
                var batch = Enumerable.Range(i, Math.Min(BatchSize, count - i)).Select(n => new ServiceBusMessage(BinaryData.FromString($"message {n}")));
                await sender.SendMessagesAsync(batch, ct);
            }
        });
        var receivers = Enumerable.Range(0, Receivers).Select(async _ =>
        {
            await using var receiver = client.CreateReceiver("q", new ServiceBusReceiverOptions { PrefetchCount = Prefetch });
            while (Volatile.Read(ref remaining) > 0)
            {
                foreach (var message in await receiver.ReceiveMessagesAsync(Prefetch, TimeSpan.FromMilliseconds(200), ct))
                {
                    await receiver.CompleteMessageAsync(message, ct);
                    Interlocked.Decrement(ref remaining);
                }
            }
        });
        await Task.WhenAll(senders.Concat(receivers));
    }
}
