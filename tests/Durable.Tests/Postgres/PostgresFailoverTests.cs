using System.Collections.Concurrent;
using DurableTask.Core.History;
using Fleet.Durable.Postgres;
using Fleet.Durable.Storage;
using Fleet.Durable.Tests.Conformance;
using Fleet.SidecarTests;
using Fleet.Testing;
using Microsoft.DurableTask;
using Microsoft.DurableTask.Client;
using Xunit.Abstractions;

namespace Fleet.Durable.Tests.Postgres;

/// <summary>
/// Connection loss and failover against this class's own PostgreSQL server, with the real clock, the sidecar backend
/// and a real SDK worker and client: database backends terminated
/// and the server crashed (immediate shutdown) and restarted mid-run lose nothing committed and apply nothing twice; a
/// database that stays away makes the store report unhealthy without stopping the host; a host may even start while
/// the database is down.
/// </summary>
public sealed class PostgresFailoverTests(PostgresFixture fixture, ITestOutputHelper output) : IClassFixture<PostgresFixture>
{
    private const int Steps = 5;

    // Instances from this input on wait after their steps for a "go" event raised only after the crash, so the crash
    // is sure to meet unfinished work however fast the machine runs the rest.
    private const int HeldFrom = 130;

    [Fact]
    public async Task Terminated_connections_and_a_server_crash_mid_run_lose_nothing_and_apply_nothing_twice()
    {
        const int count = 200;
        var runs = new ConcurrentDictionary<string, int>();
        await using var host = await RealTimeHost.StartAsync(fixture.ConnectionString, fixture.NewName("failover"), Tasks(runs), output);
        var ids = new List<string>();
        for (var n = 0; n < count; n++)
        {
            ids.Add(await host.Client.ScheduleNewOrchestrationInstanceAsync("Steps", n, new StartOrchestrationOptions($"f-{n:D3}")));
        }

        await WaitForCompletedAsync(host, count / 5);

        // Every backend of the store is cut (listener, writer, pooled reads): it reconnects and carries on.
        var terminated = await fixture.Instance.PsqlAsync(
            "SELECT count(pg_terminate_backend(pid)) FROM pg_stat_activity WHERE backend_type = 'client backend' AND pid <> pg_backend_pid() AND datname = 'postgres'");
        output.WriteLine($"terminated {terminated.Trim()} backends");
        await WaitForCompletedAsync(host, count / 2);

        // A server crash while work is in flight: committed work must survive it.
        var before = await SnapshotAsync(host, ids);
        await fixture.Instance.StopAsync("immediate");
        var unfinished = before.Values.Count(r => r.Status != InstanceStatus.Completed);
        output.WriteLine($"server crashed with {unfinished} of {count} instances unfinished");
        Assert.True(unfinished >= count - HeldFrom, "the crash came after the held instances had finished");
        await Task.Delay(500);
        await fixture.Instance.StartServerAsync();
        foreach (var id in ids.Skip(HeldFrom))
        {
            await host.Client.RaiseEventAsync(id, "go", true);
        }

        var completed = await WaitAllAsync(host, ids);
        foreach (var (id, state) in before)
        {
            Assert.True(completed[id].HistoryCount >= state.HistoryCount, $"{id} lost committed history across the crash");
        }

        foreach (var (n, id) in ids.Select((id, n) => (n, id)))
        {
            var instance = await host.Client.GetInstanceAsync(id, getInputsAndOutputs: true);
            Assert.Equal(OrchestrationRuntimeStatus.Completed, instance!.RuntimeStatus);
            Assert.Equal(Expected(n), instance.ReadOutputAs<int>());
            var history = await host.Client.GetOrchestrationHistoryAsync(id, DurableWait.Token());
            Assert.Single(history.OfType<ExecutionStartedEvent>());
            Assert.Single(history.OfType<ExecutionCompletedEvent>());
            Assert.Equal(Enumerable.Range(0, Steps), history.OfType<TaskScheduledEvent>().Select(e => e.EventId).Order());
            Assert.Equal(Enumerable.Range(0, Steps), history.OfType<TaskCompletedEvent>().Select(e => e.TaskScheduledId).Order());
        }

        output.WriteLine($"activity runs: {runs.Values.Sum()} for {count * Steps} activity calls (at least once: a run cut by the crash repeats)");
        Assert.True(runs.Values.Sum() >= count * Steps);
        Assert.Contains(host.Logs.Entries, e => e.EventId.Id == 3403); // unavailable ...
        Assert.Contains(host.Logs.Entries, e => e.EventId.Id == 3404); // ... and back
    }

