using System.Collections.Concurrent;
using System.Globalization;
using Fleet.Durable.Storage;
using Microsoft.Data.Sqlite;
using Microsoft.Extensions.Logging;

namespace Fleet.Durable.Sqlite;

/// <summary>
/// The embedded store: one SQLite database file (WAL mode) that any number of hubs can share. Writes go through one
/// connection with group commit; reads use their own connections. Work is dispatched from memory, fed at commit time;
/// the database stays the source of truth (messages are read from it at lock time) and polling only picks up work
/// written by other processes (for example a client-only process) and expired locks.
/// <para>
/// One process at a time dispatches a hub's work: <see cref="StartDispatchAsync"/> takes an exclusive OS file lock
/// (<c>{database}.{hub}.owner</c>), so locks of a dead predecessor are reclaimed at start-up instead of waiting for
/// expiry. Other processes can still use the hub as clients.
/// </para>
/// </summary>
public sealed class SqliteOrchestrationStore : IOrchestrationStore
{
    // At most 5,000 messages per episode: a larger fan-in is taken in several episodes.
    private const string SelectVisibleMessages =
        "SELECT id, execution_id, data, attempts FROM dt_messages WHERE hub = $hub AND instance_id = $id AND visible_at <= $now ORDER BY id LIMIT 5000";
    private readonly SqliteStoreOptions _options;
    private readonly DurableTaskOptions _taskOptions;
    private readonly TimeProvider _time;
    private readonly InstanceChangeWaiters _changeWaiters;
    private readonly ILogger _logger;
    private readonly string _connectionString;
    private readonly ConcurrentBag<ReaderConnection> _readers = [];
    private readonly SemaphoreSlim _initializeGate = new(1, 1);
    private readonly CancellationTokenSource _closing = new();
    private readonly ConcurrentDictionary<string, byte> _recoveredInstances = new(StringComparer.Ordinal);
    private SqliteWriter? _writer;
    private FileStream? _ownerLock;
    private Task? _pollLoop;
    private long _lastPolledMessageId;
    private long _startedAtTicks;
    private bool _dispatching;
    private int _disposed;

    /// <summary>Creates the store; the database is opened by <see cref="InitializeAsync"/>.</summary>
    public SqliteOrchestrationStore(SqliteStoreOptions options, DurableTaskOptions taskOptions, TimeProvider timeProvider, ILoggerFactory loggerFactory)
    {
        ArgumentNullException.ThrowIfNull(options);
        ArgumentNullException.ThrowIfNull(taskOptions);
        if (string.IsNullOrWhiteSpace(options.DatabasePath))
        {
            throw new ArgumentException("SqliteStoreOptions.DatabasePath is required.", nameof(options));
        }

        if (options.MaxWriteBatch is < 1 or > SqliteStoreOptions.MaxWriteBatchLimit)
        {
            throw new ArgumentOutOfRangeException(
                nameof(options),
                options.MaxWriteBatch,
                $"SqliteStoreOptions.MaxWriteBatch {options.MaxWriteBatch} is out of range: use 1 to {SqliteStoreOptions.MaxWriteBatchLimit}.");
        }

        _options = options;
        _taskOptions = taskOptions;
        _time = timeProvider;
        _changeWaiters = new InstanceChangeWaiters(timeProvider);
        _logger = loggerFactory.CreateLogger("Fleet.Durable.Sqlite");
        HubName = taskOptions.HubName;
        DatabasePath = Path.GetFullPath(options.DatabasePath);
        _connectionString = new SqliteConnectionStringBuilder
        {
            DataSource = DatabasePath,
            Pooling = false,
            DefaultTimeout = 30,
        }.ToString();
        Dispatch = new DispatchState(timeProvider, taskOptions.LockTimeout);
    }

    /// <inheritdoc />
    public string HubName { get; }

    /// <summary>The full path of the database file.</summary>
    public string DatabasePath { get; }

    internal DispatchState Dispatch { get; }

    private SqliteWriter Writer => _writer ?? throw new InvalidOperationException("The store is not initialized.");

