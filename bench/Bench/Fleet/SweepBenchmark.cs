using System.Diagnostics;
using System.Globalization;
using System.Net.Http.Headers;
using System.Text.Json;
using System.Text.Json.Nodes;
using Fleet.Simulator;
using Fleet.Testing;
using Microsoft.DurableTask.Client;

namespace Fleet.Bench.Fleet;

/// <summary>
/// A remediating compliance sweep of the simulator's 10,000-device fleet (every tenant: Contoso 5,100 devices,
/// Fabrikam 3,400, Northwind 500 that the identity may not read) with each tenant limited to 100 requests/s, run by
/// the real app (its isolated worker under the local Functions host, Durable on SQLite, the Sphere client with its
/// adaptive limiter; <see cref="FleetBenchApp"/>) with default settings, started by <c>POST /api/sweeps</c>. The policy
/// gives each readable tenant about 1,500 device moves (its unassigned devices plus explicit placements) and a few
/// group fixes, so API calls dominate. The app sweeps three times (see <see cref="RunAppAsync"/>): as a fresh
/// deployment, again (its next scheduled sweep), and after a restart on the same storage. Then the first sweep's calls, recorded by a proxy in front of the simulator, are replayed
/// against the re-seeded fleet by 32 workers that only retry on 429: the script a user would write instead.
/// Figures (API calls and 429s from the simulator's counters over exactly each run):
/// <c>sweep_10k_rate_utilization</c> = accepted calls ÷ (100/s × each tenant's time from the start to its completion),
/// <c>sweep_10k_429_share</c> = 429 answers ÷ requests; the same two for the next sweep (<c>sweep_10k_next_…</c>), the
/// restarted app (<c>sweep_10k_restart_…</c>) and the baseline.
/// </summary>
public sealed class SweepBenchmark : IBenchmark
{
    private const double RateLimit = 100;
    private const int MovesPerTenant = 1500;

    public string Name => "fleet-sweep";

    public IReadOnlyList<string> Figures =>
        ["sweep_10k_rate_utilization", "sweep_10k_429_share", "sweep_10k_next_rate_utilization", "sweep_10k_next_429_share",
         "sweep_10k_restart_rate_utilization", "sweep_10k_restart_429_share",
         "baseline_sweep_10k_rate_utilization", "baseline_sweep_10k_429_share"];

    public async Task RunAsync(BenchReporter reporter, CancellationToken cancellationToken)
    {
        var azurite = await FleetBenchEnvironment.GetAsync(cancellationToken);
        await using var simulator = await SimulatorHost.StartAsync(
            new SimulatorOptions { Devices = 10_000, Seed = 1, RateLimit = RateLimit },
            cancellationToken: cancellationToken);
        var fleet = await simulator.Control.GetFleetAsync(cancellationToken);
        var token = (await simulator.Control.IssueTokenAsync(new TokenRequest(), cancellationToken)).AccessToken;
        var policyFile = Path.Combine(Path.GetTempPath(), $"fleet-bench-policy-{Guid.NewGuid():N}.json");
        await File.WriteAllTextAsync(policyFile, await PolicyAsync(simulator.BaseAddress, token, fleet, cancellationToken), cancellationToken);
        try
        {
            var (first, next, restarted) = await RunAppAsync(azurite, simulator, policyFile, cancellationToken);
            reporter.Note("fleet-sweep settings: simulator 100 requests/s per tenant (burst 100, Retry-After in seconds), operations complete at once; " +
                          "app defaults (its worker under the local host, SQLite, Sphere calls through a recording proxy): PageSize 500, ChunkPages 10, MaxParallelRemediations 32, 32 concurrent activities/orchestrations, " +
                          $"limiter initialRate 10, slowStartGrowth 4, burst half a second; machine load average {Stats.LoadAverage()}");
            foreach (var (label, sweep) in new[] { ("first sweep of a fresh deployment", first), ("next sweep of the same app", next), ("first sweep of a restarted app", restarted) })
            {
                reporter.Note($"fleet-sweep app, {label}: {sweep.Summary.Devices} devices in {sweep.Summary.Tenants} tenants ({sweep.Summary.TenantErrors} not readable), " +
                              $"{sweep.Summary.Findings} drift findings, {sweep.Summary.Fixed} fixed, {sweep.Summary.Failed} failed; {sweep.Figures.Describe(fleet, RateLimit)}; {sweep.Cpu}");
                reporter.Note($"fleet-sweep app, {label}, accepted calls per second: {Timeline(sweep.Calls, sweep.Started, fleet)}");
                if (sweep.Summary.Failed > 0 || sweep.Summary.Fixed != sweep.Summary.Findings)
                {
                    throw new InvalidOperationException($"The sweep did not fix all drift: {sweep.Summary.Fixed} of {sweep.Summary.Findings} fixed, {sweep.Summary.Failed} failed.");
                }
            }

            // The baseline sends the same calls to the same fleet: re-seeded, counters and buckets reset.
            await simulator.Control.ResetAsync(cancellationToken);
            var replay = first.Calls.Where(c => c.Status is not 429 and < 500).ToList();
            var baseline = await RunBaselineAsync(simulator, replay, fleet, cancellationToken);
            var (baselineRun, baselineFigures) = baseline;
            reporter.Note($"fleet-sweep baseline (32 workers, retry on 429 only): {replay.Count(c => !c.IsOperationPoll)} recorded calls replayed " +
                          $"(the app's {replay.Count(c => c.IsOperationPoll)} operation polls replaced by the workers' own); {baselineFigures.Describe(fleet, RateLimit)}" +
                          (baselineRun.Unexpected.Count > 0 ? $"; {baselineRun.Unexpected.Count} answers differed from the app's, e.g. {baselineRun.Unexpected[0]}" : string.Empty));

            reporter.Report("sweep_10k_rate_utilization", first.Figures.Utilization(RateLimit), "ratio");
            reporter.Report("sweep_10k_429_share", first.Figures.ThrottledShare, "ratio");
            reporter.Report("sweep_10k_next_rate_utilization", next.Figures.Utilization(RateLimit), "ratio");
            reporter.Report("sweep_10k_next_429_share", next.Figures.ThrottledShare, "ratio");
            reporter.Report("sweep_10k_restart_rate_utilization", restarted.Figures.Utilization(RateLimit), "ratio");
            reporter.Report("sweep_10k_restart_429_share", restarted.Figures.ThrottledShare, "ratio");
            reporter.Report("baseline_sweep_10k_rate_utilization", baselineFigures.Utilization(RateLimit), "ratio");
            reporter.Report("baseline_sweep_10k_429_share", baselineFigures.ThrottledShare, "ratio");
        }
        finally
        {
            File.Delete(policyFile);
        }
    }

