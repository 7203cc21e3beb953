using System.Data.Common;
using System.Globalization;
using System.Text;

namespace Fleet.Durable.Storage;

/// <summary>What the SQL stores share about instance rows: the <see cref="ColumnCount"/> leading columns every instance
/// query selects, in order (<see cref="ColumnsWithPayloads"/>; times in UTC ticks), and the continuation token of
/// instance queries (creation time and ID of the last row of a page).</summary>
internal static class InstanceRows
{
    /// <summary>The instance columns, with input, output and custom status.</summary>
    public const string ColumnsWithPayloads =
        "instance_id, execution_id, name, version, status, created_at, last_updated_at, completed_at, scheduled_start_at, input, output, custom_status, failure, parent_instance_id, history_count, tags";

    /// <summary>The instance columns, with NULL in place of input, output and custom status.</summary>
    public const string ColumnsWithoutPayloads =
        "instance_id, execution_id, name, version, status, created_at, last_updated_at, completed_at, scheduled_start_at, NULL, NULL, NULL, failure, parent_instance_id, history_count, tags";

    /// <summary>How many columns <see cref="Read"/> reads; a query's further columns start at this index.</summary>
    public const int ColumnCount = 16;

    public static string Columns(bool includePayloads) => includePayloads ? ColumnsWithPayloads : ColumnsWithoutPayloads;

    /// <summary>Reads the leading instance columns of the current row.</summary>
    public static InstanceRecord Read(DbDataReader reader) => new()
    {
        InstanceId = reader.GetString(0),
        ExecutionId = reader.GetString(1),
        Name = reader.GetString(2),
        Version = reader.IsDBNull(3) ? null : reader.GetString(3),
        Status = (InstanceStatus)reader.GetInt32(4),
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
        Tags = reader.IsDBNull(15) ? null : reader.GetString(15),
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
