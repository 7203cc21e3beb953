using Fleet.Durable;
using Fleet.Testing;
using Microsoft.DurableTask.Client;
using DurableTaskBuilder = Fleet.Durable.DurableTaskBuilder;

namespace Fleet.SidecarTests;

/// <summary>The sidecar backend on a private PostgreSQL cluster (one schema per fixture), its worker sending entity messages as SendEntityMessage actions.</summary>
public sealed class PostgresSidecarFixture : SidecarFixture
{
    public PostgresFixture Postgres { get; } = new();

    public string Schema { get; } = "sdk_" + Guid.NewGuid().ToString("N")[..8];

    /// <summary>The SQLite suite runs the SDK's default entity messages (DurableTask.Core's JSON events); this one the converted form.</summary>
    public override bool NativeEntityEvents => true;

    public override async Task InitializeAsync()
    {
        await Postgres.InitializeAsync();
        await base.InitializeAsync();
    }

    public override async Task DisposeAsync()
    {
        await base.DisposeAsync();
        await Postgres.DisposeAsync();
    }

    public void UseSameStore(DurableTaskBuilder builder) => Store(builder);

    protected override void Store(DurableTaskBuilder builder) =>
        builder.UsePostgres(Postgres.ConnectionString, o => o.Schema = Schema);
}

public sealed class PostgresSidecarConformanceTests(PostgresSidecarFixture fixture) : SidecarConformanceTests(fixture), IClassFixture<PostgresSidecarFixture>
{
    [Fact]
    public async Task Two_hosts_with_a_worker_each_share_one_store()
    {
        // A second host on the same schema, with its own SDK worker: both compete for the same instances.
        await using var second = await SidecarServer.StartAsync(fixture.UseSameStore);
        await using var secondWorker = await SdkWorkerHost.StartAsync(second.Address, SidecarOrchestrations.Register);
        using var cts = new CancellationTokenSource(TimeSpan.FromSeconds(60));
        var ids = await Task.WhenAll(Enumerable.Range(0, 40).Select(i =>
            (i % 2 == 0 ? Client : secondWorker.Client).ScheduleNewOrchestrationInstanceAsync("Hello", $"p{i}", cts.Token)));
        var results = await Task.WhenAll(ids.Select(id => secondWorker.Client.WaitForInstanceCompletionAsync(id, getInputsAndOutputs: true, cts.Token)));
        for (var i = 0; i < ids.Length; i++)
        {
            Assert.Equal(OrchestrationRuntimeStatus.Completed, results[i].RuntimeStatus);
            Assert.Equal($"hi Tokyo, hi Seattle, hi p{i}", results[i].ReadOutputAs<string>());
        }
    }
}
