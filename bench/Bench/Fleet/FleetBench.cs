using Azure.Storage.Blobs;
using System.Globalization;
using System.Net.Http.Json;
using System.Text.Json;
using System.Text.Json.Nodes;
using Fleet.Bench.Host;
using Fleet.Hosting.Local;
using Fleet.Simulator;
using Fleet.Testing;
using Grpc.Net.Client;
using Microsoft.DurableTask.Client;
using Microsoft.DurableTask.Client.Grpc;
using Microsoft.Extensions.Logging;
using Microsoft.Extensions.Logging.Abstractions;

namespace Fleet.Bench.Fleet;

/// <summary>
/// What the fleet benchmarks share for the life of the process: a private Azurite that accepts the newer storage API
/// versions of the SDK inside the app's worker.
/// </summary>
internal static class FleetBenchEnvironment
{
    private static readonly SemaphoreSlim Gate = new(1, 1);
    private static AzuriteInstance? _azurite;

    /// <summary>The shared Azurite (started on first use; stopped when the process exits).</summary>
    public static async Task<AzuriteInstance> GetAsync(CancellationToken cancellationToken)
    {
        await Gate.WaitAsync(cancellationToken);
        try
        {
            _azurite ??= await AzuriteInstance.StartAsync(new AzuriteOptions { SkipApiVersionCheck = true }, cancellationToken);
            return _azurite;
        }
        finally
        {
            Gate.Release();
        }
    }
}

/// <summary>
/// The fleet app as operators run it locally: its build output (src/Functions, copied to a temp folder) under the local
/// Functions host, which starts the app's real isolated worker and serves its triggers and Durable work on SQLite in
/// the copy. Settings reach host and worker through the copy's local.settings.json: the app's defaults except where a
/// benchmark says (listed in its output), the Sphere client pointed at the simulator (or at a <see cref="SphereRecorder"/>
/// in front of it) with the real ManagedIdentityCredential on the simulator's identity endpoint, logs at Warning
/// (errors go to stderr). The benchmark side reaches the app over HTTP (<see cref="Http"/>, master key) and the real
/// Durable SDK client on the host's TaskHubSidecarService (<see cref="Client"/>).
/// </summary>
internal sealed class FleetBenchApp : IAsyncDisposable
{
    public const string MasterKey = "bench-master-key-0123456789abcdef";

    // Where the app keeps its limiters' learned rates (LearnedRateOptions in src/Functions, which the benchmarks do not reference).
    private const string LearnedRatesContainer = "fleet-state";
    private const string LearnedRatesBlob = "learned-rates.json";

    private readonly string _folder;
    private readonly GrpcChannel _channel;
    private readonly bool _ownsRecorder;

    private FleetBenchApp(LocalFunctionsHost host, string folder, string queueName, SphereRecorder? recorder, bool ownsRecorder)
    {
        _ownsRecorder = ownsRecorder;
        Host = host;
        QueueName = queueName;
        _folder = folder;
        Recorder = recorder;
        _channel = GrpcChannel.ForAddress(host.RpcAddress);
        Client = new GrpcDurableTaskClient("fleet-bench", new GrpcDurableTaskClientOptions { Channel = _channel }, NullLogger.Instance);
        Http = new HttpClient { BaseAddress = host.BaseAddress, Timeout = TimeSpan.FromSeconds(60) };
        Http.DefaultRequestHeaders.Add("x-functions-key", MasterKey);
    }

    public LocalFunctionsHost Host { get; }

    public DurableTaskClient Client { get; }

    /// <summary>The app's HTTP functions, with the master key.</summary>
    public HttpClient Http { get; }

    /// <summary>The proxy the app's Sphere calls go through, when recording.</summary>
    public SphereRecorder? Recorder { get; }

    /// <summary>The provisioning queue (<c>Provisioning__Queue</c>), unique per app.</summary>
    public string QueueName { get; }

