using System.Diagnostics;
using System.Globalization;
using System.Reflection;
using Fleet.Durable;
using Fleet.Durable.Client;
using Fleet.Durable.Postgres;
using Fleet.Testing;
using Microsoft.Extensions.DependencyInjection;

namespace Fleet.Bench.Durable;

/// <summary>
/// HelloCities5 (2,000 orchestrations × 5 sequential echo activities, first schedule to last completion) on the
/// PostgreSQL store, with one and then two worker hosts in separate processes sharing one private PostgreSQL server
/// (fsync on, as in production). This process is the client: it schedules and waits through the store, like a
/// function host's HTTP starter would. Each run has its own schema. The hosts are measured warm, as a long-running
/// host would be: each first runs three times as many orchestrations as the measured run (tiered JIT is still
/// recompiling after one). The two configurations then start from the same database: the warm-up instances are
/// purged, the schema vacuumed and analyzed and a checkpoint taken, so neither pays for the other's larger warm-up
/// (dead rows, WAL).
/// </summary>
public sealed class PostgresHelloCitiesBenchmark : IBenchmark
{
    private const int Orchestrations = 2000;
    private const int WarmUpRounds = 3;
    private const string Expected = "Hello Tokyo! Hello Seattle! Hello London! Hello Cairo! Hello Lima!";

    public string Name => "pg_hello5";

    public IReadOnlyList<string> Figures => ["pg_hello5_orch_per_s_1host", "pg_hello5_orch_per_s_2hosts"];

    public async Task RunAsync(BenchReporter reporter, CancellationToken cancellationToken)
    {
        await using var server = await PostgresInstance.StartAsync(new PostgresOptions { Fsync = true }, cancellationToken);
        foreach (var hosts in new[] { 1, 2 })
        {
            var schema = $"bench_{hosts}";
            var workers = Enumerable.Range(0, hosts).Select(_ => PostgresBenchHostProcess.Start(server.ConnectionString(), schema)).ToList();
            try
            {
                await Task.WhenAll(workers.Select(w => w.Ready.WaitAsync(TimeSpan.FromSeconds(60), cancellationToken)));
                await using var client = OpenClient(server.ConnectionString(), schema);
                var durable = client.GetRequiredService<DurableTaskClient>();

                for (var round = 0; round < WarmUpRounds; round++)
                {
                    await RunOnceAsync(durable, $"warm{round}", Orchestrations * hosts, cancellationToken);
                }

                var purged = await durable.PurgeAllInstancesAsync(new PurgeInstancesFilter(), cancellation: cancellationToken);
                if (purged.PurgedInstanceCount != Orchestrations * hosts * WarmUpRounds)
                {
                    throw new InvalidOperationException($"Purged {purged.PurgedInstanceCount} warm-up instances, expected {Orchestrations * hosts * WarmUpRounds}.");
                }

                // ANALYZE too: the store's plans must not depend on statistics taken while its queues are empty.
                await server.PsqlAsync($"VACUUM (ANALYZE) {schema}.dt_instances, {schema}.dt_history, {schema}.dt_messages, {schema}.dt_activities", cancellationToken: cancellationToken);
                await server.PsqlAsync("CHECKPOINT", cancellationToken: cancellationToken);
                var serverCpu = PostgresCpu(server);
                var clientCpu = Process.GetCurrentProcess().TotalProcessorTime;
                var workerCpu = workers.Select(w => w.Cpu).ToArray();
                var before = workers.Select(w => w.Activities).ToArray();
                var statsBefore = workers.Select(w => w.Statistics).ToArray();
                var elapsed = await RunOnceAsync(durable, "run", Orchestrations, cancellationToken);
                await Task.Delay(300, cancellationToken); // lets the hosts report their last counts
                var clientUsed = Process.GetCurrentProcess().TotalProcessorTime - clientCpu;
                var hostsUsed = workers.Select((w, i) => w.Cpu - workerCpu[i]).Aggregate(TimeSpan.Zero, (a, b) => a + b);
                var serverUsed = PostgresCpu(server) - serverCpu;
                var cpu = clientUsed + hostsUsed + serverUsed;
                var shares = string.Join(", ", workers.Select((w, i) => $"host {i} ran {w.Activities - before[i]} activities"));
                reporter.Note($"pg_hello5 {hosts} host(s): {Orchestrations} orchestrations in {elapsed.TotalSeconds:0.00} s; {shares}; " +
                    $"CPU per orchestration {cpu.TotalMilliseconds / Orchestrations:0.00} ms (client {clientUsed.TotalMilliseconds / Orchestrations:0.00}, " +
                    $"hosts {hostsUsed.TotalMilliseconds / Orchestrations:0.00}, PostgreSQL {serverUsed.TotalMilliseconds / Orchestrations:0.00}), machine load average {LoadAverage()}");
                for (var i = 0; i < workers.Count; i++)
                {
                    var counts = typeof(PostgresStoreStatistics).GetProperties().Select(p =>
                        $"{p.Name} {Counter(p, workers[i].Statistics) - Counter(p, statsBefore[i])}");
                    reporter.Note($"pg_hello5 {hosts} host(s), host {i} store counters for the measured run: {string.Join(", ", counts)}");
                }

                reporter.Report(hosts == 1 ? "pg_hello5_orch_per_s_1host" : "pg_hello5_orch_per_s_2hosts", Orchestrations / elapsed.TotalSeconds, "orch/s");
            }
            finally
            {
                foreach (var worker in workers)
                {
                    await worker.DisposeAsync();
                }
            }
        }
    }

