using System.Diagnostics;
using System.Globalization;
using System.Net;
using System.Net.Http.Json;
using System.Net.Sockets;
using System.Reflection;
using System.Security.Cryptography;
using System.Text.Json.Nodes;
using System.Text.RegularExpressions;
using Azure.Storage.Queues;
using Fleet.Simulator;

namespace Fleet.Demo;

/// <summary>The demo's settings (from the command line).</summary>
/// <param name="Duration">Stop after this long (null: run until Ctrl+C or SIGTERM).</param>
/// <param name="ExitWhenDone">Stop once every provisioning and the sweep have finished.</param>
/// <param name="Devices">Size of the simulated fleet.</param>
/// <param name="Requests">Provisioning requests to enqueue.</param>
/// <param name="RateLimit">The simulator's requests per second per tenant.</param>
/// <param name="FaultRate">Share of API requests the simulator answers 500/503.</param>
/// <param name="Seed">Seed of the simulated fleet.</param>
internal sealed record DemoOptions(TimeSpan? Duration, bool ExitWhenDone, int Devices, int Requests, double RateLimit, double FaultRate, int Seed);

/// <summary>
/// The <c>./run</c> demo: Azurite (in memory), the fleet simulator and the function host (SQLite store under
/// <c>.data/run</c>) as processes; demo provisioning requests on the queue and a remediating compliance sweep; live
/// progress until stopped; then the host, the simulator and Azurite stopped in that order.
/// </summary>
internal sealed partial class DemoRun(DemoOptions options, TextWriter output)
{
    private static readonly TimeSpan ProgressInterval = TimeSpan.FromSeconds(2);
    private readonly string _root = RepoRoot();
    private readonly List<ChildProcess> _children = [];

    private string DataFolder => Path.Combine(_root, ".data", "run");

    /// <summary>Runs until <paramref name="stop"/> fires (Ctrl+C, SIGTERM), the duration passes or, if asked, the work is done.</summary>
    /// <returns>The exit code: 0 after a clean stop; 1 when a step or a process failed.</returns>
    public async Task<int> RunAsync(CancellationToken stop)
    {
        var clock = Stopwatch.StartNew();
        try
        {
            return await DriveAsync(clock, stop);
        }
        catch (OperationCanceledException) when (stop.IsCancellationRequested)
        {
            return 0;
        }
        catch (DemoException ex)
        {
            await output.WriteLineAsync($"error: {ex.Message}");
            return 1;
        }
        finally
        {
            await StopChildrenAsync();
        }
    }