    /// <summary>
    /// Measures three sweeps of the same fleet (re-seeded with the same drift before each): the first of a fresh
    /// deployment (cold code, each limiter learning its tenant's rate from nothing), the same app's next one (as a
    /// running app's scheduled sweeps go), and the first of a new worker on the same storage (a restart or a nightly
    /// cold start: the limiters start from the rates the earlier worker remembered).
    /// </summary>
    private static async Task<(SweepRun First, SweepRun Next, SweepRun Restarted)> RunAppAsync(
        AzuriteInstance azurite, SimulatorHost simulator, string policyFile, CancellationToken cancellationToken)
    {
        var settings = new Dictionary<string, string> { ["ComplianceSweep__PolicyPath"] = policyFile };
        await using var recorder = await SphereRecorder.StartAsync(simulator.BaseAddress, cancellationToken);
        SweepRun first, next;
        await using (var app = await FleetBenchApp.StartAsync(azurite, simulator, settings, recorder, restart: false, cancellationToken))
        {
            first = await SweepAsync(app, simulator, cancellationToken);
            await simulator.Control.ResetAsync(cancellationToken);
            next = await SweepAsync(app, simulator, cancellationToken);
        }

        await simulator.Control.ResetAsync(cancellationToken);
        await using var restarted = await FleetBenchApp.StartAsync(azurite, simulator, settings, recorder, restart: true, cancellationToken);
        return (first, next, await SweepAsync(restarted, simulator, cancellationToken));
    }

