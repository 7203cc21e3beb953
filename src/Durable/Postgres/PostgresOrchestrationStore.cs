using System.Collections.Concurrent;
using System.Globalization;
using Fleet.Durable.Storage;
using Microsoft.Extensions.Logging;
using Npgsql;

namespace Fleet.Durable.Postgres;

/// <summary>
/// The PostgreSQL store: several hosts share one database, each competing for work; hosts can join or leave at any
/// time and the loss of any of them loses nothing.
/// <list type="bullet">
/// <item>Work rows (instances with visible messages, activities) are claimed with <c>FOR UPDATE SKIP LOCKED</c> and a
/// lock expiry; there are no partitions. A host holds a session advisory lock while it runs, so when it dies (its
/// connection closes) the others take its work back at their next poll; a host that is cut off without closing its
/// connection loses its work when its locks expire.</item>
/// <item>Dispatch is pushed: each commit signals this host directly and other hosts with LISTEN/NOTIFY; future work
/// (timers) is fetched by a timer; polling every <see cref="DurableTaskOptions.PollingInterval"/> is the fallback.</item>
/// <item>Affinity is soft: a host first takes work it ran last (its executor is cached), new work, work of hosts that
/// are gone and work that waited long; it takes the recent work of another live host only when it has none of that.</item>
/// <item>Writes use group commit (one batch, one transaction, one round trip for many episodes). An episode commit is
/// refused when another host advanced the instance (execution ID and history count checked), and each work item
/// carries the instance's version so a cached executor that is out of date is reloaded before it runs.</item>
/// <item>Transient errors (lost connections, failover, deadlocks) are retried until the database is back; every write
/// is safe to repeat, so nothing committed is lost and nothing is applied twice. Meanwhile
/// <see cref="CheckHealthAsync"/> reports the problem; the host does not stop.</item>
/// <item>The schema is created and migrated at start-up under an advisory lock, so hosts may start together.</item>
/// </list>
/// </summary>
public sealed class PostgresOrchestrationStore : IOrchestrationStore
{
    // At most 5,000 messages per episode: a larger fan-in is taken in several episodes.
    private const int MaxMessagesPerEpisode = 5000;
    private const int ReclaimEveryPolls = 30;
    private const int KeyCleanupEveryPolls = 60;
    private const long AnalyzeAfterRows = 200;
    private static readonly TimeSpan MessageKeyRetention = TimeSpan.FromHours(1);

    // Work another live host ran last is left to it (its executor is cached there) unless it has waited this long.
    private static readonly TimeSpan AffinityPatience = TimeSpan.FromSeconds(10);

    private readonly PostgresStoreOptions _options;
    private readonly DurableTaskOptions _taskOptions;
    private readonly TimeProvider _time;
    private readonly InstanceChangeWaiters _changeWaiters;
    private readonly ILogger _logger;
    private readonly NpgsqlDataSource _dataSource;
    private readonly bool _ownsDataSource;
    private readonly AccessTokenPassword? _accessToken;
    private readonly int _lockClass;
    private readonly Lock _gate = new();
    private readonly CancellationTokenSource _closing = new();
    private readonly TaskCompletionSource _ready = new(TaskCreationOptions.RunContinuationsAsynchronously);
    private readonly ConcurrentDictionary<OrchestrationWorkItem, byte> _instancesOut = new(ReferenceEqualityComparer.Instance);
    private readonly ConcurrentDictionary<long, byte> _activitiesOut = new();
    private readonly WorkQueue<LockedInstance> _orchestrations;
    private readonly WorkQueue<ActivityWorkItem> _activities;
    private readonly DueTimer _dueTimer;
    private readonly PostgresWriter _writer;
    private readonly InstanceReader _reader;
    private readonly InstanceReader _readerWithPayloads;
    private readonly PostgresListener _listener;
    private Task? _initialization;
    private Task? _dispatch;
    private Task? _pollLoop;
    private NpgsqlConnection? _ownerConnection;
    private int _owner;

    // The hosts that held their advisory lock at the last poll: work another live host ran last is left to it first.
    private volatile int[] _alive = [];

    private int _tablesToAnalyze = 4;
    private long _tokenCounter;
    private int _disposed;

    internal StoreCounters Counters { get; } = new();

    /// <summary>Creates the store; the database is reached by <see cref="InitializeAsync"/>.</summary>
    /// <exception cref="ArgumentException">A setting is invalid; the message names it.</exception>
    public PostgresOrchestrationStore(PostgresStoreOptions options, DurableTaskOptions taskOptions, TimeProvider timeProvider, ILoggerFactory loggerFactory)
    {
        ArgumentNullException.ThrowIfNull(options);
        ArgumentNullException.ThrowIfNull(taskOptions);
        ArgumentNullException.ThrowIfNull(timeProvider);
        ArgumentNullException.ThrowIfNull(loggerFactory);
        options.Validate();
        _options = options;
        _taskOptions = taskOptions;
        _time = timeProvider;
        _changeWaiters = new InstanceChangeWaiters(timeProvider);
        _logger = loggerFactory.CreateLogger("Fleet.Durable.Postgres");
        HubName = taskOptions.HubName;
        Schema = options.Schema;
        QuotedSchema = PostgresSchema.Quote(options.Schema);
        _lockClass = PostgresSchema.LockClass(options.Schema);
        Channel = "fleet_dt_" + PostgresSchema.LockClass(options.Schema + "/" + HubName).ToString("x8", CultureInfo.InvariantCulture);
        Sender = Guid.NewGuid().ToString("N");
        Health = new HealthState(_logger, HubName);

        if (options.DataSource is { } dataSource)
        {
            _dataSource = dataSource;
        }
        else
        {
            var builder = new NpgsqlDataSourceBuilder(options.ConnectionString);
            var settings = builder.ConnectionStringBuilder;

            // Statements repeat constantly: keep them prepared. The store leaves no session state on pooled
            // connections (its LISTEN and advisory-lock sessions are dedicated and cleaned up), so the reset
            // statements Npgsql runs on every return to the pool are pure cost. Keepalives reveal a silently dead
            // connection.
            if (settings.MaxAutoPrepare == 0)
            {
                settings.MaxAutoPrepare = 64;
            }

            settings.NoResetOnClose = true;

            if (settings.KeepAlive == 0)
            {
                settings.KeepAlive = 15;
            }

            if (string.IsNullOrEmpty(settings.ApplicationName))
            {
                settings.ApplicationName = "fleet-durable";
            }

            if (options.AccessTokenProvider is { } provider)
            {
                var password = new AccessTokenPassword(provider, timeProvider, _logger);
                _accessToken = password;
                builder.UsePasswordProvider(
                    _ => password.GetAsync(CancellationToken.None).AsTask().GetAwaiter().GetResult(),
                    (_, cancellationToken) => password.GetAsync(cancellationToken));
            }

            // The statements sent outside the store's functions (due times, history and instance reads, queries) get
            // the scan settings the functions carry (see PostgresSchema): their plans are cached too, once prepared.
            builder.UsePhysicalConnectionInitializer(
                connection =>
                {
                    using var command = new NpgsqlCommand(PostgresSchema.SessionSettings, connection);
                    command.ExecuteNonQuery();
                },
                async connection =>
                {
                    await using var command = new NpgsqlCommand(PostgresSchema.SessionSettings, connection);
                    await command.ExecuteNonQueryAsync().ConfigureAwait(false);
                });
            _dataSource = builder.Build();
            _ownsDataSource = true;
        }

        _orchestrations = new WorkQueue<LockedInstance>(FetchInstancesAsync, InstanceLimit, PrepareInstanceAsync);
        _activities = new WorkQueue<ActivityWorkItem>(FetchActivitiesAsync, ActivityLimit, PrepareActivityAsync);
        _dueTimer = new DueTimer(timeProvider, () =>
        {
            _orchestrations.Signal();
            _activities.Signal();
        });
        _writer = new PostgresWriter(_dataSource, this, options.MaxWriteBatch, _logger);
        _reader = new InstanceReader(_dataSource, QuotedSchema, HubName, includePayloads: false);
        _readerWithPayloads = new InstanceReader(_dataSource, QuotedSchema, HubName, includePayloads: true);
        _listener = new PostgresListener(_dataSource, Channel, Sender, OnNotice, OnListenerConnected, _logger, HubName);
    }

