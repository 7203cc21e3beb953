using System.Data.Common;
using System.Globalization;
using System.Text;
using Fleet.Durable.Client;
using Fleet.Durable.Storage;

namespace Fleet.Durable.Postgres;

/// <summary>SQL fragments and row readers shared by queries, loads and purges.</summary>
internal static class PostgresQueries
{
    public const string ColumnsWithPayloads =
        "instance_id, execution_id, name, version, status, created_at, last_updated_at, completed_at, scheduled_start_at, input, output, custom_status, failure, parent_instance_id, history_count";

    public const string ColumnsWithoutPayloads =
        "instance_id, execution_id, name, version, status, created_at, last_updated_at, completed_at, scheduled_start_at, NULL, NULL, NULL, failure, parent_instance_id, history_count";

    public static string Columns(bool includePayloads) => includePayloads ? ColumnsWithPayloads : ColumnsWithoutPayloads;

    /// <summary>Appends filter conditions (each starting with AND) with positional parameters after the existing ones.</summary>
    public static string FilterSql(DbParameterCollection parameters, InstanceFilter filter)
    {
        var sql = new StringBuilder();
        if (filter.CreatedFrom is { } from)
        {
            parameters.Add(Param.Bigint(from.UtcTicks));
            sql.Append(CultureInfo.InvariantCulture, $" AND created_at >= ${parameters.Count}");
        }

        if (filter.CreatedTo is { } to)
        {
            parameters.Add(Param.Bigint(to.UtcTicks));
            sql.Append(CultureInfo.InvariantCulture, $" AND created_at <= ${parameters.Count}");
        }

        if (filter.Statuses is { Count: > 0 } statuses)
        {
            sql.Append(" AND status IN (");
            sql.AppendJoin(", ", statuses.Distinct().Select(s => ((int)s).ToString(CultureInfo.InvariantCulture)));
            sql.Append(')');
        }

        if (!string.IsNullOrEmpty(filter.InstanceIdPrefix))
        {
            // The lower bound lets the index prune; starts_with keeps it exact ("C" collation: code-point order).
            parameters.Add(Param.Text(filter.InstanceIdPrefix));
            sql.Append(CultureInfo.InvariantCulture, $" AND instance_id >= ${parameters.Count} AND starts_with(instance_id, ${parameters.Count})");
        }

        return sql.ToString();
    }

    /// <summary>Reads an instance row selected with <see cref="Columns"/> (first 15 columns).</summary>
    public static InstanceRecord ReadInstance(DbDataReader reader) => new()
    {
        InstanceId = reader.GetString(0),
        ExecutionId = reader.GetString(1),
        Name = reader.GetString(2),
        Version = reader.IsDBNull(3) ? null : reader.GetString(3),
        Status = (OrchestrationRuntimeStatus)reader.GetInt16(4),
        CreatedAt = new DateTimeOffset(reader.GetInt64(5), TimeSpan.Zero),
        LastUpdatedAt = new DateTimeOffset(reader.GetInt64(6), TimeSpan.Zero),
        CompletedAt = reader.IsDBNull(7) ? null : new DateTimeOffset(reader.GetInt64(7), TimeSpan.Zero),
        ScheduledStartAt = reader.IsDBNull(8) ? null : new DateTimeOffset(reader.GetInt64(8), TimeSpan.Zero),
        Input = reader.IsDBNull(9) ? null : reader.GetString(9),
        Output = reader.IsDBNull(10) ? null : reader.GetString(10),
        CustomStatus = reader.IsDBNull(11) ? null : reader.GetString(11),
        FailureDetails = reader.IsDBNull(12) ? null : reader.GetString(12),
        ParentInstanceId = reader.IsDBNull(13) ? null : reader.GetString(13),
        HistoryCount = reader.GetInt32(14),
    };

    public static string EncodeToken(long createdTicks, string instanceId) =>
        Convert.ToBase64String(Encoding.UTF8.GetBytes($"{createdTicks.ToString(CultureInfo.InvariantCulture)}|{instanceId}"));

    public static (long CreatedTicks, string InstanceId)? DecodeToken(string? token)
    {
        if (string.IsNullOrEmpty(token))
        {
            return null;
        }

        try
        {
            var text = Encoding.UTF8.GetString(Convert.FromBase64String(token));
            var separator = text.IndexOf('|', StringComparison.Ordinal);
            return (long.Parse(text.AsSpan(0, separator), CultureInfo.InvariantCulture), text[(separator + 1)..]);
        }
        catch (Exception ex) when (ex is FormatException or ArgumentOutOfRangeException or OverflowException)
        {
            throw new ArgumentException("The continuation token is not one this store issued.", nameof(token), ex);
        }
    }
}
