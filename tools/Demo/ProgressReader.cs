using System.Globalization;
using System.Net;
using System.Text.Json.Nodes;
using Fleet.Simulator;

namespace Fleet.Demo;

/// <summary>One look at the demo's progress.</summary>
/// <param name="Provisioned">Provisionings that completed.</param>
/// <param name="ProvisionFailed">Provisionings that failed.</param>
/// <param name="ProvisionTotal">Requests enqueued.</param>
/// <param name="Sweep">The sweep's state.</param>
/// <param name="ApiCalls">Sphere API requests the simulator answered (token requests excluded).</param>
/// <param name="Throttled">Of them, answered 429 (each was waited out and retried by the app).</param>
/// <param name="Faults">Of them, answered 500/503 by fault injection (each was retried).</param>
internal sealed record DemoProgress(int Provisioned, int ProvisionFailed, int ProvisionTotal, SweepProgress Sweep, long ApiCalls, long Throttled, long Faults)
{
    /// <summary>Every provisioning and the sweep have finished.</summary>
    public bool Done => Provisioned + ProvisionFailed >= ProvisionTotal && Sweep.Finished;

    /// <summary>The one-line form the demo prints.</summary>
    public string Line(TimeSpan elapsed) => string.Create(CultureInfo.InvariantCulture,
        $"[{elapsed.TotalSeconds,4:0}s] provisioned {Provisioned}/{ProvisionTotal}{(ProvisionFailed > 0 ? $" ({ProvisionFailed} failed)" : string.Empty)} | " +
        $"sweep {Sweep.Describe()} | API {ApiCalls} calls, {Throttled} x 429 absorbed, {Throttled + Faults} retried");
}

/// <summary>The sweep's state, summed over its tenant sweeps.</summary>
internal sealed record SweepProgress(string RuntimeStatus, string Phase, int Devices, int Findings, int Fixed, int Failed, int Remediating)
{
    /// <summary>Completed, failed or terminated.</summary>
    public bool Finished => RuntimeStatus is "Completed" or "Failed" or "Terminated";

    /// <summary>E.g. "Sweeping: 612 devices, drift 58 found, 31 fixed (8 fixing)".</summary>
    public string Describe() => RuntimeStatus is "Failed" or "Terminated"
        ? RuntimeStatus
        : $"{(Finished ? "Done" : Phase)}: {Devices} devices, drift {Findings} found, {Fixed} fixed" +
          (Failed > 0 ? $", {Failed} not fixable" : string.Empty) + (Remediating > 0 ? $" ({Remediating} fixing)" : string.Empty);
}

/// <summary>
/// Reads progress the way an operator would: the Durable management API of the host (provisioning instances, the
/// sweep's and its tenant sweeps' custom status) and the simulator's request counters.
/// </summary>
internal sealed class ProgressReader(HttpClient host, SimulatorControlClient simulator, string sweepId, int provisionTotal)
{
    private const string Instances = "runtime/webhooks/durabletask/instances";

    /// <summary>Reads everything once.</summary>
    public async Task<DemoProgress> ReadAsync(CancellationToken cancellationToken)
    {
        var (completed, failed) = await CountProvisioningsAsync(cancellationToken);
        var sweep = await ReadSweepAsync(cancellationToken);
        var counters = await simulator.GetCountersAsync(cancellationToken);
        var api = counters.Endpoints.Where(e => e.Route.StartsWith("v2/", StringComparison.OrdinalIgnoreCase)).ToList();
        return new DemoProgress(completed, failed, provisionTotal, sweep,
            api.Sum(e => e.Count), api.Where(e => e.Status == 429).Sum(e => e.Count), api.Where(e => e.Status is 500 or 503).Sum(e => e.Count));
    }

    private async Task<(int Completed, int Failed)> CountProvisioningsAsync(CancellationToken cancellationToken)
    {
        int completed = 0, failed = 0;
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
                switch ((string?)instance!["runtimeStatus"])
                {
                    case "Completed":
                        completed++;
                        break;
                    case "Failed" or "Terminated":
                        failed++;
                        break;
                }
            }

            continuation = response.Headers.TryGetValues("x-ms-continuation-token", out var values) ? values.FirstOrDefault() : null;
        }
        while (continuation is not null);

        return (completed, failed);
    }

    private async Task<SweepProgress> ReadSweepAsync(CancellationToken cancellationToken)
    {
        var sweep = await GetInstanceAsync(sweepId, cancellationToken);
        if (sweep is null)
        {
            return new SweepProgress("Pending", "Starting", 0, 0, 0, 0, 0);
        }

        var status = (string?)sweep["runtimeStatus"] ?? "Unknown";
        var custom = sweep["customStatus"];
        var phase = (string?)custom?["phase"] ?? "Starting";
        if (custom?["summary"] is JsonObject summary)
        {
            return new SweepProgress(status, phase, (int)summary["devices"]!, (int)summary["findings"]!, (int)summary["fixed"]!, (int)summary["failed"]!, 0);
        }

        int devices = 0, findings = 0, fixedCount = 0, failedCount = 0, running = 0;
        foreach (var tenantId in custom?["tenants"]?.AsArray() ?? [])
        {
            var tenant = await GetInstanceAsync((string)tenantId!, cancellationToken);
            if (tenant?["customStatus"] is not JsonObject tenantStatus || tenantStatus["counters"] is not JsonObject counters)
            {
                continue;
            }

            devices += (int)counters["devices"]!;
            findings += (int)counters["findings"]!;
            fixedCount += (int)counters["fixed"]!;
            failedCount += (int)counters["failed"]!;
            running += (int?)tenantStatus["remediationsRunning"] ?? 0;
        }

        return new SweepProgress(status, phase, devices, findings, fixedCount, failedCount, running);
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
