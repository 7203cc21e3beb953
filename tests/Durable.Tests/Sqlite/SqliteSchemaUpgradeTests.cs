using DurableTask.Core.History;
using Fleet.Durable.Grpc;
using Fleet.Durable.Sqlite;
using Fleet.Durable.Tests.Conformance;
using Fleet.SidecarTests;
using Fleet.Testing;
using Microsoft.Data.Sqlite;
using Microsoft.DurableTask.Client;
using Microsoft.Extensions.Logging.Abstractions;
using P = Microsoft.DurableTask.Protobuf;
using StartOrchestrationOptions = Microsoft.DurableTask.StartOrchestrationOptions;

namespace Fleet.Durable.Tests.Sqlite;

/// <summary>A database file written by an earlier version of the store opens with this one, upgraded in place.</summary>
public sealed class SqliteSchemaUpgradeTests : IDisposable
{
    private const string OldInstanceId = "before-upgrade";

    /// <summary>
    /// Schema version 1 exactly as the store created it before tags were kept (SqliteSchema.cs at that version): a
    /// fixture, so this test keeps checking the upgrade from what such files hold whatever the current schema becomes.
    /// </summary>
    private const string Version1Schema = """
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

    private static readonly TimeSpan Bound = TimeSpan.FromSeconds(30);
    private readonly string _directory = Path.Combine(Path.GetTempPath(), "fleet-durable-tests", Guid.NewGuid().ToString("N"));

    public SqliteSchemaUpgradeTests() => Directory.CreateDirectory(_directory);

    private string DatabasePath => Path.Combine(_directory, "durable.db");

    [Fact]
    public async Task A_version_1_database_is_upgraded_its_instances_still_read_and_new_instances_keep_tags()
    {
        WriteVersion1Database();
        var tags = new Dictionary<string, string>(StringComparer.Ordinal) { ["fleet"] = "north" };
        var logs = new LogCapture();
        using var cts = new CancellationTokenSource(Bound);
        await using (var server = await SidecarServer.StartAsync(b => b.UseSqlite(DatabasePath), logs: logs))
        await using (var worker = await SdkWorkerHost.StartAsync(server.Address, SidecarOrchestrations.Register))
        {
            var old = await worker.Client.GetInstanceAsync(OldInstanceId, getInputsAndOutputs: true, cts.Token);
            Assert.NotNull(old);
            Assert.Equal(OrchestrationRuntimeStatus.Completed, old.RuntimeStatus);
            Assert.Equal("old", old.ReadInputAs<string>());
            Assert.Equal("done", old.ReadOutputAs<string>());
            Assert.Empty(old.Tags);
            Assert.Single((await worker.Client.GetOrchestrationHistoryAsync(OldInstanceId, cts.Token)).OfType<ExecutionCompletedEvent>());

            var id = await worker.Client.ScheduleNewOrchestrationInstanceAsync("Hello", "after", new StartOrchestrationOptions { Tags = tags }, cts.Token);
            var done = await worker.Client.WaitForInstanceCompletionAsync(id, getInputsAndOutputs: true, cts.Token);
            Assert.Equal("hi Tokyo, hi Seattle, hi after", done.ReadOutputAs<string>());
            Assert.Equal(tags, done.Tags.ToDictionary(StringComparer.Ordinal));
            var all = await worker.Client.GetAllInstancesAsync(new OrchestrationQuery()).ToListAsync(cts.Token);
            Assert.Equal(new[] { OldInstanceId, id }.Order(StringComparer.Ordinal), all.Select(m => m.InstanceId).Order(StringComparer.Ordinal));
        }

        Assert.Contains(logs.Entries, e => e.EventId.Id == 3307 && e.Message.EndsWith("upgraded from schema 1 to 2", StringComparison.Ordinal));
        Assert.Equal(2L, Scalar("SELECT version FROM dt_schema"));
        Assert.Equal(1L, Scalar("SELECT count(*) FROM dt_schema"));

        // A database from a newer version is refused, not altered.
        Execute("UPDATE dt_schema SET version = 3");
        await using var newer = new SqliteOrchestrationStore(new SqliteStoreOptions { DatabasePath = DatabasePath }, new DurableTaskOptions(), TimeProvider.System, NullLoggerFactory.Instance);
        var refused = await Assert.ThrowsAsync<InvalidOperationException>(() => newer.InitializeAsync(cts.Token));
        Assert.Contains("newer version (schema 3; this runtime knows 2)", refused.Message, StringComparison.Ordinal);
    }

    public void Dispose()
    {
        try
        {
            Directory.Delete(_directory, recursive: true);
        }
        catch (IOException)
        {
            // Left for the OS to clean up.
        }
    }

    /// <summary>A version-1 file in WAL mode holding one completed instance of hub 'sdk' with its history, as that version wrote them.</summary>
    private void WriteVersion1Database()
    {
        Execute("PRAGMA journal_mode=WAL;" + Version1Schema + "INSERT INTO dt_schema (version) VALUES (1);");
        var at = new DateTimeOffset(2025, 6, 1, 8, 0, 0, TimeSpan.Zero);
        var started = ProtoCodec.Event(at);
        started.ExecutionStarted = new P.ExecutionStartedEvent
        {
            Name = "Hello",
            Input = "\"old\"",
            OrchestrationInstance = new P.OrchestrationInstance { InstanceId = OldInstanceId, ExecutionId = "e1" },
        };
        var completed = ProtoCodec.Event(at.AddSeconds(1));
        completed.ExecutionCompleted = new P.ExecutionCompletedEvent { OrchestrationStatus = P.OrchestrationStatus.Completed, Result = "\"done\"" };
        Execute(
            """
            INSERT INTO dt_instances (hub, instance_id, execution_id, name, status, created_at, last_updated_at, completed_at, input, output, history_count)
            VALUES ('sdk', $id, 'e1', 'Hello', 1, $created, $completed, $completed, '"old"', '"done"', 2);
            INSERT INTO dt_history (hub, instance_id, seq, data) VALUES ('sdk', $id, 0, $started), ('sdk', $id, 1, $done);
            """,
            ("$id", OldInstanceId),
            ("$created", at.UtcTicks),
            ("$completed", at.AddSeconds(1).UtcTicks),
            ("$started", ProtoCodec.Encode(started)),
            ("$done", ProtoCodec.Encode(completed)));
    }

    private SqliteConnection Open()
    {
        var connection = new SqliteConnection(new SqliteConnectionStringBuilder { DataSource = DatabasePath, Pooling = false }.ToString());
        connection.Open();
        return connection;
    }

    private void Execute(string sql, params (string Name, object Value)[] parameters)
    {
        using var connection = Open();
        using var command = connection.CreateCommand();
        command.CommandText = sql;
        foreach (var (name, value) in parameters)
        {
            command.Parameters.AddWithValue(name, value);
        }

        command.ExecuteNonQuery();
    }

    private long Scalar(string sql)
    {
        using var connection = Open();
        using var command = connection.CreateCommand();
        command.CommandText = sql;
        return (long)command.ExecuteScalar()!;
    }
}
