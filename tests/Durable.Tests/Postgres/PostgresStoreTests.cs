using System.Globalization;
using DurableTask.Core.History;
using Fleet.Durable.Postgres;
using Fleet.Durable.Storage;
using Fleet.Durable.Tests.Conformance;
using Fleet.Testing;
using Microsoft.DurableTask;
using Microsoft.DurableTask.Client;
using Microsoft.Extensions.Logging.Abstractions;
using Npgsql;

namespace Fleet.Durable.Tests.Postgres;

/// <summary>
/// What the PostgreSQL store adds to the conformance suite: migrations under concurrency, competing hosts, taking back
/// the work of a host that died, stale caches across hosts, notifications across stores and repeatable writes.
/// </summary>
public sealed partial class PostgresStoreTests(PostgresFixture fixture) : IClassFixture<PostgresFixture>, IAsyncLifetime
{
    private readonly List<IAsyncDisposable> _disposables = [];

    public Task InitializeAsync() => Task.CompletedTask;

    public async Task DisposeAsync()
    {
        foreach (var disposable in Enumerable.Reverse(_disposables))
        {
            await disposable.DisposeAsync();
        }
    }

    [Fact]
    public async Task Competing_hosts_never_share_a_lock_and_split_the_work()
    {
        var schema = fixture.NewName("compete");
        var time = new FakeTimeProvider();
        var a = Store(schema, time, maxConcurrent: 5);
        var b = Store(schema, time, maxConcurrent: 5);
        await StartAsync(a, b);
        for (var i = 0; i < 60; i++)
        {
            Assert.True((await a.CreateInstanceAsync(NewInstance($"i{i:D2}", time), DurableWait.Token())).Created);
        }

        // The hosts ask for work in rounds, both at once, so neither can take everything before the other starts. Work
        // a fetch missed (the other fetch held the rows at that moment) is found by the next poll, as in production: a
        // round in which both wait in vain moves the clock to it.
        var lockedByA = new List<OrchestrationWorkItem>();
        var lockedByB = new List<OrchestrationWorkItem>();
        using var overall = new CancellationTokenSource(DurableWait.Default);
        while (lockedByA.Count + lockedByB.Count < 60)
        {
            var round = await Task.WhenAll(TryLockAsync(a, lockedByA), TryLockAsync(b, lockedByB));
            if (!round.Any(locked => locked))
            {
                time.Advance(TimeSpan.FromSeconds(1));
            }
        }

        Assert.Equal(60, lockedByA.Concat(lockedByB).Select(w => w.InstanceId).Distinct().Count());
        Assert.Empty(lockedByA.Select(w => w.InstanceId).Intersect(lockedByB.Select(w => w.InstanceId)));
        Assert.NotEmpty(lockedByA);
        Assert.NotEmpty(lockedByB);
        Assert.NotEqual(a.HostId, b.HostId);

        async Task<bool> TryLockAsync(IOrchestrationStore store, List<OrchestrationWorkItem> locked)
        {
            using var wait = CancellationTokenSource.CreateLinkedTokenSource(overall.Token);
            wait.CancelAfter(TimeSpan.FromMilliseconds(200));
            try
            {
                locked.Add(await store.LockNextOrchestrationAsync(wait.Token));
                return true;
            }
            catch (OperationCanceledException) when (!overall.IsCancellationRequested)
            {
                return false;
            }
        }
    }