    private static async Task<SweepRun> SweepAsync(FleetBenchApp app, SimulatorHost simulator, CancellationToken cancellationToken)
    {
        // A settings change refills the simulator's buckets: the sweep starts with the budget the service grants.
        await simulator.Control.SetLimitsAsync(RateLimit, cancellationToken: cancellationToken);
        await simulator.Control.ResetCountersAsync(cancellationToken);
        var before = app.Recorder!.Calls.Count;
        app.Recorder.Recording = true;
        var cpu = FleetCpu.Take();
        var started = Stopwatch.GetTimestamp();
        var sweepId = await app.StartAsync("api/sweeps", new { dryRun = false }, cancellationToken);

        // Each tenant sweep's completion is seen within 50 ms (of a run of tens of seconds); bounded at 10 minutes.
        var tenants = new Dictionary<string, TimeSpan>();
        OrchestrationMetadata? done = null;
        while (done is null)
        {
            if (Stopwatch.GetElapsedTime(started) > TimeSpan.FromMinutes(10))
            {
                throw new TimeoutException($"The sweep {sweepId} did not complete within 10 minutes ({tenants.Count} tenant sweeps done).");
            }

            await Task.Delay(50, cancellationToken);
            for (var i = 0; i < 3; i++)
            {
                var id = TenantInstanceId(sweepId, i);
                if (!tenants.ContainsKey(id) && await app.Client.GetInstanceAsync(id, cancellationToken) is { IsCompleted: true })
                {
                    tenants[id] = Stopwatch.GetElapsedTime(started);
                }
            }

            var metadata = await app.Client.GetInstanceAsync(sweepId, getInputsAndOutputs: true, cancellationToken);
            done = metadata is { IsCompleted: true } ? metadata : null;
        }

        var elapsed = Stopwatch.GetElapsedTime(started);
        var cpuUsed = FleetCpu.Take().Since(cpu, elapsed);
        var counters = await simulator.Control.GetCountersAsync(cancellationToken);
        app.Recorder.Recording = false;
        if (done.RuntimeStatus != OrchestrationRuntimeStatus.Completed)
        {
            throw new InvalidOperationException($"The sweep ended {done.RuntimeStatus}: {done.FailureDetails?.ErrorMessage}");
        }

        // Only tenants that were swept have a budget that counts (Northwind answers 403 at once).
        var spans = new Dictionary<Guid, TimeSpan>();
        foreach (var (id, span) in tenants)
        {
            var result = AppOutput.Read<TenantSweepResult>((await app.Client.GetInstanceAsync(id, getInputsAndOutputs: true, cancellationToken))!);
            if (result.Error is null)
            {
                spans[Guid.Parse(result.TenantId!)] = span;
            }
        }

        var requests = counters.Total - counters.TokenRequests;
        var accepted = counters.Tenants.ToDictionary(t => t.TenantId, t => t.Total - t.Throttled);
        return new SweepRun(new RunFigures(elapsed, spans, accepted, requests, counters.Throttled), [.. app.Recorder.Calls.Skip(before)],
            AppOutput.Read<SweepSummary>(done), cpuUsed, started);
    }

    /// <summary>
    /// Each swept tenant's accepted calls per second of the run (where the budget went unused: the limiter's start,
    /// the sweep's set-up, the tail).
    /// </summary>
    private static string Timeline(IReadOnlyList<RecordedCall> calls, long started, FleetDescription fleet) =>
        string.Join("; ", new[] { fleet.Contoso, fleet.Fabrikam }.Select(tenant =>
        {
            var seconds = calls.Where(c => c.TenantId == tenant.Id)
                .GroupBy(c => (int)Stopwatch.GetElapsedTime(started, c.At).TotalSeconds)
                .ToDictionary(g => g.Key, g => (Accepted: g.Count(c => c.Status != 429), Throttled: g.Count(c => c.Status == 429)));
            var last = seconds.Count == 0 ? -1 : seconds.Keys.Max();
            return $"{tenant.Name} " + string.Join(' ', Enumerable.Range(0, last + 1).Select(s => seconds.GetValueOrDefault(s) is var (a, t)
                ? t > 0 ? string.Create(CultureInfo.InvariantCulture, $"{a}({t}x429)") : a.ToString(CultureInfo.InvariantCulture)
                : "0"));
        }));

    /// <summary>The instance id of a sweep's tenant sweep (ComplianceSweepOrchestration.TenantInstanceId in src/Functions).</summary>
    private static string TenantInstanceId(string sweepId, int index) => string.Create(CultureInfo.InvariantCulture, $"{sweepId}-t{index}");

    private static async Task<(BaselineResult Run, RunFigures Figures)> RunBaselineAsync(
        SimulatorHost simulator, IReadOnlyList<RecordedCall> calls, FleetDescription fleet, CancellationToken cancellationToken)
    {
        var reseeded = await simulator.Control.GetFleetAsync(cancellationToken);
        if (reseeded.Contoso.Id != fleet.Contoso.Id || reseeded.Fabrikam.Id != fleet.Fabrikam.Id)
        {
            throw new InvalidOperationException("The re-seeded fleet differs from the first one; the recorded calls would not replay.");
        }

        var token = (await simulator.Control.IssueTokenAsync(new TokenRequest(), cancellationToken)).AccessToken;
        var swept = new HashSet<Guid>(calls.Select(c => c.TenantId).OfType<Guid>().Where(t => t == fleet.Contoso.Id || t == fleet.Fabrikam.Id));
        await simulator.Control.ResetCountersAsync(cancellationToken);
        var result = await new BaselineReplay(simulator.BaseAddress, token).RunAsync(calls, cancellationToken);
        var counters = await simulator.Control.GetCountersAsync(cancellationToken);
        var spans = result.TenantSpans.Where(t => swept.Contains(t.Key)).ToDictionary(t => t.Key, t => t.Value);
        var accepted = counters.Tenants.ToDictionary(t => t.TenantId, t => t.Total - t.Throttled);
        return (result, new RunFigures(result.Elapsed, spans, accepted, counters.Total - counters.TokenRequests, counters.Throttled));
    }

