
namespace Fleet.Durable.Storage;

/// <summary>An instance to create, with its start message.</summary>
/// <param name="InstanceId">The instance ID.</param>
/// <param name="ExecutionId">The first execution's ID.</param>
/// <param name="Name">The orchestrator name.</param>
/// <param name="Version">The version string, if any.</param>
/// <param name="Input">The serialized input.</param>
/// <param name="CreatedAt">Creation time.</param>
/// <param name="StartAt">When the start message becomes visible.</param>
/// <param name="StartMessage">The serialized start message (an ExecutionStarted event).</param>
/// <param name="ParentInstanceId">The parent, for a sub-orchestration.</param>
/// <param name="Tags">The instance's tags (a JSON object of strings), or null when it has none.</param>
public sealed record NewInstance(
    string InstanceId,
    string ExecutionId,
    string Name,
    string? Version,
    string? Input,
    DateTimeOffset CreatedAt,
    DateTimeOffset StartAt,
    string StartMessage,
    string? ParentInstanceId = null,
    string? Tags = null);

/// <summary>The outcome of <see cref="IOrchestrationStore.CreateInstanceAsync"/>.</summary>
/// <param name="Created">Whether the instance was created (or a finished one replaced).</param>
/// <param name="ExistingStatus">The status of the unfinished instance that blocked the start.</param>
public readonly record struct CreateInstanceResult(bool Created, InstanceStatus? ExistingStatus);

/// <summary>A stored instance row.</summary>
public sealed record InstanceRecord
{
    /// <summary>The instance ID.</summary>
    public required string InstanceId { get; init; }

    /// <summary>The current execution's ID.</summary>
    public required string ExecutionId { get; init; }

    /// <summary>The orchestrator name.</summary>
    public required string Name { get; init; }

    /// <summary>The version string, if any.</summary>
    public string? Version { get; init; }

    /// <summary>The runtime status.</summary>
    public required InstanceStatus Status { get; init; }

    /// <summary>Creation time.</summary>
    public required DateTimeOffset CreatedAt { get; init; }

    /// <summary>Last status change.</summary>
    public required DateTimeOffset LastUpdatedAt { get; init; }

    /// <summary>When it finished, if it did.</summary>
    public DateTimeOffset? CompletedAt { get; init; }

    /// <summary>When a scheduled start becomes due.</summary>
    public DateTimeOffset? ScheduledStartAt { get; init; }

    /// <summary>The serialized input (only when payloads were requested).</summary>
    public string? Input { get; init; }

    /// <summary>The serialized output (only when payloads were requested).</summary>
    public string? Output { get; init; }

    /// <summary>The serialized custom status (only when payloads were requested).</summary>
    public string? CustomStatus { get; init; }

    /// <summary>The serialized failure details, when it failed.</summary>
    public string? FailureDetails { get; init; }

    /// <summary>The parent instance, for a sub-orchestration.</summary>
    public string? ParentInstanceId { get; init; }

    /// <summary>How many history events the current execution has: the version checked at commit.</summary>
    public required int HistoryCount { get; init; }

    /// <summary>The tags given when the instance was created (a JSON object of strings), or null when it has none.</summary>
    public string? Tags { get; init; }
}

/// <summary>An instance with its history, as read by the backend on a cache miss.</summary>
/// <param name="Instance">The instance row (with payloads).</param>
/// <param name="History">The serialized history events, oldest first.</param>
public sealed record InstanceState(InstanceRecord Instance, IReadOnlyList<string> History);

/// <summary>A message waiting for an instance.</summary>
/// <param name="Id">Store-assigned ID; increasing in enqueue order.</param>
/// <param name="TargetExecutionId">The execution the message is for, or null for whichever is current.</param>
/// <param name="Data">The serialized message (a history event).</param>
/// <param name="Attempts">How many times processing it failed or was interrupted.</param>
public sealed record StoredMessage(long Id, string? TargetExecutionId, string Data, int Attempts);

/// <summary>A locked batch of messages for one instance.</summary>
public sealed class OrchestrationWorkItem
{
    /// <summary>The instance ID.</summary>
    public required string InstanceId { get; init; }

