using Fleet.Durable.Storage;
using Npgsql;

namespace Fleet.Durable.Postgres;

/// <summary>
/// Gives instances just created their tags, and clears those of a finished instance a new one replaced. The
/// functions that create instances predate the column, so this statement follows them in the same transaction. It
/// matches each row by its new execution ID (so an instance whose ID an unfinished one holds, and which was therefore
/// not created, is left alone) and writes only rows whose tags differ, so an instance without tags costs a key lookup.
/// </summary>
internal static class InstanceTags
{
    public static NpgsqlBatchCommand? Command(WriteContext context, IReadOnlyList<NewInstance> created)
    {
        if (created.Count == 0)
        {
            return null;
        }

        var command = new NpgsqlBatchCommand(
            $"""
            WITH u AS (
                UPDATE {context.Schema}.dt_instances i SET tags = t.tags
                FROM unnest($2::text[], $3::text[], $4::text[]) AS t(id, exec, tags)
                WHERE i.instance_id = t.id AND i.hub = $1 AND i.execution_id = t.exec AND i.tags IS DISTINCT FROM t.tags
                RETURNING 1)
            SELECT count(*) FROM u
            """);
        command.Parameters.Add(Param.Text(context.Hub));
        command.Parameters.Add(Param.TextArray([.. created.Select(i => i.InstanceId)]));
        command.Parameters.Add(Param.TextArray([.. created.Select(i => i.ExecutionId)]));
        command.Parameters.Add(Param.TextArray([.. created.Select(i => i.Tags)]));
        return command;
    }
}

/// <summary>Creates an instance (or replaces a finished one) with its start message.</summary>
internal sealed class CreateInstanceWrite(NewInstance instance) : PgWrite<CreateInstanceResult>
{
    public override void AddTouched(ISet<string> instanceIds) => instanceIds.Add(instance.InstanceId);

    public override NpgsqlBatchCommand CreateCommand(WriteContext context)
    {
        var command = new NpgsqlBatchCommand($"SELECT {context.Schema}.dt_create_instance($1, $2, $3, $4, $5, $6, $7, $8, $9, $10, $11)");
        var created = instance.CreatedAt.UtcTicks;
        var visible = instance.StartAt.UtcTicks;
        command.Parameters.Add(Param.Text(context.Hub));
        command.Parameters.Add(Param.Text(instance.InstanceId));
        command.Parameters.Add(Param.Text(instance.ExecutionId));
        command.Parameters.Add(Param.Text(instance.Name));
        command.Parameters.Add(Param.Text(instance.Version));
        command.Parameters.Add(Param.Text(instance.Input));
        command.Parameters.Add(Param.Bigint(created));
        command.Parameters.Add(Param.Bigint(visible > created ? visible : null));
        command.Parameters.Add(Param.Bigint(visible));
        command.Parameters.Add(Param.Text(instance.StartMessage));
        command.Parameters.Add(Param.Text(instance.ParentInstanceId));
        return command;
    }

    public override NpgsqlBatchCommand? CreateFollowUpCommand(WriteContext context) => InstanceTags.Command(context, [instance]);

    public override async Task ReadAsync(NpgsqlDataReader reader, CancellationToken cancellationToken)
    {
        var code = await ReadScalarAsync<int>(reader, cancellationToken).ConfigureAwait(false);
        Result = code < 0 ? new CreateInstanceResult(true, null) : new CreateInstanceResult(false, (InstanceStatus)code);
    }

    public override void Describe(Notice notice, WriteContext context)
    {
        notice.AddOrchestrationWork(instance.StartAt.UtcTicks, context.Now);
        notice.Changed.Add(instance.InstanceId);
    }

    public override void AfterCommit(PostgresOrchestrationStore store)
    {
        if (Result.Created)
        {
            store.OnInstanceWork(instance.InstanceId, instance.StartAt.UtcTicks);
            store.NotifyChanged(instance.InstanceId);
        }
    }
}

/// <summary>
/// Enqueues a message from outside an episode: an event, terminate, suspend or resume for a live instance, or, with
/// <paramref name="entityName"/>, a signal for an entity (whose row is created first if needed). Its key makes a retry
/// after an unknown outcome return the first attempt's result instead of enqueueing twice.
/// </summary>
internal sealed class EnqueueWrite(string instanceId, string data, long visibleAt, Guid key, string? entityName = null, bool forFailedInstance = false) : PgWrite<bool>
{
    public override void AddTouched(ISet<string> instanceIds) => instanceIds.Add(instanceId);