    /// <summary>
    /// The benchmark's policy: every tenant; per readable tenant its unassigned devices assigned to Field Test and
    /// enough of its Production devices placed in Field Test to make <see cref="MovesPerTenant"/> moves, the
    /// Development groups' update policy and the Production groups' deployment (release 1.1) corrected.
    /// </summary>
    private static async Task<string> PolicyAsync(Uri endpoint, string token, FleetDescription fleet, CancellationToken cancellationToken)
    {
        using var http = new HttpClient { BaseAddress = endpoint };
        http.DefaultRequestHeaders.Authorization = new AuthenticationHeaderValue("Bearer", token);
        var tenants = new JsonArray();
        foreach (var tenant in new[] { fleet.Contoso, fleet.Fabrikam })
        {
            var groups = tenant.Products.SelectMany(p => p.DeviceGroups.Select(g => (Product: p.Name, Group: g))).ToDictionary(x => x.Group.Id);
            var placements = new JsonObject();
            var wanted = MovesPerTenant - tenant.UnassignedDeviceIds.Count;
            var production = (await ListDevicesAsync(http, tenant.Id, cancellationToken))
                .Where(d => d.GroupId is { } g && groups[g].Group.Name == "Production")
                .OrderBy(d => d.Id, StringComparer.Ordinal).ToList();
            if (production.Count < wanted)
            {
                throw new InvalidOperationException($"{tenant.Name} has {production.Count} Production devices, fewer than the {wanted} placements wanted.");
            }

            foreach (var device in production.Take(wanted))
            {
                placements[device.Id] = $"{groups[device.GroupId!.Value].Product}/Field Test";
            }

            tenants.Add(new JsonObject
            {
                ["tenant"] = tenant.Name,
                ["products"] = new JsonArray([.. tenant.Products.Select(p => (JsonNode)new JsonObject
                {
                    ["name"] = p.Name,
                    ["deviceGroups"] = new JsonArray(
                        new JsonObject { ["name"] = "Field Test" },
                        new JsonObject { ["name"] = "Development", ["updatePolicy"] = "UpdateAll" },
                        new JsonObject { ["name"] = "Production", ["deployment"] = new JsonArray($"{p.Name.Replace(" ", string.Empty, StringComparison.Ordinal)}App 1.1") }),
                })]),
                ["devices"] = placements,
                ["unassignedDevices"] = new JsonObject { ["action"] = "assign", ["target"] = $"{tenant.Products[0].Name}/Field Test" },
            });
        }

        tenants.Add(new JsonObject { ["tenant"] = fleet.Northwind.Name });
        return new JsonObject { ["tenants"] = tenants }.ToJsonString();
    }

    private static async Task<List<(string Id, Guid? GroupId)>> ListDevicesAsync(HttpClient http, Guid tenantId, CancellationToken cancellationToken)
    {
        var devices = new List<(string, Guid?)>();
        string? continuation = null;
        do
        {
            using var request = new HttpRequestMessage(HttpMethod.Get, $"v2/tenants/{tenantId}/devices?maxPageSize=1000");
            if (continuation is not null)
            {
                request.Headers.Add("Sphere-Continuation", continuation);
            }

            using var response = await http.SendAsync(request, cancellationToken);
            if ((int)response.StatusCode == 429)
            {
                await Task.Delay(TimeSpan.FromSeconds(1), cancellationToken);
                continue;
            }

            response.EnsureSuccessStatusCode();
            using var page = JsonDocument.Parse(await response.Content.ReadAsStringAsync(cancellationToken));
            foreach (var item in page.RootElement.GetProperty("Items").EnumerateArray())
            {
                var group = item.GetProperty("DeviceGroupId");
                devices.Add((item.GetProperty("DeviceId").GetString()!, group.ValueKind == JsonValueKind.Null ? null : Guid.Parse(group.GetString()!)));
            }

            continuation = page.RootElement.GetProperty("ContinuationToken").GetString();
        }
        while (continuation is not null);

        return devices;
    }
}

/// <summary>The part of the app's tenant sweep output the benchmark reads (TenantSweepResult in src/Functions).</summary>
internal sealed record TenantSweepResult(string? TenantId, JsonElement? Error);

/// <summary>The part of the app's sweep output the benchmark reads (SweepSummary in src/Functions).</summary>
internal sealed record SweepSummary(int Tenants, int TenantErrors, int Devices, int Findings, int Fixed, int Failed);

/// <summary>One measured sweep of the app: its figures, the calls recorded, its summary, CPU and start timestamp.</summary>
internal sealed record SweepRun(RunFigures Figures, IReadOnlyList<RecordedCall> Calls, SweepSummary Summary, string Cpu, long Started);
