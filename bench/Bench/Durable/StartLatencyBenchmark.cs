using System.Diagnostics;

namespace Fleet.Bench.Durable;

/// <summary>From the schedule call to the first activity starting, on an idle worker (50 samples, 50 ms apart).</summary>
public sealed class StartLatencyBenchmark : IBenchmark
{
    private const int Samples = 50;

    public string Name => "start";

    public IReadOnlyList<string> Figures => ["start_latency_p50_ms"];

    public async Task RunAsync(BenchReporter reporter, CancellationToken cancellationToken)
    {
        long activityStarted = 0;
        await using var host = await DurableBenchHost.StartAsync(r => r
            .AddOrchestratorFunc<object?, int>("Start", async (ctx, _) => await ctx.CallActivityAsync<int>("First"))
            .AddActivityFunc<object?, int>("First", (_, _) =>
            {
                Volatile.Write(ref activityStarted, Stopwatch.GetTimestamp());
                return 1;
            }));

        var latencies = new List<double>();
        for (var i = 0; i < Samples + 5; i++)
        {
            await Task.Delay(50, cancellationToken); // idle: nothing queued, dispatchers waiting
            var scheduled = Stopwatch.GetTimestamp();
            var id = await host.Client.ScheduleNewOrchestrationInstanceAsync("Start", cancellationToken);
            await host.Client.WaitForInstanceCompletionAsync(id, cancellationToken);
            if (i >= 5)
            {
                latencies.Add(Stats.Milliseconds(scheduled, Volatile.Read(ref activityStarted)));
            }
        }

        reporter.Note($"start: p50 {Stats.Format(Stats.Percentile(latencies, 50))} ms, p90 {Stats.Format(Stats.Percentile(latencies, 90))} ms, max {Stats.Format(latencies.Max())} ms over {Samples} samples");
        reporter.Report("start_latency_p50_ms", Stats.Percentile(latencies, 50), "ms");
    }
}
