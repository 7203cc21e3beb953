using Fleet.Testing;

namespace Fleet.Durable.Tests.Conformance;

/// <summary>
/// Base of the conformance suite: every test gets a fresh store from <see cref="CreateStoreFactory"/>. A store
/// implementation runs the suite by deriving one concrete class per abstract suite class.
/// </summary>
public abstract class ConformanceTestBase : IAsyncLifetime
{
    private readonly List<DurableTestHost> _hosts = [];

    protected IStoreFactory Stores { get; private set; } = null!;

    protected abstract IStoreFactory CreateStoreFactory();

    public Task InitializeAsync()
    {
        Stores = CreateStoreFactory();
        return Task.CompletedTask;
    }

    public async Task DisposeAsync()
    {
        foreach (var host in _hosts)
        {
            await host.DisposeAsync();
        }

        await Stores.DisposeAsync();
    }

    protected async Task<DurableTestHost> StartAsync(
        Action<DurableTaskRegistry> tasks,
        Action<DurableTaskOptions>? configure = null,
        FakeTimeProvider? time = null,
        bool startWorker = true)
    {
        var host = await DurableTestHost.StartAsync(Stores, tasks, configure, time, startWorker);
        _hosts.Add(host);
        return host;
    }

    /// <summary>Stops and disposes a host early (for restart scenarios).</summary>
    protected async Task StopAsync(DurableTestHost host)
    {
        _hosts.Remove(host);
        await host.DisposeAsync();
    }
}
