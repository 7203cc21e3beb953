using System.Diagnostics;
using System.Globalization;
using System.Reflection;
using Fleet.Durable.Postgres;
using Fleet.Testing;
using Grpc.Net.Client;
using Microsoft.DurableTask;
using Microsoft.DurableTask.Client;
using Microsoft.DurableTask.Client.Grpc;
using Microsoft.Extensions.Logging.Abstractions;

namespace Fleet.Bench.Durable;

/// <summary>
/// HelloCities5 (2,000 orchestrations × 5 sequential echo activities, first schedule to last completion) through the
/// real SDK on the PostgreSQL store, with one and then two worker hosts in separate processes (each the sidecar backend
/// with a standalone Worker.Grpc worker, <see cref="SdkPostgresHostProcess"/>) sharing one private PostgreSQL server
/// (fsync on, as in production). This process is the client: the SDK's gRPC client on each host's sidecar, the
/// instances spread round-robin over the hosts as a load balancer spreads HTTP starters. Each configuration has its
/// own database. The hosts are measured warm, as a long-running host would be: each first runs three times as many
/// orchestrations as the measured run. The measured run then starts from a purged, vacuumed and analyzed database
/// after a checkpoint, so neither configuration pays for its warm-up (dead rows, WAL).
/// </summary>
public sealed class SdkPostgresHelloCitiesBenchmark : IBenchmark
{
    private const int Orchestrations = 2000;
    private const int WarmUpRounds = 3;
    private const string Expected = "Hello Tokyo! Hello Seattle! Hello London! Hello Cairo! Hello Lima!";

    public string Name => "sdk-pg-hello5";

    public IReadOnlyList<string> Figures => ["sdk_pg_hello5_orch_per_s_1host", "sdk_pg_hello5_orch_per_s_2hosts"];

