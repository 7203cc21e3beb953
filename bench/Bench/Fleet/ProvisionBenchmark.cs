using System.Diagnostics;
using System.Globalization;
using System.Text.Json;
using Azure.Storage.Queues;
using Fleet.Simulator;
using Microsoft.DurableTask.Client;

namespace Fleet.Bench.Fleet;

/// <summary>
/// 1,000 provisioning requests on the queue, all for one tenant (one rate budget of 100 requests/s), run by the real
/// app (its worker under the local Functions host, <see cref="FleetBenchApp"/>) with default settings: the time from the first enqueue to the last completed provisioning
/// (<c>provision_1k_s</c>), beside its floor (<c>provision_1k_floor_s</c>) = the API calls the provisionings made ÷ the
/// limit, i.e. the time the calls take at exactly the service's rate.
/// </summary>
public sealed class ProvisionBenchmark : IBenchmark
{
    private const double RateLimit = 100;
    private const int Devices = 1000;

    // The app's provisioning instance ids (ProvisioningStarter.InstancePrefix in src/Functions).
    private const string InstancePrefix = "provision-";
    private static readonly string[][] Placements = [["Thermostat", "Field Test"], ["Thermostat", "Production"], ["Gateway", "Production"]];

    public string Name => "fleet-provision";

    public IReadOnlyList<string> Figures => ["provision_1k_s", "provision_1k_floor_s"];

    public async Task RunAsync(BenchReporter reporter, CancellationToken cancellationToken)
    {
        var azurite = await FleetBenchEnvironment.GetAsync(cancellationToken);
        await using var simulator = await SimulatorHost.StartAsync(
            new SimulatorOptions { Devices = 10_000, Seed = 1, RateLimit = RateLimit },
            cancellationToken: cancellationToken);
        var fleet = await simulator.Control.GetFleetAsync(cancellationToken);
        var contoso = fleet.Contoso;
        var requests = fleet.UnclaimedDeviceIds.Take(Devices).Select((id, i) => (Id: id, Product: Placements[i % 3][0], Group: Placements[i % 3][1])).ToList();
        if (requests.Count < Devices)
        {
            throw new InvalidOperationException($"The fleet has only {requests.Count} unclaimed devices.");
        }

        await using var app = await FleetBenchApp.StartAsync(azurite, simulator, new Dictionary<string, string>(), record: false, cancellationToken);

        // host.json extensions.queues.messageEncoding is base64.
        var queue = new QueueClient(azurite.ConnectionString, app.QueueName, new QueueClientOptions { MessageEncoding = QueueMessageEncoding.Base64 });
        await queue.CreateIfNotExistsAsync(cancellationToken: cancellationToken);
        var messages = requests.Select(r => JsonSerializer.Serialize(new { tenantId = contoso.Name, deviceId = r.Id, product = r.Product, deviceGroup = r.Group })).ToList();

        await simulator.Control.SetLimitsAsync(RateLimit, cancellationToken: cancellationToken);
        await simulator.Control.ResetCountersAsync(cancellationToken);
        var cpu = FleetCpu.Take();
        var started = Stopwatch.GetTimestamp();
        await Parallel.ForEachAsync(messages, new ParallelOptions { MaxDegreeOfParallelism = 8, CancellationToken = cancellationToken },
            async (message, ct) => await queue.SendMessageAsync(message, cancellationToken: ct));
        var enqueued = Stopwatch.GetElapsedTime(started);

        // Bounded: at the floor's pace the run takes 80 s; ten minutes means something is stuck.
        var completed = 0;
        var deadline = started + (long)(Stopwatch.Frequency * TimeSpan.FromMinutes(10).TotalSeconds);
        while (completed < Devices)
        {
            if (Stopwatch.GetTimestamp() > deadline)
            {
                throw new TimeoutException($"Only {completed} of {Devices} provisionings completed within 10 minutes.");
            }

            await Task.Delay(100, cancellationToken);
            completed = 0;
            var query = new OrchestrationQuery { InstanceIdPrefix = InstancePrefix, PageSize = 1000 };
            await foreach (var instance in app.Client.GetAllInstancesAsync(query).WithCancellation(cancellationToken))
            {
                completed += instance.RuntimeStatus switch
                {
                    OrchestrationRuntimeStatus.Completed => 1,
                    OrchestrationRuntimeStatus.Failed or OrchestrationRuntimeStatus.Terminated =>
                        throw new InvalidOperationException($"Provisioning {instance.InstanceId} ended {instance.RuntimeStatus}."),
                    _ => 0,
                };
            }
        }

        var elapsed = Stopwatch.GetElapsedTime(started);
        var cpuUsed = FleetCpu.Take().Since(cpu, elapsed);
        var counters = await simulator.Control.GetCountersAsync(cancellationToken);
        var tenant = counters.Tenants.Single(t => t.TenantId == contoso.Id);
        var accepted = tenant.Total - tenant.Throttled;

        // Every device really ended where it was sent.
        var groups = contoso.Products.ToDictionary(p => p.Name, p => p.DeviceGroups.ToDictionary(g => g.Name, g => g.Id));
        foreach (var request in requests)
        {
            var view = await simulator.Control.GetDeviceAsync(request.Id, cancellationToken);
            if (view.TenantId != contoso.Id || view.DeviceGroupId != groups[request.Product][request.Group])
            {
                throw new InvalidOperationException($"Device {request.Id[..12]}… is not in {request.Product}/{request.Group}.");
            }
        }

        reporter.Note(string.Create(CultureInfo.InvariantCulture,
            $"fleet-provision: {Devices} devices for {contoso.Name} (enqueued in {enqueued.TotalSeconds:0.0} s) provisioned in {elapsed.TotalSeconds:0.0} s: " +
            $"{accepted} accepted calls ({(double)accepted / Devices:0.0} per device: claim, operation, product and group lookup, device read, move, operation, verify), " +
            $"{tenant.Throttled} answered 429 ({(double)tenant.Throttled / tenant.Total:P2}); {accepted / elapsed.TotalSeconds / RateLimit:0.000} of the budget; " +
            $"app defaults (limiter initialRate 10) in its worker under the local host, SQLite; operations complete at once; {cpuUsed}; machine load average {Stats.LoadAverage()}"));
        reporter.Report("provision_1k_s", elapsed.TotalSeconds, "s");
        reporter.Report("provision_1k_floor_s", accepted / RateLimit, "s");
    }
}
