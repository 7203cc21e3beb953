using Fleet.Durable.Client;
using Fleet.Durable.History;
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

    /// <summary>Starts a host on a fresh store; <paramref name="wrapStore"/> can wrap it (for example in a <see cref="RecordingStore"/>).</summary>
    protected async Task<DurableTestHost> StartAsync(
        Action<DurableTaskRegistry> tasks,
        Action<DurableTaskOptions>? configure = null,
        FakeTimeProvider? time = null,
        bool startWorker = true,
        Func<Fleet.Durable.Storage.IOrchestrationStore, Fleet.Durable.Storage.IOrchestrationStore>? wrapStore = null)
    {
        var stores = wrapStore is null ? Stores : new WrappingStoreFactory(Stores, wrapStore);
        var host = await DurableTestHost.StartAsync(stores, tasks, configure, time, startWorker);
        _hosts.Add(host);
        return host;
    }

    /// <summary>
    /// Checks a running instance's status did not change (for "not yet" assertions) once it has consumed a probe event
    /// it does not wait for: a message that was due (a timer fired too early, a stray event) has lower ID than the
    /// probe, so it was consumed in the probe's episode or before it.
    /// </summary>
    protected static async Task AssertStaysAsync(DurableTestHost host, string id, OrchestrationRuntimeStatus status)
    {
        var probe = $"probe-{Guid.NewGuid():N}";
        await host.Client.RaiseEventAsync(id, probe);
        await DurableWait.UntilAsync(
            async () => (await host.Client.GetInstanceAsync(id))!.RuntimeStatus != status
                || (await host.Client.GetOrchestrationHistoryAsync(id)).OfType<EventRaisedEvent>().Any(e => e.Name == probe),
            $"{id} consumed the probe event");
        Assert.Equal(status, (await host.Client.GetInstanceAsync(id))!.RuntimeStatus);
    }

    /// <summary>Stops and disposes a host early (for restart scenarios).</summary>
    protected async Task StopAsync(DurableTestHost host)
    {
        _hosts.Remove(host);
        await host.DisposeAsync();
    }
}