    private async Task<int> DriveAsync(Stopwatch clock, CancellationToken stop)
    {
        var hostDll = BuiltDll("Hosting", "Fleet.Hosting.dll");
        var appDll = BuiltDll("Functions", "Fleet.Functions.dll");
        var simulatorDll = BuiltDll("Simulator", "Fleet.Simulator.dll");
        Directory.CreateDirectory(DataFolder);
        var logs = Path.Combine(DataFolder, "logs");
        foreach (var stale in Directory.EnumerateFiles(DataFolder, "durabletask.db*"))
        {
            // Azurite and the simulator start empty each run, so the durable store does too.
            File.Delete(stale);
        }

        await output.WriteLineAsync("Starting Azurite, the fleet simulator and the function host...");
        var storage = await StartAzuriteAsync(logs, stop);
        var simulator = await StartSimulatorAsync(simulatorDll, logs, stop);
        using var control = new SimulatorControlClient(simulator.BaseAddress);
        var fleet = await control.GetFleetAsync(stop);
        var policyPath = Path.Combine(DataFolder, "policy.json");
        await File.WriteAllTextAsync(policyPath, DemoScenario.Policy(fleet), stop);
        var solution = (await control.GetIoTConnectAsync(stop)).Contoso;
        var app = await StartHostAsync(hostDll, Path.GetDirectoryName(appDll)!, storage, simulator, solution, policyPath, logs, stop);

        using var http = new HttpClient { BaseAddress = app.BaseAddress, Timeout = TimeSpan.FromSeconds(30) };
        http.DefaultRequestHeaders.Add("x-functions-key", app.MasterKey);
        var requests = DemoScenario.Requests(fleet, options.Requests);
        // Base64, as host.json's extensions.queues.messageEncoding says the queue trigger reads them.
        var queue = new QueueClient(storage.ConnectionString, HostQueue, new QueueClientOptions { MessageEncoding = QueueMessageEncoding.Base64 });
        await queue.CreateIfNotExistsAsync(cancellationToken: stop);
        foreach (var request in requests)
        {
            await queue.SendMessageAsync(request.Message, cancellationToken: stop);
        }

        await output.WriteLineAsync(string.Create(CultureInfo.InvariantCulture,
            $"Enqueued {requests.Count} provisioning requests on queue '{HostQueue}': Sphere unclaimed devices " +
            $"({requests.Count(r => r.Tenant == fleet.Contoso.Name)} to {fleet.Contoso.Name} Thermostat/Field Test, " +
            $"{requests.Count(r => r.Tenant == fleet.Fabrikam.Name)} to {fleet.Fabrikam.Name} Sensor Hub/Field Test), " +
            $"{requests.Count(r => r.Cloud == "iotcentral")} new IoT Central devices to contoso-west/west-thermostats, " +
            $"{requests.Count(r => r.Cloud == "iotconnect")} new IoTConnect devices to Production/Production East."));

        using var sweepResponse = await http.PostAsJsonAsync("api/sweeps", new { mode = "remediate" }, stop);
        var sweepBody = await sweepResponse.Content.ReadAsStringAsync(stop);
        if (sweepResponse.StatusCode != HttpStatusCode.Accepted)
        {
            throw new DemoException($"POST /api/sweeps answered {(int)sweepResponse.StatusCode}: {sweepBody}");
        }

        var sweep = HostJson.Parse(sweepBody) as JsonObject;
        if (sweep?["id"]?.GetValue<string>() is not { Length: > 0 } sweepId || sweep["statusQueryGetUri"]?.GetValue<string>() is not { } sweepStatus)
        {
            throw new DemoException($"POST /api/sweeps answered 202 without the check-status payload (id, statusQueryGetUri): {sweepBody}");
        }

        await output.WriteLineAsync($"Started compliance sweep {sweepId} (remediate) against {Relative(policyPath)}.");
        await PrintUrlsAsync(app, storage, simulator, sweepStatus, sweepId, requests[0]);

        var totals = requests.GroupBy(r => r.Cloud).ToDictionary(g => g.Key, g => g.Count(), StringComparer.Ordinal);
        return await WatchAsync(new ProgressReader(http, control, sweepId, totals), app, sweepId, clock, stop);
    }

