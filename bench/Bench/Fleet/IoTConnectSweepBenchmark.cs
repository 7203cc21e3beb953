using System.Diagnostics;
using System.Globalization;
using System.Threading.Channels;
using Azure.Core.Pipeline;
using Fleet.Shared.IoTConnect;
using Fleet.Simulator;
using Fleet.Simulator.IoTConnect;

namespace Fleet.Bench.Fleet;

/// <summary>
/// The read traffic of a drift sweep over a 10,000-device IoTConnect solution whose undocumented limit the simulator
/// sets to 50 requests/s (burst 50, 429 without Retry-After): the device list page by page (pageSize 100) and each
/// device read on its own, by 32 concurrent workers sharing one <see cref="IoTConnectClient"/> with default settings
/// (its adaptive limiter starts at 10/s and must learn the limit). Then the same calls, recorded from the client, are
/// replayed against the re-seeded simulator by 32 workers that retry only on 429 after a second (there is no
/// Retry-After to honour): the script a user would write instead.
/// Figures (from the simulator's counters over exactly each run): <c>iotconnect_sweep_10k_rate_utilization</c> =
/// accepted calls ÷ (50/s × time from the first call to the last answer), <c>iotconnect_sweep_10k_429_share</c> =
/// 429 answers ÷ requests, and the same two for the baseline.
/// </summary>
public sealed class IoTConnectSweepBenchmark : IBenchmark
{
    private const double RateLimit = 50;
    private const int SolutionDevices = 10_000;
    private const int Workers = 32;

    public string Name => "iotconnect-sweep";

    public IReadOnlyList<string> Figures =>
    [
        "iotconnect_sweep_10k_rate_utilization", "iotconnect_sweep_10k_429_share",
        "baseline_iotconnect_sweep_10k_rate_utilization", "baseline_iotconnect_sweep_10k_429_share",
    ];

    public async Task RunAsync(BenchReporter reporter, CancellationToken cancellationToken)
    {
        // Solution A holds four fifths of the seeded devices.
        await using var simulator = await SimulatorHost.StartAsync(
            new SimulatorOptions { Devices = SolutionDevices * 5 / 4, Seed = 1, IoTConnect = { RateLimit = RateLimit } },
            cancellationToken: cancellationToken);
        var solution = (await simulator.Control.GetIoTConnectAsync(cancellationToken)).Contoso;
        if (solution.DeviceCount != SolutionDevices)
        {
            throw new InvalidOperationException($"Solution {solution.Name} has {solution.DeviceCount} devices, not {SolutionDevices}.");
        }

        var recorder = new RecordingTransport(new HttpClientTransport());
        var client = new IoTConnectClient(Options(simulator, solution, recorder));
        await client.Authenticator.GetAccessTokenAsync(cancellationToken);
        var app = await MeasureAsync(simulator, () => SweepAsync(client, cancellationToken), recorder, cancellationToken);
        reporter.Note($"iotconnect-sweep client: {app.Describe()}");
        reporter.Note("iotconnect-sweep settings: simulator 50 requests/s per solution (burst 50, 429 without Retry-After), 10,000 devices; " +
                      $"client defaults (pageSize 100, limiter initialRate 10, slowStartGrowth 4, burst half a second), {Workers} workers; " +
                      $"machine load average {Stats.LoadAverage()}");
        if (app.Reads != SolutionDevices)
        {
            throw new InvalidOperationException($"The sweep read {app.Reads} devices, not {SolutionDevices}.");
        }

        // The baseline sends the same data calls to the same solution: re-seeded, counters, buckets and sessions reset.
        var calls = recorder.Calls.Where(c => IoTConnectRoutes.IsLimitedService(c.PathAndQuery.TrimStart('/')) && c.Status is not 429 and < 500).ToList();
        await simulator.Control.ResetAsync(cancellationToken);
        var token = await new IoTConnectClient(Options(simulator, solution, null)).Authenticator.GetAccessTokenAsync(cancellationToken);
        var baseline = await MeasureAsync(simulator, async () =>
        {
            var result = await new BaselineReplay(simulator.BaseAddress, token, Workers).RunAsync(calls, cancellationToken);
            return result.Unexpected.Count == 0 ? calls.Count(c => c.PathAndQuery.Contains("/Device/", StringComparison.Ordinal))
                : throw new InvalidOperationException($"The baseline got other answers than the client, e.g. {result.Unexpected[0]}.");
        }, null, cancellationToken);
        reporter.Note($"iotconnect-sweep baseline ({Workers} workers, retry on 429 after 1 s): {calls.Count} recorded calls replayed; {baseline.Describe()}");

        reporter.Report("iotconnect_sweep_10k_rate_utilization", app.Utilization, "ratio");
        reporter.Report("iotconnect_sweep_10k_429_share", app.ThrottledShare, "ratio");
        reporter.Report("baseline_iotconnect_sweep_10k_rate_utilization", baseline.Utilization, "ratio");
        reporter.Report("baseline_iotconnect_sweep_10k_429_share", baseline.ThrottledShare, "ratio");
    }

