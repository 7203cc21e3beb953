using System.Diagnostics;
using System.Globalization;
using System.Text.Json;
using Fleet.Durable.Postgres;

namespace Fleet.Bench.Durable;

/// <summary>
/// A worker host for <see cref="SdkPostgresHelloCitiesBenchmark"/> in its own process: this executable run as
/// <c>Fleet.Bench sdk-pg-host-process</c> with the connection in environment variables. It runs the sidecar backend on
/// the PostgreSQL store with a standalone SDK worker (default settings) until its stdin closes, printing
/// <c>READY &lt;sidecar address&gt;</c> and then <c>WORK &lt;activities&gt;</c> and <c>STATS &lt;store counters&gt;</c>
/// lines. Run without those variables (as part of a plain <c>bench/run</c>) it does nothing.
/// </summary>
public sealed class SdkPostgresHostProcess : IBenchmark
{
    /// <summary>The orchestrator the hosts run.</summary>
    public const string Orchestrator = "HelloCities5";

    private const string ConnectionVariable = "FLEET_BENCH_PG_CONNECTION";
    private static readonly string[] Cities = ["Tokyo", "Seattle", "London", "Cairo", "Lima"];

    private readonly Process? _process;
    private readonly TaskCompletionSource<Uri> _ready = new(TaskCreationOptions.RunContinuationsAsynchronously);
    private volatile int _activities;
    private volatile PostgresStoreStatistics? _statistics;

    /// <summary>Created by the benchmark runner (the host side).</summary>
    public SdkPostgresHostProcess()
    {
    }

    private SdkPostgresHostProcess(Process process) => _process = process;

    public string Name => "sdk-pg-host-process";

    public IReadOnlyList<string> Figures => [];

    /// <summary>Completes with the host's sidecar address when it reported READY.</summary>
    public Task<Uri> Ready => _ready.Task;

    /// <summary>Activities this host ran so far (its last WORK line).</summary>
    public int Activities => _activities;

    /// <summary>The store's counters so far (its last STATS line); null until the first.</summary>
    public PostgresStoreStatistics? Statistics => _statistics;

    /// <summary>CPU the host process used so far.</summary>
    public TimeSpan Cpu
    {
        get
        {
            _process!.Refresh();
            return _process.TotalProcessorTime;
        }
    }

    /// <summary>Starts a host process on the database of <paramref name="connectionString"/>.</summary>
    public static SdkPostgresHostProcess Start(string connectionString)
    {
        var info = new ProcessStartInfo(Environment.GetEnvironmentVariable("DOTNET_HOST_PATH") ?? "dotnet")
        {
            RedirectStandardInput = true,
            RedirectStandardOutput = true,
            RedirectStandardError = true,
            UseShellExecute = false,
        };
        info.ArgumentList.Add(typeof(SdkPostgresHostProcess).Assembly.Location);
        info.ArgumentList.Add("sdk-pg-host-process");
        info.Environment[ConnectionVariable] = connectionString;
        info.Environment["DOTNET_gcServer"] = "0";
        var process = Process.Start(info) ?? throw new InvalidOperationException("Could not start a benchmark host process.");
        var host = new SdkPostgresHostProcess(process);
        process.OutputDataReceived += (_, e) => host.OnLine(e.Data);
        process.ErrorDataReceived += (_, e) =>
        {
            if (!string.IsNullOrEmpty(e.Data))
            {
                Console.Error.WriteLine($"[pg host {process.Id}] {e.Data}");
            }
        };
        process.BeginOutputReadLine();
        process.BeginErrorReadLine();
        return host;
    }

    /// <summary>Runs the host when started by <see cref="Start"/>; otherwise says why it does nothing.</summary>
    public async Task RunAsync(BenchReporter reporter, CancellationToken cancellationToken)
    {
        var connection = Environment.GetEnvironmentVariable(ConnectionVariable);
        if (string.IsNullOrEmpty(connection))
        {
            reporter.Note("sdk-pg-host-process runs only as a child of the sdk-pg-hello5 benchmark; skipped.");
            return;
        }

        var activities = 0;
        await using var host = await SdkBenchHost.StartAsync(
            r => r
                .AddOrchestratorFunc<object?, string>(Orchestrator, async (ctx, _) =>
                {
                    var greetings = new List<string>(Cities.Length);
                    foreach (var city in Cities)
                    {
                        greetings.Add(await ctx.CallActivityAsync<string>("SayHello", city));
                    }

                    return string.Join(" ", greetings);
                })
                .AddActivityFunc<string, string>("SayHello", (_, city) =>
                {
                    Interlocked.Increment(ref activities);
                    return $"Hello {city}!";
                }),
            new Dictionary<string, string?> { ["DurableTask:Backend:PostgresConnectionString"] = connection });
        var store = (PostgresOrchestrationStore)host.Store;
        await host.Backend.StartAsync(cancellationToken);
        Console.WriteLine($"READY {host.Address}");
        using var stdinClosed = new CancellationTokenSource();
        var watch = Task.Run(async () =>
        {
            while (await Console.In.ReadLineAsync(cancellationToken) is not null)
            {
            }

            await stdinClosed.CancelAsync();
        }, CancellationToken.None);
        while (!stdinClosed.IsCancellationRequested)
        {
            Console.WriteLine($"WORK {Volatile.Read(ref activities).ToString(CultureInfo.InvariantCulture)}");
            Console.WriteLine($"STATS {JsonSerializer.Serialize(store.GetStatistics())}");
            try
            {
                await Task.Delay(100, stdinClosed.Token);
            }
            catch (OperationCanceledException)
            {
                break;
            }
        }

        await watch;
    }

    /// <summary>Closes the host's stdin (it stops its worker and exits) and waits for it.</summary>
    public async ValueTask DisposeAsync()
    {
        if (_process is null)
        {
            return;
        }

        try
        {
            _process.StandardInput.Close();
            using var wait = new CancellationTokenSource(TimeSpan.FromSeconds(20));
            await _process.WaitForExitAsync(wait.Token);
        }
        catch (OperationCanceledException)
        {
            _process.Kill(entireProcessTree: true);
        }
        finally
        {
            _process.Dispose();
        }
    }

    private void OnLine(string? line)
    {
        if (line is not null && line.StartsWith("READY ", StringComparison.Ordinal))
        {
            _ready.TrySetResult(new Uri(line[6..]));
        }
        else if (line is not null && line.StartsWith("WORK ", StringComparison.Ordinal) && int.TryParse(line.AsSpan(5), CultureInfo.InvariantCulture, out var activities))
        {
            _activities = activities;
        }
        else if (line is not null && line.StartsWith("STATS ", StringComparison.Ordinal))
        {
            _statistics = JsonSerializer.Deserialize<PostgresStoreStatistics>(line.AsSpan(6));
        }
    }
}
