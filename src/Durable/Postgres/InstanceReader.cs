using Fleet.Durable.Storage;
using Npgsql;

namespace Fleet.Durable.Postgres;

/// <summary>
/// Reads instance rows with "group reads": while one query runs, further requests queue, and the next query fetches
/// all of them at once. Clients waiting on many instances re-read each one at every polling interval; this turns
/// thousands of single-row round trips into a few queries, without adding latency when requests are rare.
/// </summary>
internal sealed class InstanceReader(NpgsqlDataSource dataSource, string quotedSchema, string hubName, bool includePayloads)
{
    private const int MaxBatch = 500;
    private readonly Lock _gate = new();
    private readonly Dictionary<string, TaskCompletionSource<InstanceRecord?>> _pending = new(StringComparer.Ordinal);
    private bool _running;

    /// <summary>Queues a read; the task completes when a query has read the row (null when it does not exist).</summary>
    public Task<InstanceRecord?> ReadAsync(string instanceId)
    {
        TaskCompletionSource<InstanceRecord?> waiter;
        var start = false;
        lock (_gate)
        {
            if (!_pending.TryGetValue(instanceId, out waiter!))
            {
                waiter = new TaskCompletionSource<InstanceRecord?>(TaskCreationOptions.RunContinuationsAsynchronously);
                _pending[instanceId] = waiter;
            }

            if (!_running)
            {
                _running = true;
                start = true;
            }
        }

        if (start)
        {
            _ = Task.Run(RunAsync, CancellationToken.None);
        }

        return waiter.Task;
    }

    private async Task RunAsync()
    {
        while (true)
        {
            List<KeyValuePair<string, TaskCompletionSource<InstanceRecord?>>> batch;
            lock (_gate)
            {
                if (_pending.Count == 0)
                {
                    _running = false;
                    return;
                }

                batch = _pending.Take(MaxBatch).ToList();
                foreach (var (id, _) in batch)
                {
                    _pending.Remove(id);
                }
            }

            try
            {
                var rows = await QueryAsync(batch.Select(b => b.Key).ToArray()).ConfigureAwait(false);
                foreach (var (id, waiter) in batch)
                {
                    waiter.TrySetResult(rows.GetValueOrDefault(id));
                }
            }
            catch (Exception ex)
            {
                // Each caller retries (or reports) on its own.
                foreach (var (_, waiter) in batch)
                {
                    waiter.TrySetException(ex);
                }
            }
        }
    }

    private async Task<Dictionary<string, InstanceRecord>> QueryAsync(string[] ids)
    {
        // One key lookup per ID (a lateral join), whatever the planner thinks of the table's size.
        await using var command = dataSource.CreateCommand(ids.Length == 1
            ? $"SELECT {InstanceRows.Columns(includePayloads)} FROM {quotedSchema}.dt_instances WHERE instance_id = $2 AND hub = $1"
            : $"SELECT i.* FROM unnest($2::text[]) AS k(id) CROSS JOIN LATERAL (SELECT {InstanceRows.Columns(includePayloads)} FROM {quotedSchema}.dt_instances WHERE instance_id = k.id AND hub = $1) AS i");
        command.Parameters.Add(Param.Text(hubName));
        command.Parameters.Add(ids.Length == 1 ? Param.Text(ids[0]) : Param.TextArray(ids));
        var rows = new Dictionary<string, InstanceRecord>(ids.Length, StringComparer.Ordinal);
        await using var reader = await command.ExecuteReaderAsync().ConfigureAwait(false);
        while (await reader.ReadAsync().ConfigureAwait(false))
        {
            var record = InstanceRows.Read(reader);
            rows[record.InstanceId] = record;
        }

        return rows;
    }
}