    public override NpgsqlBatchCommand CreateCommand(WriteContext context)
    {
        if (forFailedInstance)
        {
            // A rewind request: only a Failed instance takes it (a retried write may enqueue it twice; the second is
            // then an ordinary event the worker ignores).
            var rewind = new NpgsqlBatchCommand(
                $"SELECT COALESCE((SELECT {context.Schema}.dt_enqueue($1, $2, NULL, $3, $4, false) FROM {context.Schema}.dt_instances " +
                $"WHERE hub = $1 AND instance_id = $2 AND status = {(int)InstanceStatus.Failed}), false)");
            rewind.Parameters.Add(Param.Text(context.Hub));
            rewind.Parameters.Add(Param.Text(instanceId));
            rewind.Parameters.Add(Param.Bigint(visibleAt));
            rewind.Parameters.Add(Param.Text(data));
            return rewind;
        }

        var command = new NpgsqlBatchCommand(entityName is null
            ? $"SELECT {context.Schema}.dt_enqueue_external($1, $2, $3, $4, $5, $6)"
            : $"SELECT {context.Schema}.dt_enqueue_entity_external($1, $2, $3, $4, $7, $5, $6)");
        command.Parameters.Add(Param.Text(context.Hub));
        command.Parameters.Add(Param.Uuid(key));
        command.Parameters.Add(Param.Bigint(context.Now));
        command.Parameters.Add(Param.Text(instanceId));
        command.Parameters.Add(Param.Bigint(visibleAt));
        command.Parameters.Add(Param.Text(data));
        if (entityName is not null)
        {
            command.Parameters.Add(Param.Text(entityName));
        }

        return command;
    }

    public override async Task ReadAsync(NpgsqlDataReader reader, CancellationToken cancellationToken) =>
        Result = await ReadScalarAsync<bool>(reader, cancellationToken).ConfigureAwait(false);

    public override void Describe(Notice notice, WriteContext context) => notice.AddOrchestrationWork(visibleAt, context.Now);

    public override void AfterCommit(PostgresOrchestrationStore store)
    {
        if (Result)
        {
            store.OnInstanceWork(instanceId, visibleAt);
        }
    }
}

/// <summary>
/// Commits an episode (or, without an instance update, only consumes messages) and releases the lock, or keeps it
/// until <paramref name="keepUntil"/> when messages for the next episode are already waiting.
/// </summary>
internal sealed class CommitWrite(OrchestrationWorkItem item, OrchestrationCommit commit, long token, long now, long? keepUntil) : PgWrite<bool>
{
    private long _next;
    private bool _kept;
    private List<StoredMessage> _waiting = [];

    public override void AddTouched(ISet<string> instanceIds)
    {
        instanceIds.Add(item.InstanceId);
        foreach (var message in commit.Messages)
        {
            instanceIds.Add(message.InstanceId);
        }

        foreach (var child in commit.SubOrchestrations)
        {
            instanceIds.Add(child.Instance.InstanceId);
        }

        foreach (var started in commit.NewInstances)
        {
            instanceIds.Add(started.InstanceId);
        }
    }