    /// <summary>The visible messages, in enqueue order.</summary>
    public required IReadOnlyList<StoredMessage> Messages { get; init; }

    /// <summary>The store's lock token.</summary>
    public required string LockToken { get; init; }

    /// <summary>When the lock expires unless renewed or released.</summary>
    public DateTimeOffset LockedUntil { get; set; }

    /// <summary>
    /// The instance's execution ID when the lock was taken, for stores shared by several hosts (null when the store
    /// does not report it). With <see cref="HistoryCount"/> it lets the backend drop a cached history that another
    /// host has advanced since, before running a stale episode.
    /// </summary>
    public string? ExecutionId { get; init; }

    /// <summary>The instance's history count when the lock was taken (null when the store does not report it).</summary>
    public int? HistoryCount { get; init; }

    /// <summary>The highest attempt count among the messages.</summary>
    public int Attempts => Messages.Count == 0 ? 0 : Messages.Max(m => m.Attempts);
}

/// <summary>A locked activity call.</summary>
public sealed class ActivityWorkItem
{
    /// <summary>Store-assigned row ID.</summary>
    public required long Id { get; init; }

    /// <summary>The orchestration that scheduled it.</summary>
    public required string InstanceId { get; init; }

    /// <summary>The execution that scheduled it.</summary>
    public required string ExecutionId { get; init; }

    /// <summary>The sequence ID of the TaskScheduled event.</summary>
    public required int TaskId { get; init; }

    /// <summary>The activity name.</summary>
    public required string Name { get; init; }

    /// <summary>The serialized input.</summary>
    public string? Input { get; init; }

    /// <summary>How many times running it failed to complete or was interrupted.</summary>
    public required int Attempts { get; init; }

    /// <summary>The store's lock token.</summary>
    public required string LockToken { get; init; }

    /// <summary>When the lock expires unless renewed or released.</summary>
    public DateTimeOffset LockedUntil { get; set; }
}

/// <summary>An activity to schedule.</summary>
/// <param name="TaskId">The sequence ID of its TaskScheduled event.</param>
/// <param name="Name">The activity name.</param>
/// <param name="Input">The serialized input.</param>
public sealed record NewActivity(int TaskId, string Name, string? Input);

/// <summary>A message produced by an episode.</summary>
/// <param name="InstanceId">The target instance.</param>
/// <param name="TargetExecutionId">The execution it is for, or null for the current one.</param>
/// <param name="Data">The serialized message.</param>
/// <param name="VisibleAt">When it becomes visible (a timer's fire time).</param>
/// <param name="OnlyIfRunning">Drop it when the target does not exist or has finished (events, parent notifications).</param>
public sealed record OutgoingMessage(string InstanceId, string? TargetExecutionId, string Data, DateTimeOffset VisibleAt, bool OnlyIfRunning)
{
    /// <summary>
    /// Set when the target is a durable entity of this name: its instance row is created (as by
    /// <see cref="IOrchestrationStore.EnqueueEntityMessageAsync"/>) if it does not exist, and the message always goes.
    /// </summary>
    public string? EntityName { get; init; }
}

/// <summary>A sub-orchestration to create in the same commit.</summary>
/// <param name="Instance">The child instance and its start message.</param>
/// <param name="ConflictMessage">Sent to the parent instead when an unfinished instance already has the child's ID.</param>
public sealed record NewSubOrchestration(NewInstance Instance, string ConflictMessage);

/// <summary>The new state of the instance row after an episode.</summary>
public sealed record InstanceUpdate
{
    /// <summary>The new status.</summary>
    public required InstanceStatus Status { get; init; }

    /// <summary>The execution ID after the commit (a new one after ContinueAsNew).</summary>
    public required string ExecutionId { get; init; }

    /// <summary>The history count after the commit.</summary>
    public required int HistoryCount { get; init; }

    /// <summary>
    /// Whether the runtime status changes with this commit (start, suspend, resume, finish). Stores may use it to wake
    /// <see cref="IOrchestrationStore.WaitForInstanceChangeAsync"/> callers only when it matters; true when unknown.
    /// </summary>
    public bool StatusChanged { get; init; } = true;