    /// <inheritdoc />
    public string HubName { get; }

    /// <summary>The database schema holding the store's tables.</summary>
    public string Schema { get; }

    /// <summary>This host's ID among the hosts dispatching the hub (0 until <see cref="StartDispatchAsync"/> ran).</summary>
    public int HostId => _owner;

    internal string QuotedSchema { get; }

    internal string Channel { get; }

    internal string Sender { get; }

    internal HealthState Health { get; }

    internal AccessTokenPassword? AccessToken => _accessToken;

    /// <summary>Whether other hosts should hear of this host's own orchestration work: it does not dispatch, or has no free slot.</summary>
    internal bool SharesOrchestrationWork => _dispatch is null || InstanceLimit() <= 0;

    /// <summary>Whether other hosts should hear of the activities this host schedules: it does not dispatch, or has no free slot.</summary>
    internal bool SharesActivityWork => _dispatch is null || ActivityLimit() <= 0;

    private TimeSpan LockTimeout => _taskOptions.LockTimeout;

    /// <summary>What this store did so far (fetches, locks, loads, write batches, notices).</summary>
    public PostgresStoreStatistics GetStatistics() => Counters.Snapshot();

    /// <summary>
    /// Checks that the database answers (within <see cref="PostgresStoreOptions.HealthCheckTimeout"/>) and whether the
    /// store's own connections work; never throws.
    /// </summary>
    public async Task<PostgresStoreHealth> CheckHealthAsync(CancellationToken cancellationToken = default)
    {
        if (_disposed != 0)
        {
            return new PostgresStoreHealth(PostgresHealthStatus.Unhealthy, "The store is closed.");
        }

        using var timeout = CancellationTokenSource.CreateLinkedTokenSource(cancellationToken);
        timeout.CancelAfter(_options.HealthCheckTimeout);
        try
        {
            await using var command = _dataSource.CreateCommand("SELECT 1");
            await command.ExecuteScalarAsync(timeout.Token).ConfigureAwait(false);
        }
        catch (Exception ex) when (ex is not OperationCanceledException || !cancellationToken.IsCancellationRequested)
        {
            var reason = ex is OperationCanceledException
                ? $"the database did not answer within {_options.HealthCheckTimeout.TotalSeconds:0.#} s"
                : HealthState.Describe(ex);
            return new PostgresStoreHealth(PostgresHealthStatus.Unhealthy, $"Durable store database unreachable for hub '{HubName}': {reason}.");
        }

        if (_ready.Task.IsFaulted)
        {
            return new PostgresStoreHealth(PostgresHealthStatus.Unhealthy, $"Durable store for hub '{HubName}' failed to start: {HealthState.Describe(_ready.Task.Exception!.GetBaseException())}");
        }

        if (!_ready.Task.IsCompleted)
        {
            return new PostgresStoreHealth(PostgresHealthStatus.Degraded, $"Durable store for hub '{HubName}' is still starting.");
        }

        if (Health.Problem is { } problem)
        {
            return new PostgresStoreHealth(PostgresHealthStatus.Degraded, $"Durable store for hub '{HubName}' is recovering: {problem}");
        }

        if (!_listener.Connected)
        {
            return new PostgresStoreHealth(PostgresHealthStatus.Degraded, $"Durable store for hub '{HubName}' has no notification connection; work is found by polling.");
        }

        return new PostgresStoreHealth(PostgresHealthStatus.Healthy, $"Durable store for hub '{HubName}' is connected (schema {Schema}{(_owner > 0 ? $", host {_owner}" : string.Empty)}).");
    }

    /// <inheritdoc />
    /// <remarks>
    /// Creates or migrates the schema and starts listening. When the database cannot be reached (a transient error),
    /// this returns after the first attempt and the store keeps trying in the background; every operation waits until
    /// it is ready, and <see cref="CheckHealthAsync"/> reports the problem. Errors that retrying cannot fix (for
    /// example a rejected password or a newer schema) are thrown.
    /// </remarks>
    public async Task InitializeAsync(CancellationToken cancellationToken)
    {
        var firstAttempt = new TaskCompletionSource(TaskCreationOptions.RunContinuationsAsynchronously);
        Task initialization;
        lock (_gate)
        {
            ObjectDisposedException.ThrowIf(_disposed != 0, this);
            if (_initialization is null)
            {
                _initialization = Task.Run(() => InitializeInBackgroundAsync(firstAttempt), CancellationToken.None);
                initialization = firstAttempt.Task;
            }
            else
            {
                initialization = _ready.Task.IsCompleted ? _ready.Task : Task.CompletedTask;
            }
        }

        await initialization.WaitAsync(cancellationToken).ConfigureAwait(false);
    }

    /// <inheritdoc />
    /// <remarks>
    /// Joins the hosts dispatching the hub: takes a host ID and its advisory lock (released by PostgreSQL when this
    /// host's session ends), takes back work left locked by hosts that are gone, and starts polling. When the database
    /// is not reachable yet this returns at once and dispatching starts when it is.
    /// </remarks>
    public async Task StartDispatchAsync(CancellationToken cancellationToken)
    {
        await InitializeAsync(cancellationToken).ConfigureAwait(false);
        Task dispatch;
        lock (_gate)
        {
            _dispatch ??= Task.Run(StartDispatchWhenReadyAsync, CancellationToken.None);
            dispatch = _dispatch;
        }

        if (_ready.Task.IsCompletedSuccessfully)
        {
            await dispatch.WaitAsync(cancellationToken).ConfigureAwait(false);
        }
    }