    /// <summary>Prints progress every two seconds until stopped, the duration passes, a child dies or (if asked) all is done.</summary>
    private async Task<int> WatchAsync(ProgressReader progress, HostEndpoint app, string sweepId, Stopwatch clock, CancellationToken stop)
    {
        await output.WriteLineAsync();
        await output.WriteLineAsync(options.ExitWhenDone
            ? "Progress (stops when everything is done; Ctrl+C stops earlier):"
            : "Progress (Ctrl+C stops everything):");
        using var duration = options.Duration is { } limit ? new CancellationTokenSource(limit) : new CancellationTokenSource();
        using var watch = CancellationTokenSource.CreateLinkedTokenSource(stop, duration.Token);
        var anyExit = Task.WhenAny(_children.Select(c => c.Exited));
        var reported = false;
        DemoProgress? last = null;
        while (!watch.IsCancellationRequested)
        {
            try
            {
                last = await progress.ReadAsync(watch.Token);
                await output.WriteLineAsync(last.Line(clock.Elapsed));
            }
            catch (HttpRequestException ex)
            {
                await output.WriteLineAsync($"[{clock.Elapsed.TotalSeconds,4:0}s] progress unavailable: {ex.Message}");
            }
            catch (OperationCanceledException) when (watch.IsCancellationRequested)
            {
                break;
            }

            if (last is { Done: true } && !reported)
            {
                reported = true;
                await output.WriteLineAsync(string.Create(CultureInfo.InvariantCulture,
                    $"All done after {clock.Elapsed.TotalSeconds:0} s: {last.Provisioned}/{last.ProvisionTotal} devices provisioned; sweep {last.Sweep.RuntimeStatus}, " +
                    $"{last.Sweep.Findings} drift findings, {last.Sweep.Fixed} fixed; {last.Throttled} 429s absorbed. " +
                    $"Report: {app.BaseAddress}api/sweeps/{sweepId}/report?format=text&code={app.MasterKey}"));
                if (options.ExitWhenDone)
                {
                    return last.ProvisionFailed == 0 && last.Sweep.RuntimeStatus == "Completed" ? 0 : 1;
                }

                await output.WriteLineAsync("Everything keeps running for you to explore (URLs above); Ctrl+C stops it.");
            }

            if (await Task.WhenAny(anyExit, Task.Delay(ProgressInterval, watch.Token).ContinueWith(_ => { }, TaskScheduler.Default)) == anyExit)
            {
                var dead = _children.First(c => c.Exited.IsCompleted);
                throw new DemoException($"The {dead.Name} exited unexpectedly (code {await dead.Exited}). Its last lines ({Relative(dead.LogPath)}):\n{dead.Tail(25)}");
            }
        }

        if (duration.IsCancellationRequested && !stop.IsCancellationRequested)
        {
            await output.WriteLineAsync($"--duration {options.Duration!.Value.TotalSeconds:0} s reached.");
        }

        return 0;
    }

    private async Task PrintUrlsAsync(HostEndpoint app, AzuriteEndpoints storage, SimulatorEndpoint simulator, string sweepStatus, string sweepId, DemoRequest first)
    {
        var code = Uri.EscapeDataString(app.SystemKey);
        var lines = new[]
        {
            string.Empty,
            "Management URLs (the keys are this run's, generated at start):",
            $"  host health          {app.BaseAddress}admin/host/status",
            $"  provisionings        {app.BaseAddress}runtime/webhooks/durabletask/instances?instanceIdPrefix=provision-&code={code}",
            $"  one provisioning     {app.BaseAddress}runtime/webhooks/durabletask/instances/provision-{first.DeviceId.ToUpperInvariant()}?code={code}",
            $"  sweep status         {sweepStatus}",
            $"  sweep report         {app.BaseAddress}api/sweeps/{sweepId}/report?format=text&code={Uri.EscapeDataString(app.MasterKey)}",
            $"  start a dry run      curl -X POST -H 'x-functions-key: {app.MasterKey}' -H 'Content-Type: application/json' -d '{{\"dryRun\":true}}' {app.BaseAddress}api/sweeps",
            $"  simulator control    {simulator.BaseAddress}_sim/fleet   {simulator.BaseAddress}_sim/counters",
            $"  Azurite              blob {storage.Blob}   queue {storage.Queue}   table {storage.Table}",
            $"  logs                 {Relative(Path.Combine(DataFolder, "logs"))}/ (host.log, simulator.log, azurite.log)",
        };
        foreach (var line in lines)
        {
            await output.WriteLineAsync(line);
        }
    }

