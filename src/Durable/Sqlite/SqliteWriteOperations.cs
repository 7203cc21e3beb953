using System.Globalization;
using Fleet.Durable.Storage;
using Microsoft.Data.Sqlite;

namespace Fleet.Durable.Sqlite;

/// <summary>Shared steps of the write operations.</summary>
internal static class WriteSteps
{
    public static InstanceStatus? StatusOf(WriterCommands c, string instanceId)
    {
        var value = c.SelectInstanceStatus.With("$id", instanceId).ExecuteScalar();
        return value is null ? null : (InstanceStatus)Convert.ToInt32(value, CultureInfo.InvariantCulture);
    }

    public static void DeleteInstanceData(WriterCommands c, string instanceId, bool includeRow)
    {
        c.DeleteHistory.With("$id", instanceId).ExecuteNonQuery();
        c.DeleteInstanceMessages.With("$id", instanceId).ExecuteNonQuery();
        if (includeRow)
        {
            c.DeleteInstanceActivities.With("$id", instanceId).ExecuteNonQuery();
            c.DeleteInstance.With("$id", instanceId).ExecuteNonQuery();
        }
    }

    /// <summary>Creates the instance unless an unfinished one has the ID; returns that one's status when refused.</summary>
    public static InstanceStatus? TryCreate(WriterCommands c, NewInstance instance)
    {
        var existing = StatusOf(c, instance.InstanceId);
        if (existing is { } status)
        {
            if (!status.IsTerminal())
            {
                return status;
            }

            DeleteInstanceData(c, instance.InstanceId, includeRow: false);
            c.DeleteInstance.With("$id", instance.InstanceId).ExecuteNonQuery();
        }

        c.InsertInstance
            .With("$id", instance.InstanceId)
            .With("$exec", instance.ExecutionId)
            .With("$name", instance.Name)
            .With("$version", instance.Version)
            .With("$created", instance.CreatedAt.UtcTicks)
            .With("$start", instance.StartAt > instance.CreatedAt ? instance.StartAt.UtcTicks : null)
            .With("$input", instance.Input)
            .With("$parent", instance.ParentInstanceId)
            .With("$tags", instance.Tags)
            .ExecuteNonQuery();
        InsertMessage(c, instance.InstanceId, instance.ExecutionId, instance.StartAt.UtcTicks, instance.StartMessage);
        return null;
    }

    /// <summary>Creates an entity's instance row (status Running) unless it exists.</summary>
    public static void EnsureEntity(WriterCommands c, string instanceId, string entityName, long nowTicks) =>
        c.InsertEntity.With("$id", instanceId).With("$exec", EntityRows.ExecutionId).With("$name", entityName).With("$now", nowTicks).ExecuteNonQuery();

    public static long InsertMessage(WriterCommands c, string instanceId, string? executionId, long visibleAt, string data) =>
        (long)c.InsertMessage
            .With("$id", instanceId)
            .With("$exec", executionId)
            .With("$visible", visibleAt)
            .With("$data", data)
            .ExecuteScalar()!;

    public static bool InsertMessageIfRunning(WriterCommands c, string instanceId, string? executionId, long visibleAt, string data) =>
        c.InsertMessageIfRunning
            .With("$id", instanceId)
            .With("$exec", executionId)
            .With("$visible", visibleAt)
            .With("$data", data)
            .ExecuteScalar() is not null;

    /// <summary>Deletes finished instances of the tree rooted at <paramref name="rootId"/> (or just the root).</summary>
    public static List<string> PurgeTree(WriterCommands c, string rootId, bool recursive)
    {
        var purged = new List<string>();
        var candidates = new List<(string Id, InstanceStatus Status)>();
        if (recursive)
        {
            using var reader = c.SelectTree.With("$id", rootId).ExecuteReader();
            while (reader.Read())
            {
                candidates.Add((reader.GetString(0), (InstanceStatus)reader.GetInt32(1)));
            }
        }
        else if (StatusOf(c, rootId) is { } status)
        {
            candidates.Add((rootId, status));
        }

        if (candidates.Count == 0 || !candidates.Exists(x => x.Id == rootId && x.Status.IsTerminal()))
        {
            return purged;
        }

        foreach (var (id, status) in candidates)
        {
            if (status.IsTerminal())
            {
                DeleteInstanceData(c, id, includeRow: true);
                purged.Add(id);
            }
        }

        return purged;
    }
}