    public override NpgsqlBatchCommand CreateCommand(WriteContext context)
    {
        var command = new NpgsqlBatchCommand(
            $"SELECT next_at, kept, msg_ids, msg_execs, msg_data, msg_attempts FROM {context.Schema}.dt_commit_batch($1, $2, $3, $4, $5, $6, $7, $8, $9, $10, $11, $12, $13, $14, $15, " +
            "$16, $17, $18, $19, $20, $21, $22, $23, $24, $25, $26, $27, $28, $29, $30, $31, $32, $33, $34, $35, $36, $37, $38, $39, $40, " +
            "$41, $42, $43, $44, $45, $46, $47, $48, $49)");
        var p = command.Parameters;
        var update = commit.Instance;
        p.Add(Param.Text(context.Hub));
        p.Add(Param.Text(item.InstanceId));
        p.Add(Param.Bigint(token));
        p.Add(Param.Bigint(now));
        p.Add(Param.Boolean(update is not null));
        p.Add(Param.Text(commit.ExpectedExecutionId));
        p.Add(Param.Integer(commit.ExpectedHistoryCount));
        p.Add(Param.Smallint((short)(update?.Status ?? 0)));
        p.Add(Param.Text(update?.ExecutionId));
        p.Add(Param.Integer(update?.HistoryCount ?? 0));
        p.Add(Param.Bigint(update?.LastUpdatedAt.UtcTicks ?? 0));
        p.Add(Param.Bigint(update?.CompletedAt?.UtcTicks));
        p.Add(Param.Text(update?.Output));
        p.Add(Param.Text(update?.FailureDetails));
        p.Add(Param.Boolean(update?.CustomStatusChanged ?? false));
        p.Add(Param.Text(update?.CustomStatus));
        p.Add(Param.Boolean(update?.InputChanged ?? false));
        p.Add(Param.Text(update?.Input));
        p.Add(Param.Boolean(commit.ReplaceHistory));
        p.Add(Param.TextArray([.. commit.NewHistory]));
        p.Add(Param.BigintArray([.. commit.ConsumedMessageIds]));
        p.Add(Param.IntegerArray([.. commit.Activities.Select(a => a.TaskId)]));
        p.Add(Param.TextArray([.. commit.Activities.Select(a => a.Name)]));
        p.Add(Param.TextArray([.. commit.Activities.Select(a => a.Input)]));
        p.Add(Param.TextArray([.. commit.Messages.Select(m => m.InstanceId)]));
        p.Add(Param.TextArray([.. commit.Messages.Select(m => m.TargetExecutionId)]));
        p.Add(Param.TextArray([.. commit.Messages.Select(m => m.Data)]));
        p.Add(Param.BigintArray([.. commit.Messages.Select(m => m.VisibleAt.UtcTicks)]));
        p.Add(Param.BooleanArray([.. commit.Messages.Select(m => m.OnlyIfRunning)]));
        var children = commit.SubOrchestrations;
        p.Add(Param.TextArray([.. children.Select(c => c.Instance.InstanceId)]));
        p.Add(Param.TextArray([.. children.Select(c => c.Instance.ExecutionId)]));
        p.Add(Param.TextArray([.. children.Select(c => c.Instance.Name)]));
        p.Add(Param.TextArray([.. children.Select(c => c.Instance.Version)]));
        p.Add(Param.TextArray([.. children.Select(c => c.Instance.Input)]));
        p.Add(Param.BigintArray([.. children.Select(c => c.Instance.CreatedAt.UtcTicks)]));
        p.Add(Param.BigintArray([.. children.Select(c => c.Instance.StartAt.UtcTicks)]));
        p.Add(Param.TextArray([.. children.Select(c => c.Instance.StartMessage)]));
        p.Add(Param.TextArray([.. children.Select(c => c.ConflictMessage)]));
        p.Add(Param.Text(commit.MessageToRunningChildren));
        p.Add(Param.Bigint(update is null || update.Status.IsTerminal() ? null : keepUntil));
        p.Add(Param.TextArray([.. commit.Messages.Select(m => m.EntityName)]));
        var started = commit.NewInstances;
        p.Add(Param.TextArray([.. started.Select(i => i.InstanceId)]));
        p.Add(Param.TextArray([.. started.Select(i => i.ExecutionId)]));
        p.Add(Param.TextArray([.. started.Select(i => i.Name)]));
        p.Add(Param.TextArray([.. started.Select(i => i.Version)]));
        p.Add(Param.TextArray([.. started.Select(i => i.Input)]));
        p.Add(Param.BigintArray([.. started.Select(i => i.CreatedAt.UtcTicks)]));
        p.Add(Param.BigintArray([.. started.Select(i => i.StartAt.UtcTicks)]));
        p.Add(Param.TextArray([.. started.Select(i => i.StartMessage)]));
        return command;
    }

    public override NpgsqlBatchCommand? CreateFollowUpCommand(WriteContext context) =>
        InstanceTags.Command(context, [.. commit.SubOrchestrations.Select(c => c.Instance), .. commit.NewInstances]);