    [Fact]
    public async Task Work_of_a_host_that_is_gone_is_taken_back_at_the_next_poll_with_the_attempt_counted()
    {
        var schema = fixture.NewName("gone");
        var time = new FakeTimeProvider();
        var dying = Store(schema, time, lockTimeout: TimeSpan.FromHours(1));
        var survivor = Store(schema, time, lockTimeout: TimeSpan.FromHours(1));
        await StartAsync(dying, survivor);
        await dying.CreateInstanceAsync(NewInstance("orphan", time), DurableWait.Token());
        var item = await dying.LockNextOrchestrationAsync(DurableWait.Token());
        Assert.True(await dying.CommitOrchestrationAsync(item, new OrchestrationCommit
        {
            ExpectedExecutionId = "exec-orphan",
            ExpectedHistoryCount = 0,
            NewHistory = ["h"],
            ConsumedMessageIds = item.Messages.Select(m => m.Id).ToArray(),
            Instance = Running("exec-orphan", 1, time),
            Activities = [new NewActivity(0, "A", null)],
        }, DurableWait.Token()));
        await dying.EnqueueMessageAsync("orphan", "event", time.GetUtcNow(), DurableWait.Token());
        var instance = await dying.LockNextOrchestrationAsync(DurableWait.Token());
        var activity = await dying.LockNextActivityAsync(DurableWait.Token());

        // The host dies holding both locks: its session ends (and with it its advisory lock).
        _disposables.Remove(dying);
        await dying.DisposeAsync();

        // Long before the locks expire, the survivor's next poll sees the host is gone and takes the work.
        time.Advance(TimeSpan.FromSeconds(1));
        var retaken = await survivor.LockNextOrchestrationAsync(DurableWait.Token());
        var retakenActivity = await survivor.LockNextActivityAsync(DurableWait.Token());
        Assert.Equal("orphan", retaken.InstanceId);
        Assert.Equal(instance.Messages.Select(m => m.Id), retaken.Messages.Select(m => m.Id));
        Assert.Equal(1, retaken.Attempts);
        Assert.Equal((activity.Id, 1), (retakenActivity.Id, retakenActivity.Attempts));
        Assert.True(retaken.LockedUntil > time.GetUtcNow().AddMinutes(59));
    }

    [Fact]
    public async Task A_cached_history_that_another_host_advanced_is_reloaded_before_it_runs()
    {
        var schema = fixture.NewName("stale");
        var factory = new SchemaFactory(fixture, schema);
        var time = new FakeTimeProvider();
        GatedStore? gateA = null;
        GatedStore? gateB = null;
        Action<DurableTaskRegistry> tasks = r => r.AddOrchestratorFunc<object?, string>("Collect", async (ctx, _) =>
        {
            var text = string.Empty;
            for (var i = 0; i < 3; i++)
            {
                text += await ctx.WaitForExternalEvent<string>("Next");
            }

            return text;
        });
        await using var hostA = await SdkTestHost.StartAsync(factory, tasks, time: time, wrapStore: s => gateA = new GatedStore(s));
        await using var hostB = await SdkTestHost.StartAsync(factory, tasks, time: time, wrapStore: s => gateB = new GatedStore(s));

        // Step 1 on host A (whose backend caches the history), step 2 on host B, step 3 on host A again.
        gateB!.Close();
        var id = await hostA.Client.ScheduleNewOrchestrationInstanceAsync("Collect");
        await hostA.Client.RaiseEventAsync(id, "Next", "a");
        await WaitForHistoryCountAsync(hostA, id, h => h.OfType<EventRaisedEvent>().Count() == 1);
        gateA!.Close();
        gateB.Open();
        await hostA.Client.RaiseEventAsync(id, "Next", "b");
        await WaitForHistoryCountAsync(hostA, id, h => h.OfType<EventRaisedEvent>().Count() == 2);
        gateB.Close();
        gateA.Open();
        await hostA.Client.RaiseEventAsync(id, "Next", "c");

        Assert.Equal("abc", (await DurableWait.CompletionAsync(hostA.Client, id)).ReadOutputAs<string>());
        Assert.Equal(1, gateB.Committed);
        Assert.True(gateA.Committed >= 2);
        Assert.Equal(0, gateA.Refused); // detected before running, not by a refused commit
        Assert.DoesNotContain(hostA.Logs.Entries, e => e.EventId.Id == 3102);
    }

