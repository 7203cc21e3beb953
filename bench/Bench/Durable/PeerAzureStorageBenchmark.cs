using System.Diagnostics;
using DurableTask.AzureStorage;
using DurableTask.Core;
using Fleet.Bench.Host;
using Fleet.Testing;
using Microsoft.Extensions.Logging.Abstractions;

namespace Fleet.Bench.Durable;

/// <summary>
/// The peer a Durable Functions user gets by default, on the same machine in the same run: HelloCities5 (5 sequential
/// activities) on DurableTask.Core 3.11.3 with the Azure Storage provider 2.11.3 against a private Azurite, as Core
/// Tools runs it locally. Settings are the provider's defaults with the Functions defaults for concurrency (10 × cores
/// orchestrations and activities) and extended sessions off. 500 orchestrations after a warm-up of 50, timed from the
/// first create call until a status query (every 200 ms) finds all of them completed. Then
/// <c>hello5_vs_azurestorage_ratio</c> = this run's <c>hello5_fn_orch_per_s</c> (the local host and the app's worker
/// on SQLite; measured here when the run has not measured it yet) ÷ the peer's figure.
/// </summary>
public sealed class PeerAzureStorageBenchmark : IBenchmark
{
    private const int Orchestrations = 500;
    private const string HostFigure = "hello5_fn_orch_per_s";
    private static readonly TimeSpan StatusPollInterval = TimeSpan.FromMilliseconds(200);

    public string Name => "peer-azurestorage";

    public IReadOnlyList<string> Figures => ["peer_azurestorage_hello5_orch_per_s", "hello5_vs_azurestorage_ratio"];

    public async Task RunAsync(BenchReporter reporter, CancellationToken cancellationToken)
    {
        var peer = await MeasurePeerAsync(reporter, cancellationToken);
        reporter.Report("peer_azurestorage_hello5_orch_per_s", peer, "orch/s");
        var host = reporter.Figures.LastOrDefault(f => f.Name == HostFigure) is { Name: not null } reported
            ? reported.Value
            : await HostHelloCitiesBenchmark.RunHostAsync(reporter, HostFigure, extendedSessions: false, cancellationToken);
        reporter.Report("hello5_vs_azurestorage_ratio", host / peer, "ratio");
    }

    private static async Task<double> MeasurePeerAsync(BenchReporter reporter, CancellationToken cancellationToken)
    {
        await using var azurite = await AzuriteInstance.StartAsync(cancellationToken: cancellationToken);
        var concurrency = 10 * Environment.ProcessorCount;
        var settings = new AzureStorageOrchestrationServiceSettings
        {
            StorageAccountClientProvider = new StorageAccountClientProvider(azurite.ConnectionString),
            TaskHubName = "peerhello5",
            MaxConcurrentTaskOrchestrationWorkItems = concurrency,
            MaxConcurrentTaskActivityWorkItems = concurrency,
            LoggerFactory = NullLoggerFactory.Instance,
        };
        var service = new AzureStorageOrchestrationService(settings);
        await service.CreateIfNotExistsAsync();
        var worker = new TaskHubWorker(service, NullLoggerFactory.Instance);
        worker.AddTaskOrchestrations(typeof(PeerHelloCities5));
        worker.AddTaskActivities(typeof(PeerSayHello));
        await worker.StartAsync();
        try
        {
            var client = new TaskHubClient(service, loggerFactory: NullLoggerFactory.Instance);
            await RunOnceAsync(client, service, 50, cancellationToken);
            using var process = Process.GetCurrentProcess();
            var cpuBefore = process.TotalProcessorTime;
            var elapsed = await RunOnceAsync(client, service, Orchestrations, cancellationToken);
            process.Refresh();
            var cpu = process.TotalProcessorTime - cpuBefore;
            reporter.Note($"peer-azurestorage: {Orchestrations} orchestrations x 5 activities in {elapsed.TotalSeconds:0.00} s on DurableTask.Core + Azure Storage " +
                $"(partitions {settings.PartitionCount}, {concurrency} concurrent orchestrations/activities, max queue polling {settings.MaxQueuePollingInterval.TotalSeconds:0} s) " +
                $"against Azurite; worker process CPU {cpu.TotalMilliseconds / Orchestrations:0.00} ms per orchestration (Azurite's not counted)");
            return Orchestrations / elapsed.TotalSeconds;
        }
        finally
        {
            await worker.StopAsync(isForced: true);
        }
    }

    private static async Task<TimeSpan> RunOnceAsync(TaskHubClient client, AzureStorageOrchestrationService service, int count, CancellationToken cancellationToken)
    {
        var from = DateTime.UtcNow.AddSeconds(-1);
        var started = Stopwatch.GetTimestamp();
        var instances = await Task.WhenAll(Enumerable.Range(0, count).Select(_ => client.CreateOrchestrationInstanceAsync(typeof(PeerHelloCities5), input: null)));
        var ids = instances.Select(i => i.InstanceId).ToHashSet(StringComparer.Ordinal);
        var deadline = Stopwatch.GetTimestamp() + Stopwatch.Frequency * 600;
        while (true)
        {
            var finished = await FinishedAsync(service, from, ids, cancellationToken);
            if (finished.Count == ids.Count)
            {
                var elapsed = Stopwatch.GetElapsedTime(started);
                var wrong = finished.Count(s => s.OrchestrationStatus != OrchestrationStatus.Completed || s.Output != PeerHelloCities5.ExpectedJson);
                return wrong == 0 ? elapsed : throw new InvalidOperationException($"{wrong} peer orchestrations did not complete with the expected output.");
            }

            if (Stopwatch.GetTimestamp() > deadline)
            {
                throw new TimeoutException($"Only {finished.Count} of {ids.Count} peer orchestrations finished within 10 minutes.");
            }

            await Task.Delay(StatusPollInterval, cancellationToken);
        }
    }

    /// <summary>This round's instances that have finished (completed or failed), paged through the instance table.</summary>
    private static async Task<List<OrchestrationState>> FinishedAsync(AzureStorageOrchestrationService service, DateTime from, HashSet<string> ids, CancellationToken cancellationToken)
    {
        var finished = new List<OrchestrationState>();
        string? token = null;
        do
        {
            var page = await service.GetOrchestrationStateAsync(
                from, null, [OrchestrationStatus.Completed, OrchestrationStatus.Failed, OrchestrationStatus.Terminated], 1000, token, cancellationToken);
            finished.AddRange(page.OrchestrationState.Where(s => ids.Contains(s.OrchestrationInstance.InstanceId)));
            token = page.ContinuationToken;
        }
        while (!string.IsNullOrEmpty(token));
        return finished;
    }
}

/// <summary>HelloCities5 in DurableTask.Core's programming model: five activities, one after the other.</summary>
internal sealed class PeerHelloCities5 : TaskOrchestration<string, object?>
{
    public const string ExpectedJson = "\"Hello Tokyo! Hello Seattle! Hello London! Hello Cairo! Hello Lima!\"";
    private static readonly string[] Cities = ["Tokyo", "Seattle", "London", "Cairo", "Lima"];

    public override async Task<string> RunTask(OrchestrationContext context, object? input)
    {
        ArgumentNullException.ThrowIfNull(context);
        var greetings = new List<string>(Cities.Length);
        foreach (var city in Cities)
        {
            greetings.Add(await context.ScheduleTask<string>(typeof(PeerSayHello), city));
        }

        return string.Join(" ", greetings);
    }
}

/// <summary>The activity: a greeting.</summary>
internal sealed class PeerSayHello : TaskActivity<string, string>
{
    protected override string Execute(TaskContext context, string input) => $"Hello {input}!";
}
