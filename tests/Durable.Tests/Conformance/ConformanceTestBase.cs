using DurableTask.Core.History;
using Fleet.Durable.Grpc;
using Fleet.Durable.Storage;
using Fleet.Testing;
using Microsoft.DurableTask;
using Microsoft.DurableTask.Client;
using Microsoft.DurableTask.Worker;

namespace Fleet.Durable.Tests.Conformance;

/// <summary>
/// Base of the conformance suite: every test gets a fresh store from <see cref="CreateStoreFactory"/>, served by the
/// sidecar backend to the real SDK worker and client. A store implementation runs the suite by deriving one concrete
/// class per abstract suite class.
/// </summary>
public abstract class ConformanceTestBase : IAsyncLifetime
{
    private readonly List<SdkTestHost> _hosts = [];

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

    /// <summary>Starts a host on this test's store; <paramref name="wrapStore"/> can wrap it (for example in a <see cref="RecordingStore"/>).</summary>
    protected async Task<SdkTestHost> StartAsync(
        Action<DurableTaskRegistry> tasks,
        Action<DurableTaskOptions>? configure = null,
        FakeTimeProvider? time = null,
        bool startWorker = true,
        Func<IOrchestrationStore, IOrchestrationStore>? wrapStore = null,
        Action<DurableBackendOptions>? backend = null,
        Action<DurableTaskWorkerOptions>? worker = null)
    {
        var host = await SdkTestHost.StartAsync(Stores, tasks, configure, time, startWorker, wrapStore, backend, worker);
        _hosts.Add(host);
        return host;
    }

    /// <summary>
    /// Checks a running instance's status did not change (for "not yet" assertions) once it has consumed a probe event
    /// it does not wait for: a message that was due (a timer fired too early, a stray event) has lower ID than the
    /// probe, so it was consumed in the probe's episode or before it.
    /// </summary>
    protected static async Task AssertStaysAsync(SdkTestHost host, string id, OrchestrationRuntimeStatus status)
    {
        var probe = $"probe-{Guid.NewGuid():N}";
        await host.Client.RaiseEventAsync(id, probe);
        await DurableWait.UntilAsync(
            async () => (await host.Client.GetInstanceAsync(id))!.RuntimeStatus != status
                || (await HistoryAsync(host, id)).OfType<EventRaisedEvent>().Any(e => e.Name == probe),
            $"{id} consumed the probe event");
        Assert.Equal(status, (await host.Client.GetInstanceAsync(id))!.RuntimeStatus);
    }

    protected static async Task<IList<HistoryEvent>> HistoryAsync(SdkTestHost host, string id) =>
        await host.Client.GetOrchestrationHistoryAsync(id, DurableWait.Token());

    protected static async Task WaitForHistoryAsync(SdkTestHost host, string id, Func<IList<HistoryEvent>, bool> condition) =>
        await DurableWait.UntilAsync(async () => condition(await HistoryAsync(host, id)), $"the history of {id} matches");

    /// <summary>Stops and disposes a host early (for restart scenarios).</summary>
    protected async Task StopAsync(SdkTestHost host)
    {
        _hosts.Remove(host);
        await host.DisposeAsync();
    }

    protected static Task<string> ScheduleAsync(SdkTestHost host, string name, object? input = null, string? instanceId = null, DateTimeOffset? startAt = null) =>
        host.Client.ScheduleNewOrchestrationInstanceAsync(name, input, new StartOrchestrationOptions(instanceId, startAt), DurableWait.Token());
}
