using System.Diagnostics;
using Fleet.Hosting.Local;
using Grpc.Net.Client;
using Microsoft.DurableTask.Client;
using Microsoft.DurableTask.Client.Grpc;
using Microsoft.Extensions.Logging;
using Microsoft.Extensions.Logging.Abstractions;

namespace Fleet.Bench.Host;

/// <summary>
/// HelloCities5 through the local functions host and the app's real worker (tests/TestApps/DurableApp, Durable
/// extension 1.22.0) on the default SQLite store: 2,000 orchestrations of 5 sequential activities, every episode and
/// activity an invocation over the Functions protocol, scheduled and awaited by the SDK's gRPC client on the host's
/// TaskHubSidecarService. Warm (a first round of 3,000 on the same host), timed from the first schedule to the last completion.
/// Run twice: with the app's host.json as it is (extended sessions off, the Azure default: every episode replays the
/// full history) and with <c>extendedSessionsEnabled</c> (the worker keeps each instance between episodes).
/// </summary>
internal sealed class HostHelloCitiesBenchmark : IBenchmark
{
    private const int Orchestrations = 2000;

    // With 300, tiered compilation (tier-1 and PGO re-JIT of host and worker) still ran through the measured round:
    // 15-25 % of all CPU samples (perf), and half the throughput a long-running host has (167 vs 344 orch/s, same minutes).
    internal const int WarmUpOrchestrations = 3000;
    private static readonly string[] Expected = ["Hello Tokyo!", "Hello Seattle!", "Hello London!", "Hello Cairo!", "Hello Lima!"];

    public string Name => "host-hello5";

    public IReadOnlyList<string> Figures => ["hello5_fn_orch_per_s", "hello5_fn_extended_sessions_orch_per_s"];

    public async Task RunAsync(BenchReporter reporter, CancellationToken cancellationToken)
    {
        await RunHostAsync(reporter, "hello5_fn_orch_per_s", extendedSessions: false, cancellationToken);
        await RunHostAsync(reporter, "hello5_fn_extended_sessions_orch_per_s", extendedSessions: true, cancellationToken);
    }

    /// <summary>Measures and reports <paramref name="figure"/> on a fresh host; returns it (orchestrations per second).</summary>
    internal static async Task<double> RunHostAsync(BenchReporter reporter, string figure, bool extendedSessions, CancellationToken cancellationToken)
    {
        var root = BenchApps.Copy("tests/TestApps/DurableApp");
        if (extendedSessions)
        {
            BenchApps.EditHostJson(root, hostJson => hostJson["extensions"]!["durableTask"]!["extendedSessionsEnabled"] = true);
        }

        try
        {
            await using var host = await LocalFunctionsHost.StartAsync(
                new LocalHostOptions
                {
                    ScriptRoot = root,
                    Port = 0,
                    Output = TextWriter.Null,
                    ConsoleLogs = false,

                    // As a user would run it, minus the per-invocation console lines (their cost is the console's, not the host's).
                    ConfigureLogging = l => l.SetMinimumLevel(LogLevel.Warning),
                },
                cancellationToken);
            using var channel = GrpcChannel.ForAddress(host.RpcAddress);
            await using var client = new GrpcDurableTaskClient("bench", new GrpcDurableTaskClientOptions { Channel = channel }, NullLogger.Instance);
            await RunOnceAsync(client, WarmUpOrchestrations, cancellationToken);
            using var process = Process.GetCurrentProcess();
            var cpuBefore = process.TotalProcessorTime;
            var elapsed = await RunOnceAsync(client, Orchestrations, cancellationToken);
            process.Refresh();
            var hostCpu = process.TotalProcessorTime - cpuBefore;
            reporter.Note($"{figure}: {Orchestrations} orchestrations x 5 activities in {elapsed.TotalSeconds:0.00} s through the local host and its worker " +
                $"({Orchestrations * 11} invocations); host process CPU {hostCpu.TotalMilliseconds / Orchestrations:0.00} ms per orchestration (the worker's CPU is not counted)");
            reporter.Report(figure, Orchestrations / elapsed.TotalSeconds, "orch/s");
            await host.StopAsync();
            return Orchestrations / elapsed.TotalSeconds;
        }
        finally
        {
            BenchApps.Delete(root);
        }
    }

    private static async Task<TimeSpan> RunOnceAsync(DurableTaskClient client, int count, CancellationToken cancellationToken)
    {
        var started = Stopwatch.GetTimestamp();
        var ids = await Task.WhenAll(Enumerable.Range(0, count).Select(_ =>
            client.ScheduleNewOrchestrationInstanceAsync("HelloCities5", cancellationToken)));
        var results = await Task.WhenAll(ids.Select(id => client.WaitForInstanceCompletionAsync(id, getInputsAndOutputs: true, cancellationToken)));
        var elapsed = Stopwatch.GetElapsedTime(started);
        var wrong = results.Count(r => r.RuntimeStatus != OrchestrationRuntimeStatus.Completed || !(r.ReadOutputAs<string[]>() ?? []).SequenceEqual(Expected));
        return wrong == 0 ? elapsed : throw new InvalidOperationException($"{wrong} orchestrations did not complete with the expected output.");
    }
}
