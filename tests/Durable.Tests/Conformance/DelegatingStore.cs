using Fleet.Durable.Storage;

namespace Fleet.Durable.Tests.Conformance;

/// <summary>Passes every call to an inner store; tests override single members to inject a condition.</summary>
public class DelegatingStore(IOrchestrationStore inner) : IOrchestrationStore
{
    public string HubName => inner.HubName;

    public virtual Task InitializeAsync(CancellationToken cancellationToken) => inner.InitializeAsync(cancellationToken);

    public virtual Task StartDispatchAsync(CancellationToken cancellationToken) => inner.StartDispatchAsync(cancellationToken);

    public virtual Task<CreateInstanceResult> CreateInstanceAsync(NewInstance instance, CancellationToken cancellationToken) =>
        inner.CreateInstanceAsync(instance, cancellationToken);

    public virtual Task<bool> EnqueueMessageAsync(string instanceId, string data, DateTimeOffset visibleAt, CancellationToken cancellationToken) =>
        inner.EnqueueMessageAsync(instanceId, data, visibleAt, cancellationToken);

    public virtual Task<InstanceRecord?> GetInstanceAsync(string instanceId, bool includePayloads, CancellationToken cancellationToken) =>
        inner.GetInstanceAsync(instanceId, includePayloads, cancellationToken);

    public virtual Task<InstancePage> QueryInstancesAsync(InstanceQuery query, CancellationToken cancellationToken) =>
        inner.QueryInstancesAsync(query, cancellationToken);

    public virtual Task<IReadOnlyList<string>?> GetHistoryAsync(string instanceId, CancellationToken cancellationToken) =>
        inner.GetHistoryAsync(instanceId, cancellationToken);

    public virtual Task<int> PurgeInstanceAsync(string instanceId, bool recursive, CancellationToken cancellationToken) =>
        inner.PurgeInstanceAsync(instanceId, recursive, cancellationToken);

    public virtual Task<int> PurgeInstancesAsync(InstanceFilter filter, int maxInstances, bool recursive, CancellationToken cancellationToken) =>
        inner.PurgeInstancesAsync(filter, maxInstances, recursive, cancellationToken);

    public virtual Task WaitForInstanceChangeAsync(string instanceId, TimeSpan maxWait, CancellationToken cancellationToken) =>
        inner.WaitForInstanceChangeAsync(instanceId, maxWait, cancellationToken);

    public virtual Task<OrchestrationWorkItem> LockNextOrchestrationAsync(CancellationToken cancellationToken) =>
        inner.LockNextOrchestrationAsync(cancellationToken);

    public virtual Task<InstanceState?> LoadInstanceStateAsync(string instanceId, CancellationToken cancellationToken) =>
        inner.LoadInstanceStateAsync(instanceId, cancellationToken);

    public virtual Task<bool> CommitOrchestrationAsync(OrchestrationWorkItem workItem, OrchestrationCommit commit, CancellationToken cancellationToken) =>
        inner.CommitOrchestrationAsync(workItem, commit, cancellationToken);

    public virtual Task AbandonOrchestrationAsync(OrchestrationWorkItem workItem, TimeSpan retryAfter, bool countAttempt, CancellationToken cancellationToken) =>
        inner.AbandonOrchestrationAsync(workItem, retryAfter, countAttempt, cancellationToken);

    public virtual Task<bool> RenewOrchestrationLockAsync(OrchestrationWorkItem workItem, CancellationToken cancellationToken) =>
        inner.RenewOrchestrationLockAsync(workItem, cancellationToken);

    public virtual Task<ActivityWorkItem> LockNextActivityAsync(CancellationToken cancellationToken) =>
        inner.LockNextActivityAsync(cancellationToken);

    public virtual Task<bool> CompleteActivityAsync(ActivityWorkItem workItem, string resultData, CancellationToken cancellationToken) =>
        inner.CompleteActivityAsync(workItem, resultData, cancellationToken);

    public virtual Task AbandonActivityAsync(ActivityWorkItem workItem, TimeSpan retryAfter, bool countAttempt, CancellationToken cancellationToken) =>
        inner.AbandonActivityAsync(workItem, retryAfter, countAttempt, cancellationToken);

    public virtual Task<bool> RenewActivityLockAsync(ActivityWorkItem workItem, CancellationToken cancellationToken) =>
        inner.RenewActivityLockAsync(workItem, cancellationToken);

    public virtual ValueTask DisposeAsync()
    {
        GC.SuppressFinalize(this);
        return inner.DisposeAsync();
    }
}

/// <summary>Wraps the stores a factory creates.</summary>
public sealed class WrappingStoreFactory(IStoreFactory inner, Func<IOrchestrationStore, IOrchestrationStore> wrap) : IStoreFactory
{
    public IOrchestrationStore Create(DurableTaskOptions options, TimeProvider time, Microsoft.Extensions.Logging.ILoggerFactory loggerFactory) =>
        wrap(inner.Create(options, time, loggerFactory));

    public ValueTask DisposeAsync() => ValueTask.CompletedTask;
}
