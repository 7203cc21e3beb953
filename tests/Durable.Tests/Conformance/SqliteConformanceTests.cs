using Fleet.Durable.Sqlite;
using Fleet.Durable.Storage;
using Microsoft.Extensions.Logging;

namespace Fleet.Durable.Tests.Conformance;

/// <summary>A fresh SQLite database file per test.</summary>
public sealed class SqliteStoreFactory : IStoreFactory
{
    private readonly string _directory = Path.Combine(Path.GetTempPath(), "fleet-durable-tests", Guid.NewGuid().ToString("N"));

    public SqliteStoreFactory() => Directory.CreateDirectory(_directory);

    public string DatabasePath => Path.Combine(_directory, "durable.db");

    public IOrchestrationStore Create(DurableTaskOptions options, TimeProvider time, ILoggerFactory loggerFactory) =>
        new SqliteOrchestrationStore(new SqliteStoreOptions { DatabasePath = DatabasePath }, options, time, loggerFactory);

    public ValueTask DisposeAsync()
    {
        try
        {
            Directory.Delete(_directory, recursive: true);
        }
        catch (IOException)
        {
            // A file still open by a leaked connection; the temp folder is cleaned by the OS eventually.
        }

        return ValueTask.CompletedTask;
    }
}

public sealed class SqliteOrchestrationConformanceTests : OrchestrationConformanceTests
{
    protected override IStoreFactory CreateStoreFactory() => new SqliteStoreFactory();
}

public sealed class SqliteClientConformanceTests : ClientConformanceTests
{
    protected override IStoreFactory CreateStoreFactory() => new SqliteStoreFactory();
}

public sealed class SqliteRuntimeConformanceTests : RuntimeConformanceTests
{
    protected override IStoreFactory CreateStoreFactory() => new SqliteStoreFactory();
}

public sealed class SqliteStoreContractTests : StoreContractTests
{
    protected override IStoreFactory CreateStoreFactory() => new SqliteStoreFactory();
}
