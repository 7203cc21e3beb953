using System.Diagnostics;
using System.Globalization;
using System.Net;
using System.Net.Http.Json;
using System.Text;
using System.Text.Json.Nodes;
using System.Text.RegularExpressions;
using Fleet.Testing;

namespace Fleet.Hosting.Tests.Local;

/// <summary>
/// The crash test of the Functions path: 500 orchestrations (an activity, a durable timer, a sub-orchestration with
/// its own activity, an external event) while the host process and its worker are killed with SIGKILL at random
/// points (seeded), the host started again each time on the same SQLite store. All 500 complete with the right output,
/// every activity ran at least once (the app logs each run), and no step is in any history twice. It loads both cores
/// for half a minute, so it runs alone (not beside the timing-sensitive tests of other classes).
/// </summary>
[Collection(DurableCrashCollection.Name)]
public sealed partial class DurableCrashTests
{
    private const int Orchestrations = 500;
    private const int Kills = 6;
    private static readonly string HostAssembly = Path.Combine(AppContext.BaseDirectory, "Fleet.Hosting.dll");

    [Fact]
    public async Task Five_hundred_orchestrations_complete_once_through_random_SIGKILLs_of_host_and_worker()
    {
        using var cts = new CancellationTokenSource(TimeSpan.FromMinutes(4));
        var random = new Random(20261207);
        var root = TestApps.Copy("DurableApp", r => TestApps.EditLocalSettings(r, "Values", new Dictionary<string, string?>
        {
            ["DURABLEAPP_RUN_LOG"] = Path.Combine(r, "runs.log"),
        }));
        var port = FreePort.Next();
        using var http = new HttpClient { BaseAddress = new Uri($"http://127.0.0.1:{port}/runtime/webhooks/durabletask/"), Timeout = TimeSpan.FromSeconds(30) };
        var host = await StartHostAsync(root, port, http, cts.Token);
        try
        {
            // Started (and their events raised) while the host runs; the kills come once all are in the store.
            await Parallel.ForAsync(0, Orchestrations, new ParallelOptions { MaxDegreeOfParallelism = 16, CancellationToken = cts.Token }, async (i, ct) =>
            {
                using var started = await http.PostAsync($"orchestrators/Mixed/crash-{i}", Json(i), ct);
                AssertAccepted(started, $"start crash-{i}", host);
                using var raised = await http.PostAsync($"instances/crash-{i}/raiseEvent/Go", Json(i), ct);
                AssertAccepted(raised, $"raise crash-{i}", host);
            });

            // Kills at seeded points of progress (not of time, so a fast or a loaded machine gets the same kills), each
            // while work is in flight.
            var killAt = new Queue<int>(Enumerable.Range(0, Kills).Select(_ => random.Next(10, Orchestrations - 40)).Order());
            var completedAtKills = new List<int>();
            while (killAt.Count > 0)
            {
                var completed = await CountAsync(http, "Completed", cts.Token);
                if (completed == Orchestrations)
                {
                    break;
                }

                if (completed < killAt.Peek())
                {
                    await Task.Delay(50, cts.Token);
                    continue;
                }

                // One kill per point, even when a fast restart carried the progress past the next ones too: folding
                // them into one kill left a quiet machine with two kills.
                killAt.Dequeue();
                completedAtKills.Add(completed);
                var workerOnly = random.Next(3) == 0;
                KillTree(host, workerOnly);
                if (!workerOnly)
                {
                    host.Process.Dispose();
                    host = await StartHostAsync(root, port, http, cts.Token);
                }
            }

            while (await CountAsync(http, "Completed", cts.Token) < Orchestrations)
            {
                Assert.Equal(0, await CountAsync(http, "Failed", cts.Token));
                await Task.Delay(200, cts.Token);
            }

            // Enough kills landed while work was in flight (else the test proves nothing).
            Assert.True(completedAtKills.Count >= 3, $"completed at each kill: {string.Join(", ", completedAtKills)}");
            var runs = File.ReadAllLines(Path.Combine(root, "runs.log")).ToHashSet(StringComparer.Ordinal);
            for (var i = 0; i < Orchestrations; i++)
            {
                var parent = await StatusAsync(http, $"crash-{i}", cts.Token);
                Assert.Equal($"{i}:{2 * i}:{4 * i}:{i}", parent["output"]!.GetValue<string>());
                var events = parent["historyEvents"]!.AsArray();
                AssertEachStepOnce(events, $"crash-{i}");
                Assert.Contains($"crash-{i} {i}", runs);
                var child = events.Single(e => Type(e) == "SubOrchestrationInstanceCreated")!["InstanceId"]!.GetValue<string>();
                var childStatus = await StatusAsync(http, child, cts.Token);
                AssertEachStepOnce(childStatus["historyEvents"]!.AsArray(), child);
                Assert.Contains($"{child} {2 * i}", runs);
            }
        }
        finally
        {
            KillTree(host, workerOnly: false);
            host.Process.Dispose();
            TestApps.Delete(root);
        }
    }

