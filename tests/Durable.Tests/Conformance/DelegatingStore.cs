using Fleet.Durable.Grpc;
using Fleet.Durable.Storage;
using P = Microsoft.DurableTask.Protobuf;

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

    public virtual Task<bool> EnqueueForFailedInstanceAsync(string instanceId, string data, DateTimeOffset visibleAt, CancellationToken cancellationToken) =>
        inner.EnqueueForFailedInstanceAsync(instanceId, data, visibleAt, cancellationToken);

    public virtual Task EnqueueEntityMessageAsync(string instanceId, string entityName, string data, DateTimeOffset visibleAt, CancellationToken cancellationToken) =>
        inner.EnqueueEntityMessageAsync(instanceId, entityName, data, visibleAt, cancellationToken);

    public virtual Task<bool> DeleteEmptyEntityAsync(string instanceId, int expectedVersion, CancellationToken cancellationToken) =>
        inner.DeleteEmptyEntityAsync(instanceId, expectedVersion, cancellationToken);

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

/// <summary>
/// Records what the backend handed to the store and what the store answered, so a test can wait for a store-level
/// fact (a message consumed, an activity result refused) instead of sleeping and hoping the write already happened.
/// </summary>
public sealed class RecordingStore(IOrchestrationStore inner) : DelegatingStore(inner)
{
    private readonly List<object> _records = [];
    private readonly List<(Func<object, bool> Match, TaskCompletionSource<object> Found)> _waiters = [];
    private int _orchestrationLockRenewals;

    /// <summary>Orchestration lock renewals the store granted.</summary>
    public int OrchestrationLockRenewals => Volatile.Read(ref _orchestrationLockRenewals);

    /// <summary>Waits (bounded) until a record of type <typeparamref name="T"/> matching <paramref name="match"/> exists, and returns it.</summary>
    public async Task<T> WaitForAsync<T>(Func<T, bool> match, string what)
        where T : class
    {
        TaskCompletionSource<object> found;
        lock (_records)
        {
            if (_records.OfType<T>().FirstOrDefault(match) is { } existing)
            {
                return existing;
            }

            found = new TaskCompletionSource<object>(TaskCreationOptions.RunContinuationsAsynchronously);
            _waiters.Add((r => r is T typed && match(typed), found));
        }

        try
        {
            return (T)await found.Task.WaitAsync(DurableWait.Default);
        }
        catch (TimeoutException)
        {
            throw new TimeoutException($"Timed out waiting until {what}.");
        }
    }

    public override async Task<bool> EnqueueMessageAsync(string instanceId, string data, DateTimeOffset visibleAt, CancellationToken cancellationToken)
    {
        var accepted = await base.EnqueueMessageAsync(instanceId, data, visibleAt, cancellationToken);
        Record(new EnqueueRecord(instanceId, TryDecode(data), accepted));
        return accepted;
    }

    public override async Task<bool> CommitOrchestrationAsync(OrchestrationWorkItem workItem, OrchestrationCommit commit, CancellationToken cancellationToken)
    {
        var applied = await base.CommitOrchestrationAsync(workItem, commit, cancellationToken);
        var consumed = workItem.Messages.Select(m => TryDecode(m.Data)).OfType<P.HistoryEvent>().ToList();
        Record(new CommitRecord(workItem.InstanceId, consumed, commit, applied));
        return applied;
    }

    public override async Task<bool> RenewOrchestrationLockAsync(OrchestrationWorkItem workItem, CancellationToken cancellationToken)
    {
        var renewed = await base.RenewOrchestrationLockAsync(workItem, cancellationToken);
        if (renewed)
        {
            Interlocked.Increment(ref _orchestrationLockRenewals);
        }

        return renewed;
    }

    public override async Task<bool> CompleteActivityAsync(ActivityWorkItem workItem, string resultData, CancellationToken cancellationToken)
    {
        var delivered = await base.CompleteActivityAsync(workItem, resultData, cancellationToken);
        Record(new ActivityCompletionRecord(workItem, delivered));
        return delivered;
    }

    private static P.HistoryEvent? TryDecode(string data)
    {
        try
        {
            return ProtoCodec.DecodeEvent(data, "a message");
        }
        catch (InvalidDataException)
        {
            return null; // tests that enqueue garbage on purpose
        }
    }

    private void Record(object record)
    {
        List<TaskCompletionSource<object>> found = [];
        lock (_records)
        {
            _records.Add(record);
            for (var i = _waiters.Count - 1; i >= 0; i--)
            {
                if (_waiters[i].Match(record))
                {
                    found.Add(_waiters[i].Found);
                    _waiters.RemoveAt(i);
                }
            }
        }

        foreach (var waiter in found)
        {
            waiter.TrySetResult(record);
        }
    }
}

/// <summary>A message the client asked the store to enqueue, and whether the store accepted it.</summary>
public sealed record EnqueueRecord(string InstanceId, P.HistoryEvent? Message, bool Accepted);

/// <summary>An episode commit (or discard): the messages its work item consumed, and whether the store applied it.</summary>
public sealed record CommitRecord(string InstanceId, IReadOnlyList<P.HistoryEvent> Consumed, OrchestrationCommit Commit, bool Applied);

/// <summary>An activity result handed to the store, and whether it was delivered to the instance.</summary>
public sealed record ActivityCompletionRecord(ActivityWorkItem Item, bool Delivered);