    private async Task<AzuriteEndpoints> StartAzuriteAsync(string logs, CancellationToken stop)
    {
        var azurite = Path.Combine(_root, "node_modules", ".bin", "azurite");
        if (!File.Exists(azurite))
        {
            throw new DemoException($"Azurite is not installed at {Relative(azurite)}: ./run installs it with npm ci.");
        }

        // Node exits when the demo's end of its stdin closes, so Azurite never outlives the demo, however it ends.
        var watchdog = Path.Combine(DataFolder, "azurite-watchdog.cjs");
        await File.WriteAllTextAsync(watchdog,
            "process.stdin.on('data', () => {}); process.stdin.on('end', () => process.exit(0)); process.stdin.on('error', () => process.exit(0)); process.stdin.resume();",
            stop);
        var defaults = new[] { 10000, 10001, 10002 };
        var ports = defaults.All(IsFree) ? defaults : [0, 0, 0];
        var child = Track(ChildProcess.Start("Azurite", "node",
            // --skipApiVersionCheck: the app's own blob client (Azure.Storage.Blobs in the worker) sends a service
            // version newer than Azurite knows (docs/local-host-storage.md).
            ["--require", watchdog, azurite, "--silent", "--inMemoryPersistence", "--skipApiVersionCheck",
             "--blobHost", "127.0.0.1", "--queueHost", "127.0.0.1", "--tableHost", "127.0.0.1",
             "--blobPort", Port(ports[0]), "--queuePort", Port(ports[1]), "--tablePort", Port(ports[2])],
            DataFolder, new Dictionary<string, string>(), Path.Combine(logs, "azurite.log"), keepStdinOpen: true));
        var endpoints = new Dictionary<string, string>();
        foreach (var service in new[] { "Blob", "Queue", "Table" })
        {
            var match = await child.WaitForLineAsync(new Regex($@"Azurite {service} service is successfully listening at (?<url>http://\S+)"), TimeSpan.FromSeconds(60), stop);
            endpoints[service] = match.Groups["url"].Value.TrimEnd('/') + "/devstoreaccount1";
        }

        var result = new AzuriteEndpoints(endpoints["Blob"], endpoints["Queue"], endpoints["Table"]);
        await output.WriteLineAsync($"  Azurite           blob {result.Blob}, queue {result.Queue} (in memory{(ports[0] == 0 ? "; default ports taken, so free ones" : string.Empty)})");
        return result;
    }

    private async Task<SimulatorEndpoint> StartSimulatorAsync(string dll, string logs, CancellationToken stop)
    {
        var port = IsFree(5080) ? 5080 : 0;
        var child = Track(ChildProcess.Start("simulator", "dotnet",
            [dll, "--port", Port(port), "--devices", Port(options.Devices), "--seed", Port(options.Seed),
             "--rate-limit", options.RateLimit.ToString(CultureInfo.InvariantCulture),
             "--fault-rate", options.FaultRate.ToString(CultureInfo.InvariantCulture),
             "--operation-delay-ms", "1000", "--install-delay-ms", "3000"],
            _root, new Dictionary<string, string>(), Path.Combine(logs, "simulator.log")));
        var address = await child.WaitForLineAsync(SimulatorListening(), TimeSpan.FromSeconds(60), stop);
        var endpoint = await child.WaitForLineAsync(new Regex(@"^IDENTITY_ENDPOINT=(?<v>\S+)"), TimeSpan.FromSeconds(10), stop);
        var header = await child.WaitForLineAsync(new Regex(@"^IDENTITY_HEADER=(?<v>\S+)"), TimeSpan.FromSeconds(10), stop);
        var fleet = await child.WaitForLineAsync(new Regex(@"^Fleet: (?<v>.+)$"), TimeSpan.FromSeconds(10), stop);
        var result = new SimulatorEndpoint(new Uri(address.Groups["url"].Value), endpoint.Groups["v"].Value, header.Groups["v"].Value);
        await output.WriteLineAsync(string.Create(CultureInfo.InvariantCulture,
            $"  fleet simulator   {result.BaseAddress} ({options.RateLimit} requests/s per tenant, {options.FaultRate:P0} injected 5xx; {fleet.Groups["v"].Value})"));
        return result;
    }