    /// <inheritdoc />
    public async Task<CreateInstanceResult> CreateInstanceAsync(NewInstance instance, CancellationToken cancellationToken)
    {
        ArgumentNullException.ThrowIfNull(instance);
        await ReadyAsync(cancellationToken).ConfigureAwait(false);
        return await _writer.WriteAsync(new CreateInstanceWrite(instance)).WaitAsync(cancellationToken).ConfigureAwait(false);
    }

    /// <inheritdoc />
    public async Task<bool> EnqueueMessageAsync(string instanceId, string data, DateTimeOffset visibleAt, CancellationToken cancellationToken)
    {
        await ReadyAsync(cancellationToken).ConfigureAwait(false);
        return await _writer.WriteAsync(new EnqueueWrite(instanceId, data, visibleAt.UtcTicks, Guid.NewGuid())).WaitAsync(cancellationToken).ConfigureAwait(false);
    }

    /// <inheritdoc />
    public async Task<bool> EnqueueForFailedInstanceAsync(string instanceId, string data, DateTimeOffset visibleAt, CancellationToken cancellationToken)
    {
        await ReadyAsync(cancellationToken).ConfigureAwait(false);
        return await _writer.WriteAsync(new EnqueueWrite(instanceId, data, visibleAt.UtcTicks, Guid.NewGuid(), forFailedInstance: true)).WaitAsync(cancellationToken).ConfigureAwait(false);
    }

    /// <inheritdoc />
    public async Task EnqueueEntityMessageAsync(string instanceId, string entityName, string data, DateTimeOffset visibleAt, CancellationToken cancellationToken)
    {
        await ReadyAsync(cancellationToken).ConfigureAwait(false);
        await _writer.WriteAsync(new EnqueueWrite(instanceId, data, visibleAt.UtcTicks, Guid.NewGuid(), entityName)).WaitAsync(cancellationToken).ConfigureAwait(false);
    }

    /// <inheritdoc />
    public async Task<bool> DeleteEmptyEntityAsync(string instanceId, int expectedVersion, CancellationToken cancellationToken)
    {
        await ReadyAsync(cancellationToken).ConfigureAwait(false);
        return await _writer.WriteAsync(new DeleteEmptyEntityWrite(instanceId, expectedVersion)).WaitAsync(cancellationToken).ConfigureAwait(false);
    }

    /// <inheritdoc />
    public async Task<InstanceRecord?> GetInstanceAsync(string instanceId, bool includePayloads, CancellationToken cancellationToken)
    {
        await ReadyAsync(cancellationToken).ConfigureAwait(false);
        var reader = includePayloads ? _readerWithPayloads : _reader;
        return await RetryAsync("reading an instance", ct => reader.ReadAsync(instanceId).WaitAsync(ct), cancellationToken).ConfigureAwait(false);
    }

    /// <inheritdoc />
    public async Task<InstancePage> QueryInstancesAsync(InstanceQuery query, CancellationToken cancellationToken)
    {
        ArgumentNullException.ThrowIfNull(query);
        var after = InstanceRows.DecodeToken(query.ContinuationToken);
        await ReadyAsync(cancellationToken).ConfigureAwait(false);
        return await RetryAsync("querying instances", async ct =>
        {
            await using var command = _dataSource.CreateCommand();
            command.Parameters.Add(Param.Text(HubName));
            var sql = $"SELECT {InstanceRows.Columns(query.IncludePayloads)} FROM {QuotedSchema}.dt_instances WHERE hub = $1"
                + PostgresQueries.FilterSql(command.Parameters, query.Filter);
            if (after is { } position)
            {
                command.Parameters.Add(Param.Bigint(position.CreatedTicks));
                var created = command.Parameters.Count;
                command.Parameters.Add(Param.Text(position.InstanceId));
                sql += $" AND (created_at, instance_id) > (${created}, ${created + 1})";
            }

            command.Parameters.Add(Param.Integer(query.PageSize + 1));
            command.CommandText = sql + $" ORDER BY created_at, instance_id LIMIT ${command.Parameters.Count}";
            var rows = new List<InstanceRecord>(Math.Min(query.PageSize + 1, 1024));
            await using (var reader = await command.ExecuteReaderAsync(ct).ConfigureAwait(false))
            {
                while (await reader.ReadAsync(ct).ConfigureAwait(false))
                {
                    rows.Add(InstanceRows.Read(reader));
                }
            }

            string? token = null;
            if (rows.Count > query.PageSize)
            {
                rows.RemoveAt(rows.Count - 1);
                var last = rows[^1];
                token = InstanceRows.EncodeToken(last.CreatedAt.UtcTicks, last.InstanceId);
            }

            return new InstancePage(rows, token);
        }, cancellationToken).ConfigureAwait(false);
    }

    /// <inheritdoc />
    public async Task<IReadOnlyList<string>?> GetHistoryAsync(string instanceId, CancellationToken cancellationToken) =>
        (await LoadAsync(instanceId, includePayloads: false, cancellationToken).ConfigureAwait(false))?.History;

    /// <inheritdoc />
    public async Task<int> PurgeInstanceAsync(string instanceId, bool recursive, CancellationToken cancellationToken)
    {
        await ReadyAsync(cancellationToken).ConfigureAwait(false);
        return await _writer.WriteAsync(new PurgeWrite(instanceId, recursive)).WaitAsync(cancellationToken).ConfigureAwait(false);
    }

    /// <inheritdoc />
    public async Task<int> PurgeInstancesAsync(InstanceFilter filter, int maxInstances, bool recursive, CancellationToken cancellationToken)
    {
        ArgumentNullException.ThrowIfNull(filter);
        await ReadyAsync(cancellationToken).ConfigureAwait(false);
        return await _writer.WriteAsync(new PurgeManyWrite(filter, maxInstances, recursive)).WaitAsync(cancellationToken).ConfigureAwait(false);
    }

    /// <inheritdoc />
    public Task WaitForInstanceChangeAsync(string instanceId, TimeSpan maxWait, CancellationToken cancellationToken) =>
        _changeWaiters.WaitAsync(instanceId, maxWait, cancellationToken);

    /// <inheritdoc />
    public async Task<OrchestrationWorkItem> LockNextOrchestrationAsync(CancellationToken cancellationToken)
    {
        await DispatchingAsync(cancellationToken).ConfigureAwait(false);
        var locked = await _orchestrations.NextAsync(cancellationToken).ConfigureAwait(false);
        _instancesOut[locked.Item] = 0;
        return locked.Item;
    }

    /// <inheritdoc />
    public async Task<InstanceState?> LoadInstanceStateAsync(string instanceId, CancellationToken cancellationToken) =>
        await LoadAsync(instanceId, includePayloads: true, cancellationToken).ConfigureAwait(false);

