using Fleet.Durable.History;

namespace Fleet.Durable.Client;

/// <summary>
/// Starts, queries, signals and manages orchestration instances. Safe for concurrent use; register one per hub.
/// </summary>
public abstract class DurableTaskClient : IAsyncDisposable
{
    /// <summary>Creates a client with a name (the task hub it talks to).</summary>
    protected DurableTaskClient(string name) => Name = name;

    /// <summary>The client's name: the task hub name.</summary>
    public string Name { get; }

    /// <summary>Schedules a new orchestration without input.</summary>
    public virtual Task<string> ScheduleNewOrchestrationInstanceAsync(TaskName orchestratorName, CancellationToken cancellation) =>
        ScheduleNewOrchestrationInstanceAsync(orchestratorName, null, null, cancellation);

    /// <summary>Schedules a new orchestration.</summary>
    public virtual Task<string> ScheduleNewOrchestrationInstanceAsync(TaskName orchestratorName, object? input, CancellationToken cancellation) =>
        ScheduleNewOrchestrationInstanceAsync(orchestratorName, input, null, cancellation);

    /// <summary>Schedules a new orchestration without input.</summary>
    public virtual Task<string> ScheduleNewOrchestrationInstanceAsync(TaskName orchestratorName, StartOrchestrationOptions options, CancellationToken cancellation = default) =>
        ScheduleNewOrchestrationInstanceAsync(orchestratorName, null, options, cancellation);

    /// <summary>
    /// Schedules a new orchestration and returns its instance ID once the start is durably stored. A start with the ID
    /// of a Pending, Running or Suspended instance is refused; a finished instance with that ID is replaced.
    /// </summary>
    /// <exception cref="OrchestrationAlreadyExistsException">An unfinished instance has the requested ID.</exception>
    /// <exception cref="PayloadTooLargeException">The serialized input is too large.</exception>
    public abstract Task<string> ScheduleNewOrchestrationInstanceAsync(
        TaskName orchestratorName,
        object? input = null,
        StartOrchestrationOptions? options = null,
        CancellationToken cancellation = default);

    /// <summary>Raises an event without payload.</summary>
    public virtual Task RaiseEventAsync(string instanceId, string eventName, CancellationToken cancellation) =>
        RaiseEventAsync(instanceId, eventName, null, cancellation);

    /// <summary>
    /// Sends an event to an instance; it is buffered until the orchestration waits for it. Events for missing or
    /// finished instances are discarded.
    /// </summary>
    public abstract Task RaiseEventAsync(string instanceId, string eventName, object? eventPayload = null, CancellationToken cancellation = default);

    /// <summary>Waits until the instance leaves Pending.</summary>
    public virtual Task<OrchestrationMetadata> WaitForInstanceStartAsync(string instanceId, CancellationToken cancellation) =>
        WaitForInstanceStartAsync(instanceId, false, cancellation);

    /// <summary>Waits until the instance leaves Pending; use <paramref name="cancellation"/> as the timeout.</summary>
    /// <exception cref="InvalidOperationException">No instance has this ID.</exception>
    public abstract Task<OrchestrationMetadata> WaitForInstanceStartAsync(string instanceId, bool getInputsAndOutputs = false, CancellationToken cancellation = default);

    /// <summary>Waits until the instance finishes.</summary>
    public virtual Task<OrchestrationMetadata> WaitForInstanceCompletionAsync(string instanceId, CancellationToken cancellation) =>
        WaitForInstanceCompletionAsync(instanceId, false, cancellation);

    /// <summary>Waits until the instance is Completed, Failed or Terminated; use <paramref name="cancellation"/> as the timeout.</summary>
    /// <exception cref="InvalidOperationException">No instance has this ID.</exception>
    public abstract Task<OrchestrationMetadata> WaitForInstanceCompletionAsync(string instanceId, bool getInputsAndOutputs = false, CancellationToken cancellation = default);

