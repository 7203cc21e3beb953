using Fleet.Durable.Storage;

namespace Fleet.Durable.Sqlite;

/// <summary>Enqueues a message for an entity, creating its instance row first if needed.</summary>
internal sealed class EnqueueEntityMessageOperation(SqliteOrchestrationStore store, string instanceId, string entityName, string data, long visibleAt, long nowTicks)
    : WriteOperation<bool>
{
    public override void Execute(WriterCommands commands)
    {
        WriteSteps.EnsureEntity(commands, instanceId, entityName, nowTicks);
        WriteSteps.InsertMessage(commands, instanceId, null, visibleAt, data);
        Result = true;
    }

    public override void AfterCommit() => store.Dispatch.InstanceHasMessages(instanceId, visibleAt);
}

/// <summary>Deletes an entity row that has not changed since it was read and that no message waits for.</summary>
internal sealed class DeleteEmptyEntityOperation(string instanceId, int expectedVersion) : WriteOperation<bool>
{
    public override void Execute(WriterCommands commands)
    {
        using var command = commands.CreateCommand(
            """
            DELETE FROM dt_instances WHERE hub = $hub AND instance_id = $id AND execution_id = $exec AND history_count = $version
                AND NOT EXISTS (SELECT 1 FROM dt_messages WHERE hub = $hub AND instance_id = $id)
            """);
        command.Parameters.AddWithValue("$id", instanceId);
        command.Parameters.AddWithValue("$exec", EntityRows.ExecutionId);
        command.Parameters.AddWithValue("$version", expectedVersion);
        Result = command.ExecuteNonQuery() > 0;
    }
}