    /// <inheritdoc />
    public async Task<bool> CommitOrchestrationAsync(OrchestrationWorkItem workItem, OrchestrationCommit commit, CancellationToken cancellationToken)
    {
        ArgumentNullException.ThrowIfNull(workItem);
        ArgumentNullException.ThrowIfNull(commit);
        var now = NowTicks();

        // Keep the lock for waiting messages only while this host has room for the episode they start.
        long? keepUntil = InstanceLimit() > 0 ? now + LockTimeout.Ticks : null;
        return await _writer.WriteAsync(new CommitWrite(workItem, commit, ParseToken(workItem.LockToken), now, keepUntil))
            .WaitAsync(cancellationToken).ConfigureAwait(false);
    }

    /// <inheritdoc />
    public async Task AbandonOrchestrationAsync(OrchestrationWorkItem workItem, TimeSpan retryAfter, bool countAttempt, CancellationToken cancellationToken)
    {
        ArgumentNullException.ThrowIfNull(workItem);
        var readyAt = NowTicks() + Math.Max(0, retryAfter.Ticks);
        await _writer.WriteAsync(new AbandonInstanceWrite(workItem, ParseToken(workItem.LockToken), countAttempt, readyAt))
            .WaitAsync(cancellationToken).ConfigureAwait(false);
    }

    /// <inheritdoc />
    public async Task<bool> RenewOrchestrationLockAsync(OrchestrationWorkItem workItem, CancellationToken cancellationToken)
    {
        ArgumentNullException.ThrowIfNull(workItem);
        var until = NowTicks() + LockTimeout.Ticks;
        var renewed = await _writer.WriteAsync(new RenewInstanceWrite(workItem.InstanceId, ParseToken(workItem.LockToken), until))
            .WaitAsync(cancellationToken).ConfigureAwait(false);
        if (renewed)
        {
            workItem.LockedUntil = new DateTimeOffset(until, TimeSpan.Zero);
        }

        return renewed;
    }

    /// <inheritdoc />
    public async Task<ActivityWorkItem> LockNextActivityAsync(CancellationToken cancellationToken)
    {
        await DispatchingAsync(cancellationToken).ConfigureAwait(false);
        var item = await _activities.NextAsync(cancellationToken).ConfigureAwait(false);
        _activitiesOut[item.Id] = 0;
        return item;
    }

    /// <inheritdoc />
    public async Task<bool> CompleteActivityAsync(ActivityWorkItem workItem, string resultData, CancellationToken cancellationToken)
    {
        ArgumentNullException.ThrowIfNull(workItem);
        return await _writer.WriteAsync(new CompleteActivityWrite(workItem, resultData, NowTicks())).WaitAsync(cancellationToken).ConfigureAwait(false);
    }

    /// <inheritdoc />
    public async Task AbandonActivityAsync(ActivityWorkItem workItem, TimeSpan retryAfter, bool countAttempt, CancellationToken cancellationToken)
    {
        ArgumentNullException.ThrowIfNull(workItem);
        var readyAt = NowTicks() + Math.Max(0, retryAfter.Ticks);
        await _writer.WriteAsync(new AbandonActivityWrite(workItem, ParseToken(workItem.LockToken), countAttempt, readyAt))
            .WaitAsync(cancellationToken).ConfigureAwait(false);
    }

    /// <inheritdoc />
    public async Task<bool> RenewActivityLockAsync(ActivityWorkItem workItem, CancellationToken cancellationToken)
    {
        ArgumentNullException.ThrowIfNull(workItem);
        var until = NowTicks() + LockTimeout.Ticks;
        var renewed = await _writer.WriteAsync(new RenewActivityWrite(workItem.Id, ParseToken(workItem.LockToken), until))
            .WaitAsync(cancellationToken).ConfigureAwait(false);
        if (renewed)
        {
            workItem.LockedUntil = new DateTimeOffset(until, TimeSpan.Zero);
        }

        return renewed;
    }

    /// <inheritdoc />
    /// <remarks>Releases work fetched but not handed out, so other hosts take it at once, then closes the connections.</remarks>
    public async ValueTask DisposeAsync()
    {
        if (Interlocked.Exchange(ref _disposed, 1) != 0)
        {
            return;
        }

        await _closing.CancelAsync().ConfigureAwait(false);
        if (_pollLoop is not null)
        {
            await _pollLoop.ConfigureAwait(false);
        }

        var now = NowTicks();
        var releases = new List<Task>();
        foreach (var locked in _orchestrations.Drain())
        {
            releases.Add(_writer.WriteAsync(new AbandonInstanceWrite(locked.Item, locked.Token, countAttempt: false, now)));
        }

        foreach (var item in _activities.Drain())
        {
            releases.Add(_writer.WriteAsync(new AbandonActivityWrite(item, ParseToken(item.LockToken), countAttempt: false, now)));
        }

        _orchestrations.Dispose();
        _activities.Dispose();
        _dueTimer.Dispose();
        await _writer.DisposeAsync().ConfigureAwait(false);
        await Task.WhenAll(releases.Select(r => r.ContinueWith(static _ => { }, CancellationToken.None, TaskContinuationOptions.ExecuteSynchronously, TaskScheduler.Default))).ConfigureAwait(false);
        await _listener.DisposeAsync().ConfigureAwait(false);
        if (_initialization is not null)
        {
            await _initialization.ConfigureAwait(false);
        }

        if (_dispatch is not null)
        {
            await _dispatch.ConfigureAwait(false);
        }

        await DropOwnerConnectionAsync().ConfigureAwait(false);

        if (_ownsDataSource)
        {
            await _dataSource.DisposeAsync().ConfigureAwait(false);
        }

        if (_ready.TrySetException(new ObjectDisposedException(nameof(PostgresOrchestrationStore))))
        {
            _ = _ready.Task.Exception; // observed: callers that still wait see it
        }

        _accessToken?.Dispose();
        _closing.Dispose();
    }

    internal long NowTicks() => _time.GetUtcNow().UtcTicks;

    internal static long ParseToken(string token) => long.Parse(token, CultureInfo.InvariantCulture);

    /// <summary>An instance may have messages visible at <paramref name="visibleAt"/>.</summary>
    internal void OnInstanceWork(string instanceId, long visibleAt)
    {
        if (visibleAt > NowTicks())
        {
            _dueTimer.Add(visibleAt);
            return;
        }

        // A buffered item for the instance missed these messages: it re-reads them when handed out.
        _orchestrations.ForEachBuffered(locked =>
        {
            if (locked.Item.InstanceId == instanceId)
            {
                locked.Stale = true;
            }
        });
        _orchestrations.Signal();
    }

    internal void OnOrchestrationWork() => _orchestrations.Signal();