internal sealed class CreateInstanceOperation(SqliteOrchestrationStore store, NewInstance instance) : WriteOperation<CreateInstanceResult>
{
    public override void Execute(WriterCommands commands)
    {
        var blocking = WriteSteps.TryCreate(commands, instance);
        Result = new CreateInstanceResult(blocking is null, blocking);
    }

    public override void AfterCommit()
    {
        if (Result.Created)
        {
            store.Dispatch.InstanceHasMessages(instance.InstanceId, instance.StartAt.UtcTicks);
            store.NotifyChanged(instance.InstanceId);
        }
    }
}

internal sealed class EnqueueMessageOperation(SqliteOrchestrationStore store, string instanceId, string data, long visibleAt, bool forFailedInstance = false) : WriteOperation<bool>
{
    public override void Execute(WriterCommands commands) =>
        Result = forFailedInstance
            ? commands.InsertMessageIfFailed.With("$id", instanceId).With("$visible", visibleAt).With("$data", data).ExecuteScalar() is not null
            : WriteSteps.InsertMessageIfRunning(commands, instanceId, null, visibleAt, data);

    public override void AfterCommit()
    {
        if (Result)
        {
            store.Dispatch.InstanceHasMessages(instanceId, visibleAt);
        }
    }
}

internal sealed class CommitOrchestrationOperation(
    SqliteOrchestrationStore store,
    OrchestrationWorkItem workItem,
    OrchestrationCommit commit,
    long nowTicks) : WriteOperation<bool>
{
    private readonly List<(string InstanceId, long VisibleAt)> _signals = [];
    private readonly List<ActivityEntry> _activities = [];
    private readonly List<string> _changed = [];

    public override void Execute(WriterCommands c)
    {
        _signals.Clear();
        _activities.Clear();
        _changed.Clear();
        var instanceId = workItem.InstanceId;
        if (commit.Instance is { } update)
        {
            var applied = c.UpdateInstance
                .With("$id", instanceId)
                .With("$status", (int)update.Status)
                .With("$newExec", update.ExecutionId)
                .With("$count", update.HistoryCount)
                .With("$updated", update.LastUpdatedAt.UtcTicks)
                .With("$completed", update.CompletedAt?.UtcTicks)
                .With("$output", update.Output)
                .With("$failure", update.FailureDetails)
                .With("$csSet", update.CustomStatusChanged)
                .With("$cs", update.CustomStatus)
                .With("$inSet", update.InputChanged)
                .With("$input", update.Input)
                .With("$expExec", commit.ExpectedExecutionId)
                .With("$expCount", commit.ExpectedHistoryCount)
                .ExecuteNonQuery();
            if (applied == 0)
            {
                Result = false;
                return;
            }

            if (update.StatusChanged)
            {
                _changed.Add(instanceId);
            }

            if (commit.ReplaceHistory)
            {
                c.DeleteHistory.With("$id", instanceId).ExecuteNonQuery();
            }

            var seq = commit.ReplaceHistory ? 0 : commit.ExpectedHistoryCount;
            foreach (var data in commit.NewHistory)
            {
                c.InsertHistory.With("$id", instanceId).With("$seq", seq++).With("$data", data).ExecuteNonQuery();
            }
        }

        foreach (var id in commit.ConsumedMessageIds)
        {
            c.DeleteMessage.With("$mid", id).ExecuteNonQuery();
        }

        // Work is attributed to the execution that produced it, even when the episode continued as new: results for
        // an earlier execution must never reach the next one.
        var executionId = commit.ExpectedExecutionId;
        foreach (var activity in commit.Activities)
        {
            var id = (long)c.InsertActivity
                .With("$id", instanceId)
                .With("$exec", executionId)
                .With("$task", activity.TaskId)
                .With("$name", activity.Name)
                .With("$input", activity.Input)
                .ExecuteScalar()!;
            _activities.Add(new ActivityEntry
            {
                Id = id,
                InstanceId = instanceId,
                ExecutionId = executionId,
                TaskId = activity.TaskId,
                Name = activity.Name,
                Input = activity.Input,
            });
        }

        foreach (var child in commit.SubOrchestrations)
        {
            if (WriteSteps.TryCreate(c, child.Instance) is null)
            {
                _signals.Add((child.Instance.InstanceId, child.Instance.StartAt.UtcTicks));
                _changed.Add(child.Instance.InstanceId);
            }
            else
            {
                WriteSteps.InsertMessage(c, instanceId, executionId, nowTicks, child.ConflictMessage);
                _signals.Add((instanceId, nowTicks));
            }
        }

        foreach (var instance in commit.NewInstances)
        {
            if (WriteSteps.TryCreate(c, instance) is null)
            {
                _signals.Add((instance.InstanceId, instance.StartAt.UtcTicks));
                _changed.Add(instance.InstanceId);
            }
        }

        foreach (var message in commit.Messages)
        {
            var visibleAt = message.VisibleAt.UtcTicks;
            if (message.EntityName is { } entity)
            {
                WriteSteps.EnsureEntity(c, message.InstanceId, entity, nowTicks);
                WriteSteps.InsertMessage(c, message.InstanceId, null, visibleAt, message.Data);
                _signals.Add((message.InstanceId, visibleAt));
            }
            else if (message.OnlyIfRunning)
            {
                if (WriteSteps.InsertMessageIfRunning(c, message.InstanceId, message.TargetExecutionId, visibleAt, message.Data))
                {
                    _signals.Add((message.InstanceId, visibleAt));
                }
            }
            else
            {
                WriteSteps.InsertMessage(c, message.InstanceId, message.TargetExecutionId, visibleAt, message.Data);
                _signals.Add((message.InstanceId, visibleAt));
            }
        }

        if (commit.MessageToRunningChildren is { } toChildren)
        {
            using var reader = c.MessageToRunningChildren.With("$id", instanceId).With("$visible", nowTicks).With("$data", toChildren).ExecuteReader();
            while (reader.Read())
            {
                _signals.Add((reader.GetString(0), nowTicks));
            }
        }

        Result = true;
    }

    public override void AfterCommit()
    {
        if (!Result)
        {
            return;
        }

        store.Dispatch.ReleaseInstance(workItem.InstanceId, SqliteOrchestrationStore.ParseToken(workItem.LockToken), null);
        foreach (var entry in _activities)
        {
            store.Dispatch.AddActivity(entry, 0);
        }

        foreach (var (instanceId, visibleAt) in _signals)
        {
            store.Dispatch.InstanceHasMessages(instanceId, visibleAt);
        }

        foreach (var instanceId in _changed)
        {
            store.NotifyChanged(instanceId);
        }
    }
}

