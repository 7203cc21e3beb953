using Fleet.Durable.Grpc;
using Fleet.Durable.Sqlite;
using Fleet.Durable.Tests.Conformance;
using Microsoft.Data.Sqlite;
using Microsoft.Extensions.DependencyInjection;
using Microsoft.Extensions.Hosting;
using Microsoft.Extensions.Logging;

namespace Fleet.Durable.Tests.Sqlite;

/// <summary>The SQLite store's single writer: settings checked at start-up, and no failure can stall it.</summary>
public sealed class SqliteWriterTests : IDisposable
{
    private static readonly TimeSpan Bound = TimeSpan.FromSeconds(10);
    private readonly string _directory = Path.Combine(Path.GetTempPath(), "fleet-durable-tests", Guid.NewGuid().ToString("N"));

    public SqliteWriterTests() => Directory.CreateDirectory(_directory);

    [Theory]
    [InlineData(0)]
    [InlineData(-1)]
    [InlineData(SqliteStoreOptions.MaxWriteBatchLimit + 1)]
    public async Task An_out_of_range_MaxWriteBatch_stops_start_up_naming_the_setting(int maxWriteBatch)
    {
        var services = new ServiceCollection();
        services.AddDurableBackend(b => b.UseSqlite(o =>
        {
            o.DatabasePath = Path.Combine(_directory, "durable.db");
            o.MaxWriteBatch = maxWriteBatch;
        }));
        await using var provider = services.BuildServiceProvider();

        // What a host does first when it starts: resolve its hosted services (the backend's starter, which needs the store).
        var error = Assert.Throws<ArgumentOutOfRangeException>(() => provider.GetServices<IHostedService>().ToList());
        Assert.Contains("SqliteStoreOptions.MaxWriteBatch", error.Message, StringComparison.Ordinal);
        Assert.Contains($"{maxWriteBatch}", error.Message, StringComparison.Ordinal);
    }

    [Fact]
    public async Task A_backend_without_a_store_is_reported_clearly()
    {
        var services = new ServiceCollection();
        services.AddDurableBackend(_ => { });
        await using var provider = services.BuildServiceProvider();

        var error = Assert.Throws<InvalidOperationException>(() => provider.GetRequiredService<DurableBackend>());
        Assert.Contains("UseSqlite", error.Message, StringComparison.Ordinal);
    }

    [Fact]
    public async Task A_failing_operation_fails_alone_and_the_writer_keeps_serving()
    {
        var logs = new LogCapture();
        await using var writer = OpenWriter(maxBatch: 512, logs);

        // Hold the writer inside a first batch so the next operations queue up and run together in one batch.
        using var entered = new ManualResetEventSlim();
        using var proceed = new ManualResetEventSlim();
        var gate = writer.WriteAsync(new TestOperation(0, execute: () =>
        {
            entered.Set();
            proceed.Wait(Bound);
        }));
        Assert.True(entered.Wait(Bound));
        var before = writer.WriteAsync(new TestOperation(1));
        var afterCommitFails = writer.WriteAsync(new TestOperation(2, afterCommit: () => throw new InvalidOperationException("dispatch hint failed")));
        var completeFails = writer.WriteAsync(new TestOperation(3, complete: () => throw new InvalidOperationException("completion failed")));
        var after = writer.WriteAsync(new TestOperation(4));
        proceed.Set();

        Assert.Equal(0, await gate.WaitAsync(Bound));
        Assert.Equal(1, await before.WaitAsync(Bound));
        var afterCommitError = await Assert.ThrowsAsync<InvalidOperationException>(() => afterCommitFails.WaitAsync(Bound));
        Assert.Equal("dispatch hint failed", afterCommitError.Message);
        await Assert.ThrowsAsync<InvalidOperationException>(() => completeFails.WaitAsync(Bound));

        // The operation queued behind the one whose completion broke is failed with that error, not left hanging.
        await Assert.ThrowsAsync<InvalidOperationException>(() => after.WaitAsync(Bound));

        // Later writes are still served, and every failure was logged.
        Assert.Equal(5, await writer.WriteAsync(new TestOperation(5)).WaitAsync(Bound));
        Assert.Equal(2, logs.Entries.Count(e => e.EventId.Id == 3306));
    }

    [Fact]
    public async Task A_single_operation_batch_works()
    {
        await using var writer = OpenWriter(maxBatch: 1, new LogCapture());

        var results = await Task.WhenAll(Enumerable.Range(0, 20).Select(i => writer.WriteAsync(new TestOperation(i)))).WaitAsync(Bound);

        Assert.Equal(Enumerable.Range(0, 20), results);
    }

    public void Dispose()
    {
        SqliteConnection.ClearAllPools();
        try
        {
            Directory.Delete(_directory, recursive: true);
        }
        catch (IOException)
        {
            // The OS cleans the temp folder eventually.
        }
    }

    private SqliteWriter OpenWriter(int maxBatch, ILoggerProvider logs)
    {
        var connection = new SqliteConnection($"Data Source={Path.Combine(_directory, "writer.db")};Pooling=False");
        connection.Open();
        SqliteSchema.Create(connection);
        return new SqliteWriter(connection, "test", maxBatch, logs.CreateLogger("writer"));
    }

    /// <summary>A write that touches no table; its steps can block or throw.</summary>
    private sealed class TestOperation(int result, Action? execute = null, Action? afterCommit = null, Action? complete = null) : WriteOperation<int>
    {
        public override void Execute(WriterCommands commands)
        {
            execute?.Invoke();
            Result = result;
        }

        public override void AfterCommit() => afterCommit?.Invoke();

        public override void Complete()
        {
            complete?.Invoke();
            base.Complete();
        }
    }
}