    /// <summary>An instance whose lock a commit kept because messages were waiting: hand it out again.</summary>
    internal void Requeue(OrchestrationWorkItem previous, long token, string executionId, int historyCount, long lockedUntil, List<StoredMessage> messages)
    {
        var item = new OrchestrationWorkItem
        {
            InstanceId = previous.InstanceId,
            Messages = messages,
            LockToken = previous.LockToken,
            LockedUntil = new DateTimeOffset(lockedUntil, TimeSpan.Zero),
            ExecutionId = executionId,
            HistoryCount = historyCount,
        };
        Interlocked.Increment(ref Counters.InstancesContinued);
        _orchestrations.Add(new LockedInstance(item, token) { Stale = messages.Count == 0 });
    }

    internal void OnActivityWork(long visibleAt)
    {
        if (visibleAt > NowTicks())
        {
            _dueTimer.Add(visibleAt);
        }
        else
        {
            _activities.Signal();
        }
    }

    internal void InstanceReleased(OrchestrationWorkItem item) => _instancesOut.TryRemove(item, out _);

    internal void ActivityReleased(ActivityWorkItem item) => _activitiesOut.TryRemove(item.Id, out _);

    internal void NotifyChanged(string instanceId) => _changeWaiters.Notify(instanceId);

    private static NpgsqlCommand Command(NpgsqlConnection connection, string sql, params NpgsqlParameter[] parameters)
    {
        var command = new NpgsqlCommand(sql, connection);
        command.Parameters.AddRange(parameters);
        return command;
    }

    private async Task InitializeInBackgroundAsync(TaskCompletionSource firstAttempt)
    {
        var closing = _closing.Token;
        for (var attempt = 1; ; attempt++)
        {
            try
            {
                int from;
                var connection = await _dataSource.OpenConnectionAsync(closing).ConfigureAwait(false);
                await using (connection.ConfigureAwait(false))
                {
                    (from, _) = await PostgresSchema.MigrateAsync(connection, Schema, _logger, closing).ConfigureAwait(false);
                }

                await _listener.StartAsync().ConfigureAwait(false);
                Health.Succeeded();
                _logger.StoreReady(HubName, Schema, PostgresSchema.Version, from);
                _ready.TrySetResult();
                firstAttempt.TrySetResult();
                return;
            }
            catch (OperationCanceledException) when (closing.IsCancellationRequested)
            {
                var disposed = new ObjectDisposedException(nameof(PostgresOrchestrationStore));
                _ready.TrySetException(disposed);
                firstAttempt.TrySetException(disposed);
                return;
            }
            catch (Exception ex) when (Transient.IsTransient(ex))
            {
                Health.Failed(ex, "starting");
                if (attempt == 1)
                {
                    _logger.StartDeferred(ex, HubName);
                    firstAttempt.TrySetResult();
                }

                try
                {
                    await Transient.PauseAsync(attempt, closing).ConfigureAwait(false);
                }
                catch (OperationCanceledException)
                {
                    var disposed = new ObjectDisposedException(nameof(PostgresOrchestrationStore));
                    _ready.TrySetException(disposed);
                    return;
                }
            }
            catch (Exception ex)
            {
                var reason = HealthState.Describe(ex);
                _logger.StartFailed(ex, HubName, reason);
                var failure = new InvalidOperationException($"The PostgreSQL durable store for hub '{HubName}' cannot start: {reason}", ex);
                _ready.TrySetException(failure);
                firstAttempt.TrySetException(failure);
                return;
            }
        }
    }

    private async Task StartDispatchWhenReadyAsync()
    {
        var closing = _closing.Token;
        try
        {
            await _ready.Task.ConfigureAwait(false);
        }
        catch (Exception)
        {
            // The store did not start; operations report why.
            return;
        }

        for (var attempt = 1; !closing.IsCancellationRequested; attempt++)
        {
            try
            {
                var connection = await EnsureOwnerAsync(closing).ConfigureAwait(false);
                var alive = await AliveOwnersAsync(connection, closing).ConfigureAwait(false);
                var (instances, activities) = await ReclaimAsync(connection, alive, closing).ConfigureAwait(false);
                await ArmNextDueAsync(closing).ConfigureAwait(false);
                _logger.DispatchStarted(HubName, _owner, instances, activities);
                _pollLoop = Task.Run(PollAsync, CancellationToken.None);
                _orchestrations.Signal();
                _activities.Signal();
                return;
            }
            catch (OperationCanceledException) when (closing.IsCancellationRequested)
            {
                return;
            }
            catch (Exception ex) when (Transient.IsTransient(ex))
            {
                Health.Failed(ex, "joining the dispatching hosts");
                await DropBrokenOwnerConnectionAsync().ConfigureAwait(false);
                try
                {
                    await Transient.PauseAsync(attempt, closing).ConfigureAwait(false);
                }
                catch (OperationCanceledException)
                {
                    return;
                }
            }
        }
    }

    /// <summary>
    /// Holds this host's advisory lock on a dedicated session (opened again if it broke). Other hosts treat a lock owner
    /// without the advisory lock as gone and take its work back.
    /// </summary>
    private async Task<NpgsqlConnection> EnsureOwnerAsync(CancellationToken cancellationToken)
    {
        if (_ownerConnection is { State: System.Data.ConnectionState.Open } open)
        {
            return open;
        }

        await DropOwnerConnectionAsync().ConfigureAwait(false);
        var connection = await _dataSource.OpenConnectionAsync(cancellationToken).ConfigureAwait(false);
        try
        {
            while (true)
            {
                if (_owner == 0)
                {
                    await using var next = Command(connection, $"SELECT nextval('{QuotedSchema}.dt_owner_seq')::integer");
                    _owner = (int)(await next.ExecuteScalarAsync(cancellationToken).ConfigureAwait(false))!;
                }

                await using var take = Command(connection, "SELECT pg_try_advisory_lock($1, $2)", Param.Integer(_lockClass), Param.Integer(_owner));
                if ((bool)(await take.ExecuteScalarAsync(cancellationToken).ConfigureAwait(false))!)
                {
                    break;
                }

                // Still held by this host's previous session (not yet closed by the server): take a new ID.
                _owner = 0;
            }
        }
        catch
        {
            await connection.DisposeAsync().ConfigureAwait(false);
            throw;
        }

        _ownerConnection = connection;
        return connection;
    }

    /// <summary>Drops the owner session only when it broke: an open one still holds this host's lock.</summary>
    private async Task DropBrokenOwnerConnectionAsync()
    {
        if (_ownerConnection is { State: not System.Data.ConnectionState.Open })
        {
            await DropOwnerConnectionAsync().ConfigureAwait(false);
        }
    }