    [Fact]
    public async Task A_database_that_stays_away_makes_the_store_unhealthy_and_work_resumes_when_it_is_back()
    {
        var runs = new ConcurrentDictionary<string, int>();
        await using var host = await RealTimeHost.StartAsync(fixture.ConnectionString, fixture.NewName("away"), Tasks(runs), output);
        Assert.Equal(PostgresHealthStatus.Healthy, (await host.Store.CheckHealthAsync()).Status);
        var first = await host.Client.ScheduleNewOrchestrationInstanceAsync("Steps", 1);
        Assert.Equal(Expected(1), (await DurableWait.CompletionAsync(host.Client, first)).ReadOutputAs<int>());

        await fixture.Instance.StopAsync("fast");
        try
        {
            var health = await host.Store.CheckHealthAsync();
            Assert.Equal(PostgresHealthStatus.Unhealthy, health.Status);
            Assert.Contains("unreachable", health.Description, StringComparison.Ordinal);
            output.WriteLine(health.Description);

            // Work submitted meanwhile waits; the worker keeps running (its loops retry, nothing throws out of the host).
            var pending = host.Client.ScheduleNewOrchestrationInstanceAsync("Steps", 2, new StartOrchestrationOptions("during-outage"));
            await Task.Delay(1500);
            Assert.False(pending.IsCompleted);
            Assert.Equal(PostgresHealthStatus.Unhealthy, (await host.Store.CheckHealthAsync()).Status);

            await fixture.Instance.StartServerAsync();
            Assert.Equal("during-outage", await pending.WaitAsync(DurableWait.Default));
        }
        finally
        {
            if (!fixture.Instance.IsRunning)
            {
                await fixture.Instance.StartServerAsync();
            }
        }

        Assert.Equal(Expected(2), (await DurableWait.CompletionAsync(host.Client, "during-outage")).ReadOutputAs<int>());
        await DurableWait.UntilAsync(async () => (await host.Store.CheckHealthAsync()).Status == PostgresHealthStatus.Healthy, "the store is healthy again");
    }

    [Fact]
    public async Task A_host_started_while_the_database_is_down_reports_unhealthy_and_works_once_it_is_up()
    {
        var runs = new ConcurrentDictionary<string, int>();
        await fixture.Instance.StopAsync("fast");
        RealTimeHost? host = null;
        try
        {
            host = await RealTimeHost.StartAsync(fixture.ConnectionString, fixture.NewName("late"), Tasks(runs), output).WaitAsync(DurableWait.Default);
            Assert.Equal(PostgresHealthStatus.Unhealthy, (await host.Store.CheckHealthAsync()).Status);
            Assert.Contains(host.Logs.Entries, e => e.EventId.Id == 3410);
            var scheduled = host.Client.ScheduleNewOrchestrationInstanceAsync("Steps", 3, new StartOrchestrationOptions("late-start"));

            await fixture.Instance.StartServerAsync();
            await scheduled.WaitAsync(DurableWait.Default);
            Assert.Equal(Expected(3), (await DurableWait.CompletionAsync(host.Client, "late-start")).ReadOutputAs<int>());
        }
        finally
        {
            if (!fixture.Instance.IsRunning)
            {
                await fixture.Instance.StartServerAsync();
            }

            if (host is not null)
            {
                await host.DisposeAsync();
            }
        }
    }

