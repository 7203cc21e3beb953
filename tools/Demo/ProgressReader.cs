using System.Globalization;
using System.Net;
using System.Text.Json.Nodes;
using Fleet.Simulator;

namespace Fleet.Demo;

/// <summary>One look at the demo's progress.</summary>
/// <param name="ByCloud">Provisionings that completed and failed, per cloud.</param>
/// <param name="TotalByCloud">Requests enqueued per cloud.</param>
/// <param name="Sweep">The sweep's state.</param>
/// <param name="ApiCalls">API requests the simulator answered on the three clouds (token requests excluded).</param>
/// <param name="Throttled">Of them, answered 429 (each was waited out and retried by the app).</param>
/// <param name="Faults">Of them, answered 500/503 by fault injection (each was retried).</param>
internal sealed record DemoProgress(
    IReadOnlyDictionary<string, (int Completed, int Failed)> ByCloud, IReadOnlyDictionary<string, int> TotalByCloud, SweepProgress Sweep,
    long ApiCalls, long Throttled, long Faults)
{
    /// <summary>Provisionings that completed.</summary>
    public int Provisioned => ByCloud.Values.Sum(c => c.Completed);

    /// <summary>Provisionings that failed.</summary>
    public int ProvisionFailed => ByCloud.Values.Sum(c => c.Failed);

    /// <summary>Requests enqueued.</summary>
    public int ProvisionTotal => TotalByCloud.Values.Sum();

    /// <summary>Every provisioning and the sweep have finished.</summary>
    public bool Done => Provisioned + ProvisionFailed >= ProvisionTotal && Sweep.Finished;

    /// <summary>The one-line form the demo prints: each cloud's provisionings and sweep.</summary>
    public string Line(TimeSpan elapsed) => string.Create(CultureInfo.InvariantCulture,
        $"[{elapsed.TotalSeconds,4:0}s] provisioned {string.Join(", ", TotalByCloud.Select(Provisioning))} | " +
        $"sweep {Sweep.Describe()} | API {ApiCalls} calls, {Throttled} x 429 absorbed, {Throttled + Faults} retried");

    private string Provisioning(KeyValuePair<string, int> total)
    {
        var (completed, failed) = ByCloud.GetValueOrDefault(total.Key);
        return string.Create(CultureInfo.InvariantCulture, $"{total.Key} {completed}/{total.Value}{(failed > 0 ? $" ({failed} failed)" : string.Empty)}");
    }
}

/// <summary>One cloud's share of the sweep.</summary>
internal sealed record CloudSweep(int Devices, int Findings, int Fixed, int Failed, int Remediating);

/// <summary>The sweep's state, summed per cloud over its tenant and device-set sweeps.</summary>
internal sealed record SweepProgress(string RuntimeStatus, string Phase, IReadOnlyDictionary<string, CloudSweep> ByCloud)
{
    /// <summary>Completed, failed or terminated.</summary>
    public bool Finished => RuntimeStatus is "Completed" or "Failed" or "Terminated";

    /// <summary>Drift found on every cloud.</summary>
    public int Findings => ByCloud.Values.Sum(c => c.Findings);

    /// <summary>Drift fixed on every cloud.</summary>
    public int Fixed => ByCloud.Values.Sum(c => c.Fixed);

    /// <summary>E.g. "Sweeping: sphere 612 devices, drift 58 found, 31 fixed (8 fixing); iotcentral …".</summary>
    public string Describe() => RuntimeStatus is "Failed" or "Terminated"
        ? RuntimeStatus
        : $"{(Finished ? "Done" : Phase)}: " + (ByCloud.Count == 0 ? "starting" : string.Join("; ", ByCloud.Select(c =>
            $"{c.Key} {c.Value.Devices} devices, drift {c.Value.Findings} found, {c.Value.Fixed} fixed" +
            (c.Value.Failed > 0 ? $", {c.Value.Failed} not fixable" : string.Empty) + (c.Value.Remediating > 0 ? $" ({c.Value.Remediating} fixing)" : string.Empty))));
}

/// <summary>
/// Reads progress the way an operator would: the Durable management API of the host (provisioning instances, the
/// sweep's and its tenant sweeps' custom status) and the simulator's request counters.
/// </summary>
internal sealed class ProgressReader(HttpClient host, SimulatorControlClient simulator, string sweepId, IReadOnlyDictionary<string, int> provisionTotals)
{
    private const string Instances = "runtime/webhooks/durabletask/instances";

