using System.Diagnostics;
using Fleet.Durable;
using Fleet.Durable.Client;

namespace Fleet.Bench.Durable;

/// <summary>
/// One orchestration calling 1,000 activities in sequence. A step is the time from one activity starting to the next
/// one starting: result commit, orchestration episode, its commit, and the next dispatch. Also reports replay_ratio:
/// the step time at about 2,000 history events divided by the step time at about 20.
/// </summary>
public sealed class ChainBenchmark : IBenchmark
{
    private const int Steps = 1000;

    public string Name => "chain";

    public IReadOnlyList<string> Figures => ["chain_step_p50_ms", "replay_ratio"];

    public async Task RunAsync(BenchReporter reporter, CancellationToken cancellationToken)
    {
        await RunChainAsync(100, null, cancellationToken); // warm-up
        var steps = await RunChainAsync(Steps, null, cancellationToken);
        reporter.Note($"chain: step p50 {Stats.Format(Stats.Percentile(steps, 50))} ms, p90 {Stats.Format(Stats.Percentile(steps, 90))} ms, p99 {Stats.Format(Stats.Percentile(steps, 99))} ms over {steps.Count} steps");
        reporter.Report("chain_step_p50_ms", Stats.Percentile(steps, 50), "ms");

        // Each step adds 3 events (OrchestratorStarted, TaskCompleted, TaskScheduled): ~20 events around step 6,
        // ~2,000 around step 666. Medians over 31 steps on either side.
        var early = Window(steps, 6);
        var late = Window(steps, 666);
        reporter.Note($"replay: step median {Stats.Format(early)} ms at ~20 events, {Stats.Format(late)} ms at ~2,000 events (cached executor, default settings)");
        reporter.Report("replay_ratio", late / early, "ratio");

        // The same chain with the executor cache off replays the whole history on every step; shown for honesty.
        var uncached = await RunChainAsync(700, o => o.CacheSize = 0, cancellationToken);
        var uncachedEarly = Window(uncached, 6);
        var uncachedLate = Window(uncached, 666);
        reporter.Note($"replay with CacheSize=0 (full replay per step): {Stats.Format(uncachedEarly)} ms at ~20 events, {Stats.Format(uncachedLate)} ms at ~2,000 events, ratio {Stats.Format(uncachedLate / uncachedEarly)}");
    }

    private static double Window(List<double> steps, int center) =>
        Stats.Percentile(steps.Skip(Math.Max(0, center - 15)).Take(31).ToList(), 50);

    private static async Task<List<double>> RunChainAsync(int count, Action<DurableTaskOptions>? configure, CancellationToken cancellationToken)
    {
        var starts = new long[count];
        await using var host = await DurableBenchHost.StartAsync(
            r => r
                .AddOrchestratorFunc<int, int>("Chain", async (ctx, n) =>
                {
                    var total = 0;
                    for (var i = 0; i < n; i++)
                    {
                        total += await ctx.CallActivityAsync<int>("Step", i);
                    }

                    return total;
                })
                .AddActivityFunc<int, int>("Step", (_, i) =>
                {
                    starts[i] = Stopwatch.GetTimestamp();
                    return 1;
                }),
            configure);

        var id = await host.Client.ScheduleNewOrchestrationInstanceAsync("Chain", count, cancellationToken);
        var done = await host.Client.WaitForInstanceCompletionAsync(id, true, cancellationToken);
        if (done.RuntimeStatus != OrchestrationRuntimeStatus.Completed || done.ReadOutputAs<int>() != count)
        {
            throw new InvalidOperationException($"The chain ended {done.RuntimeStatus}: {done.FailureDetails}");
        }

        return Enumerable.Range(1, count - 1).Select(i => Stats.Milliseconds(starts[i - 1], starts[i])).ToList();
    }
}