    private static IoTConnectClientOptions Options(SimulatorHost simulator, IoTConnectSolutionDescription solution, RecordingTransport? transport)
    {
        var urls = simulator.IoTConnect;
        return new IoTConnectClientOptions
        {
            AuthUrl = urls.Auth,
            DeviceUrl = urls.Device,
            UserUrl = urls.User,
            FirmwareUrl = urls.Firmware,
            Username = solution.Username,
            Password = solution.Password,
            SolutionKey = solution.SolutionKey,
            Transport = transport,
        };
    }

    /// <summary>The list, page by page, feeding 32 workers that each read one device at a time; returns the devices read.</summary>
    private static async Task<int> SweepAsync(IoTConnectClient client, CancellationToken cancellationToken)
    {
        var devices = Channel.CreateBounded<Guid>(1000);
        var reads = 0;
        var readers = Enumerable.Range(0, Workers).Select(_ => Task.Run(async () =>
        {
            await foreach (var deviceGuid in devices.Reader.ReadAllAsync(cancellationToken))
            {
                await client.GetDeviceAsync(deviceGuid, cancellationToken);
                Interlocked.Increment(ref reads);
            }
        }, cancellationToken)).ToList();
        try
        {
            await foreach (var device in client.GetDevicesAsync(cancellationToken: cancellationToken))
            {
                await devices.Writer.WriteAsync(device.DeviceGuid, cancellationToken);
            }
        }
        finally
        {
            devices.Writer.Complete();
        }

        await Task.WhenAll(readers);
        return reads;
    }

    private static async Task<SweepFigures> MeasureAsync(SimulatorHost simulator, Func<Task<int>> run, RecordingTransport? recorder,
        CancellationToken cancellationToken)
    {
        // A settings change refills the solution's bucket: each run starts with the budget the service grants.
        await simulator.Control.UpdateIoTConnectSettingsAsync(new IoTConnectSettingsUpdate { RateLimit = RateLimit }, cancellationToken);
        await simulator.Control.ResetCountersAsync(cancellationToken);
        if (recorder is not null)
        {
            recorder.Recording = true;
        }

        var started = Stopwatch.GetTimestamp();
        var reads = await run();
        var elapsed = Stopwatch.GetElapsedTime(started);
        if (recorder is not null)
        {
            recorder.Recording = false;
        }

        var limited = (await simulator.Control.GetCountersAsync(cancellationToken)).Endpoints.Where(e => IoTConnectRoutes.IsLimitedService(e.Route)).ToList();
        return new SweepFigures(elapsed, reads, limited.Sum(e => e.Count), limited.Where(e => e.Status == 429).Sum(e => e.Count));
    }

    private sealed record SweepFigures(TimeSpan Elapsed, int Reads, long Requests, long Throttled)
    {
        public double Utilization => (Requests - Throttled) / (RateLimit * Elapsed.TotalSeconds);

        public double ThrottledShare => Requests == 0 ? 0 : (double)Throttled / Requests;

        public string Describe() => string.Create(CultureInfo.InvariantCulture,
            $"{Reads} devices read, {Requests - Throttled} accepted calls in {Elapsed.TotalSeconds:0.0} s = {Utilization:0.000} of the budget; " +
            $"{Requests} requests, {Throttled} answered 429");
    }
}
