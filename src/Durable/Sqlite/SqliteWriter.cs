using Fleet.Durable.Storage;
using Microsoft.Data.Sqlite;
using Microsoft.Extensions.Logging;

namespace Fleet.Durable.Sqlite;

/// <summary>
/// The store's single writer connection with group commit: operations queue on a channel and the writer runs every
/// operation that is waiting in one transaction, so one commit (and, with FULL durability, one fsync) serves many
/// episodes and activity results. If a batch fails, it is rolled back and its operations are retried one by one, so
/// one bad operation fails only itself.
/// </summary>
internal sealed class SqliteWriter : IAsyncDisposable
{
    private readonly GroupCommitQueue<WriteOperation> _queue;
    private readonly SqliteConnection _connection;
    private readonly WriterCommands _commands;
    private readonly ILogger _logger;
    private readonly Task _loop;

    public SqliteWriter(SqliteConnection connection, string hub, int maxBatch, ILogger logger)
    {
        _connection = connection;
        _commands = new WriterCommands(connection, hub);
        _queue = new GroupCommitQueue<WriteOperation>(maxBatch, nameof(SqliteOrchestrationStore));
        _logger = logger;
        _loop = Task.Factory.StartNew(
            () => _queue.RunAsync(
                batch =>
                {
                    RunBatch(batch);
                    return Task.CompletedTask;
                },
                BatchFailed),
            CancellationToken.None,
            TaskCreationOptions.LongRunning,
            TaskScheduler.Default).Unwrap();
    }

    public Task<T> WriteAsync<T>(WriteOperation<T> operation)
    {
        _queue.Add(operation);
        return operation.Task;
    }

    public async ValueTask DisposeAsync()
    {
        _queue.Complete();
        await _loop.ConfigureAwait(false);
        _commands.Dispose();
        await _connection.DisposeAsync().ConfigureAwait(false);
    }

    private void BatchFailed(List<WriteOperation> batch, Exception error)
    {
        try
        {
            _commands.RollbackQuietly();
        }
        catch (Exception)
        {
            // A connection that cannot even roll back fails the next writes on its own.
        }

        _logger.WriteFailed(error, batch.Count);
    }

    private void RunBatch(List<WriteOperation> batch)
    {
        try
        {
            _commands.Begin();
            foreach (var operation in batch)
            {
                operation.Execute(_commands);
            }

            _commands.Commit();
        }
        catch (Exception ex)
        {
            _commands.RollbackQuietly();
            if (batch.Count == 1)
            {
                batch[0].Fail(ex);
                return;
            }

            _logger.WriteBatchFailed(ex, batch.Count);
            foreach (var operation in batch)
            {
                try
                {
                    _commands.Begin();
                    operation.Execute(_commands);
                    _commands.Commit();
                }
                catch (Exception single)
                {
                    _commands.RollbackQuietly();
                    operation.Fail(single);
                    continue;
                }

                Finish(operation);
            }

            return;
        }

        foreach (var operation in batch)
        {
            Finish(operation);
        }
    }

    private void Finish(WriteOperation operation)
    {
        try
        {
            operation.AfterCommit();
        }
        catch (Exception ex)
        {
            // The data is committed but its in-memory effects (dispatch, change notifications) are not all applied:
            // the caller learns of it rather than trusting a half-applied write.
            _logger.WriteFailed(ex, 1);
            operation.Fail(ex);
            return;
        }

        operation.Complete();
    }
}

/// <summary>
/// One unit of work for the writer. <see cref="Execute"/> runs inside a transaction and may run twice (after a batch
/// rollback), so it keeps its effects in the database and its result fields until <see cref="AfterCommit"/>.
/// </summary>
internal abstract class WriteOperation : IQueuedWrite
{
    public abstract void Execute(WriterCommands commands);

    /// <summary>In-memory effects of a committed operation (dispatch hints, change notifications).</summary>
    public virtual void AfterCommit()
    {
    }

    public abstract void Complete();

    public abstract void Fail(Exception exception);
}

/// <inheritdoc />
internal abstract class WriteOperation<T> : WriteOperation
{
    private readonly TaskCompletionSource<T> _done = new(TaskCreationOptions.RunContinuationsAsynchronously);

    public Task<T> Task => _done.Task;

    protected T Result { get; set; } = default!;

    public override void Complete() => _done.TrySetResult(Result);

    public override void Fail(Exception exception) => _done.TrySetException(exception);
}

