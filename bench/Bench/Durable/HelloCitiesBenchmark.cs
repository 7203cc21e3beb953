using System.Diagnostics;
using Fleet.Durable.Client;

namespace Fleet.Bench.Durable;

/// <summary>
/// HelloCities5, the shape of the Durable Functions / Netherite / DTS benchmarks: 2,000 orchestrations each calling 5
/// sequential echo activities. Timed from the first schedule call to the last completion, all through the store.
/// </summary>
public sealed class HelloCitiesBenchmark : IBenchmark
{
    private const int Orchestrations = 2000;
    private static readonly string[] Cities = ["Tokyo", "Seattle", "London", "Cairo", "Lima"];

    public string Name => "hello5";

    public IReadOnlyList<string> Figures => ["hello5_orch_per_s"];

    public async Task RunAsync(BenchReporter reporter, CancellationToken cancellationToken)
    {
        await RunOnceAsync(200, cancellationToken); // warm-up (JIT), on its own database
        using var process = System.Diagnostics.Process.GetCurrentProcess();
        var cpuBefore = process.TotalProcessorTime;
        var elapsed = await RunOnceAsync(Orchestrations, cancellationToken);
        process.Refresh();
        var cpu = process.TotalProcessorTime - cpuBefore;

        // CPU per orchestration does not depend on how busy the shared machine is; throughput does.
        reporter.Note($"hello5: {Orchestrations} orchestrations x 5 activities in {elapsed.TotalSeconds:0.00} s ({Orchestrations * 11 / elapsed.TotalSeconds:0} work items/s: start + 5 dispatches + 5 results); " +
            $"process CPU {cpu.TotalMilliseconds / Orchestrations:0.00} ms per orchestration (client, worker and store together), machine load average {LoadAverage()}");
        reporter.Report("hello5_orch_per_s", Orchestrations / elapsed.TotalSeconds, "orch/s");
    }

    private static string LoadAverage() =>
        File.Exists("/proc/loadavg") ? File.ReadAllText("/proc/loadavg").Split(' ')[0] : "unknown";

    private static async Task<TimeSpan> RunOnceAsync(int count, CancellationToken cancellationToken)
    {
        await using var host = await DurableBenchHost.StartAsync(r => r
            .AddOrchestratorFunc<object?, string>("HelloCities5", async (ctx, _) =>
            {
                var greetings = new List<string>(Cities.Length);
                foreach (var city in Cities)
                {
                    greetings.Add(await ctx.CallActivityAsync<string>("SayHello", city));
                }

                return string.Join(" ", greetings);
            })
            .AddActivityFunc<string, string>("SayHello", (_, city) => $"Hello {city}!"));

        var started = Stopwatch.GetTimestamp();
        var ids = await Task.WhenAll(Enumerable.Range(0, count).Select(_ =>
            host.Client.ScheduleNewOrchestrationInstanceAsync("HelloCities5", cancellation: cancellationToken)));
        var results = await Task.WhenAll(ids.Select(id => host.Client.WaitForInstanceCompletionAsync(id, true, cancellationToken)));
        var elapsed = Stopwatch.GetElapsedTime(started);

        const string expected = "Hello Tokyo! Hello Seattle! Hello London! Hello Cairo! Hello Lima!";
        var wrong = results.Count(r => r.RuntimeStatus != OrchestrationRuntimeStatus.Completed || r.ReadOutputAs<string>() != expected);
        return wrong == 0 ? elapsed : throw new InvalidOperationException($"{wrong} orchestrations did not complete with the expected output.");
    }
}