    private async Task DropOwnerConnectionAsync()
    {
        if (_ownerConnection is { } connection)
        {
            _ownerConnection = null;
            try
            {
                // A pooled connection must not keep the lock: other hosts would think this one still runs.
                if (connection.State == System.Data.ConnectionState.Open)
                {
                    using var timeout = new CancellationTokenSource(TimeSpan.FromSeconds(2));
                    await using var unlock = Command(connection, "SELECT pg_advisory_unlock($1, $2)", Param.Integer(_lockClass), Param.Integer(_owner));
                    await unlock.ExecuteNonQueryAsync(timeout.Token).ConfigureAwait(false);
                }
            }
            catch (Exception)
            {
                // Broken: the pool discards it, and the server ends the session and its lock.
            }

            try
            {
                await connection.DisposeAsync().ConfigureAwait(false);
            }
            catch (Exception)
            {
                // Already broken.
            }
        }
    }

    /// <summary>Takes back work locked by hosts that are not <paramref name="alive"/> (no longer hold their advisory lock).</summary>
    private async Task<(int Instances, int Activities)> ReclaimAsync(NpgsqlConnection connection, HashSet<int> alive, CancellationToken cancellationToken)
    {
        var now = NowTicks();
        int instances;
        await using (var command = Command(
            connection,
            $"""
            UPDATE {QuotedSchema}.dt_instances SET locked_until = $2
            WHERE hub = $1 AND instance_id = ANY(ARRAY(
                SELECT instance_id FROM {QuotedSchema}.dt_instances
                WHERE hub = $1 AND next_message_at IS NOT NULL AND locked_until > $2 AND lock_owner IS NOT NULL AND lock_owner <> ALL($3)
                FOR UPDATE SKIP LOCKED))
            """,
            Param.Text(HubName),
            Param.Bigint(now),
            Param.IntegerArray([.. alive])))
        {
            instances = await command.ExecuteNonQueryAsync(cancellationToken).ConfigureAwait(false);
        }

        int activities;
        await using (var command = Command(
            connection,
            $"""
            UPDATE {QuotedSchema}.dt_activities SET visible_at = $2
            WHERE id = ANY(ARRAY(
                SELECT id FROM {QuotedSchema}.dt_activities
                WHERE hub = $1 AND visible_at > $2 AND lock_token IS NOT NULL AND lock_owner <> ALL($3)
                FOR UPDATE SKIP LOCKED))
            """,
            Param.Text(HubName),
            Param.Bigint(now),
            Param.IntegerArray([.. alive])))
        {
            activities = await command.ExecuteNonQueryAsync(cancellationToken).ConfigureAwait(false);
        }

        if (instances + activities > 0)
        {
            _orchestrations.Signal();
            _activities.Signal();
        }

        return (instances, activities);
    }

    private async Task<HashSet<int>> AliveOwnersAsync(NpgsqlConnection connection, CancellationToken cancellationToken)
    {
        await using var command = Command(
            connection,
            """
            SELECT objid::bigint::integer FROM pg_locks
            WHERE locktype = 'advisory' AND granted AND objsubid = 2 AND classid::bigint = $1
              AND database = (SELECT oid FROM pg_database WHERE datname = current_database())
            """,
            Param.Bigint(_lockClass));
        var alive = new HashSet<int>();
        await using var reader = await command.ExecuteReaderAsync(cancellationToken).ConfigureAwait(false);
        while (await reader.ReadAsync(cancellationToken).ConfigureAwait(false))
        {
            alive.Add(reader.GetInt32(0));
        }

        alive.Remove(PostgresSchema.MigrationLockKey);
        alive.Add(_owner);
        _alive = [.. alive];
        return alive;
    }

    /// <summary>Arms the due timer for the earliest future work in the database (other hosts' timers included).</summary>
    private async Task ArmNextDueAsync(CancellationToken cancellationToken)
    {
        var connection = await EnsureOwnerAsync(cancellationToken).ConfigureAwait(false);
        await using var command = Command(
            connection,
            $"""
            SELECT (SELECT next_message_at FROM {QuotedSchema}.dt_instances WHERE hub = $1 AND next_message_at > $2 ORDER BY next_message_at LIMIT 1),
                   (SELECT visible_at FROM {QuotedSchema}.dt_activities WHERE hub = $1 AND visible_at > $2 ORDER BY visible_at LIMIT 1)
            """,
            Param.Text(HubName),
            Param.Bigint(NowTicks()));
        await using var reader = await command.ExecuteReaderAsync(cancellationToken).ConfigureAwait(false);
        if (await reader.ReadAsync(cancellationToken).ConfigureAwait(false))
        {
            for (var column = 0; column < 2; column++)
            {
                if (!reader.IsDBNull(column))
                {
                    _dueTimer.Add(reader.GetInt64(column));
                }
            }
        }
    }

    private async Task PollAsync()
    {
        var closing = _closing.Token;
        HashSet<int>? lastAlive = null;
        for (var poll = 1; !closing.IsCancellationRequested; poll++)
        {
            try
            {
                await Task.Delay(_taskOptions.PollingInterval, _time, closing).ConfigureAwait(false);
            }
            catch (OperationCanceledException)
            {
                return;
            }

            // Work that no notice announced (a lost notice, another host's delayed retry, an expired lock).
            _orchestrations.Signal();
            _activities.Signal();
            try
            {
                var connection = await EnsureOwnerAsync(closing).ConfigureAwait(false);
                var alive = await AliveOwnersAsync(connection, closing).ConfigureAwait(false);
                var membershipChanged = lastAlive is null || !alive.SetEquals(lastAlive);
                if (membershipChanged || poll % ReclaimEveryPolls == 0)
                {
                    var (instances, activities) = await ReclaimAsync(connection, alive, closing).ConfigureAwait(false);
                    if (instances + activities > 0)
                    {
                        _logger.Reclaimed(HubName, instances, activities);
                    }
                }

                lastAlive = alive;
                await ArmNextDueAsync(closing).ConfigureAwait(false);
                if (_tablesToAnalyze > 0)
                {
                    await AnalyzeNewTablesAsync(connection, closing).ConfigureAwait(false);
                }

                if (poll % KeyCleanupEveryPolls == 0)
                {
                    await using var cleanup = Command(
                        connection,
                        $"DELETE FROM {QuotedSchema}.dt_message_keys WHERE hub = $1 AND created_at < $2",
                        Param.Text(HubName),
                        Param.Bigint(NowTicks() - MessageKeyRetention.Ticks));
                    await cleanup.ExecuteNonQueryAsync(closing).ConfigureAwait(false);
                }

                Health.Succeeded();
            }
            catch (OperationCanceledException) when (closing.IsCancellationRequested)
            {
                return;
            }
            catch (Exception ex)
            {
                await DropBrokenOwnerConnectionAsync().ConfigureAwait(false);
                if (Transient.IsTransient(ex))
                {
                    Health.Failed(ex, "polling");
                }
                else
                {
                    _logger.PollFailed(ex, HubName);
                }
            }
        }
    }