    /// <summary>Starts the app as a fresh deployment: nothing in its storage from an earlier app (the limiters' memory included).</summary>
    public static async Task<FleetBenchApp> StartAsync(
        AzuriteInstance azurite, SimulatorHost simulator, IReadOnlyDictionary<string, string> settings, bool record, CancellationToken cancellationToken)
    {
        await ForgetLearnedRatesAsync(azurite, cancellationToken);
        var recorder = record ? await SphereRecorder.StartAsync(simulator.BaseAddress, cancellationToken) : null;
        return await LaunchAsync(azurite, simulator, settings, recorder, ownsRecorder: true, cancellationToken);
    }

    /// <summary>
    /// Starts the app with its Sphere calls through the caller's <paramref name="recorder"/> (which outlives it, so a
    /// later app reaches Sphere at the same address); a fresh deployment, or (<paramref name="restart"/>) a restart or
    /// redeployment of an earlier app: the same storage, with what the earlier worker remembered.
    /// </summary>
    public static async Task<FleetBenchApp> StartAsync(AzuriteInstance azurite, SimulatorHost simulator, IReadOnlyDictionary<string, string> settings,
        SphereRecorder recorder, bool restart, CancellationToken cancellationToken)
    {
        if (!restart)
        {
            await ForgetLearnedRatesAsync(azurite, cancellationToken);
        }

        return await LaunchAsync(azurite, simulator, settings, recorder, ownsRecorder: false, cancellationToken);
    }

    private static Task ForgetLearnedRatesAsync(AzuriteInstance azurite, CancellationToken cancellationToken) =>
        new BlobServiceClient(azurite.ConnectionString).GetBlobContainerClient(LearnedRatesContainer)
            .GetBlobClient(LearnedRatesBlob).DeleteIfExistsAsync(cancellationToken: cancellationToken);

    private static async Task<FleetBenchApp> LaunchAsync(AzuriteInstance azurite, SimulatorHost simulator, IReadOnlyDictionary<string, string> settings,
        SphereRecorder? recorder, bool ownsRecorder, CancellationToken cancellationToken)
    {
        // The host gives the worker local.settings.json Values only where the environment has no value (as Core Tools).
        if (!string.IsNullOrEmpty(Environment.GetEnvironmentVariable("IDENTITY_ENDPOINT")))
        {
            throw new InvalidOperationException(
                "IDENTITY_ENDPOINT is set in this environment: the fleet benchmarks give the app its simulator's identity endpoint through local.settings.json; unset it.");
        }

        var folder = BenchApps.Copy("src/Functions");
        var queue = "bench-" + Guid.NewGuid().ToString("N")[..12];
        var values = new Dictionary<string, string>(StringComparer.OrdinalIgnoreCase)
        {
            ["FUNCTIONS_WORKER_RUNTIME"] = "dotnet-isolated",
            ["AzureWebJobsStorage"] = azurite.ConnectionString,
            ["DurableTask__Backend__SqlitePath"] = Path.Combine(folder, "durabletask.db"),
            ["FunctionKeys__Master"] = MasterKey,
            ["IDENTITY_ENDPOINT"] = simulator.IdentityEndpoint.AbsoluteUri,
            ["IDENTITY_HEADER"] = simulator.IdentityHeader,
            ["Sphere__endpoint"] = (recorder?.BaseAddress ?? simulator.BaseAddress).AbsoluteUri,
            ["Sphere__credential"] = "managedidentity",
            ["Provisioning__Queue"] = queue,

            // The app's default schedule (the host resolves %ComplianceSweep:Schedule% from the settings, as in Azure).
            ["ComplianceSweep__Schedule"] = "0 0 2 * * *",

            // The worker's own log filter: only warnings and errors travel to the host.
            ["Logging__LogLevel__Default"] = "Warning",
        };
        foreach (var (key, value) in settings)
        {
            values[key] = value;
        }

        BenchApps.SetValues(folder, values);
        BenchApps.EditHostJson(folder, hostJson =>
        {
            var levels = hostJson["logging"]?["logLevel"] as JsonObject ?? [];
            foreach (var category in levels.Select(l => l.Key).ToList())
            {
                levels[category] = "Warning";
            }
        });

        try
        {
            var host = await LocalFunctionsHost.StartAsync(
                new LocalHostOptions
                {
                    ScriptRoot = folder,
                    Port = 0,
                    Output = TextWriter.Null,
                    ConsoleLogs = false,
                    ConfigureLogging = l => l
                        .AddConsole(o => o.LogToStandardErrorThreshold = LogLevel.Error)
                        .AddFilter<Microsoft.Extensions.Logging.Console.ConsoleLoggerProvider>(level => level >= LogLevel.Error),
                },
                cancellationToken);
            return new FleetBenchApp(host, folder, queue, recorder, ownsRecorder);
        }
        catch
        {
            if (ownsRecorder && recorder is not null)
            {
                await recorder.DisposeAsync();
            }

            BenchApps.Delete(folder);
            throw;
        }
    }