    /// <summary>Terminates an instance.</summary>
    public virtual Task TerminateInstanceAsync(string instanceId, CancellationToken cancellation) =>
        TerminateInstanceAsync(instanceId, (TerminateInstanceOptions?)null, cancellation);

    /// <summary>Terminates an instance with an output.</summary>
    public virtual Task TerminateInstanceAsync(string instanceId, object? output, CancellationToken cancellation = default) =>
        TerminateInstanceAsync(instanceId, output is null ? null : new TerminateInstanceOptions(output), cancellation);

    /// <summary>
    /// Terminates an instance (and, when recursive, its running sub-orchestrations). Activities already running finish,
    /// but their results are discarded. Terminating a missing or finished instance does nothing.
    /// </summary>
    public abstract Task TerminateInstanceAsync(string instanceId, TerminateInstanceOptions? options = null, CancellationToken cancellation = default);

    /// <summary>Suspends an instance.</summary>
    public virtual Task SuspendInstanceAsync(string instanceId, CancellationToken cancellation) =>
        SuspendInstanceAsync(instanceId, null, cancellation);

    /// <summary>Suspends an instance: it stays Suspended, holding new events, until resumed.</summary>
    public abstract Task SuspendInstanceAsync(string instanceId, string? reason = null, CancellationToken cancellation = default);

    /// <summary>Resumes a suspended instance.</summary>
    public virtual Task ResumeInstanceAsync(string instanceId, CancellationToken cancellation) =>
        ResumeInstanceAsync(instanceId, null, cancellation);

    /// <summary>Resumes a suspended instance; held events are then processed.</summary>
    public abstract Task ResumeInstanceAsync(string instanceId, string? reason = null, CancellationToken cancellation = default);

    /// <summary>Gets an instance's metadata without inputs and outputs.</summary>
    public virtual Task<OrchestrationMetadata?> GetInstanceAsync(string instanceId, CancellationToken cancellation) =>
        GetInstanceAsync(instanceId, false, cancellation);

    /// <summary>Gets an instance's metadata, or null when it does not exist.</summary>
    public abstract Task<OrchestrationMetadata?> GetInstanceAsync(string instanceId, bool getInputsAndOutputs = false, CancellationToken cancellation = default);

    /// <summary>Queries instances a page at a time, ordered by creation time then instance ID.</summary>
    public abstract AsyncPageable<OrchestrationMetadata> GetAllInstancesAsync(OrchestrationQuery? filter = null);

    /// <summary>Purges one finished instance.</summary>
    public virtual Task<PurgeResult> PurgeInstanceAsync(string instanceId, CancellationToken cancellation) =>
        PurgeInstanceAsync(instanceId, null, cancellation);

    /// <summary>
    /// Deletes a finished instance with its history (and, when recursive, its finished sub-orchestrations). A missing
    /// or unfinished instance purges nothing.
    /// </summary>
    public abstract Task<PurgeResult> PurgeInstanceAsync(string instanceId, PurgeInstanceOptions? options = null, CancellationToken cancellation = default);

    /// <summary>Purges finished instances matching a filter.</summary>
    public virtual Task<PurgeResult> PurgeAllInstancesAsync(PurgeInstancesFilter filter, CancellationToken cancellation) =>
        PurgeAllInstancesAsync(filter, null, cancellation);

    /// <summary>
    /// Deletes finished instances matching <paramref name="filter"/> in pages, so other work proceeds meanwhile; stops at
    /// <see cref="PurgeInstancesFilter.Timeout"/> with <see cref="PurgeResult.IsComplete"/> false.
    /// </summary>
    public abstract Task<PurgeResult> PurgeAllInstancesAsync(PurgeInstancesFilter filter, PurgeInstanceOptions? options = null, CancellationToken cancellation = default);

    /// <summary>The current execution's history, oldest first.</summary>
    /// <exception cref="InvalidOperationException">No instance has this ID.</exception>
    public abstract Task<IList<HistoryEvent>> GetOrchestrationHistoryAsync(string instanceId, CancellationToken cancellation = default);

    /// <inheritdoc />
    public abstract ValueTask DisposeAsync();
}