    /// <summary>
    /// Gives new tables their first statistics as soon as they hold some rows. Until ANALYZE has run the planner
    /// guesses (for example that a hub holds 0.5 % of the rows), and plans cached from those guesses stay in use until
    /// autovacuum's first analyze, which can be a minute or more into a busy start.
    /// </summary>
    private async Task AnalyzeNewTablesAsync(NpgsqlConnection connection, CancellationToken cancellationToken)
    {
        var tables = new List<string>();
        await using (var command = Command(
            connection,
            """
            SELECT relname FROM pg_stat_user_tables
            WHERE schemaname = $1 AND relname IN ('dt_instances', 'dt_messages', 'dt_activities', 'dt_history')
              AND last_analyze IS NULL AND last_autoanalyze IS NULL AND n_mod_since_analyze >= $2
            """,
            Param.Text(Schema),
            Param.Bigint(AnalyzeAfterRows)))
        {
            await using var reader = await command.ExecuteReaderAsync(cancellationToken).ConfigureAwait(false);
            while (await reader.ReadAsync(cancellationToken).ConfigureAwait(false))
            {
                tables.Add(reader.GetString(0));
            }
        }

        foreach (var table in tables)
        {
            try
            {
                await using var analyze = Command(connection, $"ANALYZE {QuotedSchema}.{table}");
                await analyze.ExecuteNonQueryAsync(cancellationToken).ConfigureAwait(false);
                _tablesToAnalyze--;
            }
            catch (PostgresException ex) when (ex.SqlState == PostgresErrorCodes.InsufficientPrivilege)
            {
                // Not the tables' owner: autovacuum will do it.
                _tablesToAnalyze = 0;
                return;
            }
        }
    }

    private async Task ReadyAsync(CancellationToken cancellationToken)
    {
        if (_ready.Task.IsCompletedSuccessfully)
        {
            return;
        }

        if (_initialization is null)
        {
            await InitializeAsync(cancellationToken).ConfigureAwait(false);
        }

        await _ready.Task.WaitAsync(cancellationToken).ConfigureAwait(false);
    }

    private async Task DispatchingAsync(CancellationToken cancellationToken)
    {
        var dispatch = _dispatch ?? throw new InvalidOperationException("StartDispatchAsync must be called before work is locked.");
        if (!dispatch.IsCompleted)
        {
            await dispatch.WaitAsync(cancellationToken).ConfigureAwait(false);
        }

        await ReadyAsync(cancellationToken).ConfigureAwait(false);
    }

    /// <summary>Runs a read (or an idempotent statement), retrying transient errors until the database answers.</summary>
    private async Task<T> RetryAsync<T>(string operation, Func<CancellationToken, Task<T>> action, CancellationToken cancellationToken)
    {
        for (var attempt = 1; ; attempt++)
        {
            try
            {
                var result = await action(cancellationToken).ConfigureAwait(false);
                if (attempt > 1)
                {
                    Health.Succeeded();
                }

                return result;
            }
            catch (Exception ex) when (Transient.IsTransient(ex) && !cancellationToken.IsCancellationRequested && _disposed == 0)
            {
                Health.Failed(ex, operation);
                _dataSource.Clear();
                await Transient.PauseAsync(attempt, cancellationToken).ConfigureAwait(false);
            }
        }
    }

    private async Task<InstanceState?> LoadAsync(string instanceId, bool includePayloads, CancellationToken cancellationToken)
    {
        Interlocked.Increment(ref Counters.InstanceLoads);
        await ReadyAsync(cancellationToken).ConfigureAwait(false);
        return await RetryAsync("loading an instance", async ct =>
        {
            // One statement, so the row and its history come from one snapshot.
            await using var command = _dataSource.CreateCommand(
                $"""
                SELECT {InstanceRows.Columns(includePayloads)},
                    (SELECT array_agg(h.data ORDER BY h.seq) FROM {QuotedSchema}.dt_history h WHERE h.hub = i.hub AND h.instance_id = i.instance_id)
                FROM {QuotedSchema}.dt_instances i WHERE i.hub = $1 AND i.instance_id = $2
                """);
            command.Parameters.Add(Param.Text(HubName));
            command.Parameters.Add(Param.Text(instanceId));
            await using var reader = await command.ExecuteReaderAsync(ct).ConfigureAwait(false);
            if (!await reader.ReadAsync(ct).ConfigureAwait(false))
            {
                return null;
            }

            var record = InstanceRows.Read(reader);
            var history = reader.IsDBNull(InstanceRows.ColumnCount) ? [] : reader.GetFieldValue<string[]>(InstanceRows.ColumnCount);
            return new InstanceState(record, history);
        }, cancellationToken).ConfigureAwait(false);
    }

    private long NextToken() => ((long)_owner << 32) | (uint)Interlocked.Increment(ref _tokenCounter);

    private int InstanceLimit() =>
        Math.Min(_options.MaxLockBatch, _taskOptions.MaxConcurrentOrchestrations - _instancesOut.Count - _orchestrations.Buffered);

    private int ActivityLimit() =>
        Math.Min(_options.MaxLockBatch, _taskOptions.MaxConcurrentActivities - _activitiesOut.Count - _activities.Buffered);

    // Fetches run to the end whoever waits for them (see WorkQueue): only closing the store stops one.
    private async Task<IReadOnlyList<LockedInstance>> FetchInstancesAsync(int limit)
    {
        var token = NextToken();
        var items = await RetryAsync("locking orchestration work", async ct =>
        {
            var now = NowTicks();
            var until = now + LockTimeout.Ticks;

            await using var command = _dataSource.CreateCommand($"SELECT * FROM {QuotedSchema}.dt_lock_ready($1, $2, $3, $4, $5, $6, $7, $8)");
            command.Parameters.Add(Param.Text(HubName));
            command.Parameters.Add(Param.Bigint(now));
            command.Parameters.Add(Param.Integer(limit));
            command.Parameters.Add(Param.Bigint(until));
            command.Parameters.Add(Param.Integer(_owner));
            command.Parameters.Add(Param.Bigint(token));
            command.Parameters.Add(Param.IntegerArray(_alive));
            command.Parameters.Add(Param.Bigint(now - AffinityPatience.Ticks));
            var locked = new List<LockedInstance>();
            await using var reader = await command.ExecuteReaderAsync(ct).ConfigureAwait(false);
            LockedInstance? current = null;
            List<StoredMessage>? messages = null;
            while (await reader.ReadAsync(ct).ConfigureAwait(false))
            {
                var instanceId = reader.GetString(0);
                if (current is null || current.Item.InstanceId != instanceId)
                {
                    messages = [];
                    current = new LockedInstance(
                        new OrchestrationWorkItem
                        {
                            InstanceId = instanceId,
                            Messages = messages,
                            LockToken = token.ToString(CultureInfo.InvariantCulture),
                            LockedUntil = new DateTimeOffset(until, TimeSpan.Zero),
                            ExecutionId = reader.GetString(2),
                            HistoryCount = reader.GetInt32(3),
                        },
                        token);
                    locked.Add(current);
                }

                if (!reader.IsDBNull(4))
                {
                    messages!.Add(new StoredMessage(reader.GetInt64(4), reader.IsDBNull(5) ? null : reader.GetString(5), reader.GetString(6), reader.GetInt32(7)));
                }
            }

            return locked;
        }, _closing.Token).ConfigureAwait(false);

        StoreCounters.CountFetch(ref Counters.OrchestrationFetches, ref Counters.EmptyOrchestrationFetches, ref Counters.InstancesLocked, items.Count);

        var ready = new List<LockedInstance>(items.Count);
        foreach (var item in items)
        {
            if (item.Item.Messages.Count > 0)
            {
                ready.Add(item);
            }
            else
            {
                // No visible message after all: release the lock and correct next_message_at.
                _ = Release(item);
            }
        }

        return ready;
    }