    /// <summary>
    /// The local functions host (<c>Fleet.Hosting.dll start</c>) on the app's build output; it starts the app's worker
    /// process itself and hands it its settings (local.settings.json there, then the environment, which wins).
    /// </summary>
    private async Task<HostEndpoint> StartHostAsync(string hostDll, string appFolder, AzuriteEndpoints storage, SimulatorEndpoint simulator,
        Fleet.Simulator.IoTConnect.IoTConnectSolutionDescription solution, string policyPath, string logs, CancellationToken stop)
    {
        var port = IsFree(7071) ? 7071 : 0;
        var masterKey = NewKey();
        var systemKey = NewKey();
        var store = Path.Combine(DataFolder, "durabletask.db");
        var environment = new Dictionary<string, string>
        {
            // Everything this run needs comes through the environment, which takes precedence over the
            // local.settings.json the build copies next to the app.
            ["AzureWebJobsStorage"] = storage.ConnectionString,
            ["DurableTask__Backend__SqlitePath"] = store,
            // A PostgreSQL store in a developer's local.settings.json would win over the SQLite file; the demo's is empty.
            ["DurableTask__Backend__PostgresConnectionString"] = string.Empty,
            ["Host__ShutdownTimeout"] = "00:00:10",
            ["FunctionKeys__Master"] = masterKey,
            ["FunctionKeys__DurableTask"] = systemKey,
            ["IDENTITY_ENDPOINT"] = simulator.IdentityEndpoint,
            ["IDENTITY_HEADER"] = simulator.IdentityHeader,
            ["Sphere__endpoint"] = simulator.BaseAddress.AbsoluteUri,
            ["Sphere__credential"] = "managedidentity",
            // The simulator's IoT Central application "contoso" (the same identity) and IoTConnect solution A, whose
            // credentials the simulator made up at start (the app reads them like real ones: never logged).
            ["IoTCentral__endpoint"] = new Uri(simulator.BaseAddress, "iotc/contoso/api/").AbsoluteUri,
            ["IoTCentral__credential"] = "managedidentity",
            ["IoTConnect__authUrl"] = new Uri(simulator.BaseAddress, "iotconnect/auth/api/v2/").AbsoluteUri,
            ["IoTConnect__deviceUrl"] = new Uri(simulator.BaseAddress, "iotconnect/device/api/v2/").AbsoluteUri,
            ["IoTConnect__userUrl"] = new Uri(simulator.BaseAddress, "iotconnect/user/api/v2/").AbsoluteUri,
            ["IoTConnect__firmwareUrl"] = new Uri(simulator.BaseAddress, "iotconnect/firmware/api/v2/").AbsoluteUri,
            ["IoTConnect__username"] = solution.Username,
            ["IoTConnect__password"] = solution.Password,
            ["IoTConnect__solutionKey"] = solution.SolutionKey,

            // The simulated IoTConnect throttles with 429 only, and the demo's injected faults include random 503s: with
            // the client's default (a 503 teaches the limiter like a 429, for a service that throttles with 503) those
            // faults would drag its rate down and IoTConnect's remediations would trail the demo (docs/iotconnect.md).
            ["IoTConnect__learnFromServiceUnavailable"] = "false",
            ["Provisioning__Queue"] = HostQueue,
            // Nightly, as the app's default: the demo starts its sweep over HTTP; the timer only has to load.
            ["ComplianceSweep__Schedule"] = "0 0 2 * * *",
            ["ComplianceSweep__PolicyPath"] = policyPath,
            ["ComplianceSweep__Mode"] = "remediate",
            ["Orchestrations__OperationPollInterval"] = "00:00:01",
        };
        var child = Track(ChildProcess.Start(HostName, "dotnet",
            [hostDll, "start", "--script-root", appFolder, "--port", Port(port)], _root, environment, Path.Combine(logs, "host.log")));
        var started = await child.WaitForLineAsync(HostListening(), TimeSpan.FromSeconds(90), stop);
        var result = new HostEndpoint(new Uri(started.Groups["address"].Value), masterKey, systemKey);
        await output.WriteLineAsync($"  function host     {result.BaseAddress} (worker pid {started.Groups["worker"].Value}; durable store {Relative(store)})");
        return result;
    }

    private ChildProcess Track(ChildProcess child)
    {
        _children.Add(child);
        return child;
    }