/// <summary>Prepared statements of the writer connection, reused for every operation.</summary>
internal sealed class WriterCommands : IDisposable
{
    private readonly SqliteConnection _connection;
    private readonly string _hub;
    private readonly List<SqliteCommand> _all = [];
    private readonly SqliteCommand _begin;
    private readonly SqliteCommand _commit;
    private readonly SqliteCommand _rollback;
    private bool _inTransaction;

    public WriterCommands(SqliteConnection connection, string hub)
    {
        _connection = connection;
        _hub = hub;
        _begin = Prepare("BEGIN IMMEDIATE");
        _commit = Prepare("COMMIT");
        _rollback = Prepare("ROLLBACK");
        SelectInstanceStatus = Prepare("SELECT status FROM dt_instances WHERE hub = $hub AND instance_id = $id", "$id");
        DeleteInstance = Prepare("DELETE FROM dt_instances WHERE hub = $hub AND instance_id = $id", "$id");
        DeleteHistory = Prepare("DELETE FROM dt_history WHERE hub = $hub AND instance_id = $id", "$id");
        DeleteInstanceMessages = Prepare("DELETE FROM dt_messages WHERE hub = $hub AND instance_id = $id", "$id");
        DeleteInstanceActivities = Prepare("DELETE FROM dt_activities WHERE hub = $hub AND instance_id = $id", "$id");
        InsertInstance = Prepare(
            """
            INSERT INTO dt_instances (hub, instance_id, execution_id, name, version, status, created_at, last_updated_at,
                scheduled_start_at, input, parent_instance_id, history_count, tags)
            VALUES ($hub, $id, $exec, $name, $version, 6, $created, $created, $start, $input, $parent, 0, $tags)
            """,
            "$id", "$exec", "$name", "$version", "$created", "$start", "$input", "$parent", "$tags");
        InsertEntity = Prepare(
            """
            INSERT INTO dt_instances (hub, instance_id, execution_id, name, status, created_at, last_updated_at, history_count)
            VALUES ($hub, $id, $exec, $name, 0, $now, $now, 0)
            ON CONFLICT (hub, instance_id) DO NOTHING
            """,
            "$id", "$exec", "$name", "$now");
        InsertMessage = Prepare(
            "INSERT INTO dt_messages (hub, instance_id, execution_id, visible_at, data) VALUES ($hub, $id, $exec, $visible, $data) RETURNING id",
            "$id", "$exec", "$visible", "$data");
        InsertMessageIfFailed = Prepare(
            $"""
            INSERT INTO dt_messages (hub, instance_id, execution_id, visible_at, data)
            SELECT $hub, $id, NULL, $visible, $data
            WHERE EXISTS (SELECT 1 FROM dt_instances WHERE hub = $hub AND instance_id = $id AND status = {(int)InstanceStatus.Failed})
            RETURNING id
            """,
            "$id", "$visible", "$data");
        InsertMessageIfRunning = Prepare(
            $"""
            INSERT INTO dt_messages (hub, instance_id, execution_id, visible_at, data)
            SELECT $hub, $id, $exec, $visible, $data
            WHERE EXISTS (SELECT 1 FROM dt_instances WHERE hub = $hub AND instance_id = $id
                AND status IN {SqliteSchema.LiveStatuses} AND ($exec IS NULL OR execution_id = $exec))
            RETURNING id
            """,
            "$id", "$exec", "$visible", "$data");
        UpdateInstance = Prepare(
            """
            UPDATE dt_instances SET status = $status, execution_id = $newExec, history_count = $count,
                last_updated_at = $updated, completed_at = $completed, output = $output, failure = $failure,
                custom_status = CASE WHEN $csSet THEN $cs ELSE custom_status END,
                input = CASE WHEN $inSet THEN $input ELSE input END
            WHERE hub = $hub AND instance_id = $id AND execution_id = $expExec AND history_count = $expCount
            """,
            "$id", "$status", "$newExec", "$count", "$updated", "$completed", "$output", "$failure", "$csSet", "$cs", "$inSet", "$input", "$expExec", "$expCount");
        InsertHistory = Prepare("INSERT INTO dt_history (hub, instance_id, seq, data) VALUES ($hub, $id, $seq, $data)", "$id", "$seq", "$data");
        DeleteMessage = Prepare("DELETE FROM dt_messages WHERE id = $mid", "$mid");
        InsertActivity = Prepare(
            "INSERT INTO dt_activities (hub, instance_id, execution_id, task_id, name, input) VALUES ($hub, $id, $exec, $task, $name, $input) RETURNING id",
            "$id", "$exec", "$task", "$name", "$input");
        DeleteActivity = Prepare("DELETE FROM dt_activities WHERE id = $aid", "$aid");
        IncrementMessageAttempts = Prepare("UPDATE dt_messages SET attempts = attempts + 1 WHERE id = $mid", "$mid");
        IncrementRecoveredMessageAttempts = Prepare(
            "UPDATE dt_messages SET attempts = attempts + 1 WHERE hub = $hub AND instance_id = $id AND visible_at <= $before",
            "$id", "$before");
        IncrementActivityAttempts = Prepare("UPDATE dt_activities SET attempts = attempts + 1 WHERE id = $aid RETURNING attempts", "$aid");
        MessageToRunningChildren = Prepare(
            $"""
            INSERT INTO dt_messages (hub, instance_id, execution_id, visible_at, data)
            SELECT hub, instance_id, NULL, $visible, $data FROM dt_instances
            WHERE hub = $hub AND parent_instance_id = $id AND status IN {SqliteSchema.LiveStatuses}
            RETURNING instance_id
            """,
            "$id", "$visible", "$data");
        SelectTree = Prepare(
            """
            WITH RECURSIVE tree(id) AS (
                SELECT $id
                UNION
                SELECT i.instance_id FROM dt_instances i JOIN tree t ON i.hub = $hub AND i.parent_instance_id = t.id)
            SELECT i.instance_id, i.status FROM tree JOIN dt_instances i ON i.hub = $hub AND i.instance_id = tree.id
            """,
            "$id");
    }