    private async Task<bool> PrepareInstanceAsync(LockedInstance locked)
    {
        if (locked.Item.LockedUntil.UtcTicks <= NowTicks())
        {
            // Expired while buffered: another host may hold it now.
            _ = Release(locked);
            return false;
        }

        if (!locked.Stale)
        {
            return true;
        }

        locked.Stale = false;
        Interlocked.Increment(ref Counters.MessageRereads);
        var messages = await RetryAsync("reading messages", async ct =>
        {
            await using var command = _dataSource.CreateCommand(
                $"SELECT id, execution_id, data, attempts FROM {QuotedSchema}.dt_messages WHERE hub = $1 AND instance_id = $2 AND visible_at <= $3 ORDER BY id LIMIT {MaxMessagesPerEpisode}");
            command.Parameters.Add(Param.Text(HubName));
            command.Parameters.Add(Param.Text(locked.Item.InstanceId));
            command.Parameters.Add(Param.Bigint(NowTicks()));
            var list = new List<StoredMessage>();
            await using var reader = await command.ExecuteReaderAsync(ct).ConfigureAwait(false);
            while (await reader.ReadAsync(ct).ConfigureAwait(false))
            {
                list.Add(new StoredMessage(reader.GetInt64(0), reader.IsDBNull(1) ? null : reader.GetString(1), reader.GetString(2), reader.GetInt32(3)));
            }

            return list;
        }, _closing.Token).ConfigureAwait(false);

        if (messages.Count == 0)
        {
            _ = Release(locked);
            return false;
        }

        var item = locked.Item;
        locked.Item = new OrchestrationWorkItem
        {
            InstanceId = item.InstanceId,
            Messages = messages,
            LockToken = item.LockToken,
            LockedUntil = item.LockedUntil,
            ExecutionId = item.ExecutionId,
            HistoryCount = item.HistoryCount,
        };
        return true;
    }

    private Task Release(LockedInstance locked) =>
        _writer.WriteAsync(new CommitWrite(locked.Item, new OrchestrationCommit { ExpectedExecutionId = locked.Item.ExecutionId ?? string.Empty, ExpectedHistoryCount = 0 }, locked.Token, NowTicks(), keepUntil: null));

    private async Task<IReadOnlyList<ActivityWorkItem>> FetchActivitiesAsync(int limit)
    {
        var token = NextToken();
        var attempt = 0;
        var items = await RetryAsync("locking activities", async ct =>
        {
            var now = NowTicks();
            var until = now + LockTimeout.Ticks;

            // A retry also selects the rows an earlier attempt locked if its reply was lost.
            await using var command = _dataSource.CreateCommand($"SELECT * FROM {QuotedSchema}.dt_lock_activities($1, $2, $3, $4, $5, $6, $7, $8, $9)");
            command.Parameters.Add(Param.Text(HubName));
            command.Parameters.Add(Param.Bigint(now));
            command.Parameters.Add(Param.Integer(limit));
            command.Parameters.Add(Param.Bigint(until));
            command.Parameters.Add(Param.Integer(_owner));
            command.Parameters.Add(Param.Bigint(token));
            command.Parameters.Add(Param.IntegerArray(_alive));
            command.Parameters.Add(Param.Bigint(now - AffinityPatience.Ticks));
            command.Parameters.Add(Param.Boolean(++attempt > 1));
            var list = new List<ActivityWorkItem>();
            await using var reader = await command.ExecuteReaderAsync(ct).ConfigureAwait(false);
            while (await reader.ReadAsync(ct).ConfigureAwait(false))
            {
                list.Add(new ActivityWorkItem
                {
                    Id = reader.GetInt64(0),
                    InstanceId = reader.GetString(1),
                    ExecutionId = reader.GetString(2),
                    TaskId = reader.GetInt32(3),
                    Name = reader.GetString(4),
                    Input = reader.IsDBNull(5) ? null : reader.GetString(5),
                    Attempts = reader.GetInt32(6),
                    LockToken = token.ToString(CultureInfo.InvariantCulture),
                    LockedUntil = new DateTimeOffset(until, TimeSpan.Zero),
                });
            }

            return list;
        }, _closing.Token).ConfigureAwait(false);

        StoreCounters.CountFetch(ref Counters.ActivityFetches, ref Counters.EmptyActivityFetches, ref Counters.ActivitiesLocked, items.Count);

        items.Sort(static (a, b) => a.Id.CompareTo(b.Id));
        return items;
    }

    private Task<bool> PrepareActivityAsync(ActivityWorkItem item)
    {
        if (item.LockedUntil.UtcTicks > NowTicks())
        {
            return Task.FromResult(true);
        }

        // Expired while buffered: another host may hold it now.
        _ = _writer.WriteAsync(new AbandonActivityWrite(item, ParseToken(item.LockToken), countAttempt: false, NowTicks()));
        return Task.FromResult(false);
    }

    private void OnNotice(Notice notice)
    {
        Interlocked.Increment(ref Counters.NoticesReceived);
        if (notice.OrchestrationWork)
        {
            _orchestrations.Signal();
        }

        if (notice.ActivityWork)
        {
            _activities.Signal();
        }

        if (notice.Due is { } due)
        {
            _dueTimer.Add(due);
        }

        if (notice.AllChanged)
        {
            NotifyAllChanged();
        }
        else
        {
            foreach (var id in notice.Changed)
            {
                NotifyChanged(id);
            }
        }
    }

    private void OnListenerConnected()
    {
        // Notices sent while the connection was down are lost: anything may have changed.
        _orchestrations.Signal();
        _activities.Signal();
        NotifyAllChanged();
    }

    private void NotifyAllChanged() => _changeWaiters.NotifyAll();

    /// <summary>A locked instance fetched and not yet handed out.</summary>
    private sealed class LockedInstance(OrchestrationWorkItem item, long token)
    {
        public OrchestrationWorkItem Item { get; set; } = item;

        public long Token { get; } = token;

        /// <summary>This host enqueued messages for the instance after the fetch: read them again at hand-out.</summary>
        public volatile bool Stale;
    }
}
