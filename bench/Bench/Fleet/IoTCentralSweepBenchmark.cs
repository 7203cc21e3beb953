using System.Diagnostics;
using System.Threading.Channels;
using Azure.Core.Pipeline;
using Fleet.Shared.IoTCentral;
using Fleet.Simulator;

namespace Fleet.Bench.Fleet;

/// <summary>
/// The read traffic of a compliance sweep of a 10,000-device IoT Central application whose limit is 100 requests/s
/// (no Retry-After on 429, as documented): the device list (100 pages of <c>$top=100</c>, following nextLink) and
/// each device's properties, read by 32 concurrent workers through the <see cref="IoTCentralClient"/> with default
/// settings (its adaptive limiter starts at the documented 20 requests/s and learns the rest). Then the very same
/// calls, recorded from the client, are replayed against the re-seeded application by 32 workers that only retry
/// on 429 (Retry-After when given, else one second): the script a user would write instead.
/// Figures (from the simulator's per-application counters over exactly each run):
/// <c>iotc_sweep_10k_rate_utilization</c> = accepted calls ÷ (100/s × the run's time),
/// <c>iotc_sweep_10k_429_share</c> = 429 answers ÷ requests, and the same two for the baseline.
/// </summary>
public sealed class IoTCentralSweepBenchmark : IBenchmark
{
    private const double RateLimit = 100;
    private const int Devices = 10_000;
    private const int Workers = 32;
    private const string App = "contoso";

    public string Name => "iotc-sweep";

    public IReadOnlyList<string> Figures =>
    [
        "iotc_sweep_10k_rate_utilization", "iotc_sweep_10k_429_share",
        "baseline_iotc_sweep_10k_rate_utilization", "baseline_iotc_sweep_10k_429_share",
    ];

    public async Task RunAsync(BenchReporter reporter, CancellationToken cancellationToken)
    {
        var options = new SimulatorOptions { Devices = 10, Seed = 1 };
        options.IoTCentral.Devices = Devices;
        options.IoTCentral.RateLimit = RateLimit;
        await using var simulator = await SimulatorHost.StartAsync(options, cancellationToken: cancellationToken);
        var token = await simulator.Control.IssueIoTCentralApiTokenAsync(App, new IoTCentralApiTokenRequest("bench"), cancellationToken);

        var (app, calls, versions) = await RunClientAsync(simulator, token.Token, cancellationToken);
        reporter.Note($"iotc-sweep client: {versions.Values.Sum()} devices read ({string.Join(", ", versions.OrderBy(v => v.Key).Select(v => $"{v.Value} on {v.Key}"))}); " +
                      Describe(app));
        reporter.Note("iotc-sweep settings: simulator 100 requests/s per application (burst 100, no Retry-After), client defaults " +
                      $"(API token, PageSize 100, limiter initialRate 20, slowStartGrowth 4), {Workers} workers; machine load average {Stats.LoadAverage()}");

        // The baseline sends the same calls to the same application: re-seeded, counters and buckets reset.
        await simulator.Control.ResetIoTCentralAsync(cancellationToken);
        var replay = calls.Where(c => c.Status is not 429 and < 500).ToList();
        var bearer = await simulator.Control.IssueTokenAsync(new TokenRequest(Audience: "https://apps.azureiotcentral.com"), cancellationToken);
        var result = await new BaselineReplay(simulator.BaseAddress, bearer.AccessToken, Workers).RunAsync(replay, cancellationToken);
        var counters = await simulator.Control.GetIoTCentralCountersAsync(App, cancellationToken);
        var baseline = RunOf(result.Elapsed, counters);
        reporter.Note($"iotc-sweep baseline ({Workers} workers, retry on 429 only): {replay.Count} recorded calls replayed; {Describe(baseline)}" +
                      (result.Unexpected.Count > 0 ? $"; {result.Unexpected.Count} answers differed from the client's, e.g. {result.Unexpected[0]}" : string.Empty));

        reporter.Report("iotc_sweep_10k_rate_utilization", app.Utilization(RateLimit), "ratio");
        reporter.Report("iotc_sweep_10k_429_share", app.ThrottledShare, "ratio");
        reporter.Report("baseline_iotc_sweep_10k_rate_utilization", baseline.Utilization(RateLimit), "ratio");
        reporter.Report("baseline_iotc_sweep_10k_429_share", baseline.ThrottledShare, "ratio");
    }

    private static async Task<(RunFigures Figures, IReadOnlyList<RecordedCall> Calls, Dictionary<string, int> Versions)> RunClientAsync(
        SimulatorHost simulator, string apiToken, CancellationToken cancellationToken)
    {
        var recorder = new RecordingTransport(new HttpClientTransport());
        var client = new IoTCentralClient(new IoTCentralClientOptions
        {
            Endpoint = simulator.IoTCentralEndpoint(App),
            ApiToken = apiToken,
            Transport = recorder,
        });
        await simulator.Control.ResetIoTCentralCountersAsync(cancellationToken);
        recorder.Recording = true;
        var started = Stopwatch.GetTimestamp();

        var versions = new Dictionary<string, int>(StringComparer.Ordinal);
        var ids = Channel.CreateBounded<string>(1000);
        var lister = Task.Run(async () =>
        {
            await foreach (var device in client.GetDevicesAsync(cancellationToken: cancellationToken))
            {
                await ids.Writer.WriteAsync(device.Id!, cancellationToken);
            }

            ids.Writer.Complete();
        }, cancellationToken);
        var readers = Enumerable.Range(0, Workers).Select(_ => Task.Run(async () =>
        {
            await foreach (var id in ids.Reader.ReadAllAsync(cancellationToken))
            {
                var properties = await client.GetDevicePropertiesAsync(id, cancellationToken);
                var version = properties.GetProperty("firmwareVersion").GetString() ?? "(none)";
                lock (versions)
                {
                    versions[version] = versions.GetValueOrDefault(version) + 1;
                }
            }
        }, cancellationToken)).ToList();
        await Task.WhenAll([lister, .. readers]);

        var elapsed = Stopwatch.GetElapsedTime(started);
        recorder.Recording = false;
        if (versions.Values.Sum() != Devices)
        {
            throw new InvalidOperationException($"The sweep read {versions.Values.Sum()} devices, not {Devices}.");
        }

        var counters = await simulator.Control.GetIoTCentralCountersAsync(App, cancellationToken);
        return (RunOf(elapsed, counters), recorder.Calls, versions);
    }

    /// <summary>One application's run in the shape the Sphere sweep uses (the application is the one budget).</summary>
    private static RunFigures RunOf(TimeSpan elapsed, IoTCentralAppCounters counters) =>
        new(elapsed, new Dictionary<Guid, TimeSpan> { [Guid.Empty] = elapsed },
            new Dictionary<Guid, long> { [Guid.Empty] = counters.Total - counters.Throttled }, counters.Total, counters.Throttled);

    private static string Describe(RunFigures run) => string.Create(System.Globalization.CultureInfo.InvariantCulture,
        $"{run.Accepted[Guid.Empty]} accepted calls in {run.Elapsed.TotalSeconds:0.0} s = {run.Utilization(RateLimit):0.000} of the budget; " +
        $"{run.Requests} requests, {run.Throttled} answered 429");
}