internal sealed class AbandonOrchestrationOperation(
    SqliteOrchestrationStore store,
    OrchestrationWorkItem workItem,
    long readyAtTicks) : WriteOperation<bool>
{
    public override void Execute(WriterCommands commands)
    {
        foreach (var message in workItem.Messages)
        {
            commands.IncrementMessageAttempts.With("$mid", message.Id).ExecuteNonQuery();
        }

        Result = true;
    }

    public override void AfterCommit() =>
        store.Dispatch.ReleaseInstance(workItem.InstanceId, SqliteOrchestrationStore.ParseToken(workItem.LockToken), readyAtTicks);
}

internal sealed class CompleteActivityOperation(
    SqliteOrchestrationStore store,
    ActivityWorkItem workItem,
    string resultData,
    long nowTicks) : WriteOperation<bool>
{
    private bool _rowDeleted;

    public override void Execute(WriterCommands commands)
    {
        _rowDeleted = commands.DeleteActivity.With("$aid", workItem.Id).ExecuteNonQuery() > 0;
        Result = _rowDeleted && WriteSteps.InsertMessageIfRunning(commands, workItem.InstanceId, workItem.ExecutionId, nowTicks, resultData);
    }

    public override void AfterCommit()
    {
        store.Dispatch.ActivityDone(workItem.Id);
        if (Result)
        {
            store.Dispatch.InstanceHasMessages(workItem.InstanceId, nowTicks);
        }
    }
}

/// <summary>Counts an attempt on an activity row; the result is the new count, or null when the row is gone.</summary>
internal sealed class CountActivityAttemptOperation(long activityId) : WriteOperation<int?>
{
    public override void Execute(WriterCommands commands)
    {
        var value = commands.IncrementActivityAttempts.With("$aid", activityId).ExecuteScalar();
        Result = value is null ? null : Convert.ToInt32(value, CultureInfo.InvariantCulture);
    }
}

/// <summary>Counts an attempt on every message of an instance that was already visible when this process started.</summary>
internal sealed class CountRecoveredMessagesOperation(string instanceId, long startedAtTicks) : WriteOperation<bool>
{
    public override void Execute(WriterCommands commands)
    {
        commands.IncrementRecoveredMessageAttempts.With("$id", instanceId).With("$before", startedAtTicks).ExecuteNonQuery();
        Result = true;
    }
}