    /// <inheritdoc />
    public async Task InitializeAsync(CancellationToken cancellationToken)
    {
        if (_writer is not null)
        {
            return;
        }

        await _initializeGate.WaitAsync(cancellationToken).ConfigureAwait(false);
        try
        {
            if (_writer is not null)
            {
                return;
            }

            ObjectDisposedException.ThrowIf(_disposed != 0, this);
            Directory.CreateDirectory(Path.GetDirectoryName(DatabasePath)!);
            var connection = new SqliteConnection(_connectionString);
            connection.Open();
            var synchronous = _options.Durability == SqliteDurability.Full ? "FULL" : "NORMAL";
            Execute(connection, $"PRAGMA journal_mode=WAL; PRAGMA synchronous={synchronous}; PRAGMA temp_store=MEMORY; PRAGMA cache_size=-16000; PRAGMA busy_timeout=30000;");
            var found = SqliteSchema.Create(connection);
            if (found is > 0 and < SqliteSchema.Version)
            {
                _logger.SqliteSchemaUpgraded(DatabasePath, found, SqliteSchema.Version);
            }

            _writer = new SqliteWriter(connection, HubName, _options.MaxWriteBatch, _logger);
            _logger.StoreOpened(DatabasePath, HubName, synchronous);
        }
        finally
        {
            _initializeGate.Release();
        }
    }

    /// <inheritdoc />
    public async Task StartDispatchAsync(CancellationToken cancellationToken)
    {
        await InitializeAsync(cancellationToken).ConfigureAwait(false);
        await _initializeGate.WaitAsync(cancellationToken).ConfigureAwait(false);
        try
        {
            if (_dispatching)
            {
                return;
            }

            var lockPath = $"{DatabasePath}.{HubName}.owner";
            try
            {
                _ownerLock = new FileStream(lockPath, FileMode.OpenOrCreate, FileAccess.ReadWrite, FileShare.None);
            }
            catch (IOException ex)
            {
                throw new InvalidOperationException(
                    $"Hub '{HubName}' in '{DatabasePath}' is already being dispatched by another process (owner lock '{lockPath}' is held). Run one worker per hub and database, or use another hub name.",
                    ex);
            }

            _ownerLock.SetLength(0);
            using (var writer = new StreamWriter(_ownerLock, leaveOpen: true))
            {
                await writer.WriteAsync($"pid {Environment.ProcessId} on {Environment.MachineName}\n").ConfigureAwait(false);
            }

            _startedAtTicks = _time.GetUtcNow().UtcTicks;
            var (instances, activities) = Recover();
            _dispatching = true;
            _pollLoop = Task.Run(PollAsync, CancellationToken.None);
            _logger.StoreRecovered(HubName, instances, activities);
        }
        finally
        {
            _initializeGate.Release();
        }
    }

    /// <inheritdoc />
    public Task<CreateInstanceResult> CreateInstanceAsync(NewInstance instance, CancellationToken cancellationToken)
    {
        ArgumentNullException.ThrowIfNull(instance);
        return Writer.WriteAsync(new CreateInstanceOperation(this, instance)).WaitAsync(cancellationToken);
    }

    /// <inheritdoc />
    public Task<bool> EnqueueMessageAsync(string instanceId, string data, DateTimeOffset visibleAt, CancellationToken cancellationToken) =>
        Writer.WriteAsync(new EnqueueMessageOperation(this, instanceId, data, visibleAt.UtcTicks)).WaitAsync(cancellationToken);

    /// <inheritdoc />
    public Task<bool> EnqueueForFailedInstanceAsync(string instanceId, string data, DateTimeOffset visibleAt, CancellationToken cancellationToken) =>
        Writer.WriteAsync(new EnqueueMessageOperation(this, instanceId, data, visibleAt.UtcTicks, forFailedInstance: true)).WaitAsync(cancellationToken);

    /// <inheritdoc />
    public Task EnqueueEntityMessageAsync(string instanceId, string entityName, string data, DateTimeOffset visibleAt, CancellationToken cancellationToken) =>
        Writer.WriteAsync(new EnqueueEntityMessageOperation(this, instanceId, entityName, data, visibleAt.UtcTicks, _time.GetUtcNow().UtcTicks)).WaitAsync(cancellationToken);

    /// <inheritdoc />
    public Task<bool> DeleteEmptyEntityAsync(string instanceId, int expectedVersion, CancellationToken cancellationToken) =>
        Writer.WriteAsync(new DeleteEmptyEntityOperation(instanceId, expectedVersion)).WaitAsync(cancellationToken);