    public override async Task ReadAsync(NpgsqlDataReader reader, CancellationToken cancellationToken)
    {
        _next = -1;
        _kept = false;
        _waiting = [];
        while (await reader.ReadAsync(cancellationToken).ConfigureAwait(false))
        {
            _next = reader.GetInt64(0);
            _kept = reader.GetBoolean(1);
            if (_kept && !reader.IsDBNull(2))
            {
                var ids = reader.GetFieldValue<long[]>(2);
                var executions = reader.GetFieldValue<string?[]>(3);
                var data = reader.GetFieldValue<string[]>(4);
                var attempts = reader.GetFieldValue<int[]>(5);
                for (var i = 0; i < ids.Length; i++)
                {
                    _waiting.Add(new StoredMessage(ids[i], executions[i], data[i], attempts[i]));
                }
            }
        }

        Result = _next >= 0;
    }

    public override void Describe(Notice notice, WriteContext context)
    {
        if (commit.Activities.Count > 0)
        {
            notice.LocalActivityWork = true;
        }

        foreach (var message in commit.Messages)
        {
            if (message.InstanceId == item.InstanceId)
            {
                notice.AddLocalOrchestrationWork(message.VisibleAt.UtcTicks, context.Now);
            }
            else
            {
                notice.AddOrchestrationWork(message.VisibleAt.UtcTicks, context.Now);
            }
        }

        foreach (var child in commit.SubOrchestrations.Select(c => c.Instance).Concat(commit.NewInstances))
        {
            notice.AddOrchestrationWork(child.StartAt.UtcTicks, context.Now);
            notice.Changed.Add(child.InstanceId);
        }

        if (commit.MessageToRunningChildren is not null)
        {
            notice.OrchestrationWork = true;
        }

        if (commit.Instance is { StatusChanged: true })
        {
            notice.Changed.Add(item.InstanceId);
        }
    }

    public override void AfterCommit(PostgresOrchestrationStore store)
    {
        if (!Result)
        {
            return;
        }

        store.InstanceReleased(item);
        if (commit.Activities.Count > 0)
        {
            store.OnActivityWork(now);
        }

        foreach (var message in commit.Messages)
        {
            if (message.InstanceId != item.InstanceId)
            {
                store.OnInstanceWork(message.InstanceId, message.VisibleAt.UtcTicks);
            }
        }

        foreach (var child in commit.SubOrchestrations.Select(c => c.Instance).Concat(commit.NewInstances))
        {
            store.OnInstanceWork(child.InstanceId, child.StartAt.UtcTicks);
            store.NotifyChanged(child.InstanceId);
        }

        if (commit.MessageToRunningChildren is not null)
        {
            store.OnOrchestrationWork();
        }

        if (_kept)
        {
            // Messages are waiting and the lock was kept: the next episode runs here, without a fetch.
            store.Requeue(item, token, commit.Instance!.ExecutionId, commit.Instance.HistoryCount, keepUntil!.Value, _waiting);
        }
        else if (_next > 0)
        {
            // Messages that arrived while the episode ran (or this episode's own timers).
            store.OnInstanceWork(item.InstanceId, _next);
        }

        if (commit.Instance is { StatusChanged: true })
        {
            store.NotifyChanged(item.InstanceId);
        }
    }
}

/// <summary>Deletes the activity row and delivers its result to the same live execution.</summary>
internal sealed class CompleteActivityWrite(ActivityWorkItem item, string resultData, long now) : PgWrite<bool>
{
    public override void AddTouched(ISet<string> instanceIds) => instanceIds.Add(item.InstanceId);

    public override NpgsqlBatchCommand CreateCommand(WriteContext context)
    {
        var command = new NpgsqlBatchCommand($"SELECT {context.Schema}.dt_complete_activity($1, $2, $3, $4, $5, $6)");
        command.Parameters.Add(Param.Text(context.Hub));
        command.Parameters.Add(Param.Bigint(item.Id));
        command.Parameters.Add(Param.Text(item.InstanceId));
        command.Parameters.Add(Param.Text(item.ExecutionId));
        command.Parameters.Add(Param.Text(resultData));
        command.Parameters.Add(Param.Bigint(now));
        return command;
    }

    public override async Task ReadAsync(NpgsqlDataReader reader, CancellationToken cancellationToken) =>
        Result = await ReadScalarAsync<bool>(reader, cancellationToken).ConfigureAwait(false);