    /// <summary>Update time.</summary>
    public required DateTimeOffset LastUpdatedAt { get; init; }

    /// <summary>Set when the instance finished.</summary>
    public DateTimeOffset? CompletedAt { get; init; }

    /// <summary>The output, when finished.</summary>
    public string? Output { get; init; }

    /// <summary>The failure, when failed.</summary>
    public string? FailureDetails { get; init; }

    /// <summary>Whether <see cref="CustomStatus"/> replaces the stored custom status.</summary>
    public bool CustomStatusChanged { get; init; }

    /// <summary>The new custom status (when changed).</summary>
    public string? CustomStatus { get; init; }

    /// <summary>Whether <see cref="Input"/> replaces the stored input (ContinueAsNew).</summary>
    public bool InputChanged { get; init; }

    /// <summary>The new input (when changed).</summary>
    public string? Input { get; init; }
}

/// <summary>Everything one episode writes, committed atomically.</summary>
public sealed class OrchestrationCommit
{
    /// <summary>The execution ID the episode ran against (version check).</summary>
    public required string ExpectedExecutionId { get; init; }

    /// <summary>The history count the episode started from (version check).</summary>
    public required int ExpectedHistoryCount { get; init; }

    /// <summary>Serialized history events appended from position <see cref="ExpectedHistoryCount"/>.</summary>
    public IReadOnlyList<string> NewHistory { get; init; } = [];

    /// <summary>Deletes the existing history first (ContinueAsNew); new events then start at position 0.</summary>
    public bool ReplaceHistory { get; init; }

    /// <summary>IDs of the messages the episode consumed.</summary>
    public IReadOnlyList<long> ConsumedMessageIds { get; init; } = [];

    /// <summary>The instance row update; null to only delete consumed messages (no version check).</summary>
    public InstanceUpdate? Instance { get; init; }

    /// <summary>Activities to schedule, for execution <see cref="ExpectedExecutionId"/> (also when continuing as new).</summary>
    public IReadOnlyList<NewActivity> Activities { get; init; } = [];

    /// <summary>Messages to enqueue (timers, events, parent notifications, the next execution's start).</summary>
    public IReadOnlyList<OutgoingMessage> Messages { get; init; } = [];

    /// <summary>Sub-orchestrations to create.</summary>
    public IReadOnlyList<NewSubOrchestration> SubOrchestrations { get; init; } = [];

    /// <summary>
    /// Orchestrations to start that have no parent (an entity starts them); one whose ID an unfinished instance holds
    /// is left alone.
    /// </summary>
    public IReadOnlyList<NewInstance> NewInstances { get; init; } = [];

    /// <summary>When set, this message is enqueued for every unfinished child instance (recursive terminate).</summary>
    public string? MessageToRunningChildren { get; init; }
}

/// <summary>Filter over instances.</summary>
public sealed record InstanceFilter
{
    /// <summary>Created at or after.</summary>
    public DateTimeOffset? CreatedFrom { get; init; }

    /// <summary>Created at or before.</summary>
    public DateTimeOffset? CreatedTo { get; init; }

    /// <summary>Statuses to include; null or empty means all.</summary>
    public IReadOnlyList<InstanceStatus>? Statuses { get; init; }

    /// <summary>Instance ID prefix (ordinal).</summary>
    public string? InstanceIdPrefix { get; init; }

    /// <summary>Leaves out durable entities (instance IDs starting with '@'), as orchestration queries do.</summary>
    public bool ExcludeEntities { get; init; }
}

/// <summary>A page request.</summary>
/// <param name="Filter">Which instances.</param>
/// <param name="PageSize">How many at most.</param>
/// <param name="IncludePayloads">Whether to read inputs, outputs and custom status.</param>
/// <param name="ContinuationToken">The store's token from the previous page.</param>
public sealed record InstanceQuery(InstanceFilter Filter, int PageSize, bool IncludePayloads, string? ContinuationToken);

/// <summary>A page of instances.</summary>
/// <param name="Instances">The rows.</param>
/// <param name="ContinuationToken">The token for the next page, or null at the end.</param>
public sealed record InstancePage(IReadOnlyList<InstanceRecord> Instances, string? ContinuationToken);
