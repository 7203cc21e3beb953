using DurableTask.Core.History;
using Fleet.Durable.Postgres;
using Fleet.Durable.TestWorker;
using Fleet.Durable.Tests.Conformance;
using Fleet.SidecarTests;
using Fleet.Testing;
using Microsoft.DurableTask;
using Microsoft.DurableTask.Client;
using Npgsql;
using Xunit.Abstractions;

namespace Fleet.Durable.Tests.Postgres;

/// <summary>
/// Three TestWorker processes (each the sidecar backend with an SDK worker) share one database and run 450
/// orchestrations; one is killed with SIGKILL midway.
/// Every orchestration must complete with the right output and a history in which each step happened once, and the
/// work must have been spread over the hosts.
/// </summary>
public sealed class PostgresScaleOutTests(PostgresFixture fixture, ITestOutputHelper output) : IClassFixture<PostgresFixture>
{
    // Enough that the victim cannot finish all of it (and exit) while the test looks for it holding a lock.
    private const int Orchestrations = 1000;
    private const string Hub = "scale";
    private const string Prefix = "scale-";

    [Fact]
    public async Task Three_hosts_share_the_work_and_one_killed_with_SIGKILL_loses_nothing()
    {
        var schema = fixture.NewName("scale");

        // Scheduled through a backend with no worker (its store fetches no work without a waiting worker), stopped before
        // the hosts start: it would otherwise take part in the hosts' liveness checks and take back the victim's work.
        await using (var scheduler = await ClientAsync(schema))
        {
            for (var n = 0; n < Orchestrations; n += 90)
            {
                await Task.WhenAll(Enumerable.Range(n, 90).Select(i =>
                    scheduler.Client.ScheduleNewOrchestrationInstanceAsync(TestOrchestrations.Chain, i, new StartOrchestrationOptions($"{Prefix}{i}"))));
            }
        }

        // The lock timeout is far longer than the test: the killed host's work can only come back because the others
        // see that its session (and advisory lock) is gone.
        string[] arguments =
        [
            "--store", "postgres", "--db", fixture.ConnectionString, "--schema", schema, "--hub", Hub, "--prefix", Prefix,
            "--expect", Orchestrations.ToString(System.Globalization.CultureInfo.InvariantCulture), "--exit-when-done",
            "--timer-ms", "300", "--lock-timeout-ms", "600000", "--report-work",
        ];
        using var overall = new CancellationTokenSource(TimeSpan.FromSeconds(150));
        var workers = Enumerable.Range(0, 3).Select(i => TestWorkerProcess.Start($"host{i}", arguments, output)).ToList();
        try
        {
            var victim = workers[1];
            await DurableWait.UntilAsync(
                () => Task.FromResult(victim.Progress >= Orchestrations / 3 && victim.Episodes > 0),
                "a third of the orchestrations finished",
                TimeSpan.FromSeconds(90));
            // Frozen first, so the locks it is seen holding are still held when it dies: the survivors must then take
            // them back (a host between two batches may hold none; it is let run on until it holds some).
            var held = 0L;
            var deadline = DateTime.UtcNow + TimeSpan.FromSeconds(60);
            while (true)
            {
                Assert.True(DateTime.UtcNow < deadline, "the victim was never seen holding a lock");
                victim.Freeze();
                held = await LocksHeldByAsync(schema, victim.HostId);
                if (held > 0)
                {
                    break;
                }

                victim.Resume();
                await Task.Delay(20);
            }

            var killedAt = victim.Progress;
            var victimEpisodes = victim.Episodes;
            victim.Kill();
            output.WriteLine($"host1 killed with SIGKILL at progress {killedAt} after {victimEpisodes} episodes and {victim.Activities} activities, holding {held} locks");

            foreach (var survivor in new[] { workers[0], workers[2] })
            {
                Assert.True(await survivor.WaitForExitAsync(TimeSpan.FromSeconds(90)), "a surviving host did not finish the work in time");
                Assert.Equal(0, survivor.ExitCode);
                Assert.True(survivor.SawDone, "a surviving host did not report DONE");
            }

            // Work was spread: every host committed a fair share while it ran.
            var episodes = workers.Sum(w => w.Episodes);
            foreach (var (worker, index) in workers.Select((w, i) => (w, i)))
            {
                output.WriteLine($"host{index}: {worker.Episodes} episodes, {worker.Activities} activities");
                Assert.True(worker.Episodes >= episodes / 10, $"host{index} committed only {worker.Episodes} of {episodes} episodes");
                Assert.True(worker.Activities > 0, $"host{index} ran no activity");
            }

            Assert.Contains(
                workers[0].Logged.Concat(workers[2].Logged),
                line => line.Contains("locked by hosts that are gone", StringComparison.Ordinal));
        }
        finally
        {
            foreach (var worker in workers)
            {
                worker.Dispose();
            }
        }

        await using var verifier = await ClientAsync(schema);
        var durable = verifier.Client;
        for (var n = 0; n < Orchestrations; n++)
        {
            var id = $"{Prefix}{n}";
            var instance = await durable.GetInstanceAsync(id, getInputsAndOutputs: true);
            Assert.NotNull(instance);
            Assert.True(instance.RuntimeStatus == OrchestrationRuntimeStatus.Completed, $"{id} is {instance.RuntimeStatus}: {instance.FailureDetails}");
            Assert.Equal(TestOrchestrations.ExpectedOutput(n), instance.ReadOutputAs<string>());

            // Each episode was committed exactly once: no action appears twice in the history.
            var history = await durable.GetOrchestrationHistoryAsync(id, overall.Token);
            Assert.Single(history.OfType<ExecutionStartedEvent>());
            Assert.Single(history.OfType<ExecutionCompletedEvent>());
            Assert.Single(history.OfType<TimerCreatedEvent>());
            Assert.Single(history.OfType<SubOrchestrationInstanceCreatedEvent>());
            Assert.Equal([0, 2, 3, 4], history.OfType<TaskScheduledEvent>().Select(e => e.EventId).Order());
            Assert.Equal(4, history.OfType<TaskCompletedEvent>().Select(e => e.TaskScheduledId).Distinct().Count());
        }
    }

    private async Task<SchemaClient> ClientAsync(string schema)
    {
        var server = await SidecarServer.StartAsync(b => b.UsePostgres(fixture.ConnectionString, o => o.Schema = schema), options: o => o.HubName = Hub);
        return new SchemaClient(server, await SdkWorkerHost.StartAsync(server.Address, _ => { }, startWorker: false));
    }

    private async Task<long> LocksHeldByAsync(string schema, int hostId)
    {
        Assert.True(hostId > 0, "the victim did not print its host ID");
        await using var connection = new NpgsqlConnection(fixture.ConnectionString);
        await connection.OpenAsync();
        await using var command = new NpgsqlCommand(
            $"SELECT (SELECT count(*) FROM \"{schema}\".dt_instances WHERE lock_owner = $1 AND lock_token IS NOT NULL) + (SELECT count(*) FROM \"{schema}\".dt_activities WHERE lock_owner = $1 AND lock_token IS NOT NULL)",
            connection);
        command.Parameters.Add(new NpgsqlParameter<int> { TypedValue = hostId });
        return (long)(await command.ExecuteScalarAsync())!;
    }


    /// <summary>The sidecar backend on the test's schema with an SDK client and no worker.</summary>
    private sealed class SchemaClient(SidecarServer server, SdkWorkerHost client) : IAsyncDisposable
    {
        public DurableTaskClient Client => client.Client;

        public async ValueTask DisposeAsync()
        {
            await client.DisposeAsync();
            await server.DisposeAsync();
        }
    }
}