    public override void Describe(Notice notice, WriteContext context) => notice.LocalOrchestrationWork = true;

    public override void AfterCommit(PostgresOrchestrationStore store)
    {
        store.ActivityReleased(item);
        if (Result)
        {
            store.OnInstanceWork(item.InstanceId, now);
        }
    }
}

/// <summary>Releases an instance lock; its messages come back at <c>readyAt</c>, optionally with an attempt counted.</summary>
internal sealed class AbandonInstanceWrite(OrchestrationWorkItem item, long token, bool countAttempt, long readyAt) : PgWrite<bool>
{
    public override void AddTouched(ISet<string> instanceIds) => instanceIds.Add(item.InstanceId);

    public override NpgsqlBatchCommand CreateCommand(WriteContext context)
    {
        var command = new NpgsqlBatchCommand($"SELECT {context.Schema}.dt_abandon_instance($1, $2, $3, $4, $5, $6)");
        command.Parameters.Add(Param.Text(context.Hub));
        command.Parameters.Add(Param.Text(item.InstanceId));
        command.Parameters.Add(Param.Bigint(token));
        command.Parameters.Add(Param.BigintArray([.. item.Messages.Select(m => m.Id)]));
        command.Parameters.Add(Param.Boolean(countAttempt));
        command.Parameters.Add(Param.Bigint(readyAt));
        return command;
    }

    public override async Task ReadAsync(NpgsqlDataReader reader, CancellationToken cancellationToken) =>
        Result = await ReadScalarAsync<bool>(reader, cancellationToken).ConfigureAwait(false);

    public override void Describe(Notice notice, WriteContext context) => notice.AddOrchestrationWork(readyAt, context.Now);

    public override void AfterCommit(PostgresOrchestrationStore store)
    {
        store.InstanceReleased(item);
        store.OnInstanceWork(item.InstanceId, readyAt);
    }
}

/// <summary>Extends an instance lock this store still holds.</summary>
internal sealed class RenewInstanceWrite(string instanceId, long token, long until) : PgWrite<bool>
{
    public override void AddTouched(ISet<string> instanceIds) => instanceIds.Add(instanceId);

    public override NpgsqlBatchCommand CreateCommand(WriteContext context)
    {
        var command = new NpgsqlBatchCommand(
            $"WITH u AS (UPDATE {context.Schema}.dt_instances SET locked_until = $3 WHERE hub = $1 AND instance_id = $2 AND lock_token = $4 RETURNING 1) SELECT count(*) > 0 FROM u");
        command.Parameters.Add(Param.Text(context.Hub));
        command.Parameters.Add(Param.Text(instanceId));
        command.Parameters.Add(Param.Bigint(until));
        command.Parameters.Add(Param.Bigint(token));
        return command;
    }

    public override async Task ReadAsync(NpgsqlDataReader reader, CancellationToken cancellationToken) =>
        Result = await ReadScalarAsync<bool>(reader, cancellationToken).ConfigureAwait(false);
}

/// <summary>Releases an activity lock; it is handed out again at <c>readyAt</c>, optionally with an attempt counted.</summary>
internal sealed class AbandonActivityWrite(ActivityWorkItem item, long token, bool countAttempt, long readyAt) : PgWrite<bool>
{
    public override NpgsqlBatchCommand CreateCommand(WriteContext context)
    {
        var command = new NpgsqlBatchCommand(
            $"""
            WITH u AS (
                UPDATE {context.Schema}.dt_activities SET visible_at = $3, lock_owner = NULL, lock_token = NULL,
                    attempts = attempts + CASE WHEN $5 THEN 1 ELSE 0 END
                WHERE hub = $1 AND id = $2 AND lock_token = $4 RETURNING 1)
            SELECT count(*) > 0 FROM u
            """);
        command.Parameters.Add(Param.Text(context.Hub));
        command.Parameters.Add(Param.Bigint(item.Id));
        command.Parameters.Add(Param.Bigint(readyAt));
        command.Parameters.Add(Param.Bigint(token));
        command.Parameters.Add(Param.Boolean(countAttempt));
        return command;
    }

    public override async Task ReadAsync(NpgsqlDataReader reader, CancellationToken cancellationToken) =>
        Result = await ReadScalarAsync<bool>(reader, cancellationToken).ConfigureAwait(false);

