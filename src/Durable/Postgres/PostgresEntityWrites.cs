using Npgsql;

namespace Fleet.Durable.Postgres;

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