internal sealed class AbandonActivityOperation(
    SqliteOrchestrationStore store,
    ActivityWorkItem workItem,
    long readyAtTicks,
    bool countAttempt) : WriteOperation<bool>
{
    private int? _attempts;

    public override void Execute(WriterCommands commands)
    {
        _attempts = workItem.Attempts;
        if (countAttempt)
        {
            var value = commands.IncrementActivityAttempts.With("$aid", workItem.Id).ExecuteScalar();
            _attempts = value is null ? null : Convert.ToInt32(value, CultureInfo.InvariantCulture);
        }

        Result = _attempts is not null;
    }

    public override void AfterCommit()
    {
        if (_attempts is null)
        {
            store.Dispatch.ActivityDone(workItem.Id);
            return;
        }

        store.Dispatch.ReleaseActivity(workItem.Id, SqliteOrchestrationStore.ParseToken(workItem.LockToken), readyAtTicks, _attempts);
    }
}

internal sealed class PurgeInstanceOperation(SqliteOrchestrationStore store, string instanceId, bool recursive) : WriteOperation<int>
{
    private List<string> _purged = [];

    public override void Execute(WriterCommands commands)
    {
        _purged = WriteSteps.PurgeTree(commands, instanceId, recursive);
        Result = _purged.Count;
    }

    public override void AfterCommit()
    {
        foreach (var id in _purged)
        {
            store.NotifyChanged(id);
        }
    }
}

internal sealed class PurgeInstancesOperation(SqliteOrchestrationStore store, InstanceFilter filter, int maxInstances, bool recursive) : WriteOperation<int>
{
    private readonly List<string> _purged = [];

    public override void Execute(WriterCommands commands)
    {
        _purged.Clear();
        var roots = new List<string>();
        using (var select = commands.CreateCommand(string.Empty))
        {
            select.CommandText = "SELECT instance_id FROM dt_instances WHERE hub = $hub" + SqliteQueries.FilterSql(select, filter) + " LIMIT $limit";
            select.Parameters.AddWithValue("$limit", maxInstances);
            using var reader = select.ExecuteReader();
            while (reader.Read())
            {
                roots.Add(reader.GetString(0));
            }
        }

        // Every deleted instance counts, descendants included, so every selected row is counted exactly once: a
        // child selected after its parent was already deleted with it (PurgeTree finds nothing for it). The result is
        // therefore never below the number of rows selected, which is what tells the client a short page was the last.
        foreach (var root in roots)
        {
            _purged.AddRange(WriteSteps.PurgeTree(commands, root, recursive));
        }

        Result = _purged.Count;
    }

    public override void AfterCommit()
    {
        foreach (var id in _purged)
        {
            store.NotifyChanged(id);
        }
    }
}

/// <summary>SQL fragments shared by queries and purges.</summary>
internal static class SqliteQueries
{
    /// <summary>Appends filter conditions (each starting with AND) and binds their parameters.</summary>
    public static string FilterSql(SqliteCommand command, InstanceFilter filter)
    {
        var sql = new System.Text.StringBuilder();
        if (filter.CreatedFrom is { } from)
        {
            sql.Append(" AND created_at >= $from");
            command.Parameters.AddWithValue("$from", from.UtcTicks);
        }

        if (filter.CreatedTo is { } to)
        {
            sql.Append(" AND created_at <= $to");
            command.Parameters.AddWithValue("$to", to.UtcTicks);
        }

        if (filter.Statuses is { Count: > 0 } statuses)
        {
            sql.Append(" AND status IN (");
            sql.AppendJoin(", ", statuses.Distinct().Select(s => ((int)s).ToString(CultureInfo.InvariantCulture)));
            sql.Append(')');
        }

        if (filter.ExcludeEntities)
        {
            sql.Append(" AND substr(instance_id, 1, 1) <> '@'");
        }

        if (!string.IsNullOrEmpty(filter.InstanceIdPrefix))
        {
            // The range prunes cheaply (binary collation, U+10FFFF is the largest character); substr keeps it exact.
            sql.Append(" AND instance_id >= $prefix AND instance_id < $prefix || char(1114111) AND substr(instance_id, 1, length($prefix)) = $prefix");
            command.Parameters.AddWithValue("$prefix", filter.InstanceIdPrefix);
        }

        return sql.ToString();
    }
}
