using System.Globalization;
using Azure.Core.Pipeline;
using Fleet.Durable.Client;
using Fleet.Functions;
using Fleet.Hosting;
using Fleet.Shared.Sphere;
using Fleet.Simulator;
using Fleet.Testing;
using Microsoft.Extensions.DependencyInjection;

namespace Fleet.Bench.Fleet;

/// <summary>
/// What the fleet benchmarks share for the life of the process: a private Azurite and the process's one
/// managed-identity endpoint (MSAL detects the source once per process), whose signing key every benchmark simulator
/// shares, so the app authenticates with the real ManagedIdentityCredential against each of them.
/// </summary>
internal static class FleetBenchEnvironment
{
    public const string SigningKey = "fleet-bench-signing-key-0123456789abcdef";

    private static readonly SemaphoreSlim Gate = new(1, 1);
    private static AzuriteInstance? _azurite;
    private static SimulatorHost? _identity;

    /// <summary>The shared Azurite (started on first use; stopped when the process exits).</summary>
    public static async Task<AzuriteInstance> GetAsync(CancellationToken cancellationToken)
    {
        await Gate.WaitAsync(cancellationToken);
        try
        {
            if (_azurite is null)
            {
                _identity = await SimulatorHost.StartAsync(new SimulatorOptions { SigningKey = SigningKey, Devices = 10 }, cancellationToken: cancellationToken);
                Environment.SetEnvironmentVariable("IDENTITY_ENDPOINT", _identity.IdentityEndpoint.AbsoluteUri);
                Environment.SetEnvironmentVariable("IDENTITY_HEADER", _identity.IdentityHeader);
                _azurite = await AzuriteInstance.StartAsync(cancellationToken: cancellationToken);
            }

            return _azurite;
        }
        finally
        {
            Gate.Release();
        }
    }

    /// <summary>The machine's 1-minute load average (the benchmarks share the machine with whatever else runs).</summary>
    public static string LoadAverage() =>
        File.Exists("/proc/loadavg") ? File.ReadAllText("/proc/loadavg").Split(' ')[0] : "unknown";
}

/// <summary>
/// The fleet app in-process as operators run it: its own host.json, default settings except where a benchmark says
/// (listed in its output), SQLite in a temp folder, the Sphere client pointed at a simulator, logs off.
/// Optionally every HTTP exchange of the Sphere client is recorded (to replay the same calls in a baseline).
/// </summary>
internal sealed class FleetBenchApp : IAsyncDisposable
{
    public const string MasterKey = "bench-master-key-0123456789abcdef";

    private readonly string _folder;

    private FleetBenchApp(FunctionsHost host, string folder, string queueName, RecordingTransport? recorder)
    {
        Host = host;
        QueueName = queueName;
        _folder = folder;
        Recorder = recorder;
        Client = host.Services.GetRequiredService<DurableTaskClient>();
    }

    public FunctionsHost Host { get; }

    public DurableTaskClient Client { get; }

    public RecordingTransport? Recorder { get; }

    /// <summary>The provisioning queue (<c>Provisioning:Queue</c>), unique per app.</summary>
    public string QueueName { get; }

    public static async Task<FleetBenchApp> StartAsync(
        AzuriteInstance azurite, SimulatorHost simulator, IReadOnlyDictionary<string, string?> settings, bool record, CancellationToken cancellationToken)
    {
        var folder = Path.Combine(Path.GetTempPath(), "fleet-bench", Guid.NewGuid().ToString("N"));
        Directory.CreateDirectory(folder);
        File.Copy(Path.Combine(AppContext.BaseDirectory, "host.json"), Path.Combine(folder, "host.json"));
        var all = new Dictionary<string, string?>(StringComparer.OrdinalIgnoreCase)
        {
            ["AzureWebJobsStorage"] = azurite.ConnectionString,
            ["DurableStore"] = Path.Combine(folder, "durable.db"),
            ["FunctionKeys:Master"] = MasterKey,
            ["Sphere:endpoint"] = simulator.BaseAddress.AbsoluteUri,
            ["Sphere:credential"] = "managedidentity",
            ["Provisioning:Queue"] = "bench-" + Guid.NewGuid().ToString("N")[..12],
        };
        foreach (var category in new[] { "default", "Fleet.Functions", "Fleet.Durable", "Fleet.Shared", "Function", "Microsoft.AspNetCore" })
        {
            all[$"AzureFunctionsJobHost:logging:logLevel:{category}"] = "Critical";
        }

        foreach (var (key, value) in settings)
        {
            all[key] = value;
        }

        var recorder = record ? new RecordingTransport(new HttpClientTransport()) : null;
        var builder = FleetApp.CreateBuilder(new FunctionsApplicationOptions
        {
            ContentRoot = folder,
            HostId = "bench-" + Guid.NewGuid().ToString("N")[..16],
            HttpPort = 0,
            Settings = all,
        });
        if (recorder is not null)
        {
            builder.Services.PostConfigure<SphereClientOptions>("Sphere", o => o.Transport = recorder);
        }

        var host = builder.Build();
        await host.StartAsync(cancellationToken);
        return new FleetBenchApp(host, folder, all["Provisioning:Queue"]!, recorder);
    }

    public async ValueTask DisposeAsync()
    {
        using (var timeout = new CancellationTokenSource(TimeSpan.FromSeconds(30)))
        {
            try
            {
                await Host.StopAsync(timeout.Token);
            }
            catch (OperationCanceledException)
            {
                // Disposing ends it.
            }
        }

        await Host.DisposeAsync();
        try
        {
            Directory.Delete(_folder, recursive: true);
        }
        catch (IOException)
        {
            // A temp folder left behind is harmless.
        }
    }
}

/// <summary>Times and counts of one measured run (the app's or the baseline's).</summary>
/// <param name="Elapsed">From the start to the last tenant's completion.</param>
/// <param name="TenantSpans">Per tenant with work: from the start to that tenant's completion.</param>
/// <param name="Accepted">Per tenant: requests the service accepted (not 429).</param>
/// <param name="Requests">All API requests (every status, token requests excluded).</param>
/// <param name="Throttled">Requests answered 429.</param>
internal sealed record RunFigures(TimeSpan Elapsed, IReadOnlyDictionary<Guid, TimeSpan> TenantSpans, IReadOnlyDictionary<Guid, long> Accepted, long Requests, long Throttled)
{
    /// <summary>
    /// Accepted calls ÷ the budget the tenants had while they worked: Σ accepted ÷ (limit × Σ span). The simulator
    /// limits each tenant separately, so each tenant's budget counts for as long as its share of the sweep ran.
    /// </summary>
    public double Utilization(double limit) =>
        TenantSpans.Keys.Sum(t => (double)Accepted.GetValueOrDefault(t)) / (limit * TenantSpans.Values.Sum(s => s.TotalSeconds));

    public double ThrottledShare => Requests == 0 ? 0 : (double)Throttled / Requests;

    public string Describe(FleetDescription fleet, double limit) => string.Join("; ", TenantSpans.Select(t =>
    {
        var name = fleet.Tenants.First(x => x.Id == t.Key).Name;
        var accepted = Accepted.GetValueOrDefault(t.Key);
        return string.Create(CultureInfo.InvariantCulture,
            $"{name}: {accepted} accepted calls in {t.Value.TotalSeconds:0.0} s = {accepted / t.Value.TotalSeconds / limit:0.000} of its budget");
    })) + string.Create(CultureInfo.InvariantCulture, $"; {Requests} requests, {Throttled} answered 429; elapsed {Elapsed.TotalSeconds:0.0} s");
}