    public async Task RunAsync(BenchReporter reporter, CancellationToken cancellationToken)
    {
        await using var server = await PostgresInstance.StartAsync(new PostgresOptions { Fsync = true }, cancellationToken);
        foreach (var hosts in new[] { 1, 2 })
        {
            var database = $"bench_{hosts}";
            await server.CreateDatabaseAsync(database, cancellationToken);
            var connection = server.ConnectionString(database);
            var workers = Enumerable.Range(0, hosts).Select(_ => SdkPostgresHostProcess.Start(connection)).ToList();
            var channels = new List<GrpcChannel>();
            var clients = new List<DurableTaskClient>();
            try
            {
                var addresses = await Task.WhenAll(workers.Select(w => w.Ready.WaitAsync(TimeSpan.FromSeconds(60), cancellationToken)));
                foreach (var address in addresses)
                {
                    var channel = GrpcChannel.ForAddress(address);
                    channels.Add(channel);
                    clients.Add(new GrpcDurableTaskClient("bench", new GrpcDurableTaskClientOptions { Channel = channel }, NullLogger.Instance));
                }

                for (var round = 0; round < WarmUpRounds; round++)
                {
                    await RunOnceAsync(clients, $"warm{round}", Orchestrations * hosts, cancellationToken);
                }

                var purged = await clients[0].PurgeAllInstancesAsync(new PurgeInstancesFilter(), cancellationToken);
                if (purged.PurgedInstanceCount != Orchestrations * hosts * WarmUpRounds)
                {
                    throw new InvalidOperationException($"Purged {purged.PurgedInstanceCount} warm-up instances, expected {Orchestrations * hosts * WarmUpRounds}.");
                }

                // ANALYZE too: the store's plans must not depend on statistics taken while its queues are empty.
                await server.PsqlAsync("VACUUM (ANALYZE) durable.dt_instances, durable.dt_history, durable.dt_messages, durable.dt_activities", database, cancellationToken);
                await server.PsqlAsync("CHECKPOINT", cancellationToken: cancellationToken);
                var serverCpu = PostgresCpu(server);
                var clientCpu = Process.GetCurrentProcess().TotalProcessorTime;
                var workerCpu = workers.Select(w => w.Cpu).ToArray();
                var before = workers.Select(w => w.Activities).ToArray();
                var statsBefore = workers.Select(w => w.Statistics).ToArray();
                var elapsed = await RunOnceAsync(clients, "run", Orchestrations, cancellationToken);
                await Task.Delay(300, cancellationToken); // lets the hosts report their last counts
                var clientUsed = Process.GetCurrentProcess().TotalProcessorTime - clientCpu;
                var hostsUsed = workers.Select((w, i) => w.Cpu - workerCpu[i]).Aggregate(TimeSpan.Zero, (a, b) => a + b);
                var serverUsed = PostgresCpu(server) - serverCpu;
                var cpu = clientUsed + hostsUsed + serverUsed;
                var shares = string.Join(", ", workers.Select((w, i) => $"host {i} ran {w.Activities - before[i]} activities"));
                reporter.Note($"sdk-pg-hello5 {hosts} host(s): {Orchestrations} orchestrations in {elapsed.TotalSeconds:0.00} s; {shares}; " +
                    $"CPU per orchestration {cpu.TotalMilliseconds / Orchestrations:0.00} ms (client {clientUsed.TotalMilliseconds / Orchestrations:0.00}, " +
                    $"hosts {hostsUsed.TotalMilliseconds / Orchestrations:0.00}, PostgreSQL {serverUsed.TotalMilliseconds / Orchestrations:0.00}), machine load average {Stats.LoadAverage()}");
                for (var i = 0; i < workers.Count; i++)
                {
                    var counts = typeof(PostgresStoreStatistics).GetProperties().Select(p =>
                        $"{p.Name} {Counter(p, workers[i].Statistics) - Counter(p, statsBefore[i])}");
                    reporter.Note($"sdk-pg-hello5 {hosts} host(s), host {i} store counters for the measured run: {string.Join(", ", counts)}");
                }

                reporter.Report(hosts == 1 ? "sdk_pg_hello5_orch_per_s_1host" : "sdk_pg_hello5_orch_per_s_2hosts", Orchestrations / elapsed.TotalSeconds, "orch/s");
            }
            finally
            {
                foreach (var client in clients)
                {
                    await client.DisposeAsync();
                }

                foreach (var channel in channels)
                {
                    channel.Dispose();
                }

                foreach (var worker in workers)
                {
                    await worker.DisposeAsync();
                }
            }
        }
    }

    private static async Task<TimeSpan> RunOnceAsync(IReadOnlyList<DurableTaskClient> clients, string prefix, int count, CancellationToken cancellationToken)
    {
        var started = Stopwatch.GetTimestamp();
        var ids = await Task.WhenAll(Enumerable.Range(0, count).Select(i =>
            clients[i % clients.Count].ScheduleNewOrchestrationInstanceAsync(
                SdkPostgresHostProcess.Orchestrator, null, new StartOrchestrationOptions($"{prefix}-{i}"), cancellationToken)));
        var results = await Task.WhenAll(ids.Select((id, i) =>
            clients[i % clients.Count].WaitForInstanceCompletionAsync(id, getInputsAndOutputs: true, cancellationToken)));
        var elapsed = Stopwatch.GetElapsedTime(started);
        var wrong = results.Count(r => r.RuntimeStatus != OrchestrationRuntimeStatus.Completed || r.ReadOutputAs<string>() != Expected);
        return wrong == 0 ? elapsed : throw new InvalidOperationException($"{wrong} orchestrations did not complete with the expected output.");
    }

    /// <summary>CPU used so far by the server's processes (postmaster and its backends).</summary>
    private static TimeSpan PostgresCpu(PostgresInstance server)
    {
        var pidFile = Path.Combine(server.DataDirectory, "postmaster.pid");
        var postmaster = File.Exists(pidFile) ? int.Parse(File.ReadLines(pidFile).First(), CultureInfo.InvariantCulture) : 0;
        return ProcessCpu.Sum((pid, parent, _) => pid == postmaster || parent == postmaster);
    }

    private static long Counter(PropertyInfo counter, PostgresStoreStatistics? statistics) =>
        statistics is null ? 0 : (long)counter.GetValue(statistics)!;
}