    [Fact]
    public async Task A_host_takes_its_own_and_new_work_first_and_another_live_hosts_work_only_when_it_has_none()
    {
        var schema = fixture.NewName("affinity");
        var time = new FakeTimeProvider();
        var a = Store(schema, time);
        var b = Store(schema, time);
        await StartAsync(a, b);

        // Host A runs the first episode of "ran-by-a"; then a message for it and a new instance are waiting.
        await RunFirstEpisodeAsync(a, "ran-by-a", time);
        Assert.True(await a.EnqueueMessageAsync("ran-by-a", "event-1", time.GetUtcNow(), DurableWait.Token()));
        Assert.True((await a.CreateInstanceAsync(NewInstance("new", time), DurableWait.Token())).Created);

        // Host B takes the new instance and leaves A's (whose executor A has cached) to A...
        var taken = await b.LockNextOrchestrationAsync(DurableWait.Token());
        Assert.Equal("new", taken.InstanceId);

        // ...until B has nothing else to do: then it takes A's instance rather than idle.
        Assert.True(await a.EnqueueMessageAsync("ran-by-a", "event-2", time.GetUtcNow(), DurableWait.Token()));
        var stolen = await b.LockNextOrchestrationAsync(DurableWait.Token());
        Assert.Equal("ran-by-a", stolen.InstanceId);
        Assert.Equal(["event-1", "event-2"], stolen.Messages.Select(m => m.Data));
        Assert.Equal(1, stolen.HistoryCount);

        // Work that has waited more than a few seconds for its host is anyone's, even for a host with work of its own.
        await RunFirstEpisodeAsync(a, "also-by-a", time);
        Assert.True(await a.EnqueueMessageAsync("also-by-a", "event-3", time.GetUtcNow(), DurableWait.Token()));
        Assert.True((await a.CreateInstanceAsync(NewInstance("new-2", time), DurableWait.Token())).Created);
        time.Advance(TimeSpan.FromSeconds(11));
        var fetches = b.GetStatistics().OrchestrationFetches;
        var both = new[] { await b.LockNextOrchestrationAsync(DurableWait.Token()), await b.LockNextOrchestrationAsync(DurableWait.Token()) };
        Assert.Equal(["also-by-a", "new-2"], both.Select(w => w.InstanceId).Order(StringComparer.Ordinal));
        Assert.Equal(fetches + 1, b.GetStatistics().OrchestrationFetches); // both in one fetch: neither was a fallback
    }

    [Fact]
    public async Task Notifications_reach_other_stores_without_polling()
    {
        // The fake clock never moves, so polling never runs: only NOTIFY can carry work and changes across stores.
        var schema = fixture.NewName("notify");
        var factory = new SchemaFactory(fixture, schema);
        Action<DurableTaskRegistry> tasks = r => r.AddOrchestratorFunc<string, string>("Echo", (_, s) => Task.FromResult(s + "!"));
        await using var worker = await SdkTestHost.StartAsync(factory, tasks);
        await using var client = await SdkTestHost.StartAsync(factory, tasks, startWorker: false);

        var id = await client.Client.ScheduleNewOrchestrationInstanceAsync("Echo", "hi");

        Assert.Equal("hi!", (await client.Client.WaitForInstanceCompletionAsync(id, getInputsAndOutputs: true, DurableWait.Token())).ReadOutputAs<string>());
    }