    private static int Expected(int n) => Enumerable.Range(0, Steps).Sum(i => n + i);

    private static Action<DurableTaskRegistry> Tasks(ConcurrentDictionary<string, int> runs) => r => r
        .AddOrchestratorFunc<int, int>("Steps", async (ctx, n) =>
        {
            var total = 0;
            for (var i = 0; i < Steps; i++)
            {
                total += await ctx.CallActivityAsync<int>("Step", new[] { n, i });
            }

            if (n >= HeldFrom)
            {
                await ctx.WaitForExternalEvent<bool>("go");
            }

            return total;
        })
        .AddActivityFunc<int[], int>("Step", async (ctx, input) =>
        {
            runs.AddOrUpdate($"{ctx.InstanceId}/{input[1]}", 1, (_, c) => c + 1);
            await Task.Delay(10);
            return input[0] + input[1];
        });

    private static async Task WaitForCompletedAsync(RealTimeHost host, int completed) =>
        await DurableWait.UntilAsync(
            async () =>
            {
                var page = await host.Store.QueryInstancesAsync(
                    new InstanceQuery(new InstanceFilter { Statuses = [InstanceStatus.Completed] }, 1000, false, null), CancellationToken.None);
                return page.Instances.Count >= completed;
            },
            $"{completed} instances completed",
            TimeSpan.FromSeconds(60));

    private static async Task<Dictionary<string, InstanceRecord>> SnapshotAsync(RealTimeHost host, List<string> ids)
    {
        var snapshot = new Dictionary<string, InstanceRecord>();
        foreach (var id in ids)
        {
            snapshot[id] = (await host.Store.GetInstanceAsync(id, false, CancellationToken.None))!;
        }

        return snapshot;
    }

    private static async Task<Dictionary<string, InstanceRecord>> WaitAllAsync(RealTimeHost host, List<string> ids)
    {
        var done = new Dictionary<string, InstanceRecord>();
        foreach (var id in ids)
        {
            await DurableWait.CompletionAsync(host.Client, id, TimeSpan.FromSeconds(60));
            done[id] = (await host.Store.GetInstanceAsync(id, false, CancellationToken.None))!;
        }

        return done;
    }

    /// <summary>The sidecar backend on the PostgreSQL store with the real clock and a short polling interval, and an SDK worker and client.</summary>
    private sealed class RealTimeHost : IAsyncDisposable
    {
        private readonly SidecarServer _server;
        private readonly SdkWorkerHost _worker;

        private RealTimeHost(SidecarServer server, SdkWorkerHost worker, LogCapture logs)
        {
            _server = server;
            _worker = worker;
            Logs = logs;
        }

        public DurableTaskClient Client => _worker.Client;

        public PostgresOrchestrationStore Store => (PostgresOrchestrationStore)_server.Store;

        public LogCapture Logs { get; }

        public static async Task<RealTimeHost> StartAsync(string connectionString, string schema, Action<DurableTaskRegistry> tasks, ITestOutputHelper output)
        {
            var logs = new LogCapture();
            var server = await SidecarServer.StartAsync(
                b => b.UsePostgres(connectionString, o =>
                {
                    o.Schema = schema;
                    o.HealthCheckTimeout = TimeSpan.FromSeconds(2);
                }),
                options: o =>
                {
                    o.HubName = "failover";
                    o.PollingInterval = TimeSpan.FromMilliseconds(200);
                    o.LockTimeout = TimeSpan.FromSeconds(30);
                },
                logs: logs);
            var worker = await SdkWorkerHost.StartAsync(server.Address, tasks);
            output.WriteLine($"host started on schema {schema}");
            return new RealTimeHost(server, worker, logs);
        }

        public async ValueTask DisposeAsync()
        {
            await _worker.DisposeAsync();
            await _server.DisposeAsync();
        }
    }
}
