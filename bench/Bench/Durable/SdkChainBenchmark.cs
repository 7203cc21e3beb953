using System.Diagnostics;
using Fleet.Durable.Grpc;
using Google.Protobuf;
using Microsoft.DurableTask;
using Microsoft.DurableTask.Client;
using Microsoft.DurableTask.Worker;
using Microsoft.DurableTask.Worker.Grpc;
using P = Microsoft.DurableTask.Protobuf;

namespace Fleet.Bench.Durable;

/// <summary>
/// One orchestration calling activities in sequence through the real SDK. <c>sdk_chain_step_p50_ms</c>: the step time
/// (one activity starting to the next starting) with the standalone Worker.Grpc worker, which replays the full
/// history every episode. <c>sdk_replay_ratio</c>: step time at ~2,000 history events over step time at ~20 with the
/// SDK's extended sessions, run the way the Functions isolated worker runs orchestrators (the SDK's
/// <see cref="GrpcOrchestrationRunner"/> with an <see cref="ExtendedSessionsCache"/>, fed from the backend's
/// lock / complete seam), so only new events travel once the runner holds the instance.
/// </summary>
public sealed class SdkChainBenchmark : IBenchmark
{
    private const int Steps = 1000;

    public string Name => "sdk-chain";

    public IReadOnlyList<string> Figures => ["sdk_chain_step_p50_ms", "sdk_replay_ratio"];

    public async Task RunAsync(BenchReporter reporter, CancellationToken cancellationToken)
    {
        var standalone = await RunStandaloneAsync(Steps, cancellationToken);
        reporter.Note($"sdk-chain (standalone worker, full history per episode): step p50 {Stats.Format(Stats.Percentile(standalone, 50))} ms, p90 {Stats.Format(Stats.Percentile(standalone, 90))} ms; " +
            $"{Stats.Format(Window(standalone, 5))} ms at ~20 events, {Stats.Format(Window(standalone, 500))} ms at ~2,000 events");
        reporter.Report("sdk_chain_step_p50_ms", Stats.Percentile(standalone, 50), "ms");

        await RunWithSessionsAsync(100, cancellationToken); // warm-up
        var sessions = await RunWithSessionsAsync(Steps, cancellationToken);
        var early = Window(sessions, 5);
        var late = Window(sessions, 500);
        reporter.Note($"sdk replay with extended sessions (GrpcOrchestrationRunner + ExtendedSessionsCache on the backend seam): step median {Stats.Format(early)} ms at ~20 events, {Stats.Format(late)} ms at ~2,000 events");
        reporter.Report("sdk_replay_ratio", late / early, "ratio");
    }

    // Each step adds 4 events (OrchestratorStarted, TaskCompleted, TaskScheduled, OrchestratorCompleted): ~20 events
    // around step 5, ~2,000 around step 500; medians over 31 steps.
    private static double Window(List<double> steps, int center) =>
        Stats.Percentile(steps.Skip(Math.Max(0, center - 15)).Take(31).ToList(), 50);

    private static async Task<List<double>> RunStandaloneAsync(int count, CancellationToken cancellationToken)
    {
        var starts = new long[count];
        await using var host = await SdkBenchHost.StartAsync(r => r
            .AddOrchestratorFunc<int, int>("Chain", ChainAsync)
            .AddActivityFunc<int, int>("Step", (_, i) =>
            {
                starts[i] = Stopwatch.GetTimestamp();
                return Task.FromResult(1);
            }));
        await RunChainAsync(host.Client, 50, cancellationToken); // warm-up
        await RunChainAsync(host.Client, count, cancellationToken);
        return Enumerable.Range(1, count - 1).Select(i => Stats.Milliseconds(starts[i - 1], starts[i])).ToList();
    }

    private static async Task<List<double>> RunWithSessionsAsync(int count, CancellationToken cancellationToken)
    {
        var starts = new long[count];
        await using var host = await SdkBenchHost.StartAsync(tasks: null);
        using var stop = CancellationTokenSource.CreateLinkedTokenSource(cancellationToken);
        using var sessions = new ExtendedSessionsCache();
        var orchestrator = FuncTaskOrchestrator.Create<int, int>(ChainAsync);
        var orchestrations = Task.Run(() => RunOrchestrationsAsync(host.Backend, orchestrator, sessions, stop.Token), CancellationToken.None);
        var activities = Task.Run(() => RunActivitiesAsync(host.Backend, starts, stop.Token), CancellationToken.None);
        try
        {
            // A consumer loop that fails ends the run with its error instead of leaving the chain waiting.
            var chain = RunChainAsync(host.Client, count, cancellationToken);
            await await Task.WhenAny(chain, orchestrations, activities);
            await chain;
        }
        finally
        {
            await stop.CancelAsync();
            await Task.WhenAll(orchestrations, activities);
        }

        return Enumerable.Range(1, count - 1).Select(i => Stats.Milliseconds(starts[i - 1], starts[i])).ToList();
    }

    private static async Task<int> ChainAsync(TaskOrchestrationContext ctx, int n)
    {
        var total = 0;
        for (var i = 0; i < n; i++)
        {
            total += await ctx.CallActivityAsync<int>("Step", i);
        }

        return total;
    }

    private static async Task RunChainAsync(DurableTaskClient client, int count, CancellationToken cancellationToken)
    {
        var id = await client.ScheduleNewOrchestrationInstanceAsync("Chain", count, cancellationToken);
        var done = await client.WaitForInstanceCompletionAsync(id, getInputsAndOutputs: true, cancellationToken);
        if (done.RuntimeStatus != OrchestrationRuntimeStatus.Completed || done.ReadOutputAs<int>() != count)
        {
            throw new InvalidOperationException($"The chain ended {done.RuntimeStatus}: {done.FailureDetails}");
        }
    }

    /// <summary>What a Functions host does per orchestrationTrigger: base64 request in, base64 response out.</summary>
    private static async Task RunOrchestrationsAsync(DurableBackend backend, ITaskOrchestrator orchestrator, ExtendedSessionsCache sessions, CancellationToken stop)
    {
        try
        {
            while (true)
            {
                var lease = await backend.LockNextOrchestrationAsync(stop);
                var encoded = GrpcOrchestrationRunner.LoadAndRun(Convert.ToBase64String(lease.Request.ToByteArray()), orchestrator, sessions);
                await backend.CompleteOrchestrationAsync(lease, P.OrchestratorResponse.Parser.ParseFrom(Convert.FromBase64String(encoded)), stop);
            }
        }
        catch (OperationCanceledException) when (stop.IsCancellationRequested)
        {
            // The chain finished.
        }
    }

    private static async Task RunActivitiesAsync(DurableBackend backend, long[] starts, CancellationToken stop)
    {
        try
        {
            while (true)
            {
                var lease = await backend.LockNextActivityAsync(stop);
                // The Functions-path runner sends activity inputs as a one-element JSON array, as the worker's host unwraps.
                starts[System.Text.Json.JsonSerializer.Deserialize<int[]>(lease.Request.Input)![0]] = Stopwatch.GetTimestamp();
                await backend.CompleteActivityAsync(lease, new P.ActivityResponse { InstanceId = lease.Request.OrchestrationInstance.InstanceId, TaskId = lease.Request.TaskId, Result = "1" }, stop);
            }
        }
        catch (OperationCanceledException) when (stop.IsCancellationRequested)
        {
            // The chain finished.
        }
    }
}