    [Theory]
    [InlineData(false)]
    [InlineData(true)]
    public async Task Plans_made_while_the_queues_are_empty_keep_using_the_indexes_as_the_queues_fill(bool callersDataSource)
    {
        // Queue tables are often empty when (auto)vacuum analyzes them. A plan cached from such statistics scanned the
        // whole table for every key lookup once it filled again: 4x slower in the benchmark. The store's functions
        // carry their scan settings; on a data source the store builds itself, so do the statements it sends directly.
        var schema = fixture.NewName("plans");
        await using var dataSource = callersDataSource ? NpgsqlDataSource.Create(fixture.ConnectionString + ";Application Name=fleet-durable") : null;
        var factory = new SchemaFactory(fixture, schema, dataSource);
        string[] tables = callersDataSource ? ["dt_messages", "dt_activities"] : ["dt_messages", "dt_activities", "dt_instances", "dt_history"];
        Action<DurableTaskRegistry> tasks = r =>
        {
            r.AddActivityFunc<int, int>("Double", (_, n) => n * 2);
            r.AddOrchestratorFunc<int, int>("Sum", async (context, n) =>
            {
                var total = 0;
                for (var i = 0; i < 5; i++)
                {
                    total += await context.CallActivityAsync<int>("Double", n + i);
                }

                return total;
            });
        };
        await RunAsync("warm", 20);
        await fixture.Instance.PsqlAsync($"VACUUM (ANALYZE) \"{schema}\".dt_messages, \"{schema}\".dt_activities, \"{schema}\".dt_instances, \"{schema}\".dt_history");
        Assert.Equal("0,0", (await fixture.Instance.PsqlAsync(
            $"SELECT string_agg(reltuples::text, ',') FROM pg_class WHERE relnamespace = '\"{schema}\"'::regnamespace AND relname IN ('dt_messages', 'dt_activities')")).Trim());
        var before = await SequentialReadsAsync();

        await RunAsync("run", 150);

        Assert.Equal(0, await SequentialReadsAsync() - before);

        async Task RunAsync(string prefix, int count)
        {
            await using (var host = await SdkTestHost.StartAsync(factory, tasks, o => o.MaxConcurrentActivities = o.MaxConcurrentOrchestrations = 50))
            {
                var ids = await Task.WhenAll(Enumerable.Range(0, count).Select(i =>
                    host.Client.ScheduleNewOrchestrationInstanceAsync("Sum", i, new StartOrchestrationOptions($"{prefix}-{i}"))));
                foreach (var (id, i) in ids.Select((id, i) => (id, i)))
                {
                    Assert.Equal((10 * i) + 20, (await DurableWait.CompletionAsync(host.Client, id, TimeSpan.FromSeconds(60))).ReadOutputAs<int>());
                }
            }

            // The caller's pool outlives the host: close its idle connections so their backends end.
            dataSource?.Clear();
        }

        // Backends report their table counters when they end, so this waits for the host's connections to close.
        async Task<long> SequentialReadsAsync()
        {
            await DurableWait.UntilAsync(
                async () => (await fixture.Instance.PsqlAsync("SELECT count(*) FROM pg_stat_activity WHERE application_name = 'fleet-durable'")).Trim() == "0",
                "the host's connections are closed");
            return long.Parse(await fixture.Instance.PsqlAsync(
                $"SELECT COALESCE(sum(seq_tup_read), 0) FROM pg_stat_user_tables WHERE schemaname = '{schema}' AND relname IN ('{string.Join("', '", tables)}')"), CultureInfo.InvariantCulture);
        }
    }

    [Fact]
    public async Task Repeated_writes_after_an_unknown_outcome_change_nothing_twice()
    {
        var schema = fixture.NewName("repeat");
        var time = new FakeTimeProvider();
        var store = Store(schema, time);
        await StartAsync(store);
        var connection = new NpgsqlConnection(fixture.ConnectionString);
        _disposables.Add(connection);
        await connection.OpenAsync();

        // A create repeated with the same execution ID (its reply was lost) reports success and adds nothing.
        var first = await store.CreateInstanceAsync(NewInstance("i1", time), DurableWait.Token());
        var repeated = await store.CreateInstanceAsync(NewInstance("i1", time), DurableWait.Token());
        Assert.True(first.Created && repeated.Created);
        Assert.Equal(1L, await ScalarAsync<long>(connection, $"SELECT count(*) FROM \"{schema}\".dt_messages WHERE instance_id = 'i1'"));

        // An external message sent twice under one key is enqueued once, and the repeat returns the first result.
        var key = Guid.NewGuid();
        var sql = $"SELECT \"{schema}\".dt_enqueue_external('test', '{key}', 0, 'i1', 0, 'event')";
        Assert.True(await ScalarAsync<bool>(connection, sql));
        Assert.True(await ScalarAsync<bool>(connection, sql));
        Assert.Equal(2L, await ScalarAsync<long>(connection, $"SELECT count(*) FROM \"{schema}\".dt_messages WHERE instance_id = 'i1'"));

        // An episode commit repeated after it went through is refused by the version check and writes nothing.
        var item = await store.LockNextOrchestrationAsync(DurableWait.Token());
        var commit = new OrchestrationCommit
        {
            ExpectedExecutionId = "exec-i1",
            ExpectedHistoryCount = 0,
            NewHistory = ["h0", "h1"],
            ConsumedMessageIds = item.Messages.Select(m => m.Id).ToArray(),
            Instance = Running("exec-i1", 2, time),
            Activities = [new NewActivity(0, "A", null)],
        };
        Assert.True(await store.CommitOrchestrationAsync(item, commit, DurableWait.Token()));
        Assert.False(await store.CommitOrchestrationAsync(item, commit, DurableWait.Token()));
        Assert.Equal(["h0", "h1"], await store.GetHistoryAsync("i1", DurableWait.Token()));
        Assert.Equal(1L, await ScalarAsync<long>(connection, $"SELECT count(*) FROM \"{schema}\".dt_activities"));
    }

