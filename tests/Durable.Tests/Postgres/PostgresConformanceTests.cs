using Fleet.Durable.Postgres;
using Fleet.Durable.Storage;
using Fleet.Durable.Tests.Conformance;
using Fleet.Testing;
using Microsoft.Extensions.Logging;

namespace Fleet.Durable.Tests.Postgres;

/// <summary>A fresh schema per test on the class's private PostgreSQL cluster.</summary>
public sealed class PostgresStoreFactory(PostgresFixture fixture) : IStoreFactory
{
    public string Schema { get; } = fixture.NewName("conf");

    public string ConnectionString => fixture.ConnectionString;

    public IOrchestrationStore Create(DurableTaskOptions options, TimeProvider time, ILoggerFactory loggerFactory) =>
        new PostgresOrchestrationStore(new PostgresStoreOptions { ConnectionString = ConnectionString, Schema = Schema }, options, time, loggerFactory);

    // The schema goes with the cluster when the fixture stops it.
    public ValueTask DisposeAsync() => ValueTask.CompletedTask;
}

public sealed class PostgresOrchestrationConformanceTests(PostgresFixture fixture) : OrchestrationConformanceTests, IClassFixture<PostgresFixture>
{
    protected override IStoreFactory CreateStoreFactory() => new PostgresStoreFactory(fixture);
}

public sealed class PostgresClientConformanceTests(PostgresFixture fixture) : ClientConformanceTests, IClassFixture<PostgresFixture>
{
    protected override IStoreFactory CreateStoreFactory() => new PostgresStoreFactory(fixture);
}

public sealed class PostgresRuntimeConformanceTests(PostgresFixture fixture) : RuntimeConformanceTests, IClassFixture<PostgresFixture>
{
    protected override IStoreFactory CreateStoreFactory() => new PostgresStoreFactory(fixture);
}

public sealed class PostgresStoreContractTests(PostgresFixture fixture) : StoreContractTests, IClassFixture<PostgresFixture>
{
    protected override IStoreFactory CreateStoreFactory() => new PostgresStoreFactory(fixture);
}