    /// <summary>The host first (it finishes in-flight work against the others), then the simulator, then Azurite.</summary>
    private async Task StopChildrenAsync()
    {
        if (_children.Count == 0)
        {
            return;
        }

        await output.WriteLineAsync("Stopping...");
        var stopped = new List<string>();
        foreach (var child in Enumerable.Reverse(_children))
        {
            try
            {
                // The host stops its worker itself; the demo checks it did, so no worker outlives the demo either.
                var workers = child.Name == HostName ? child.ChildIds() : [];

                // The host gets its own shutdown timeout (Host:ShutdownTimeout, 10 s), then up to 5 s for its worker to exit.
                var (code, killed) = await child.StopAsync(TimeSpan.FromSeconds(child.Name == HostName ? 20 : 5));
                stopped.Add($"{child.Name} (pid {child.Id}) {(killed ? "killed after its grace period" : $"exited {code}")}");
                foreach (var worker in workers)
                {
                    var left = ChildProcess.IsRunning(worker);
                    ChildProcess.Kill(worker);
                    stopped.Add($"its worker (pid {worker}) {(left ? "was left running and killed" : "exited with it")}");
                }
            }
            catch (Exception ex)
            {
                stopped.Add($"{child.Name} (pid {child.Id}) could not be stopped cleanly: {ex.Message}");
            }
            finally
            {
                // Disposing kills whatever is still running: nothing outlives the demo.
                await child.DisposeAsync();
            }
        }

        await output.WriteLineAsync("Stopped: " + string.Join("; ", stopped) + ".");
        _children.Clear();
    }

    private string BuiltDll(string project, string dll)
    {
        var configuration = typeof(DemoRun).Assembly.GetCustomAttribute<AssemblyConfigurationAttribute>()?.Configuration ?? "Debug";
        var path = Path.Combine(_root, "src", project, "bin", configuration, "net10.0", dll);
        return File.Exists(path) ? path : throw new DemoException($"{Relative(path)} is missing: ./run builds it (dotnet build tools/Demo).");
    }

    private string Relative(string path) => Path.GetRelativePath(_root, path);

    private static bool IsFree(int port)
    {
        try
        {
            using var listener = new TcpListener(IPAddress.Loopback, port);
            listener.Start();
            return true;
        }
        catch (SocketException)
        {
            return false;
        }
    }

    private static string Port(int port) => port.ToString(CultureInfo.InvariantCulture);

    private static string NewKey() => Convert.ToBase64String(RandomNumberGenerator.GetBytes(24)).Replace('+', '-').Replace('/', '_');

    private static string RepoRoot()
    {
        for (var dir = new DirectoryInfo(AppContext.BaseDirectory); dir is not null; dir = dir.Parent)
        {
            if (File.Exists(Path.Combine(dir.FullName, "Functions.sln")))
            {
                return dir.FullName;
            }
        }

        throw new DemoException($"Functions.sln not found above {AppContext.BaseDirectory}: run the demo from the repository (./run).");
    }

    private const string HostQueue = "provisioning-requests";

    private const string HostName = "function host";

    [GeneratedRegex(@"listening on (?<url>http://\S+/)")]
    private static partial Regex SimulatorListening();

    // StartupSummary's last line: "Worker process 123 (worker 2.52.0). Listening on http://127.0.0.1:7071/; press Ctrl+C to stop."
    [GeneratedRegex(@"^Worker process (?<worker>\d+) .*Listening on (?<address>http://\S+/);")]
    private static partial Regex HostListening();

    private sealed record AzuriteEndpoints(string Blob, string Queue, string Table)
    {
        public string ConnectionString =>
            "DefaultEndpointsProtocol=http;AccountName=devstoreaccount1;" +
            "AccountKey=Eby8vdM02xNOcqFlqUwJPLlmEtlCDXJ1OUzFT50uSRZ6IFsuFq2UVErCz4I6tq/K1SZFPTOtr/KBHBeksoGMGw==;" +
            $"BlobEndpoint={Blob};QueueEndpoint={Queue};TableEndpoint={Table};";
    }

    private sealed record SimulatorEndpoint(Uri BaseAddress, string IdentityEndpoint, string IdentityHeader);

    private sealed record HostEndpoint(Uri BaseAddress, string MasterKey, string SystemKey);
}
