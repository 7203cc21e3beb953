using System.Diagnostics;
using System.Globalization;
using Microsoft.DurableTask;
using Microsoft.DurableTask.Client;

namespace Fleet.Bench.Durable;

/// <summary>
/// Process memory (RSS) with 10,000 instances waiting on external events, through the real SDK: the sidecar backend on
/// SQLite with default settings (its history cache holds all of them), a standalone Worker.Grpc worker and the
/// Client.Grpc client, in one fresh child process so that earlier benchmarks do not inflate it.
/// </summary>
public sealed class SdkWaitingMemoryBenchmark : IBenchmark
{
    private const string ChildVariable = "FLEET_BENCH_RSS_CHILD";
    private const int Instances = 10_000;
    private const string Figure = "sdk_rss_mb_10k_waiting";

    public string Name => "sdk-rss";

    public IReadOnlyList<string> Figures => [Figure];

    public async Task RunAsync(BenchReporter reporter, CancellationToken cancellationToken)
    {
        if (Environment.GetEnvironmentVariable(ChildVariable) == "1")
        {
            await MeasureAsync(reporter, cancellationToken);
            return;
        }

        var start = new ProcessStartInfo(Environment.ProcessPath!, $"\"{typeof(SdkWaitingMemoryBenchmark).Assembly.Location}\" {Figure}")
        {
            RedirectStandardOutput = true,
            UseShellExecute = false,
        };
        start.Environment[ChildVariable] = "1";
        using var child = Process.Start(start)!;
        string? line;
        while ((line = await child.StandardOutput.ReadLineAsync(cancellationToken)) is not null)
        {
            var parts = line.Split(' ');
            if (parts is ["BENCH", var name, var value, var unit])
            {
                reporter.Report(name, double.Parse(value, CultureInfo.InvariantCulture), unit);
            }
            else if (line.StartsWith("# sdk-rss", StringComparison.Ordinal))
            {
                reporter.Note(line[2..]);
            }
        }

        await child.WaitForExitAsync(cancellationToken);
        if (child.ExitCode != 0)
        {
            throw new InvalidOperationException($"The measuring process exited with {child.ExitCode}.");
        }
    }

    private static async Task MeasureAsync(BenchReporter reporter, CancellationToken cancellationToken)
    {
        await using var host = await SdkBenchHost.StartAsync(r => r.AddOrchestratorFunc<int, int>("Waiter", async (ctx, n) =>
            await ctx.WaitForExternalEvent<int>("Go") + n));
        var baseline = SettledRssMegabytes();

        for (var i = 0; i < Instances; i += 500)
        {
            await Task.WhenAll(Enumerable.Range(i, 500).Select(n =>
                host.Client.ScheduleNewOrchestrationInstanceAsync("Waiter", n, new StartOrchestrationOptions($"waiter-{n:D5}"), cancellationToken)));
        }

        var deadline = Stopwatch.StartNew();
        while (await CountRunningAsync(host.Client) < Instances)
        {
            if (deadline.Elapsed > TimeSpan.FromMinutes(2))
            {
                throw new TimeoutException("The waiting instances did not all start.");
            }

            await Task.Delay(200, cancellationToken);
        }

        GC.Collect();
        var beforeSettling = CurrentRssMegabytes();
        var rss = SettledRssMegabytes();
        var gc = GC.GetGCMemoryInfo();
        reporter.Note($"sdk-rss: {beforeSettling:0.0} MB right after the instances started (the GC still holds garbage from scheduling them), {rss:0.0} MB after aggressive collections");
        reporter.Note($"sdk-rss: {rss:0.0} MB with {Instances} waiting instances, {baseline:0.0} MB before scheduling (backend, store, SDK worker and client); " +
            $"managed heap {GC.GetTotalMemory(false) / 1048576.0:0.0} MB live, {gc.TotalCommittedBytes / 1048576.0:0.0} MB committed by the GC; " +
            $"SQLite {SQLitePCL.raw.sqlite3_memory_used() / 1048576.0:0.0} MB");
        reporter.Report(Figure, rss, "MB");

        // Prove they are really waiting: one event completes one of them.
        await host.Client.RaiseEventAsync("waiter-00042", "Go", 1, cancellationToken);
        var done = await host.Client.WaitForInstanceCompletionAsync("waiter-00042", getInputsAndOutputs: true, cancellationToken);
        if (done.ReadOutputAs<int>() != 43)
        {
            throw new InvalidOperationException("A waiting instance did not resume correctly.");
        }
    }

    private static async Task<int> CountRunningAsync(DurableTaskClient client)
    {
        var count = 0;
        await foreach (var _ in client.GetAllInstancesAsync(new OrchestrationQuery { Statuses = [OrchestrationRuntimeStatus.Running], PageSize = 1000 }))
        {
            count++;
        }

        return count;
    }

    private static double SettledRssMegabytes()
    {
        // The GC hands free memory back to the OS in steps after collections; a few collections a moment apart let a
        // burst of scheduling garbage go, so the figure shows what the waiting instances hold.
        for (var i = 0; i < 5; i++)
        {
            GC.Collect(GC.MaxGeneration, GCCollectionMode.Aggressive, blocking: true, compacting: true);
            GC.WaitForPendingFinalizers();
            Thread.Sleep(200);
        }

        return CurrentRssMegabytes();
    }

    private static double CurrentRssMegabytes()
    {
        using var process = Process.GetCurrentProcess();
        process.Refresh();
        return process.WorkingSet64 / 1048576.0;
    }
}