    /// <summary>Reads everything once.</summary>
    public async Task<DemoProgress> ReadAsync(CancellationToken cancellationToken)
    {
        var provisioned = await CountProvisioningsAsync(cancellationToken);
        var sweep = await ReadSweepAsync(cancellationToken);
        var counters = await simulator.GetCountersAsync(cancellationToken);
        var api = counters.Endpoints.Where(e => e.Route.StartsWith("v2/", StringComparison.OrdinalIgnoreCase)
                                                || e.Route.StartsWith("iotconnect/", StringComparison.OrdinalIgnoreCase)).ToList();
        var central = await simulator.GetIoTCentralCountersAsync("contoso", cancellationToken);
        return new DemoProgress(provisioned, provisionTotals, sweep,
            api.Sum(e => e.Count) + central.Total, api.Where(e => e.Status == 429).Sum(e => e.Count) + central.Throttled,
            api.Where(e => e.Status is 500 or 503).Sum(e => e.Count) + central.ByStatus.GetValueOrDefault(500) + central.ByStatus.GetValueOrDefault(503));
    }

    /// <summary>The cloud of a provisioning instance, from its id (<c>provision-{cloud}-…</c> off Sphere).</summary>
    private static string CloudOf(string instanceId) =>
        instanceId.StartsWith("provision-iotcentral-", StringComparison.Ordinal) ? "iotcentral"
        : instanceId.StartsWith("provision-iotconnect-", StringComparison.Ordinal) ? "iotconnect"
        : "sphere";

    private async Task<Dictionary<string, (int Completed, int Failed)>> CountProvisioningsAsync(CancellationToken cancellationToken)
    {
        var counts = new Dictionary<string, (int Completed, int Failed)>(StringComparer.Ordinal);
        string? continuation = null;
        do
        {
            using var request = new HttpRequestMessage(HttpMethod.Get, $"{Instances}?instanceIdPrefix=provision-&top=1000");
            if (continuation is not null)
            {
                request.Headers.Add("x-ms-continuation-token", continuation);
            }

            using var response = await host.SendAsync(request, cancellationToken);
            response.EnsureSuccessStatusCode();
            foreach (var instance in HostJson.Parse(await response.Content.ReadAsStringAsync(cancellationToken))!.AsArray())
            {
                var cloud = CloudOf((string?)instance!["instanceId"] ?? string.Empty);
                var (completed, failed) = counts.GetValueOrDefault(cloud);
                counts[cloud] = (string?)instance["runtimeStatus"] switch
                {
                    "Completed" => (completed + 1, failed),
                    "Failed" or "Terminated" => (completed, failed + 1),
                    _ => (completed, failed),
                };
            }

            continuation = response.Headers.TryGetValues("x-ms-continuation-token", out var values) ? values.FirstOrDefault() : null;
        }
        while (continuation is not null);

        return counts;
    }

    private async Task<SweepProgress> ReadSweepAsync(CancellationToken cancellationToken)
    {
        var sweep = await GetInstanceAsync(sweepId, cancellationToken);
        if (sweep is null)
        {
            return new SweepProgress("Pending", "Starting", new Dictionary<string, CloudSweep>());
        }

        // Per cloud from the tenant and device-set sweeps' live counters (each status names its cloud).
        var status = (string?)sweep["runtimeStatus"] ?? "Unknown";
        var custom = sweep["customStatus"];
        var phase = (string?)custom?["phase"] ?? "Starting";
        var byCloud = new Dictionary<string, CloudSweep>(StringComparer.Ordinal);
        foreach (var tenantId in custom?["tenants"]?.AsArray() ?? [])
        {
            var tenant = await GetInstanceAsync((string)tenantId!, cancellationToken);
            if (tenant?["customStatus"] is not JsonObject tenantStatus || tenantStatus["counters"] is not JsonObject counters)
            {
                continue;
            }

            var cloud = (string?)tenantStatus["cloud"] ?? "sphere";
            var sum = byCloud.GetValueOrDefault(cloud) ?? new CloudSweep(0, 0, 0, 0, 0);
            byCloud[cloud] = new CloudSweep(sum.Devices + (int)counters["devices"]!, sum.Findings + (int)counters["findings"]!, sum.Fixed + (int)counters["fixed"]!,
                sum.Failed + (int)counters["failed"]!, sum.Remediating + ((int?)tenantStatus["remediationsRunning"] ?? 0));
        }

        return new SweepProgress(status, phase, byCloud);
    }

    private async Task<JsonNode?> GetInstanceAsync(string instanceId, CancellationToken cancellationToken)
    {
        using var response = await host.GetAsync($"{Instances}/{Uri.EscapeDataString(instanceId)}", cancellationToken);
        if (response.StatusCode == HttpStatusCode.NotFound)
        {
            return null;
        }

        response.EnsureSuccessStatusCode();
        return HostJson.Parse(await response.Content.ReadAsStringAsync(cancellationToken));
    }
}

/// <summary>
/// JSON from the host and the app, read with property names in any case: the isolated Durable extension's
/// check-status payload comes PascalCase (<c>Id</c>, <c>StatusQueryGetUri</c>), the host's management API camelCase.
/// </summary>
internal static class HostJson
{
    private static readonly JsonNodeOptions AnyCase = new() { PropertyNameCaseInsensitive = true };

    /// <summary>Parses <paramref name="json"/>; null for the JSON literal null.</summary>
    public static JsonNode? Parse(string json) => JsonNode.Parse(json, AnyCase);
}
