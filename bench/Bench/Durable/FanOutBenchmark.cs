using System.Diagnostics;
using Fleet.Durable.Client;

namespace Fleet.Bench.Durable;

/// <summary>Fan-out of 1,000 activities and fan-in, timed from the schedule call to the observed completion.</summary>
public sealed class FanOutBenchmark : IBenchmark
{
    public string Name => "fanout";

    public IReadOnlyList<string> Figures => ["fanout1000_ms"];

    public async Task RunAsync(BenchReporter reporter, CancellationToken cancellationToken)
    {
        await using var host = await DurableBenchHost.StartAsync(r => r
            .AddOrchestratorFunc<int, long>("FanOut", async (ctx, n) =>
                (await Task.WhenAll(Enumerable.Range(0, n).Select(i => ctx.CallActivityAsync<long>("Work", i)))).Sum())
            .AddActivityFunc<int, long>("Work", (_, i) => i));

        await RunAsync(host.Client, 200, cancellationToken); // warm-up
        var runs = new List<double>();
        for (var i = 0; i < 3; i++)
        {
            runs.Add(await RunAsync(host.Client, 1000, cancellationToken));
        }

        reporter.Note($"fanout: 3 runs of 1,000 activities: {string.Join(", ", runs.Select(Stats.Format))} ms; reporting the median");
        reporter.Report("fanout1000_ms", Stats.Percentile(runs, 50), "ms");
    }

    private static async Task<double> RunAsync(DurableTaskClient client, int n, CancellationToken cancellationToken)
    {
        var started = Stopwatch.GetTimestamp();
        var id = await client.ScheduleNewOrchestrationInstanceAsync("FanOut", n, cancellationToken);
        var done = await client.WaitForInstanceCompletionAsync(id, true, cancellationToken);
        var elapsed = Stopwatch.GetElapsedTime(started).TotalMilliseconds;
        return done.RuntimeStatus == OrchestrationRuntimeStatus.Completed && done.ReadOutputAs<long>() == (long)n * (n - 1) / 2
            ? elapsed
            : throw new InvalidOperationException($"The fan-out ended {done.RuntimeStatus}: {done.FailureDetails}");
    }
}