    [Fact]
    public async Task Health_is_reported_and_invalid_settings_name_the_setting()
    {
        var store = Store(fixture.NewName("health"));
        await StartAsync(store);
        var health = await store.CheckHealthAsync();
        Assert.Equal(PostgresHealthStatus.Healthy, health.Status);
        Assert.Contains("connected", health.Description, StringComparison.Ordinal);
        _disposables.Remove(store);
        await store.DisposeAsync();
        Assert.Equal(PostgresHealthStatus.Unhealthy, (await store.CheckHealthAsync()).Status);

        var bad = Assert.Throws<ArgumentException>(() => new PostgresOrchestrationStore(
            new PostgresStoreOptions { ConnectionString = fixture.ConnectionString, Schema = "bad-schema", MaxLockBatch = 0 },
            new DurableTaskOptions(),
            TimeProvider.System,
            NullLoggerFactory.Instance));
        Assert.Contains("PostgresStoreOptions.Schema", bad.Message, StringComparison.Ordinal);
        Assert.Contains("PostgresStoreOptions.MaxLockBatch", bad.Message, StringComparison.Ordinal);
        var both = Assert.Throws<ArgumentException>(() => new PostgresOrchestrationStore(
            new PostgresStoreOptions { ConnectionString = fixture.ConnectionString + ";Password=secret-value", AccessTokenProvider = _ => default },
            new DurableTaskOptions(),
            TimeProvider.System,
            NullLoggerFactory.Instance));
        Assert.Contains("AccessTokenProvider", both.Message, StringComparison.Ordinal);
        Assert.DoesNotContain("secret-value", both.Message, StringComparison.Ordinal);
    }

    private static async Task<T> ScalarAsync<T>(NpgsqlConnection connection, string sql)
    {
        await using var command = new NpgsqlCommand(sql, connection);
        return (T)(await command.ExecuteScalarAsync())!;
    }

    private static async Task WaitForHistoryCountAsync(SdkTestHost host, string id, Func<IList<HistoryEvent>, bool> condition) =>
        await DurableWait.UntilAsync(async () => condition(await host.Client.GetOrchestrationHistoryAsync(id, DurableWait.Token())), "the history matches");

    private static NewInstance NewInstance(string id, TimeProvider time)
    {
        var now = time.GetUtcNow();
        return new NewInstance(id, $"exec-{id}", "Test", null, "\"input\"", now, now, "start");
    }

    // Creates the instance and commits its first episode on this store, which then holds the instance's affinity.
    private static async Task RunFirstEpisodeAsync(PostgresOrchestrationStore store, string instanceId, FakeTimeProvider time)
    {
        Assert.True((await store.CreateInstanceAsync(NewInstance(instanceId, time), DurableWait.Token())).Created);
        var first = await store.LockNextOrchestrationAsync(DurableWait.Token());
        Assert.Equal(instanceId, first.InstanceId);
        Assert.True(await store.CommitOrchestrationAsync(
            first,
            new OrchestrationCommit
            {
                ExpectedExecutionId = $"exec-{instanceId}",
                ExpectedHistoryCount = 0,
                NewHistory = ["h0"],
                ConsumedMessageIds = first.Messages.Select(m => m.Id).ToArray(),
                Instance = Running($"exec-{instanceId}", 1, time),
            },
            DurableWait.Token()));
    }