    public override void Describe(Notice notice, WriteContext context)
    {
        if (readyAt <= context.Now)
        {
            notice.ActivityWork = true;
        }
        else
        {
            notice.AddDue(readyAt);
        }
    }

    public override void AfterCommit(PostgresOrchestrationStore store)
    {
        store.ActivityReleased(item);
        store.OnActivityWork(readyAt);
    }
}

/// <summary>Extends an activity lock this store still holds.</summary>
internal sealed class RenewActivityWrite(long activityId, long token, long until) : PgWrite<bool>
{
    public override NpgsqlBatchCommand CreateCommand(WriteContext context)
    {
        var command = new NpgsqlBatchCommand(
            $"WITH u AS (UPDATE {context.Schema}.dt_activities SET visible_at = $3 WHERE hub = $1 AND id = $2 AND lock_token = $4 RETURNING 1) SELECT count(*) > 0 FROM u");
        command.Parameters.Add(Param.Text(context.Hub));
        command.Parameters.Add(Param.Bigint(activityId));
        command.Parameters.Add(Param.Bigint(until));
        command.Parameters.Add(Param.Bigint(token));
        return command;
    }

    public override async Task ReadAsync(NpgsqlDataReader reader, CancellationToken cancellationToken) =>
        Result = await ReadScalarAsync<bool>(reader, cancellationToken).ConfigureAwait(false);
}

/// <summary>Purges a finished instance (and its finished descendants when recursive).</summary>
internal sealed class PurgeWrite(string instanceId, bool recursive) : PgWrite<int>
{
    private string[] _purged = [];

    public override void AddTouched(ISet<string> instanceIds) => instanceIds.Add(instanceId);

    public override NpgsqlBatchCommand CreateCommand(WriteContext context)
    {
        var command = new NpgsqlBatchCommand($"SELECT {context.Schema}.dt_purge($1, $2, $3)");
        command.Parameters.Add(Param.Text(context.Hub));
        command.Parameters.Add(Param.Text(instanceId));
        command.Parameters.Add(Param.Boolean(recursive));
        return command;
    }

    public override async Task ReadAsync(NpgsqlDataReader reader, CancellationToken cancellationToken)
    {
        _purged = await ReadScalarAsync<string[]>(reader, cancellationToken).ConfigureAwait(false) ?? [];
        Result = _purged.Length;
    }

    public override void Describe(Notice notice, WriteContext context)
    {
        notice.Changed.Add(instanceId);
        if (recursive)
        {
            notice.AllChanged = true;
        }
    }

    public override void AfterCommit(PostgresOrchestrationStore store)
    {
        foreach (var id in _purged)
        {
            store.NotifyChanged(id);
        }
    }
}

/// <summary>Purges up to a number of finished instances matching a filter.</summary>
internal sealed class PurgeManyWrite(InstanceFilter filter, int maxInstances, bool recursive) : PgWrite<int>
{
    private readonly List<string> _purged = [];

    public override NpgsqlBatchCommand CreateCommand(WriteContext context)
    {
        var command = new NpgsqlBatchCommand();
        command.Parameters.Add(Param.Text(context.Hub));
        command.Parameters.Add(Param.Boolean(recursive));
        command.Parameters.Add(Param.Integer(maxInstances));
        command.CommandText =
            $"SELECT {context.Schema}.dt_purge($1, instance_id, $2) FROM {context.Schema}.dt_instances WHERE hub = $1" +
            PostgresQueries.FilterSql(command.Parameters, filter) + " LIMIT $3";
        return command;
    }

    public override async Task ReadAsync(NpgsqlDataReader reader, CancellationToken cancellationToken)
    {
        // Every deleted instance counts once, descendants included: a selected child already deleted with its parent
        // returns nothing. So the count is never below the rows selected, which tells the client a short page was the
        // last.
        _purged.Clear();
        while (await reader.ReadAsync(cancellationToken).ConfigureAwait(false))
        {
            _purged.AddRange(reader.GetFieldValue<string[]>(0));
        }

        Result = _purged.Count;
    }

    public override void Describe(Notice notice, WriteContext context) => notice.AllChanged = true;

    public override void AfterCommit(PostgresOrchestrationStore store)
    {
        foreach (var id in _purged)
        {
            store.NotifyChanged(id);
        }
    }
}