    /// <summary>One schedule event per sequence number, one result per scheduled step, one start and one completion.</summary>
    private static void AssertEachStepOnce(JsonArray events, string instanceId)
    {
        Assert.Single(events, e => Type(e) == "ExecutionStarted");
        Assert.Single(events, e => Type(e) == "ExecutionCompleted");
        var scheduled = events.Where(e => Type(e) is "TaskScheduled" or "TimerCreated" or "SubOrchestrationInstanceCreated").Select(e => e!["EventId"]!.GetValue<int>()).ToList();
        Assert.True(scheduled.Count == scheduled.Distinct().Count(), $"{instanceId}: a step was scheduled twice: {string.Join(",", scheduled)}");
        var results = events.Where(e => Type(e) is "TaskCompleted" or "SubOrchestrationInstanceCompleted").Select(e => e!["TaskScheduledId"]!.GetValue<int>())
            .Concat(events.Where(e => Type(e) == "TimerFired").Select(e => e!["TimerId"]!.GetValue<int>())).ToList();
        Assert.True(results.Count == results.Distinct().Count(), $"{instanceId}: a result was applied twice: {string.Join(",", results)}");
        Assert.Equal(scheduled.Order(), results.Order());
        Assert.True(events.Count(e => Type(e) == "EventRaised") <= 1, $"{instanceId}: the event was applied twice");
    }

    /// <summary>202, or a failure that carries the host's output (built only then: it grows with every request).</summary>
    private static void AssertAccepted(HttpResponseMessage response, string request, RunningHost host)
    {
        if (response.StatusCode != HttpStatusCode.Accepted)
        {
            Assert.Fail($"{request}: {response.StatusCode}\n{host.Output}");
        }
    }

    private static string? Type(JsonNode? e) => e?["EventType"]?.GetValue<string>();

    private static StringContent Json(int value) => new(value.ToString(CultureInfo.InvariantCulture), Encoding.UTF8, "application/json");

    private static async Task<int> CountAsync(HttpClient http, string status, CancellationToken cancellationToken)
    {
        var list = await http.GetFromJsonAsync<JsonArray>($"instances?runtimeStatus={status}&instanceIdPrefix=crash-&top=1000", cancellationToken);
        return list!.Count;
    }

    private static async Task<JsonObject> StatusAsync(HttpClient http, string instanceId, CancellationToken cancellationToken)
    {
        using var response = await http.GetAsync($"instances/{Uri.EscapeDataString(instanceId)}?showHistory=true&showHistoryOutput=true", cancellationToken);
        Assert.Equal(HttpStatusCode.OK, response.StatusCode);
        return (await response.Content.ReadFromJsonAsync<JsonObject>(cancellationToken))!;
    }

    private static async Task<RunningHost> StartHostAsync(string root, int port, HttpClient http, CancellationToken cancellationToken)
    {
        var info = new ProcessStartInfo("dotnet") { RedirectStandardOutput = true, RedirectStandardError = true, UseShellExecute = false };
        foreach (var argument in new[] { HostAssembly, "start", "--script-root", root, "--port", port.ToString(CultureInfo.InvariantCulture) })
        {
            info.ArgumentList.Add(argument);
        }

        var host = new RunningHost(new Process { StartInfo = info });
        host.Process.OutputDataReceived += (_, e) => host.Observe(e.Data);
        host.Process.ErrorDataReceived += (_, e) => host.Observe(e.Data);
        host.Process.Start();
        host.Process.BeginOutputReadLine();
        host.Process.BeginErrorReadLine();
        while (true)
        {
            Assert.False(host.Process.HasExited, $"The host exited during start-up: {host.Output}");
            try
            {
                using var ping = await http.GetAsync($"http://127.0.0.1:{port}/admin/host/ping", cancellationToken);
                if (ping.IsSuccessStatusCode)
                {
                    return host;
                }
            }
            catch (HttpRequestException)
            {
                // Not listening yet.
            }

            await Task.Delay(100, cancellationToken);
        }
    }

    /// <summary>SIGKILL for the worker(s) the host started, and for the host unless <paramref name="workerOnly"/>.</summary>
    private static void KillTree(RunningHost host, bool workerOnly)
    {
        if (!workerOnly && !host.Process.HasExited)
        {
            host.Process.Kill();
            host.Process.WaitForExit();
        }

        foreach (var pid in host.WorkerPids())
        {
            try
            {
                using var worker = Process.GetProcessById(pid);
                worker.Kill();
                worker.WaitForExit();
            }
            catch (ArgumentException)
            {
                // Already gone.
            }
            catch (InvalidOperationException)
            {
                // Exited while being killed.
            }
        }
    }

    [GeneratedRegex(@"Worker process (\d+) started")]
    private static partial Regex WorkerStarted();

    private sealed class RunningHost(Process process)
    {
        private readonly StringBuilder _output = new();

        public Process Process { get; } = process;

        public string Output
        {
            get
            {
                lock (_output)
                {
                    return _output.ToString();
                }
            }
        }

        public void Observe(string? line)
        {
            if (line is null)
            {
                return;
            }

            lock (_output)
            {
                _output.AppendLine(line);
            }
        }

        public IEnumerable<int> WorkerPids() =>
            WorkerStarted().Matches(Output).Select(m => int.Parse(m.Groups[1].Value, CultureInfo.InvariantCulture)).Distinct().ToList();
    }
}

/// <summary>Runs the crash test with no other test class at the same time.</summary>
[CollectionDefinition(Name, DisableParallelization = true)]
public sealed class DurableCrashCollection
{
    public const string Name = "Durable crash test (alone)";
}
