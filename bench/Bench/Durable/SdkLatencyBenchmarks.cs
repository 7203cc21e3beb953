using System.Diagnostics;
using Microsoft.DurableTask.Client;

namespace Fleet.Bench.Durable;

/// <summary>
/// Latency through the real SDK's standalone worker and client: the start latency (schedule call to the first activity
/// starting, idle worker, 50 samples) and a fan-out of 1,000 activities with fan-in (schedule call to observed completion).
/// </summary>
public sealed class SdkLatencyBenchmarks : IBenchmark
{
    private const int Samples = 50;
    private const int FanOut = 1000;

    public string Name => "sdk-latency";

    public IReadOnlyList<string> Figures => ["sdk_start_latency_p50_ms", "sdk_fanout1000_ms"];

    public async Task RunAsync(BenchReporter reporter, CancellationToken cancellationToken)
    {
        long activityStarted = 0;
        await using var host = await SdkBenchHost.StartAsync(r => r
            .AddOrchestratorFunc<object?, int>("Start", async (ctx, _) => await ctx.CallActivityAsync<int>("First"))
            .AddActivityFunc<object?, int>("First", (_, _) =>
            {
                Volatile.Write(ref activityStarted, Stopwatch.GetTimestamp());
                return Task.FromResult(1);
            })
            .AddOrchestratorFunc<int, int>("FanOut", async (ctx, n) =>
                (await Task.WhenAll(Enumerable.Range(0, n).Select(i => ctx.CallActivityAsync<int>("One", i)))).Sum())
            .AddActivityFunc<int, int>("One", (_, _) => Task.FromResult(1)));

        var latencies = new List<double>();
        for (var i = 0; i < Samples + 5; i++)
        {
            await Task.Delay(50, cancellationToken); // idle: nothing queued, the worker's stream waiting
            var scheduled = Stopwatch.GetTimestamp();
            var id = await host.Client.ScheduleNewOrchestrationInstanceAsync("Start", cancellationToken);
            await host.Client.WaitForInstanceCompletionAsync(id, cancellationToken);
            if (i >= 5)
            {
                latencies.Add(Stats.Milliseconds(scheduled, Volatile.Read(ref activityStarted)));
            }
        }

        reporter.Note($"sdk start: p50 {Stats.Format(Stats.Percentile(latencies, 50))} ms, p90 {Stats.Format(Stats.Percentile(latencies, 90))} ms, max {Stats.Format(latencies.Max())} ms over {Samples} samples");
        reporter.Report("sdk_start_latency_p50_ms", Stats.Percentile(latencies, 50), "ms");

        await RunFanOutAsync(host.Client, 200, cancellationToken); // warm-up
        var runs = new List<double>();
        for (var i = 0; i < 3; i++)
        {
            runs.Add(await RunFanOutAsync(host.Client, FanOut, cancellationToken));
        }

        reporter.Note($"sdk fan-out {FanOut}: {string.Join(", ", runs.Select(Stats.Format))} ms (median reported)");
        reporter.Report("sdk_fanout1000_ms", Stats.Percentile(runs, 50), "ms");
    }

    private static async Task<double> RunFanOutAsync(DurableTaskClient client, int n, CancellationToken cancellationToken)
    {
        var started = Stopwatch.GetTimestamp();
        var id = await client.ScheduleNewOrchestrationInstanceAsync("FanOut", n, cancellationToken);
        var done = await client.WaitForInstanceCompletionAsync(id, getInputsAndOutputs: true, cancellationToken);
        var elapsed = Stats.Milliseconds(started, Stopwatch.GetTimestamp());
        return done.RuntimeStatus == OrchestrationRuntimeStatus.Completed && done.ReadOutputAs<int>() == n
            ? elapsed
            : throw new InvalidOperationException($"The fan-out ended {done.RuntimeStatus}: {done.FailureDetails}");
    }
}
