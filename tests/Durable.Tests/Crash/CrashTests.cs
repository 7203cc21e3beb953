using System.Diagnostics;
using DurableTask.Core.History;
using Fleet.Durable.TestWorker;
using Fleet.SidecarTests;
using Fleet.Testing;
using Microsoft.DurableTask.Client;
using Xunit.Abstractions;

namespace Fleet.Durable.Tests.Crash;

/// <summary>
/// Runs the worker as a child process (tests/Durable.TestWorker: the sidecar backend on SQLite with a standalone SDK
/// worker) and kills it with SIGKILL at random points, then restarts it with the same command line and checks every
/// orchestration's output and history.
/// </summary>
public sealed class CrashTests(ITestOutputHelper output) : IDisposable
{
    private const int Orchestrations = 200;
    private const int MaxKills = 8;
    private readonly string _directory = Path.Combine(Path.GetTempPath(), "fleet-durable-crash", Guid.NewGuid().ToString("N"));

    [Fact]
    public async Task Orchestrations_complete_with_the_right_output_despite_SIGKILL_at_random_points()
    {
        Directory.CreateDirectory(_directory);
        var database = Path.Combine(_directory, "crash.db");
        var seed = Environment.TickCount;
        var random = new Random(seed);
        output.WriteLine($"seed {seed}, database {database}");
        var arguments = $"--db \"{database}\" --schedule {Orchestrations} --expect {Orchestrations} --exit-when-done --timer-ms 8000 --attempt-limit 20";
        var killsDuringWork = 0;
        using var overall = new CancellationTokenSource(TimeSpan.FromSeconds(150));

        // Kill at random points until the work is done (at most MaxKills times), then let a last run finish it.
        for (var run = 0; ; run++)
        {
            using var worker = WorkerProcess.Start(arguments, output);
            if (run < MaxKills)
            {
                var killAfter = TimeSpan.FromMilliseconds(random.Next(300, 1500));
                if (!await worker.WaitForExitAsync(killAfter, overall.Token))
                {
                    var progress = worker.LastProgress;
                    worker.Kill();
                    output.WriteLine($"run {run}: SIGKILL after {killAfter.TotalMilliseconds} ms at progress {progress?.ToString(System.Globalization.CultureInfo.InvariantCulture) ?? "(starting)"}");
                    killsDuringWork += progress is null or < Orchestrations ? 1 : 0;
                    continue;
                }
            }

            Assert.True(await worker.WaitForExitAsync(TimeSpan.FromSeconds(90), overall.Token), "the final run did not finish in time");
            Assert.Equal(0, worker.ExitCode);
            Assert.True(worker.SawDone, "the final run did not report DONE");
            output.WriteLine($"run {run}: finished normally");
            break;
        }

        Assert.True(killsDuringWork >= 4, $"only {killsDuringWork} kills landed while orchestrations were in progress");

        await using var verifier = await VerifierAsync(database);
        var client = verifier.Client;
        for (var n = 0; n < Orchestrations; n++)
        {
            var id = $"crash-{n}";
            var instance = await client.GetInstanceAsync(id, getInputsAndOutputs: true);
            Assert.NotNull(instance);
            Assert.True(instance.RuntimeStatus == OrchestrationRuntimeStatus.Completed, $"{id} is {instance.RuntimeStatus}: {instance.FailureDetails}");
            Assert.Equal(TestOrchestrations.ExpectedOutput(n), instance.ReadOutputAs<string>());

            // Each episode was committed exactly once: no action appears twice in the history.
            var history = await client.GetOrchestrationHistoryAsync(id, overall.Token);
            Assert.Single(history.OfType<ExecutionStartedEvent>());
            Assert.Single(history.OfType<ExecutionCompletedEvent>());
            Assert.Single(history.OfType<TimerCreatedEvent>());
            Assert.Single(history.OfType<SubOrchestrationInstanceCreatedEvent>());
            Assert.Equal([0, 2, 3, 4], history.OfType<TaskScheduledEvent>().Select(e => e.EventId).Order());
            Assert.Equal(4, history.OfType<TaskCompletedEvent>().Select(e => e.TaskScheduledId).Distinct().Count());
            Assert.Equal(OrchestrationRuntimeStatus.Completed, (await client.GetInstanceAsync($"{id}-child"))!.RuntimeStatus);
        }
    }