    /// <inheritdoc />
    public Task<InstanceRecord?> GetInstanceAsync(string instanceId, bool includePayloads, CancellationToken cancellationToken) =>
        Task.FromResult(Read(reader => ReadInstance(reader, instanceId, includePayloads)));

    /// <inheritdoc />
    public Task<InstancePage> QueryInstancesAsync(InstanceQuery query, CancellationToken cancellationToken)
    {
        ArgumentNullException.ThrowIfNull(query);
        return Task.FromResult(Read(reader =>
        {
            using var command = reader.Connection.CreateCommand();
            command.Parameters.AddWithValue("$hub", HubName);
            var sql = $"SELECT {InstanceRows.Columns(query.IncludePayloads)} FROM dt_instances WHERE hub = $hub" + SqliteQueries.FilterSql(command, query.Filter);
            if (InstanceRows.DecodeToken(query.ContinuationToken) is { } after)
            {
                sql += " AND (created_at > $afterCreated OR (created_at = $afterCreated AND instance_id > $afterId))";
                command.Parameters.AddWithValue("$afterCreated", after.CreatedTicks);
                command.Parameters.AddWithValue("$afterId", after.InstanceId);
            }

            command.CommandText = sql + " ORDER BY created_at, instance_id LIMIT $limit";
            command.Parameters.AddWithValue("$limit", query.PageSize + 1);
            var rows = new List<InstanceRecord>(query.PageSize + 1);
            using (var rowReader = command.ExecuteReader())
            {
                while (rowReader.Read())
                {
                    rows.Add(InstanceRows.Read(rowReader));
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
        }));
    }

    /// <inheritdoc />
    public Task<IReadOnlyList<string>?> GetHistoryAsync(string instanceId, CancellationToken cancellationToken) =>
        Task.FromResult(Read(reader =>
        {
            reader.Prepared("BEGIN").ExecuteNonQuery();
            try
            {
                return ReadInstance(reader, instanceId, includePayloads: false) is null
                    ? null
                    : (IReadOnlyList<string>)ReadHistory(reader, instanceId);
            }
            finally
            {
                reader.Prepared("COMMIT").ExecuteNonQuery();
            }
        }));

    /// <inheritdoc />
    public Task<int> PurgeInstanceAsync(string instanceId, bool recursive, CancellationToken cancellationToken) =>
        Writer.WriteAsync(new PurgeInstanceOperation(this, instanceId, recursive)).WaitAsync(cancellationToken);

    /// <inheritdoc />
    public Task<int> PurgeInstancesAsync(InstanceFilter filter, int maxInstances, bool recursive, CancellationToken cancellationToken) =>
        Writer.WriteAsync(new PurgeInstancesOperation(this, filter, maxInstances, recursive)).WaitAsync(cancellationToken);

    /// <inheritdoc />
    public Task WaitForInstanceChangeAsync(string instanceId, TimeSpan maxWait, CancellationToken cancellationToken) =>
        _changeWaiters.WaitAsync(instanceId, maxWait, cancellationToken);

    /// <inheritdoc />
    public async Task<OrchestrationWorkItem> LockNextOrchestrationAsync(CancellationToken cancellationToken)
    {
        EnsureDispatching();
        while (true)
        {
            var (instanceId, held) = await Dispatch.LockNextInstanceAsync(cancellationToken).ConfigureAwait(false);
            List<StoredMessage> messages;
            try
            {
                var now = _time.GetUtcNow().UtcTicks;
                messages = Read(reader => ReadVisibleMessages(reader, instanceId, now));
                if (messages.Count > 0 && _recoveredInstances.TryRemove(instanceId, out _))
                {
                    // A dead predecessor may have been processing these: count the attempt before running them again.
                    await Writer.WriteAsync(new CountRecoveredMessagesOperation(instanceId, _startedAtTicks)).ConfigureAwait(false);
                    messages = Read(reader => ReadVisibleMessages(reader, instanceId, now));
                }
            }
            catch
            {
                Dispatch.ReleaseInstance(instanceId, held.Token, _time.GetUtcNow().UtcTicks + _taskOptions.PollingInterval.Ticks);
                throw;
            }

            if (messages.Count == 0)
            {
                Dispatch.ReleaseInstance(instanceId, held.Token, null);
                continue;
            }

            return new OrchestrationWorkItem
            {
                InstanceId = instanceId,
                Messages = messages,
                LockToken = held.Token.ToString(CultureInfo.InvariantCulture),
                LockedUntil = new DateTimeOffset(held.ExpiresAtTicks, TimeSpan.Zero),
            };
        }
    }

    /// <inheritdoc />
    public Task<InstanceState?> LoadInstanceStateAsync(string instanceId, CancellationToken cancellationToken) =>
        Task.FromResult(Read(reader =>
        {
            reader.Prepared("BEGIN").ExecuteNonQuery();
            try
            {
                var record = ReadInstance(reader, instanceId, includePayloads: true);
                return record is null ? null : new InstanceState(record, ReadHistory(reader, instanceId));
            }
            finally
            {
                reader.Prepared("COMMIT").ExecuteNonQuery();
            }
        }));

    /// <inheritdoc />
    public Task<bool> CommitOrchestrationAsync(OrchestrationWorkItem workItem, OrchestrationCommit commit, CancellationToken cancellationToken) =>
        Writer.WriteAsync(new CommitOrchestrationOperation(this, workItem, commit, _time.GetUtcNow().UtcTicks)).WaitAsync(cancellationToken);

    /// <inheritdoc />
    public Task AbandonOrchestrationAsync(OrchestrationWorkItem workItem, TimeSpan retryAfter, bool countAttempt, CancellationToken cancellationToken)
    {
        var readyAt = _time.GetUtcNow().UtcTicks + Math.Max(0, retryAfter.Ticks);
        if (!countAttempt)
        {
            Dispatch.ReleaseInstance(workItem.InstanceId, ParseToken(workItem.LockToken), readyAt);
            return Task.CompletedTask;
        }

        return Writer.WriteAsync(new AbandonOrchestrationOperation(this, workItem, readyAt)).WaitAsync(cancellationToken);
    }

    /// <inheritdoc />
    public Task<bool> RenewOrchestrationLockAsync(OrchestrationWorkItem workItem, CancellationToken cancellationToken)
    {
        var held = new InstanceLock(ParseToken(workItem.LockToken), 0);
        var renewed = Dispatch.RenewInstance(workItem.InstanceId, held, out var until);
        if (renewed)
        {
            workItem.LockedUntil = until;
        }

        return Task.FromResult(renewed);
    }

    /// <inheritdoc />
    public async Task<ActivityWorkItem> LockNextActivityAsync(CancellationToken cancellationToken)
    {
        EnsureDispatching();
        while (true)
        {
            var entry = await Dispatch.LockNextActivityAsync(cancellationToken).ConfigureAwait(false);
            if (entry.Recovered)
            {
                // A dead predecessor may have been running it: count the attempt before running it again.
                entry.Recovered = false;
                var attempts = await Writer.WriteAsync(new CountActivityAttemptOperation(entry.Id)).ConfigureAwait(false);
                if (attempts is null)
                {
                    Dispatch.ActivityDone(entry.Id);
                    continue;
                }

                entry.Attempts = attempts.Value;
            }

            return entry.ToWorkItem();
        }
    }

    /// <inheritdoc />
    public Task<bool> CompleteActivityAsync(ActivityWorkItem workItem, string resultData, CancellationToken cancellationToken) =>
        Writer.WriteAsync(new CompleteActivityOperation(this, workItem, resultData, _time.GetUtcNow().UtcTicks)).WaitAsync(cancellationToken);

    /// <inheritdoc />
    public Task AbandonActivityAsync(ActivityWorkItem workItem, TimeSpan retryAfter, bool countAttempt, CancellationToken cancellationToken)
    {
        var readyAt = _time.GetUtcNow().UtcTicks + Math.Max(0, retryAfter.Ticks);
        if (!countAttempt)
        {
            Dispatch.ReleaseActivity(workItem.Id, ParseToken(workItem.LockToken), readyAt);
            return Task.CompletedTask;
        }

        return Writer.WriteAsync(new AbandonActivityOperation(this, workItem, readyAt, countAttempt)).WaitAsync(cancellationToken);
    }

    /// <inheritdoc />
    public Task<bool> RenewActivityLockAsync(ActivityWorkItem workItem, CancellationToken cancellationToken)
    {
        var renewed = Dispatch.RenewActivity(workItem.Id, ParseToken(workItem.LockToken), out var until);
        if (renewed)
        {
            workItem.LockedUntil = until;
        }

        return Task.FromResult(renewed);
    }

    /// <inheritdoc />
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

        Dispatch.Dispose();
        if (_writer is not null)
        {
            await _writer.DisposeAsync().ConfigureAwait(false);
        }

        while (_readers.TryTake(out var reader))
        {
            reader.Dispose();
        }

        if (_ownerLock is not null)
        {
            await _ownerLock.DisposeAsync().ConfigureAwait(false);
        }

        _closing.Dispose();
        _initializeGate.Dispose();
    }

    internal static long ParseToken(string token) => long.Parse(token, CultureInfo.InvariantCulture);

    internal void NotifyChanged(string instanceId) => _changeWaiters.Notify(instanceId);

    private void EnsureDispatching()
    {
        if (!_dispatching)
        {
            throw new InvalidOperationException("StartDispatchAsync must be called before work is locked.");
        }
    }

    private (int Instances, int Activities) Recover()
    {
        var now = _time.GetUtcNow().UtcTicks;
        var activities = new List<ActivityEntry>();
        var messages = new List<(string InstanceId, long VisibleAt)>();
        Read(readerConnection =>
        {
            using var command = readerConnection.Connection.CreateCommand();
            command.Parameters.AddWithValue("$hub", HubName);
            command.CommandText = "SELECT id, instance_id, execution_id, task_id, name, input, attempts FROM dt_activities WHERE hub = $hub ORDER BY id";
            using (var reader = command.ExecuteReader())
            {
                while (reader.Read())
                {
                    activities.Add(new ActivityEntry
                    {
                        Id = reader.GetInt64(0),
                        InstanceId = reader.GetString(1),
                        ExecutionId = reader.GetString(2),
                        TaskId = reader.GetInt32(3),
                        Name = reader.GetString(4),
                        Input = reader.IsDBNull(5) ? null : reader.GetString(5),
                        Attempts = reader.GetInt32(6),
                        Recovered = true,
                    });
                }
            }

            command.CommandText = "SELECT instance_id, visible_at, id FROM dt_messages WHERE hub = $hub ORDER BY id";
            using (var reader = command.ExecuteReader())
            {
                while (reader.Read())
                {
                    messages.Add((reader.GetString(0), reader.GetInt64(1)));
                    _lastPolledMessageId = Math.Max(_lastPolledMessageId, reader.GetInt64(2));
                }
            }

            command.CommandText = "SELECT seq FROM sqlite_sequence WHERE name = 'dt_messages'";
            if (command.ExecuteScalar() is long lastId)
            {
                _lastPolledMessageId = Math.Max(_lastPolledMessageId, lastId);
            }

            return true;
        });

        foreach (var entry in activities)
        {
            Dispatch.AddActivity(entry, 0);
        }

        var instances = new HashSet<string>(StringComparer.Ordinal);
        foreach (var (instanceId, visibleAt) in messages)
        {
            if (visibleAt <= now)
            {
                _recoveredInstances.TryAdd(instanceId, 0);
            }

            instances.Add(instanceId);
            Dispatch.InstanceHasMessages(instanceId, visibleAt);
        }

        return (instances.Count, activities.Count);
    }

    private async Task PollAsync()
    {
        while (!_closing.IsCancellationRequested)
        {
            try
            {
                await Task.Delay(_taskOptions.PollingInterval, _time, _closing.Token).ConfigureAwait(false);
            }
            catch (OperationCanceledException)
            {
                return;
            }

            try
            {
                var (instances, activities) = Dispatch.ExpireLocks();
                foreach (var id in instances)
                {
                    _logger.LockExpired("instance", id, HubName);
                }

                foreach (var entry in activities)
                {
                    _logger.LockExpired("activity", entry.Id.ToString(CultureInfo.InvariantCulture), HubName);
                    _ = Writer.WriteAsync(new CountActivityAttemptOperation(entry.Id));
                }

                var found = Read(readerConnection =>
                {
                    using var command = readerConnection.Connection.CreateCommand();
                    command.CommandText = "SELECT id, instance_id, visible_at FROM dt_messages WHERE hub = $hub AND id > $after ORDER BY id";
                    command.Parameters.AddWithValue("$hub", HubName);
                    command.Parameters.AddWithValue("$after", _lastPolledMessageId);
                    var rows = new List<(long Id, string InstanceId, long VisibleAt)>();
                    using var reader = command.ExecuteReader();
                    while (reader.Read())
                    {
                        rows.Add((reader.GetInt64(0), reader.GetString(1), reader.GetInt64(2)));
                    }

                    return rows;
                });
                foreach (var (id, instanceId, visibleAt) in found)
                {
                    _lastPolledMessageId = Math.Max(_lastPolledMessageId, id);
                    Dispatch.InstanceHasMessages(instanceId, visibleAt);
                }
            }
            catch (Exception ex) when (!_closing.IsCancellationRequested)
            {
                _logger.PollFailed(ex, HubName);
            }
        }
    }

    private T Read<T>(Func<ReaderConnection, T> read)
    {
        if (!_readers.TryTake(out var reader))
        {
            ObjectDisposedException.ThrowIf(_disposed != 0, this);
            reader = new ReaderConnection(_connectionString, HubName);
        }

        try
        {
            var result = read(reader);
            _readers.Add(reader);
            return result;
        }
        catch
        {
            reader.Dispose();
            throw;
        }
    }

    private static List<StoredMessage> ReadVisibleMessages(ReaderConnection reader, string instanceId, long now)
    {
        var command = reader.Prepared(SelectVisibleMessages, "$id", "$now");
        var messages = new List<StoredMessage>();
        using var rows = command.With("$id", instanceId).With("$now", now).ExecuteReader();
        while (rows.Read())
        {
            messages.Add(new StoredMessage(rows.GetInt64(0), rows.IsDBNull(1) ? null : rows.GetString(1), rows.GetString(2), rows.GetInt32(3)));
        }

        return messages;
    }

    private static InstanceRecord? ReadInstance(ReaderConnection reader, string instanceId, bool includePayloads)
    {
        var command = reader.Prepared(includePayloads ? SelectInstanceWithPayloads : SelectInstanceWithoutPayloads, "$id");
        using var rows = command.With("$id", instanceId).ExecuteReader();
        return rows.Read() ? InstanceRows.Read(rows) : null;
    }

    private static List<string> ReadHistory(ReaderConnection reader, string instanceId)
    {
        var command = reader.Prepared("SELECT data FROM dt_history WHERE hub = $hub AND instance_id = $id ORDER BY seq", "$id");
        var history = new List<string>();
        using var rows = command.With("$id", instanceId).ExecuteReader();
        while (rows.Read())
        {
            history.Add(rows.GetString(0));
        }

        return history;
    }

    private const string SelectInstanceWithPayloads = $"SELECT {InstanceRows.ColumnsWithPayloads} FROM dt_instances WHERE hub = $hub AND instance_id = $id";

    private const string SelectInstanceWithoutPayloads = $"SELECT {InstanceRows.ColumnsWithoutPayloads} FROM dt_instances WHERE hub = $hub AND instance_id = $id";

    private static void Execute(SqliteConnection connection, string sql)
    {
        using var command = connection.CreateCommand();
        command.CommandText = sql;
        command.ExecuteNonQuery();
    }

    /// <summary>A read connection with its frequently used statements kept prepared.</summary>
    private sealed class ReaderConnection : IDisposable
    {
        private readonly Dictionary<string, SqliteCommand> _prepared = new(StringComparer.Ordinal);
        private readonly string _hub;

        public ReaderConnection(string connectionString, string hub)
        {
            _hub = hub;
            Connection = new SqliteConnection(connectionString);
            Connection.Open();
            Execute(Connection, "PRAGMA busy_timeout=30000;");
        }

        public SqliteConnection Connection { get; }

        /// <summary>The prepared command for <paramref name="sql"/>, created with its parameters on first use.</summary>
        public SqliteCommand Prepared(string sql, params string[] parameters)
        {
            if (!_prepared.TryGetValue(sql, out var command))
            {
                command = Connection.CreateCommand();
                command.CommandText = sql;
                if (sql.Contains("$hub", StringComparison.Ordinal))
                {
                    command.Parameters.AddWithValue("$hub", _hub);
                }

                foreach (var name in parameters)
                {
                    command.Parameters.Add(new SqliteParameter(name, DBNull.Value));
                }

                _prepared[sql] = command;
            }

            return command;
        }

        public void Dispose()
        {
            foreach (var command in _prepared.Values)
            {
                command.Dispose();
            }

            Connection.Dispose();
        }
    }
}
