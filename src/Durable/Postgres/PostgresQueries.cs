using System.Data.Common;
using System.Globalization;
using System.Text;
using Fleet.Durable.Storage;

namespace Fleet.Durable.Postgres;

/// <summary>SQL fragments shared by queries, loads and purges (rows are read with <see cref="InstanceRows"/>).</summary>
internal static class PostgresQueries
{
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

        if (filter.ExcludeEntities)
        {
            sql.Append(" AND NOT starts_with(instance_id, '@')");
        }

        if (!string.IsNullOrEmpty(filter.InstanceIdPrefix))
        {
            // The lower bound lets the index prune; starts_with keeps it exact ("C" collation: code-point order).
            parameters.Add(Param.Text(filter.InstanceIdPrefix));
            sql.Append(CultureInfo.InvariantCulture, $" AND instance_id >= ${parameters.Count} AND starts_with(instance_id, ${parameters.Count})");
        }

        return sql.ToString();
    }
}
