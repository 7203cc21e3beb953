using Fleet.Durable.Storage;
using Microsoft.Extensions.Logging;
using Npgsql;

namespace Fleet.Durable.Postgres;

/// <summary>
/// Group commit for the PostgreSQL store: write operations queue on a channel and one connection sends every waiting
/// operation as one <see cref="NpgsqlBatch"/> (one round trip, one implicit transaction, one WAL flush), with the
/// batch's NOTIFY inside the same transaction. The instance rows a batch will update are locked first, in instance-ID
/// order, so batches of competing hosts wait for each other instead of deadlocking. A transient failure (lost
/// connection, server restart, deadlock) retries the whole batch on a new connection until it succeeds: every
/// operation is written so that repeating it after an unknown outcome changes nothing twice. Any other failure
/// retries the operations one by one, so one bad operation fails only itself.
/// </summary>
internal sealed class PostgresWriter : IAsyncDisposable
{
    private readonly GroupCommitQueue<PgWrite> _queue;
    private readonly NpgsqlDataSource _dataSource;
    private readonly PostgresOrchestrationStore _store;
    private readonly ILogger _logger;
    private readonly CancellationTokenSource _closing = new();
    private readonly Task _loop;
    private NpgsqlConnection? _connection;

    public PostgresWriter(NpgsqlDataSource dataSource, PostgresOrchestrationStore store, int maxBatch, ILogger logger)
    {
        _dataSource = dataSource;
        _store = store;
        _queue = new GroupCommitQueue<PgWrite>(maxBatch, nameof(PostgresOrchestrationStore));
        _logger = logger;
        _loop = Task.Run(() => _queue.RunAsync(RunBatchAsync, (batch, ex) => _logger.WriteFailed(ex, batch.Count)), CancellationToken.None);
    }

    public Task<T> WriteAsync<T>(PgWrite<T> operation)
    {
        _queue.Add(operation);
        return operation.Task;
    }

    /// <summary>Writes what is queued, then closes.</summary>
    public async ValueTask DisposeAsync()
    {
        _queue.Complete();
        using (var drain = new CancellationTokenSource(TimeSpan.FromSeconds(10)))
        {
            // A database that stays away must not block shutdown: queued writes are then failed.
            await using var registration = drain.Token.Register(() => _closing.Cancel()).ConfigureAwait(false);
            await _loop.ConfigureAwait(false);
        }

        if (_connection is not null)
        {
            await _connection.DisposeAsync().ConfigureAwait(false);
        }

        _closing.Dispose();
    }

    private async Task RunBatchAsync(List<PgWrite> batch)
    {
        for (var attempt = 1; ; attempt++)
        {
            try
            {
                await ExecuteAsync(batch).ConfigureAwait(false);
            }
            catch (Exception ex) when (Transient.IsTransient(ex) && !_closing.IsCancellationRequested)
            {
                await DropConnectionAsync().ConfigureAwait(false);
                _store.Health.Failed(ex, "writing");
                try
                {
                    await Transient.PauseAsync(attempt, _closing.Token).ConfigureAwait(false);
                }
                catch (OperationCanceledException)
                {
                    FailClosed(batch);
                    return;
                }

                continue;
            }
            catch (Exception ex)
            {
                await DropConnectionAsync().ConfigureAwait(false);
                if (_closing.IsCancellationRequested)
                {
                    FailClosed(batch);
                    return;
                }

                if (batch.Count == 1)
                {
                    batch[0].Fail(ex);
                    return;
                }

                _logger.WriteBatchFailed(ex, batch.Count);
                foreach (var operation in batch)
                {
                    await RunBatchAsync([operation]).ConfigureAwait(false);
                }

                return;
            }

            _store.Health.Succeeded();
            Interlocked.Increment(ref _store.Counters.WriteBatches);
            Interlocked.Add(ref _store.Counters.WriteOperations, batch.Count);
            foreach (var operation in batch)
            {
                try
                {
                    operation.AfterCommit(_store);
                }
                catch (Exception ex)
                {
                    // Committed, but its in-memory effects are not all applied: the caller learns of it. Work it did not
                    // signal is still found by polling.
                    _logger.WriteFailed(ex, 1);
                    operation.Fail(ex);
                    continue;
                }

                operation.Complete();
            }

            return;
        }
    }

    private static void FailClosed(List<PgWrite> batch) => GroupCommitQueue<PgWrite>.FailAll(
        batch,
        new ObjectDisposedException(nameof(PostgresOrchestrationStore), "The durable store closed before the database came back."));