    private static InstanceUpdate Running(string executionId, int historyCount, TimeProvider time) => new()
    {
        Status = InstanceStatus.Running,
        ExecutionId = executionId,
        HistoryCount = historyCount,
        LastUpdatedAt = time.GetUtcNow(),
    };

    private PostgresOrchestrationStore Store(string schema, TimeProvider? time = null, TimeSpan? lockTimeout = null, int maxConcurrent = 20)
    {
        var store = new PostgresOrchestrationStore(
            new PostgresStoreOptions { ConnectionString = fixture.ConnectionString, Schema = schema },
            new DurableTaskOptions
            {
                HubName = "test",
                LockTimeout = lockTimeout ?? TimeSpan.FromMinutes(2),
                PollingInterval = TimeSpan.FromSeconds(1),
                MaxConcurrentOrchestrations = maxConcurrent,
                MaxConcurrentActivities = maxConcurrent,
            },
            time ?? new FakeTimeProvider(),
            NullLoggerFactory.Instance);
        _disposables.Add(store);
        return store;
    }

    private static async Task StartAsync(params IOrchestrationStore[] stores)
    {
        foreach (var store in stores)
        {
            await store.InitializeAsync(DurableWait.Token());
            await store.StartDispatchAsync(DurableWait.Token());
        }
    }

    /// <summary>Stores on one schema of the fixture's cluster (one factory shared by several hosts).</summary>
    private sealed class SchemaFactory(PostgresFixture fixture, string schema, NpgsqlDataSource? dataSource = null) : IStoreFactory
    {
        public IOrchestrationStore Create(DurableTaskOptions options, TimeProvider time, Microsoft.Extensions.Logging.ILoggerFactory loggerFactory) =>
            new PostgresOrchestrationStore(
                dataSource is null
                    ? new PostgresStoreOptions { ConnectionString = fixture.ConnectionString, Schema = schema }
                    : new PostgresStoreOptions { DataSource = dataSource, Schema = schema },
                options,
                time,
                loggerFactory);

        public ValueTask DisposeAsync() => ValueTask.CompletedTask;
    }

    /// <summary>Hands out orchestration work only while open, so a test decides which host runs an episode.</summary>
    private sealed class GatedStore(IOrchestrationStore inner) : DelegatingStore(inner)
    {
        private volatile TaskCompletionSource _open = Opened();
        private int _committed;
        private int _refused;

        public int Committed => Volatile.Read(ref _committed);

        public int Refused => Volatile.Read(ref _refused);

        public void Open() => _open.TrySetResult();

        public void Close()
        {
            if (_open.Task.IsCompleted)
            {
                _open = new TaskCompletionSource(TaskCreationOptions.RunContinuationsAsynchronously);
            }
        }

        public override async Task<OrchestrationWorkItem> LockNextOrchestrationAsync(CancellationToken cancellationToken)
        {
            while (true)
            {
                await _open.Task.WaitAsync(cancellationToken);
                var item = await base.LockNextOrchestrationAsync(cancellationToken);
                if (_open.Task.IsCompleted)
                {
                    return item;
                }

                // Closed while waiting: give the work back for the open host.
                await base.AbandonOrchestrationAsync(item, TimeSpan.Zero, countAttempt: false, cancellationToken);
            }
        }

        public override async Task<bool> CommitOrchestrationAsync(OrchestrationWorkItem workItem, OrchestrationCommit commit, CancellationToken cancellationToken)
        {
            var committed = await base.CommitOrchestrationAsync(workItem, commit, cancellationToken);
            if (commit.Instance is not null)
            {
                Interlocked.Increment(ref committed ? ref _committed : ref _refused);
            }

            return committed;
        }

        private static TaskCompletionSource Opened()
        {
            var open = new TaskCompletionSource(TaskCreationOptions.RunContinuationsAsynchronously);
            open.SetResult();
            return open;
        }
    }
}
