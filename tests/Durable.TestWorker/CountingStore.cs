using Fleet.Durable.Storage;

namespace Fleet.Durable.TestWorker;

/// <summary>Passes every call to the real store and counts the episodes and activity results this process committed.</summary>
public sealed class CountingStore(IOrchestrationStore inner) : IOrchestrationStore
{
    private int _episodes;
    private int _activities;

    /// <summary>Episodes committed by this process.</summary>
    public int Episodes => Volatile.Read(ref _episodes);

    /// <summary>The store every call goes to.</summary>
    public IOrchestrationStore Inner => inner;

    /// <summary>Activity results recorded by this process.</summary>
    public int Activities => Volatile.Read(ref _activities);

    /// <inheritdoc />
    public string HubName => inner.HubName;

    /// <inheritdoc />
    public Task InitializeAsync(CancellationToken cancellationToken) => inner.InitializeAsync(cancellationToken);

    /// <inheritdoc />
    public Task StartDispatchAsync(CancellationToken cancellationToken) => inner.StartDispatchAsync(cancellationToken);

    /// <inheritdoc />
    public Task<CreateInstanceResult> CreateInstanceAsync(NewInstance instance, CancellationToken cancellationToken) =>
        inner.CreateInstanceAsync(instance, cancellationToken);

    /// <inheritdoc />
    public Task<bool> EnqueueMessageAsync(string instanceId, string data, DateTimeOffset visibleAt, CancellationToken cancellationToken) =>
        inner.EnqueueMessageAsync(instanceId, data, visibleAt, cancellationToken);

    /// <inheritdoc />
    public Task<bool> EnqueueForFailedInstanceAsync(string instanceId, string data, DateTimeOffset visibleAt, CancellationToken cancellationToken) =>
        inner.EnqueueForFailedInstanceAsync(instanceId, data, visibleAt, cancellationToken);

    /// <inheritdoc />
    public Task EnqueueEntityMessageAsync(string instanceId, string entityName, string data, DateTimeOffset visibleAt, CancellationToken cancellationToken) =>
        inner.EnqueueEntityMessageAsync(instanceId, entityName, data, visibleAt, cancellationToken);

    /// <inheritdoc />
    public Task<bool> DeleteEmptyEntityAsync(string instanceId, int expectedVersion, CancellationToken cancellationToken) =>
        inner.DeleteEmptyEntityAsync(instanceId, expectedVersion, cancellationToken);

    /// <inheritdoc />
    public Task<InstanceRecord?> GetInstanceAsync(string instanceId, bool includePayloads, CancellationToken cancellationToken) =>
        inner.GetInstanceAsync(instanceId, includePayloads, cancellationToken);

    /// <inheritdoc />
    public Task<InstancePage> QueryInstancesAsync(InstanceQuery query, CancellationToken cancellationToken) =>
        inner.QueryInstancesAsync(query, cancellationToken);

    /// <inheritdoc />
    public Task<IReadOnlyList<string>?> GetHistoryAsync(string instanceId, CancellationToken cancellationToken) =>
        inner.GetHistoryAsync(instanceId, cancellationToken);

    /// <inheritdoc />
    public Task<int> PurgeInstanceAsync(string instanceId, bool recursive, CancellationToken cancellationToken) =>
        inner.PurgeInstanceAsync(instanceId, recursive, cancellationToken);

    /// <inheritdoc />
    public Task<int> PurgeInstancesAsync(InstanceFilter filter, int maxInstances, bool recursive, CancellationToken cancellationToken) =>
        inner.PurgeInstancesAsync(filter, maxInstances, recursive, cancellationToken);

    /// <inheritdoc />
    public Task WaitForInstanceChangeAsync(string instanceId, TimeSpan maxWait, CancellationToken cancellationToken) =>
        inner.WaitForInstanceChangeAsync(instanceId, maxWait, cancellationToken);

    /// <inheritdoc />
    public Task<OrchestrationWorkItem> LockNextOrchestrationAsync(CancellationToken cancellationToken) =>
        inner.LockNextOrchestrationAsync(cancellationToken);

    /// <inheritdoc />
    public Task<InstanceState?> LoadInstanceStateAsync(string instanceId, CancellationToken cancellationToken) =>
        inner.LoadInstanceStateAsync(instanceId, cancellationToken);

    /// <inheritdoc />
    public async Task<bool> CommitOrchestrationAsync(OrchestrationWorkItem workItem, OrchestrationCommit commit, CancellationToken cancellationToken)
    {
        ArgumentNullException.ThrowIfNull(commit);
        var committed = await inner.CommitOrchestrationAsync(workItem, commit, cancellationToken).ConfigureAwait(false);
        if (committed && commit.Instance is not null)
        {
            Interlocked.Increment(ref _episodes);
        }

        return committed;
    }

    /// <inheritdoc />
    public Task AbandonOrchestrationAsync(OrchestrationWorkItem workItem, TimeSpan retryAfter, bool countAttempt, CancellationToken cancellationToken) =>
        inner.AbandonOrchestrationAsync(workItem, retryAfter, countAttempt, cancellationToken);

    /// <inheritdoc />
    public Task<bool> RenewOrchestrationLockAsync(OrchestrationWorkItem workItem, CancellationToken cancellationToken) =>
        inner.RenewOrchestrationLockAsync(workItem, cancellationToken);

    /// <inheritdoc />
    public Task<ActivityWorkItem> LockNextActivityAsync(CancellationToken cancellationToken) =>
        inner.LockNextActivityAsync(cancellationToken);

    /// <inheritdoc />
    public async Task<bool> CompleteActivityAsync(ActivityWorkItem workItem, string resultData, CancellationToken cancellationToken)
    {
        var completed = await inner.CompleteActivityAsync(workItem, resultData, cancellationToken).ConfigureAwait(false);
        if (completed)
        {
            Interlocked.Increment(ref _activities);
        }

        return completed;
    }

    /// <inheritdoc />
    public Task AbandonActivityAsync(ActivityWorkItem workItem, TimeSpan retryAfter, bool countAttempt, CancellationToken cancellationToken) =>
        inner.AbandonActivityAsync(workItem, retryAfter, countAttempt, cancellationToken);

    /// <inheritdoc />
    public Task<bool> RenewActivityLockAsync(ActivityWorkItem workItem, CancellationToken cancellationToken) =>
        inner.RenewActivityLockAsync(workItem, cancellationToken);

    /// <inheritdoc />
    public ValueTask DisposeAsync() => inner.DisposeAsync();
}
