namespace Fleet.Durable.Client;

/// <summary>The runtime status of an orchestration instance; values match Microsoft.DurableTask.</summary>
public enum OrchestrationRuntimeStatus
{
    /// <summary>Started and not finished.</summary>
    Running = 0,

    /// <summary>Finished with an output.</summary>
    Completed = 1,

    /// <summary>Obsolete in Microsoft.DurableTask; never reported by this runtime (ContinueAsNew stays Running).</summary>
    ContinuedAsNew = 2,

    /// <summary>Finished with an unhandled failure.</summary>
    Failed = 3,

    /// <summary>Obsolete in Microsoft.DurableTask; never reported by this runtime.</summary>
    Canceled = 4,

    /// <summary>Stopped by a terminate request.</summary>
    Terminated = 5,

    /// <summary>Scheduled and not yet started.</summary>
    Pending = 6,

    /// <summary>Suspended; events are held until it is resumed.</summary>
    Suspended = 7,
}

/// <summary>Status helpers.</summary>
public static class OrchestrationRuntimeStatusExtensions
{
    /// <summary>Whether the status is final (Completed, Failed or Terminated).</summary>
    public static bool IsTerminal(this OrchestrationRuntimeStatus status) =>
        status is OrchestrationRuntimeStatus.Completed or OrchestrationRuntimeStatus.Failed
            or OrchestrationRuntimeStatus.Terminated or OrchestrationRuntimeStatus.Canceled;
}

/// <summary>A snapshot of an orchestration instance's status.</summary>
public sealed class OrchestrationMetadata
{
    /// <summary>Creates metadata.</summary>
    public OrchestrationMetadata(string name, string instanceId)
    {
        Name = name;
        InstanceId = instanceId;
    }

    /// <summary>The orchestrator name.</summary>
    public string Name { get; }

    /// <summary>The instance ID.</summary>
    public string InstanceId { get; }

    /// <summary>The runtime status.</summary>
    public OrchestrationRuntimeStatus RuntimeStatus { get; init; }

    /// <summary>When the instance was created (or last started again).</summary>
    public DateTimeOffset CreatedAt { get; init; }

    /// <summary>When the instance status was last changed.</summary>
    public DateTimeOffset LastUpdatedAt { get; init; }

    /// <summary>The serialized input, when fetched with inputs and outputs.</summary>
    public string? SerializedInput { get; init; }

    /// <summary>The serialized output (or terminate output), when fetched with inputs and outputs.</summary>
    public string? SerializedOutput { get; init; }

    /// <summary>The serialized custom status, when fetched with inputs and outputs.</summary>
    public string? SerializedCustomStatus { get; init; }

    /// <summary>Why the instance failed, when it did.</summary>
    public TaskFailureDetails? FailureDetails { get; init; }

    /// <summary>The parent instance ID, when this is a sub-orchestration.</summary>
    public string? ParentInstanceId { get; init; }

    /// <summary>Whether the inputs, outputs and custom status were fetched.</summary>
    public bool RequiresInputsAndOutputs { get; init; }

    /// <summary>The converter used by the <c>Read…As</c> methods.</summary>
    public DataConverter? DataConverter { get; init; }

    /// <summary>Whether the instance is Running.</summary>
    public bool IsRunning => RuntimeStatus == OrchestrationRuntimeStatus.Running;

    /// <summary>Whether the instance has finished (Completed, Failed or Terminated).</summary>
    public bool IsCompleted => RuntimeStatus.IsTerminal();

    /// <summary>Deserializes the input.</summary>
    /// <exception cref="InvalidOperationException">The metadata was fetched without inputs and outputs.</exception>
    public T? ReadInputAs<T>() => Read<T>(SerializedInput);

    /// <summary>Deserializes the output.</summary>
    /// <exception cref="InvalidOperationException">The metadata was fetched without inputs and outputs.</exception>
    public T? ReadOutputAs<T>() => Read<T>(SerializedOutput);