    [Theory]
    [InlineData("activity")]
    [InlineData("orchestrator")]
    public async Task Code_that_crashes_the_process_every_time_is_failed_as_poison(string where)
    {
        Directory.CreateDirectory(_directory);
        var database = Path.Combine(_directory, $"poison-{where}.db");
        var arguments = $"--db \"{database}\" --prefix poison- --poison {where} --expect 1 --exit-when-done --attempt-limit 2";
        var crashes = 0;
        using var overall = new CancellationTokenSource(TimeSpan.FromSeconds(90));
        while (true)
        {
            using var worker = WorkerProcess.Start(arguments, output);
            Assert.True(await worker.WaitForExitAsync(TimeSpan.FromSeconds(30), overall.Token), "the worker neither crashed nor finished");
            if (worker.ExitCode == 0)
            {
                break;
            }

            crashes++;
            Assert.True(crashes <= 4, "the poisoned work was not given up");
        }

        // An attempt is counted each time a restarted worker takes up work a crashed one may have been running:
        // the second crash reaches the limit of 2.
        Assert.Equal(2, crashes);
        await using var verifier = await VerifierAsync(database);
        var instance = await verifier.Client.GetInstanceAsync("poison-poison", getInputsAndOutputs: true, overall.Token);
        Assert.Equal(OrchestrationRuntimeStatus.Failed, instance!.RuntimeStatus);
        var poison = where == "activity" ? instance.FailureDetails!.InnerFailure! : instance.FailureDetails!;
        Assert.Equal("PoisonMessage", poison.ErrorType);
        Assert.Contains("attempted 2 times", poison.ErrorMessage, StringComparison.Ordinal);
    }

    public void Dispose()
    {
        try
        {
            Directory.Delete(_directory, recursive: true);
        }
        catch (DirectoryNotFoundException)
        {
            // Nothing was created.
        }
    }

    /// <summary>The backend on the crashed workers' database, with an SDK client and no worker, once every worker has exited.</summary>
    private static async Task<Verifier> VerifierAsync(string database)
    {
        var server = await SidecarServer.StartAsync(b => b.UseSqlite(database), options: o => o.HubName = "crash");
        return new Verifier(server, await SdkWorkerHost.StartAsync(server.Address, _ => { }, startWorker: false));
    }

    private sealed class Verifier(SidecarServer server, SdkWorkerHost client) : IAsyncDisposable
    {
        public DurableTaskClient Client => client.Client;

        public async ValueTask DisposeAsync()
        {
            await client.DisposeAsync();
            await server.DisposeAsync();
        }
    }

    /// <summary>A running TestWorker child process and what it printed.</summary>
    private sealed class WorkerProcess : IDisposable
    {
        private readonly Process _process;
        private readonly ITestOutputHelper _output;
        private volatile int _progress = -1;

        private WorkerProcess(Process process, ITestOutputHelper output)
        {
            _process = process;
            _output = output;
        }

        public int? LastProgress => _progress < 0 ? null : _progress;

        public bool SawDone { get; private set; }

        public int ExitCode => _process.ExitCode;

        public static WorkerProcess Start(string arguments, ITestOutputHelper output)
        {
            var configuration = new DirectoryInfo(AppContext.BaseDirectory).Parent!.Name;
            var dll = RepoPaths.Combine("tests", "Durable.TestWorker", "bin", configuration, "net10.0", "Fleet.Durable.TestWorker.dll");
            Assert.True(File.Exists(dll), $"TestWorker not built at {dll}");
            var start = new ProcessStartInfo(Environment.GetEnvironmentVariable("DOTNET_HOST_PATH") ?? "dotnet", $"\"{dll}\" {arguments}")
            {
                RedirectStandardOutput = true,
                RedirectStandardError = true,
                UseShellExecute = false,
            };
            start.Environment["DOTNET_gcServer"] = "0";
            var process = new Process { StartInfo = start };
            var worker = new WorkerProcess(process, output);
            process.OutputDataReceived += (_, e) => worker.OnLine(e.Data);
            process.ErrorDataReceived += (_, e) =>
            {
                if (!string.IsNullOrEmpty(e.Data) && !e.Data.StartsWith("   at ", StringComparison.Ordinal))
                {
                    worker.Log($"stderr: {e.Data}");
                }
            };
            process.Start();
            process.BeginOutputReadLine();
            process.BeginErrorReadLine();
            return worker;
        }

        /// <summary>Waits for the process to exit; false when it is still running after <paramref name="timeout"/>.</summary>
        public async Task<bool> WaitForExitAsync(TimeSpan timeout, CancellationToken cancellationToken)
        {
            using var cts = CancellationTokenSource.CreateLinkedTokenSource(cancellationToken);
            cts.CancelAfter(timeout);
            try
            {
                await _process.WaitForExitAsync(cts.Token);
                return true;
            }
            catch (OperationCanceledException) when (!cancellationToken.IsCancellationRequested)
            {
                return false;
            }
        }

        /// <summary>SIGKILL: no shutdown code runs.</summary>
        public void Kill()
        {
            _process.Kill(entireProcessTree: true);
            _process.WaitForExit(10_000);
        }

        public void Dispose()
        {
            if (!_process.HasExited)
            {
                Kill();
            }

            _process.Dispose();
        }

        private void OnLine(string? line)
        {
            if (line is null)
            {
                return;
            }

            if (line.StartsWith("PROGRESS ", StringComparison.Ordinal) && int.TryParse(line.AsSpan(9), out var progress))
            {
                _progress = progress;
            }
            else if (line == "DONE")
            {
                SawDone = true;
            }
            else if (line != "READY")
            {
                Log(line);
            }
        }

        private void Log(string line)
        {
            try
            {
                _output.WriteLine(line);
            }
            catch (InvalidOperationException)
            {
                // The test already finished.
            }
        }
    }
}
