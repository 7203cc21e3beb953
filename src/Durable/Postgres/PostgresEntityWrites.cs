using Npgsql;

namespace Fleet.Durable.Postgres;

/// <summary>
/// Sends a message to an entity from outside an episode, creating the entity's row first if needed. Its key makes a
/// retry after an unknown outcome enqueue nothing twice.
/// </summary>
internal sealed class EnqueueEntityWrite(string instanceId, string entityName, string data, long visibleAt, Guid key) : PgWrite<bool>
{
    public override void AddTouched(ISet<string> instanceIds) => instanceIds.Add(instanceId);

    public override NpgsqlBatchCommand CreateCommand(WriteContext context)
    {
        var command = new NpgsqlBatchCommand($"SELECT {context.Schema}.dt_enqueue_entity_external($1, $2, $3, $4, $5, $6, $7)");
        command.Parameters.Add(Param.Text(context.Hub));
        command.Parameters.Add(Param.Uuid(key));
        command.Parameters.Add(Param.Bigint(context.Now));
        command.Parameters.Add(Param.Text(instanceId));
        command.Parameters.Add(Param.Text(entityName));
        command.Parameters.Add(Param.Bigint(visibleAt));
        command.Parameters.Add(Param.Text(data));
        return command;
    }

    public override async Task ReadAsync(NpgsqlDataReader reader, CancellationToken cancellationToken) =>
        Result = await ReadScalarAsync<bool>(reader, cancellationToken).ConfigureAwait(false);

    public override void Describe(Notice notice, WriteContext context) => notice.AddOrchestrationWork(visibleAt, context.Now);

    public override void AfterCommit(PostgresOrchestrationStore store) => store.OnInstanceWork(instanceId, visibleAt);
}

/// <summary>Deletes an entity row still at the version read and that no message waits for.</summary>
internal sealed class DeleteEmptyEntityWrite(string instanceId, int expectedVersion) : PgWrite<bool>
{
    public override void AddTouched(ISet<string> instanceIds) => instanceIds.Add(instanceId);

    public override NpgsqlBatchCommand CreateCommand(WriteContext context)
    {
        var command = new NpgsqlBatchCommand($"SELECT {context.Schema}.dt_delete_empty_entity($1, $2, $3)");
        command.Parameters.Add(Param.Text(context.Hub));
        command.Parameters.Add(Param.Text(instanceId));
        command.Parameters.Add(Param.Integer(expectedVersion));
        return command;
    }

    public override async Task ReadAsync(NpgsqlDataReader reader, CancellationToken cancellationToken) =>
        Result = await ReadScalarAsync<bool>(reader, cancellationToken).ConfigureAwait(false);
}