    /// <summary>Deserializes the custom status.</summary>
    /// <exception cref="InvalidOperationException">The metadata was fetched without inputs and outputs.</exception>
    public T? ReadCustomStatusAs<T>() => Read<T>(SerializedCustomStatus);

    /// <inheritdoc />
    public override string ToString() => $"{Name} '{InstanceId}': {RuntimeStatus}";

    private T? Read<T>(string? data)
    {
        if (!RequiresInputsAndOutputs)
        {
            throw new InvalidOperationException("This metadata was fetched without inputs and outputs; pass getInputsAndOutputs: true.");
        }

        return (DataConverter ?? JsonDataConverter.Default).Deserialize<T>(data);
    }
}

/// <summary>A filter for <see cref="DurableTaskClient.GetAllInstancesAsync"/>.</summary>
/// <param name="CreatedFrom">Only instances created at or after this time.</param>
/// <param name="CreatedTo">Only instances created at or before this time.</param>
/// <param name="Statuses">Only instances in these statuses.</param>
/// <param name="TaskHubNames">Only instances of these task hubs (the client sees its own hub only).</param>
/// <param name="InstanceIdPrefix">Only instance IDs that start with this (ordinal).</param>
/// <param name="PageSize">Instances per page (1 to 1000).</param>
/// <param name="FetchInputsAndOutputs">Whether to return inputs, outputs and custom status.</param>
/// <param name="ContinuationToken">Where to resume, from a previous page.</param>
public sealed record OrchestrationQuery(
    DateTimeOffset? CreatedFrom = null,
    DateTimeOffset? CreatedTo = null,
    IEnumerable<OrchestrationRuntimeStatus>? Statuses = null,
    IEnumerable<string>? TaskHubNames = null,
    string? InstanceIdPrefix = null,
    int PageSize = OrchestrationQuery.DefaultPageSize,
    bool FetchInputsAndOutputs = false,
    string? ContinuationToken = null)
{
    /// <summary>The default page size.</summary>
    public const int DefaultPageSize = 100;
}

/// <summary>Which finished instances <see cref="DurableTaskClient.PurgeAllInstancesAsync(PurgeInstancesFilter, PurgeInstanceOptions?, CancellationToken)"/> deletes.</summary>
/// <param name="CreatedFrom">Only instances created at or after this time.</param>
/// <param name="CreatedTo">Only instances created at or before this time.</param>
/// <param name="Statuses">Only these statuses; non-terminal statuses are ignored because only finished instances can be purged.</param>
public sealed record PurgeInstancesFilter(
    DateTimeOffset? CreatedFrom = null,
    DateTimeOffset? CreatedTo = null,
    IEnumerable<OrchestrationRuntimeStatus>? Statuses = null)
{
    /// <summary>Stop after this long and report <see cref="PurgeResult.IsComplete"/> false; the purge can be repeated.</summary>
    public TimeSpan? Timeout { get; init; }
}

/// <summary>Options for purging.</summary>
/// <param name="Recursive">Also purge finished sub-orchestrations started by the purged instances.</param>
public sealed record PurgeInstanceOptions(bool Recursive = false);

/// <summary>The outcome of a purge.</summary>
public sealed class PurgeResult
{
    /// <summary>Creates a complete result.</summary>
    public PurgeResult(int count)
        : this(count, true)
    {
    }

    /// <summary>Creates a result.</summary>
    public PurgeResult(int count, bool? isComplete)
    {
        PurgedInstanceCount = count;
        IsComplete = isComplete;
    }

    /// <summary>How many instances were deleted.</summary>
    public int PurgedInstanceCount { get; }

    /// <summary>False when a timeout stopped the purge before every matching instance was deleted.</summary>
    public bool? IsComplete { get; }
}

/// <summary>Options for terminating.</summary>
/// <param name="Output">The output recorded for the terminated instance.</param>
/// <param name="Recursive">Also terminate running sub-orchestrations.</param>
public sealed record TerminateInstanceOptions(object? Output = null, bool Recursive = false);
