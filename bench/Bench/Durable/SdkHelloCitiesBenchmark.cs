using System.Diagnostics;
using Microsoft.DurableTask;
using Microsoft.DurableTask.Client;

namespace Fleet.Bench.Durable;

/// <summary>
/// HelloCities5 through the real SDK: 2,000 orchestrations of 5 sequential activities run by a standalone
/// Microsoft.DurableTask.Worker.Grpc worker against the sidecar backend (SQLite), scheduled and awaited by the SDK's
/// gRPC client, warm (3,000 first, on the same host). Timed from the first schedule call to the last completion.
/// </summary>
public sealed class SdkHelloCitiesBenchmark : IBenchmark
{
    private const int Orchestrations = 2000;
    private const string Expected = "Hello Tokyo! Hello Seattle! Hello London! Hello Cairo! Hello Lima!";
    private static readonly string[] Cities = ["Tokyo", "Seattle", "London", "Cairo", "Lima"];

    public string Name => "sdk-hello5";

    public IReadOnlyList<string> Figures => ["sdk_hello5_orch_per_s"];

    public async Task RunAsync(BenchReporter reporter, CancellationToken cancellationToken)
    {
        await using var host = await SdkBenchHost.StartAsync(Register);
        await RunOnceAsync(host.Client, Host.HostHelloCitiesBenchmark.WarmUpOrchestrations, cancellationToken); // warm-up (tiered JIT, connections), same host
        using var process = Process.GetCurrentProcess();
        var cpuBefore = process.TotalProcessorTime;
        var elapsed = await RunOnceAsync(host.Client, Orchestrations, cancellationToken);
        process.Refresh();
        var cpu = process.TotalProcessorTime - cpuBefore;
        reporter.Note($"sdk-hello5: {Orchestrations} orchestrations x 5 activities in {elapsed.TotalSeconds:0.00} s through the SDK worker and client over gRPC; " +
            $"process CPU {cpu.TotalMilliseconds / Orchestrations:0.00} ms per orchestration (SDK worker, SDK client, backend and store together)");
        reporter.Report("sdk_hello5_orch_per_s", Orchestrations / elapsed.TotalSeconds, "orch/s");
    }

    private static void Register(DurableTaskRegistry r) => r
        .AddOrchestratorFunc<object?, string>("HelloCities5", async (ctx, _) =>
        {
            var greetings = new List<string>(Cities.Length);
            foreach (var city in Cities)
            {
                greetings.Add(await ctx.CallActivityAsync<string>("SayHello", city));
            }

            return string.Join(" ", greetings);
        })
        .AddActivityFunc<string, string>("SayHello", (_, city) => Task.FromResult($"Hello {city}!"));

    private static async Task<TimeSpan> RunOnceAsync(DurableTaskClient client, int count, CancellationToken cancellationToken)
    {
        var started = Stopwatch.GetTimestamp();
        var ids = await Task.WhenAll(Enumerable.Range(0, count).Select(_ =>
            client.ScheduleNewOrchestrationInstanceAsync("HelloCities5", cancellationToken)));
        var results = await Task.WhenAll(ids.Select(id => client.WaitForInstanceCompletionAsync(id, getInputsAndOutputs: true, cancellationToken)));
        var elapsed = Stopwatch.GetElapsedTime(started);
        var wrong = results.Count(r => r.RuntimeStatus != OrchestrationRuntimeStatus.Completed || r.ReadOutputAs<string>() != Expected);
        return wrong == 0 ? elapsed : throw new InvalidOperationException($"{wrong} orchestrations did not complete with the expected output.");
    }
}