    private async Task ExecuteAsync(List<PgWrite> operations)
    {
        _connection ??= await _dataSource.OpenConnectionAsync(_closing.Token).ConfigureAwait(false);
        await using var batch = new NpgsqlBatch(_connection);
        var context = new WriteContext(_store.QuotedSchema, _store.HubName, _store.NowTicks());

        var touched = new SortedSet<string>(StringComparer.Ordinal);
        foreach (var operation in operations)
        {
            operation.AddTouched(touched);
        }

        var preLock = touched.Count > 1;
        if (preLock)
        {
            var command = new NpgsqlBatchCommand($"SELECT {context.Schema}.dt_lock_rows($1, $2)");
            command.Parameters.Add(Param.Text(context.Hub));
            command.Parameters.Add(Param.TextArray([.. touched]));
            batch.BatchCommands.Add(command);
        }

        var notice = new Notice();
        var followedUp = new bool[operations.Count];
        for (var i = 0; i < operations.Count; i++)
        {
            batch.BatchCommands.Add(operations[i].CreateCommand(context));
            if (operations[i].CreateFollowUpCommand(context) is { } followUp)
            {
                batch.BatchCommands.Add(followUp);
                followedUp[i] = true;
            }

            operations[i].Describe(notice, context);
        }

        notice.ShareLocalWork(_store.SharesOrchestrationWork, _store.SharesActivityWork);
        var payloads = notice.IsEmpty ? [] : notice.ToPayloads(_store.Sender);
        foreach (var payload in payloads)
        {
            var command = new NpgsqlBatchCommand("SELECT pg_notify($1, $2)");
            command.Parameters.Add(Param.Text(_store.Channel));
            command.Parameters.Add(Param.Text(payload));
            batch.BatchCommands.Add(command);
        }

        await using var reader = await batch.ExecuteReaderAsync(_closing.Token).ConfigureAwait(false);
        if (preLock)
        {
            while (await reader.ReadAsync(_closing.Token).ConfigureAwait(false))
            {
            }

            await reader.NextResultAsync(_closing.Token).ConfigureAwait(false);
        }

        for (var i = 0; i < operations.Count; i++)
        {
            await operations[i].ReadAsync(reader, _closing.Token).ConfigureAwait(false);
            await reader.NextResultAsync(_closing.Token).ConfigureAwait(false);
            if (followedUp[i])
            {
                while (await reader.ReadAsync(_closing.Token).ConfigureAwait(false))
                {
                }

                await reader.NextResultAsync(_closing.Token).ConfigureAwait(false);
            }
        }

        // Reading the NOTIFY results (and the end of the batch) surfaces a failed commit.
        while (await reader.NextResultAsync(_closing.Token).ConfigureAwait(false))
        {
        }
    }

    private async Task DropConnectionAsync()
    {
        if (_connection is null)
        {
            return;
        }

        try
        {
            await _connection.DisposeAsync().ConfigureAwait(false);
        }
        catch (Exception)
        {
            // Already broken; nothing to close cleanly.
        }

        _connection = null;
    }
}

/// <summary>What a write operation needs to build its command.</summary>
/// <param name="Schema">The quoted schema name.</param>
/// <param name="Hub">The hub.</param>
/// <param name="Now">The runtime's time when the batch was built (UTC ticks).</param>
internal readonly record struct WriteContext(string Schema, string Hub, long Now);

/// <summary>
/// One write: a single command (usually a call to one of the schema's functions) returning one result set, and
/// optionally a follow-up statement. It may be executed more than once (batch retries), so it keeps its result until
/// <see cref="Complete"/>.
/// </summary>
internal abstract class PgWrite : IQueuedWrite
{
    /// <summary>Adds the instance rows this operation updates (locked in order at the start of the batch).</summary>
    public virtual void AddTouched(ISet<string> instanceIds)
    {
    }

    public abstract NpgsqlBatchCommand CreateCommand(WriteContext context);

    /// <summary>A second statement run right after <see cref="CreateCommand"/> in the same transaction (its rows are discarded), if any.</summary>
    public virtual NpgsqlBatchCommand? CreateFollowUpCommand(WriteContext context) => null;

    /// <summary>Reads this operation's result set (the reader is positioned at it).</summary>
    public abstract Task ReadAsync(NpgsqlDataReader reader, CancellationToken cancellationToken);

    /// <summary>Adds what other hosts should hear about this operation.</summary>
    public virtual void Describe(Notice notice, WriteContext context)
    {
    }

    /// <summary>In-process effects of the committed operation (dispatch signals, change notifications).</summary>
    public virtual void AfterCommit(PostgresOrchestrationStore store)
    {
    }

    public abstract void Complete();

    public abstract void Fail(Exception exception);
}

/// <inheritdoc />
internal abstract class PgWrite<T> : PgWrite
{
    private readonly TaskCompletionSource<T> _done = new(TaskCreationOptions.RunContinuationsAsynchronously);

    public Task<T> Task => _done.Task;

    protected T Result { get; set; } = default!;

    public override void Complete() => _done.TrySetResult(Result);

    public override void Fail(Exception exception) => _done.TrySetException(exception);

    /// <summary>Reads a single-value result.</summary>
    protected static async Task<TValue?> ReadScalarAsync<TValue>(NpgsqlDataReader reader, CancellationToken cancellationToken)
    {
        TValue? value = default;
        if (await reader.ReadAsync(cancellationToken).ConfigureAwait(false) && !await reader.IsDBNullAsync(0, cancellationToken).ConfigureAwait(false))
        {
            value = reader.GetFieldValue<TValue>(0);
        }

        while (await reader.ReadAsync(cancellationToken).ConfigureAwait(false))
        {
        }

        return value;
    }
}
