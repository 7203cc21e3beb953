using System.Diagnostics;
using Azure.Storage.Queues;
using Fleet.Hosting.Local;
using Fleet.Hosting.Local.Storage;
using Fleet.Testing;

namespace Fleet.Bench.Host;

/// <summary>
/// Queue-triggered no-op invocations per second through the local functions host (the real StorageApp worker over
/// the protocol, the Azure SDK against Azurite), over Azurite's own receive+delete rate measured by a bare SDK loop in
/// the same run: <c>host_queue_drain_ratio</c> (target ≥ 0.8). Both drain 1,100 messages; the first 100 warm up and the
/// rate is taken over the last 1,000, by the same queue-length poller.
/// </summary>
public sealed class QueueDrainBenchmark : IBenchmark
{
    private const int Measured = 1000;
    private const int WarmUp = 100;
    private const int Batch = 32;

    public string Name => "host_queue";

    public IReadOnlyList<string> Figures => ["host_queue_drain_ratio", "host_queue_invocations_per_s", "azurite_receive_delete_per_s"];

    public async Task RunAsync(BenchReporter reporter, CancellationToken cancellationToken)
    {
        await using var azurite = await AzuriteInstance.StartAsync(new AzuriteOptions(), cancellationToken);
        var options = new QueueClientOptions(QueueClientOptions.ServiceVersion.V2026_06_06) { MessageEncoding = QueueMessageEncoding.Base64 };
        var service = new QueueServiceClient(azurite.ConnectionString, options);

        // The bare loop: receive a batch, delete its messages in parallel, repeat.
        var bare = service.GetQueueClient("bare-drain");
        await FillAsync(bare, cancellationToken);
        var bareRate = await MeasureAsync(bare, () => BareDrainAsync(bare, cancellationToken), cancellationToken);

        // The host: StorageApp's QueueNoop on queue noop-in, started on a full queue.
        var noop = service.GetQueueClient("noop-in");
        await FillAsync(noop, cancellationToken);
        var root = CopyApp(azurite.ConnectionString);
        LocalFunctionsHost? host = null;
        try
        {
            var hostRate = await MeasureAsync(
                noop,
                async () => host = await LocalFunctionsHost.StartAsync(
                    new LocalHostOptions { ScriptRoot = root, Port = 0, Output = TextWriter.Null, ConsoleLogs = false, ConfigureServices = s => s.AddStorageBindings() },
                    cancellationToken),
                cancellationToken);
            reporter.Note($"host_queue: {Measured} no-op invocations at {Stats.Format(hostRate)}/s; a bare SDK receive({Batch})+delete loop at {Stats.Format(bareRate)}/s");
            reporter.Report("host_queue_drain_ratio", hostRate / bareRate, "ratio");
            reporter.Report("host_queue_invocations_per_s", hostRate, "per_s");
            reporter.Report("azurite_receive_delete_per_s", bareRate, "per_s");
        }
        finally
        {
            if (host is not null)
            {
                await host.StopAsync();
                await host.DisposeAsync();
            }

            BenchApps.Delete(root);
        }
    }

    private static async Task FillAsync(QueueClient queue, CancellationToken cancellationToken)
    {
        await queue.CreateIfNotExistsAsync(cancellationToken: cancellationToken);
        await Parallel.ForEachAsync(
            Enumerable.Range(0, WarmUp + Measured), new ParallelOptions { MaxDegreeOfParallelism = 16, CancellationToken = cancellationToken },
            async (i, ct) => await queue.SendMessageAsync($"message-{i}", ct));
    }

    /// <summary>Starts <paramref name="drain"/> and times the queue going from <see cref="Measured"/> messages to none.</summary>
    private static async Task<double> MeasureAsync(QueueClient queue, Func<Task> drain, CancellationToken cancellationToken)
    {
        using var timeout = CancellationTokenSource.CreateLinkedTokenSource(cancellationToken);
        timeout.CancelAfter(TimeSpan.FromMinutes(3));
        var draining = drain();
        long? from = null;
        while (true)
        {
            var count = (await queue.GetPropertiesAsync(timeout.Token)).Value.ApproximateMessagesCount;
            var now = Stopwatch.GetTimestamp();
            if (from is null && count <= Measured)
            {
                from = now;
            }

            if (count == 0)
            {
                await draining;
                return Measured / Stopwatch.GetElapsedTime(from!.Value, now).TotalSeconds;
            }

            await Task.Delay(20, timeout.Token);
        }
    }

    private static async Task BareDrainAsync(QueueClient queue, CancellationToken cancellationToken)
    {
        while (true)
        {
            var messages = (await queue.ReceiveMessagesAsync(Batch, TimeSpan.FromSeconds(30), cancellationToken)).Value;
            if (messages.Length == 0)
            {
                return;
            }

            await Task.WhenAll(messages.Select(m => queue.DeleteMessageAsync(m.MessageId, m.PopReceipt, cancellationToken)));
        }
    }

    private static string CopyApp(string connectionString)
    {
        var target = BenchApps.Copy("tests/TestApps/StorageApp");
        BenchApps.SetValues(target, new Dictionary<string, string> { ["AzureWebJobsStorage"] = connectionString });

        // Batches as large as the bare loop's; a poll right after each batch.
        BenchApps.EditHostJson(target, hostJson =>
        {
            hostJson["extensions"]!["queues"]!["batchSize"] = Batch;
            hostJson["logging"]!["logLevel"]!["default"] = "Warning";
        });
        return target;
    }
}