    private static ServiceProvider OpenClient(string connectionString, string schema)
    {
        // Client only: the worker registered by AddDurableTask is never started in this process.
        var services = new ServiceCollection();
        services.AddDurableTask(b => b.UsePostgres(connectionString, o => o.Schema = schema));
        return services.BuildServiceProvider();
    }

    private static async Task<TimeSpan> RunOnceAsync(DurableTaskClient client, string prefix, int count, CancellationToken cancellationToken)
    {
        var started = Stopwatch.GetTimestamp();
        var ids = await Task.WhenAll(Enumerable.Range(0, count).Select(i =>
            client.ScheduleNewOrchestrationInstanceAsync(PostgresBenchHostProcess.Orchestrator, null, new StartOrchestrationOptions($"{prefix}-{i}"), cancellationToken)));
        var results = await Task.WhenAll(ids.Select(id => client.WaitForInstanceCompletionAsync(id, true, cancellationToken)));
        var elapsed = Stopwatch.GetElapsedTime(started);
        var wrong = results.Count(r => r.RuntimeStatus != OrchestrationRuntimeStatus.Completed || r.ReadOutputAs<string>() != Expected);
        return wrong == 0 ? elapsed : throw new InvalidOperationException($"{wrong} orchestrations did not complete with the expected output.");
    }

    /// <summary>CPU used so far by the server's processes (postmaster and its backends), from /proc.</summary>
    private static TimeSpan PostgresCpu(PostgresInstance server)
    {
        var ticksPerSecond = 100.0; // USER_HZ on Linux
        var postmaster = File.Exists(Path.Combine(server.DataDirectory, "postmaster.pid"))
            ? int.Parse(File.ReadLines(Path.Combine(server.DataDirectory, "postmaster.pid")).First(), CultureInfo.InvariantCulture)
            : 0;
        long total = 0;
        foreach (var directory in Directory.EnumerateDirectories("/proc"))
        {
            if (!int.TryParse(Path.GetFileName(directory), out var pid))
            {
                continue;
            }

            try
            {
                var stat = File.ReadAllText(Path.Combine(directory, "stat"));
                var fields = stat[(stat.LastIndexOf(')') + 2)..].Split(' ');
                var parent = int.Parse(fields[1], CultureInfo.InvariantCulture);
                if (pid == postmaster || parent == postmaster)
                {
                    total += long.Parse(fields[11], CultureInfo.InvariantCulture) + long.Parse(fields[12], CultureInfo.InvariantCulture);
                }
            }
            catch (IOException)
            {
                // The process ended meanwhile.
            }
        }

        return TimeSpan.FromSeconds(total / ticksPerSecond);
    }

    private static long Counter(PropertyInfo counter, PostgresStoreStatistics? statistics) =>
        statistics is null ? 0 : (long)counter.GetValue(statistics)!;

    private static string LoadAverage() =>
        File.Exists("/proc/loadavg") ? File.ReadAllText("/proc/loadavg").Split(' ')[0] : "unknown";
}
