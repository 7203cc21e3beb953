using Microsoft.Data.Sqlite;

namespace Fleet.Durable.Sqlite;

/// <summary>
/// The store's tables. Every table is keyed by hub first, so hubs sharing a database never see each other. Times are
/// UTC ticks; statuses are <see cref="Storage.InstanceStatus"/> values. A new database gets the current tables; one
/// written by an earlier version is upgraded step by step (<see cref="Upgrades"/>) in the same transaction, and one
/// written by a newer version is refused.
/// </summary>
internal static class SqliteSchema
{
    public const int Version = 2;

    /// <summary>Statuses that accept messages: Running, Pending, Suspended.</summary>
    public const string LiveStatuses = "(0, 6, 7)";

    private const string Ddl = """
        CREATE TABLE IF NOT EXISTS dt_schema (version INTEGER NOT NULL);

        CREATE TABLE IF NOT EXISTS dt_instances (
            id INTEGER PRIMARY KEY,
            hub TEXT NOT NULL,
            instance_id TEXT NOT NULL,
            execution_id TEXT NOT NULL,
            name TEXT NOT NULL,
            version TEXT,
            status INTEGER NOT NULL,
            created_at INTEGER NOT NULL,
            last_updated_at INTEGER NOT NULL,
            completed_at INTEGER,
            scheduled_start_at INTEGER,
            input TEXT,
            output TEXT,
            custom_status TEXT,
            failure TEXT,
            parent_instance_id TEXT,
            history_count INTEGER NOT NULL,
            tags TEXT,
            UNIQUE (hub, instance_id)
        );
        CREATE INDEX IF NOT EXISTS ix_dt_instances_created ON dt_instances (hub, created_at, instance_id);
        CREATE INDEX IF NOT EXISTS ix_dt_instances_status ON dt_instances (hub, status, created_at, instance_id);
        CREATE INDEX IF NOT EXISTS ix_dt_instances_parent ON dt_instances (hub, parent_instance_id) WHERE parent_instance_id IS NOT NULL;

        CREATE TABLE IF NOT EXISTS dt_history (
            hub TEXT NOT NULL,
            instance_id TEXT NOT NULL,
            seq INTEGER NOT NULL,
            data TEXT NOT NULL,
            PRIMARY KEY (hub, instance_id, seq)
        ) WITHOUT ROWID;

        CREATE TABLE IF NOT EXISTS dt_messages (
            id INTEGER PRIMARY KEY AUTOINCREMENT,
            hub TEXT NOT NULL,
            instance_id TEXT NOT NULL,
            execution_id TEXT,
            visible_at INTEGER NOT NULL,
            attempts INTEGER NOT NULL DEFAULT 0,
            data TEXT NOT NULL
        );
        CREATE INDEX IF NOT EXISTS ix_dt_messages_instance ON dt_messages (hub, instance_id, id);

        CREATE TABLE IF NOT EXISTS dt_activities (
            id INTEGER PRIMARY KEY AUTOINCREMENT,
            hub TEXT NOT NULL,
            instance_id TEXT NOT NULL,
            execution_id TEXT NOT NULL,
            task_id INTEGER NOT NULL,
            name TEXT NOT NULL,
            input TEXT,
            attempts INTEGER NOT NULL DEFAULT 0
        );
        CREATE INDEX IF NOT EXISTS ix_dt_activities_hub ON dt_activities (hub, id);
        CREATE INDEX IF NOT EXISTS ix_dt_activities_instance ON dt_activities (hub, instance_id);
        """;

    // Upgrades[n - 2] takes a database from version n - 1 to n. The CREATE statements above leave existing tables as
    // they are, so every column added since version 1 is added here too.
    private static readonly string[] Upgrades =
    [
        // 2: instance tags (JSON text of the string map given at creation).
        "ALTER TABLE dt_instances ADD COLUMN tags TEXT;",
    ];

    /// <summary>Creates or upgrades the schema; returns the version the database had (0 when it was new).</summary>
    /// <exception cref="InvalidOperationException">The database was written by a newer version.</exception>
    public static int Create(SqliteConnection connection)
    {
        // Not deferred (BEGIN IMMEDIATE): processes opening one file at once create or upgrade it one at a time.
        using var transaction = connection.BeginTransaction(deferred: false);
        int found;
        using (var command = connection.CreateCommand())
        {
            command.Transaction = transaction;
            command.CommandText = Ddl;
            command.ExecuteNonQuery();
        }

        using (var command = connection.CreateCommand())
        {
            command.Transaction = transaction;
            command.CommandText = "SELECT version FROM dt_schema LIMIT 1";
            var existing = command.ExecuteScalar();
            found = existing is null ? 0 : Convert.ToInt32(existing, System.Globalization.CultureInfo.InvariantCulture);
            if (found > Version)
            {
                throw new InvalidOperationException(
                    $"The durable store database was created by a newer version (schema {found}; this runtime knows {Version}).");
            }

            if (found == 0)
            {
                command.CommandText = $"INSERT INTO dt_schema (version) VALUES ({Version})";
                command.ExecuteNonQuery();
            }
            else if (found < Version)
            {
                for (var version = found + 1; version <= Version; version++)
                {
                    command.CommandText = Upgrades[version - 2];
                    command.ExecuteNonQuery();
                }

                command.CommandText = $"UPDATE dt_schema SET version = {Version}";
                command.ExecuteNonQuery();
            }
        }

        transaction.Commit();
        return found;
    }
}