    /// <summary>Posts <paramref name="body"/> to an HTTP starter and returns the started instance's id (202 expected).</summary>
    public async Task<string> StartAsync(string route, object body, CancellationToken cancellationToken)
    {
        using var response = await Http.PostAsJsonAsync(route, body, cancellationToken);
        var text = await response.Content.ReadAsStringAsync(cancellationToken);
        if ((int)response.StatusCode != 202)
        {
            throw new InvalidOperationException($"POST {route} answered {(int)response.StatusCode}: {text}");
        }

        // The check-status payload as the worker's serializer writes it ("id" or "Id").
        using var payload = JsonDocument.Parse(text);
        return payload.RootElement.EnumerateObject().FirstOrDefault(p => p.NameEquals("id") || p.NameEquals("Id")).Value.GetString()
            ?? throw new InvalidOperationException($"POST {route} answered 202 without an instance id: {text}");
    }

    public async ValueTask DisposeAsync()
    {
        Http.Dispose();
        await Client.DisposeAsync();
        _channel.Dispose();
        await Host.StopAsync();
        await Host.DisposeAsync();
        if (_ownsRecorder && Recorder is not null)
        {
            await Recorder.DisposeAsync();
        }

        BenchApps.Delete(_folder);
    }
}

/// <summary>Reads an orchestration's output as the app wrote it (the worker's JSON naming, read case-insensitively).</summary>
internal static class AppOutput
{
    private static readonly JsonSerializerOptions Options = new(JsonSerializerDefaults.Web);

    public static T Read<T>(OrchestrationMetadata metadata) =>
        JsonSerializer.Deserialize<T>(metadata.SerializedOutput ?? "null", Options)
        ?? throw new InvalidOperationException($"{metadata.InstanceId} ({metadata.RuntimeStatus}) has no output.");
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

/// <summary>CPU of the processes a fleet run uses: this one (local host, simulator, Sphere proxy, benchmark), the app's worker and Azurite.</summary>
internal readonly record struct FleetCpu(TimeSpan Self, TimeSpan Worker, TimeSpan Azurite)
{
    public static FleetCpu Take()
    {
        using var process = System.Diagnostics.Process.GetCurrentProcess();
        return new FleetCpu(process.TotalProcessorTime, ProcessCpu.Children("dotnet"), ProcessCpu.Children("node"));
    }

    /// <summary>What the processes used since <paramref name="before"/>, against what the machine's cores offered in <paramref name="elapsed"/>.</summary>
    public string Since(FleetCpu before, TimeSpan elapsed) => string.Create(CultureInfo.InvariantCulture,
        $"CPU {(Self - before.Self + Worker - before.Worker + Azurite - before.Azurite).TotalSeconds:0.0} s of the {Environment.ProcessorCount * elapsed.TotalSeconds:0.0} s " +
        $"the {Environment.ProcessorCount} cores offered: this process (local host, simulator, proxy, benchmark) {(Self - before.Self).TotalSeconds:0.0} s, " +
        $"the app's worker {(Worker - before.Worker).TotalSeconds:0.0} s, Azurite {(Azurite - before.Azurite).TotalSeconds:0.0} s");
}