    public string Hub => _hub;

    public SqliteConnection Connection => _connection;

    public SqliteCommand SelectInstanceStatus { get; }

    public SqliteCommand DeleteInstance { get; }

    public SqliteCommand DeleteHistory { get; }

    public SqliteCommand DeleteInstanceMessages { get; }

    public SqliteCommand DeleteInstanceActivities { get; }

    public SqliteCommand InsertInstance { get; }

    /// <summary>Creates an entity's instance row unless it exists.</summary>
    public SqliteCommand InsertEntity { get; }

    public SqliteCommand InsertMessage { get; }

    public SqliteCommand InsertMessageIfRunning { get; }

    public SqliteCommand InsertMessageIfFailed { get; }

    public SqliteCommand UpdateInstance { get; }

    public SqliteCommand InsertHistory { get; }

    public SqliteCommand DeleteMessage { get; }

    public SqliteCommand InsertActivity { get; }

    public SqliteCommand DeleteActivity { get; }

    public SqliteCommand IncrementMessageAttempts { get; }

    public SqliteCommand IncrementRecoveredMessageAttempts { get; }

    public SqliteCommand IncrementActivityAttempts { get; }

    public SqliteCommand MessageToRunningChildren { get; }

    public SqliteCommand SelectTree { get; }

    public void Begin()
    {
        _begin.ExecuteNonQuery();
        _inTransaction = true;
    }

    public void Commit()
    {
        _commit.ExecuteNonQuery();
        _inTransaction = false;
    }

    public void RollbackQuietly()
    {
        if (!_inTransaction || _connection.State != System.Data.ConnectionState.Open)
        {
            return;
        }

        try
        {
            _rollback.ExecuteNonQuery();
        }
        catch (SqliteException)
        {
            // SQLite may already have rolled back (for example after SQLITE_FULL); nothing is left to undo.
        }

        _inTransaction = false;
    }

    /// <summary>An ad-hoc command on the writer connection (for queries built per call).</summary>
    public SqliteCommand CreateCommand(string sql)
    {
        var command = _connection.CreateCommand();
        command.CommandText = sql;
        command.Parameters.AddWithValue("$hub", _hub);
        return command;
    }

    public void Dispose()
    {
        foreach (var command in _all)
        {
            command.Dispose();
        }
    }

    private SqliteCommand Prepare(string sql, params string[] parameters)
    {
        var command = _connection.CreateCommand();
        command.CommandText = sql;
        if (sql.Contains("$hub", StringComparison.Ordinal))
        {
            command.Parameters.AddWithValue("$hub", _hub);
        }

        foreach (var name in parameters)
        {
            command.Parameters.Add(new SqliteParameter(name, DBNull.Value));
        }

        _all.Add(command);
        return command;
    }
}

/// <summary>Parameter helpers for the reused commands.</summary>
internal static class SqliteCommandExtensions
{
    public static SqliteCommand With(this SqliteCommand command, string name, object? value)
    {
        command.Parameters[name].Value = value ?? DBNull.Value;
        return command;
    }
}
