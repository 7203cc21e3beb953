namespace Fleet.Durable.Storage;

/// <summary>
/// Where a task hub keeps its instances, history and pending work. The sidecar backend talks only to this
/// interface; stores persist payloads as opaque text and never interpret them. One store object serves one hub.
/// <para>
/// Contract every store honours (the conformance suite in Fleet.Durable.Tests checks it):
/// </para>
/// <list type="bullet">
/// <item>Work is handed out as locked work items with an expiry (<see cref="OrchestrationWorkItem.LockedUntil"/>);
/// an item whose lock expires is handed out again. Competing workers (several hosts) never hold the same lock.</item>
/// <item><see cref="CommitOrchestrationAsync"/> is one transaction: history append, instance update, consumed
/// messages deleted, new activities, timers, messages and sub-orchestrations. It is refused (returns false, writes
/// nothing) when the instance's execution ID or history count differ from the expected ones, so a stale cached
/// executor can never commit.</item>
/// <item>Activity results are delivered at most once per activity row: completing a row that no longer exists writes
/// nothing.</item>
/// <item><c>LockNext…</c> waits for work without busy polling: in-process signals, a database notification, or a
/// polling interval as the last resort.</item>
/// </list>
/// </summary>
public interface IOrchestrationStore : IAsyncDisposable
{
    /// <summary>The task hub this store serves.</summary>
    string HubName { get; }

    /// <summary>Creates the schema if needed; idempotent and safe to call concurrently.</summary>
    Task InitializeAsync(CancellationToken cancellationToken);

    /// <summary>
    /// Prepares to hand out work (called once by the backend before its first lock): takes ownership where the store
    /// needs it and recovers work left by a dead predecessor.
    /// </summary>
    Task StartDispatchAsync(CancellationToken cancellationToken);

    /// <summary>
    /// Creates an instance (or replaces a finished one) and enqueues its start message. The instance keeps
    /// <see cref="NewInstance.Tags"/> (<see cref="InstanceRecord.Tags"/> on every read) across its executions until it
    /// is replaced or purged.
    /// </summary>
    Task<CreateInstanceResult> CreateInstanceAsync(NewInstance instance, CancellationToken cancellationToken);

    /// <summary>
    /// Enqueues a message for an instance; returns false (and enqueues nothing) when the instance does not exist or
    /// has finished.
    /// </summary>
    Task<bool> EnqueueMessageAsync(string instanceId, string data, DateTimeOffset visibleAt, CancellationToken cancellationToken);

    /// <summary>
    /// Enqueues a message for an instance that has failed (a rewind request); returns false (and enqueues nothing)
    /// when the instance does not exist or its status is not Failed.
    /// </summary>
    Task<bool> EnqueueForFailedInstanceAsync(string instanceId, string data, DateTimeOffset visibleAt, CancellationToken cancellationToken);

    /// <summary>
    /// Enqueues a message for a durable entity (instance ID <c>@name@key</c>), first creating the entity's instance row
    /// if it does not exist (name <paramref name="entityName"/>, status Running, history count 0, no history), so the
    /// message is dispatched like any other. Entity rows stay Running; their history count is the entity's version.
    /// </summary>
    Task EnqueueEntityMessageAsync(string instanceId, string entityName, string data, DateTimeOffset visibleAt, CancellationToken cancellationToken);

    /// <summary>
    /// Deletes an entity's instance row when its history count is still <paramref name="expectedVersion"/> and no
    /// message (due or future) waits for it; false, deleting nothing, otherwise.
    /// </summary>
    Task<bool> DeleteEmptyEntityAsync(string instanceId, int expectedVersion, CancellationToken cancellationToken);

    /// <summary>Reads an instance, or null when it does not exist.</summary>
    Task<InstanceRecord?> GetInstanceAsync(string instanceId, bool includePayloads, CancellationToken cancellationToken);

    /// <summary>Reads one page of instances ordered by (created time, instance ID).</summary>
    Task<InstancePage> QueryInstancesAsync(InstanceQuery query, CancellationToken cancellationToken);

    /// <summary>The current execution's history events (serialized), oldest first; null when the instance does not exist.</summary>
    Task<IReadOnlyList<string>?> GetHistoryAsync(string instanceId, CancellationToken cancellationToken);

    /// <summary>Deletes a finished instance with its history and messages (and finished descendants when recursive).</summary>
    Task<int> PurgeInstanceAsync(string instanceId, bool recursive, CancellationToken cancellationToken);

    /// <summary>
    /// Deletes one page of finished instances: up to <paramref name="maxInstances"/> instances matching the filter are
    /// selected and deleted (each with its finished descendants when recursive). Returns how many instances were
    /// deleted in all, descendants included, counting each instance once (a selected child already deleted with its
    /// selected parent is not counted again). Every selected instance is deleted, so the result is never below the
    /// number selected: a result below <paramref name="maxInstances"/> tells the caller nothing matching is left.
    /// </summary>
    Task<int> PurgeInstancesAsync(InstanceFilter filter, int maxInstances, bool recursive, CancellationToken cancellationToken);

    /// <summary>
    /// Completes at the first change of the instance's runtime status after this call (creation, start, suspension,
    /// resumption, completion, purge), or after <paramref name="maxWait"/> at the latest (stores without change
    /// notifications simply wait). The registration happens before the method returns,
    /// so a caller can call it, then read the instance, then await it without missing a change in between; cancel the
    /// token to drop the registration.
    /// </summary>
    Task WaitForInstanceChangeAsync(string instanceId, TimeSpan maxWait, CancellationToken cancellationToken);

    /// <summary>Waits for and locks the next instance with visible messages.</summary>
    Task<OrchestrationWorkItem> LockNextOrchestrationAsync(CancellationToken cancellationToken);

    /// <summary>Reads an instance with its history, in one consistent snapshot; null when it does not exist.</summary>
    Task<InstanceState?> LoadInstanceStateAsync(string instanceId, CancellationToken cancellationToken);

    /// <summary>
    /// Commits an episode and releases the lock. Returns false, writing nothing, when the version check fails; the
    /// caller then abandons the work item and reloads.
    /// </summary>
    Task<bool> CommitOrchestrationAsync(OrchestrationWorkItem workItem, OrchestrationCommit commit, CancellationToken cancellationToken);

    /// <summary>Releases a work item without consuming its messages; they become visible again after <paramref name="retryAfter"/>.</summary>
    /// <param name="workItem">The locked work item.</param>
    /// <param name="retryAfter">How long to hold the messages back.</param>
    /// <param name="countAttempt">Whether this counts as a failed attempt (towards poison handling).</param>
    /// <param name="cancellationToken">Cancels the request.</param>
    Task AbandonOrchestrationAsync(OrchestrationWorkItem workItem, TimeSpan retryAfter, bool countAttempt, CancellationToken cancellationToken);

    /// <summary>Extends the lock; false when it was lost.</summary>
    Task<bool> RenewOrchestrationLockAsync(OrchestrationWorkItem workItem, CancellationToken cancellationToken);

    /// <summary>Waits for and locks the next activity.</summary>
    Task<ActivityWorkItem> LockNextActivityAsync(CancellationToken cancellationToken);

    /// <summary>
    /// Deletes the activity row and, in the same transaction, enqueues <paramref name="resultData"/> for the instance if it
    /// still runs the same execution. Returns false when the row no longer existed or the instance no longer wants it.
    /// </summary>
    Task<bool> CompleteActivityAsync(ActivityWorkItem workItem, string resultData, CancellationToken cancellationToken);

    /// <summary>Releases an activity without completing it; it is handed out again after <paramref name="retryAfter"/>.</summary>
    Task AbandonActivityAsync(ActivityWorkItem workItem, TimeSpan retryAfter, bool countAttempt, CancellationToken cancellationToken);

    /// <summary>Extends the lock; false when it was lost.</summary>
    Task<bool> RenewActivityLockAsync(ActivityWorkItem workItem, CancellationToken cancellationToken);
}
