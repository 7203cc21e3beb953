using System.Text.Json.Serialization;

namespace Fleet.Durable.History;

/// <summary>The kinds of history event, named as in DurableTask.Core.</summary>
public enum HistoryEventType
{
    /// <summary>An episode began; its timestamp is the orchestration's current time for that episode.</summary>
    OrchestratorStarted,

    /// <summary>The execution started with a name and input.</summary>
    ExecutionStarted,

    /// <summary>The execution completed or failed.</summary>
    ExecutionCompleted,

    /// <summary>The execution was terminated.</summary>
    ExecutionTerminated,

    /// <summary>The execution was suspended.</summary>
    ExecutionSuspended,

    /// <summary>The execution was resumed.</summary>
    ExecutionResumed,

    /// <summary>An activity was scheduled.</summary>
    TaskScheduled,

    /// <summary>An activity completed.</summary>
    TaskCompleted,

    /// <summary>An activity failed.</summary>
    TaskFailed,

    /// <summary>A sub-orchestration was started.</summary>
    SubOrchestrationInstanceCreated,

    /// <summary>A sub-orchestration completed.</summary>
    SubOrchestrationInstanceCompleted,

    /// <summary>A sub-orchestration failed or was terminated.</summary>
    SubOrchestrationInstanceFailed,

    /// <summary>A durable timer was created.</summary>
    TimerCreated,

    /// <summary>A durable timer fired.</summary>
    TimerFired,

    /// <summary>An event was sent to another instance.</summary>
    EventSent,

    /// <summary>An external event arrived.</summary>
    EventRaised,
}

/// <summary>
/// One entry of an orchestration's event-sourced history. Scheduling events (<see cref="TaskScheduledEvent"/>,
/// <see cref="TimerCreatedEvent"/>, <see cref="SubOrchestrationInstanceCreatedEvent"/>, <see cref="EventSentEvent"/>)
/// carry the sequence ID of the action in <see cref="EventId"/>; the events that complete them point back to it.
/// </summary>
/// <param name="EventId">The action's sequence ID for scheduling events; -1 otherwise.</param>
/// <param name="Timestamp">When the event was recorded (UTC).</param>
[JsonPolymorphic(TypeDiscriminatorPropertyName = "$t")]
[JsonDerivedType(typeof(OrchestratorStartedEvent), "OrchestratorStarted")]
[JsonDerivedType(typeof(ExecutionStartedEvent), "ExecutionStarted")]
[JsonDerivedType(typeof(ExecutionCompletedEvent), "ExecutionCompleted")]
[JsonDerivedType(typeof(ExecutionTerminatedEvent), "ExecutionTerminated")]
[JsonDerivedType(typeof(ExecutionSuspendedEvent), "ExecutionSuspended")]
[JsonDerivedType(typeof(ExecutionResumedEvent), "ExecutionResumed")]
[JsonDerivedType(typeof(TaskScheduledEvent), "TaskScheduled")]
[JsonDerivedType(typeof(TaskCompletedEvent), "TaskCompleted")]
[JsonDerivedType(typeof(TaskFailedEvent), "TaskFailed")]
[JsonDerivedType(typeof(SubOrchestrationInstanceCreatedEvent), "SubOrchestrationInstanceCreated")]
[JsonDerivedType(typeof(SubOrchestrationInstanceCompletedEvent), "SubOrchestrationInstanceCompleted")]
[JsonDerivedType(typeof(SubOrchestrationInstanceFailedEvent), "SubOrchestrationInstanceFailed")]
[JsonDerivedType(typeof(TimerCreatedEvent), "TimerCreated")]
[JsonDerivedType(typeof(TimerFiredEvent), "TimerFired")]
[JsonDerivedType(typeof(EventSentEvent), "EventSent")]
[JsonDerivedType(typeof(EventRaisedEvent), "EventRaised")]
public abstract record HistoryEvent(int EventId, DateTime Timestamp)
{
    /// <summary>The kind of event.</summary>
    [JsonIgnore]
    public abstract HistoryEventType EventType { get; }
}

/// <summary>Marks the start of an episode; <see cref="HistoryEvent.Timestamp"/> is the episode's orchestration time.</summary>
public sealed record OrchestratorStartedEvent(DateTime Timestamp) : HistoryEvent(-1, Timestamp)
{
    /// <inheritdoc />
    public override HistoryEventType EventType => HistoryEventType.OrchestratorStarted;
}

/// <summary>The parent of a sub-orchestration, as recorded in its <see cref="ExecutionStartedEvent"/>.</summary>
/// <param name="Name">The parent's orchestrator name.</param>
/// <param name="InstanceId">The parent's instance ID.</param>
/// <param name="ExecutionId">The parent's execution ID.</param>
/// <param name="TaskScheduledId">The sequence ID of the sub-orchestration action in the parent.</param>
public sealed record ParentInstanceInfo(string Name, string InstanceId, string ExecutionId, int TaskScheduledId);

/// <summary>The execution started.</summary>
public sealed record ExecutionStartedEvent(
    DateTime Timestamp,
    string Name,
    string ExecutionId,
    string? Input,
    string? Version = null,
    ParentInstanceInfo? Parent = null,
    DateTime? ScheduledStartTime = null) : HistoryEvent(-1, Timestamp)
{
    /// <inheritdoc />
    public override HistoryEventType EventType => HistoryEventType.ExecutionStarted;
}

/// <summary>The execution completed (<see cref="FailureDetails"/> null) or failed.</summary>
public sealed record ExecutionCompletedEvent(DateTime Timestamp, string? Result, TaskFailureDetails? FailureDetails)
    : HistoryEvent(-1, Timestamp)
{
    /// <inheritdoc />
    public override HistoryEventType EventType => HistoryEventType.ExecutionCompleted;
}

/// <summary>The execution was terminated; sent as a message by the client, then recorded.</summary>
public sealed record ExecutionTerminatedEvent(DateTime Timestamp, string? Output, bool Recursive = false)
    : HistoryEvent(-1, Timestamp)
{
    /// <inheritdoc />
    public override HistoryEventType EventType => HistoryEventType.ExecutionTerminated;
}

/// <summary>The execution was suspended; later events are recorded but held until resumed.</summary>
public sealed record ExecutionSuspendedEvent(DateTime Timestamp, string? Reason) : HistoryEvent(-1, Timestamp)
{
    /// <inheritdoc />
    public override HistoryEventType EventType => HistoryEventType.ExecutionSuspended;
}

/// <summary>The execution was resumed; held events are delivered.</summary>
public sealed record ExecutionResumedEvent(DateTime Timestamp, string? Reason) : HistoryEvent(-1, Timestamp)
{
    /// <inheritdoc />
    public override HistoryEventType EventType => HistoryEventType.ExecutionResumed;
}

/// <summary>An activity was scheduled with sequence ID <see cref="HistoryEvent.EventId"/>.</summary>
public sealed record TaskScheduledEvent(int EventId, DateTime Timestamp, string Name, string? Input)
    : HistoryEvent(EventId, Timestamp)
{
    /// <inheritdoc />
    public override HistoryEventType EventType => HistoryEventType.TaskScheduled;
}

/// <summary>The activity scheduled as <see cref="TaskScheduledId"/> completed.</summary>
public sealed record TaskCompletedEvent(DateTime Timestamp, int TaskScheduledId, string? Result)
    : HistoryEvent(-1, Timestamp)
{
    /// <inheritdoc />
    public override HistoryEventType EventType => HistoryEventType.TaskCompleted;
}

/// <summary>The activity scheduled as <see cref="TaskScheduledId"/> failed.</summary>
public sealed record TaskFailedEvent(DateTime Timestamp, int TaskScheduledId, TaskFailureDetails FailureDetails)
    : HistoryEvent(-1, Timestamp)
{
    /// <inheritdoc />
    public override HistoryEventType EventType => HistoryEventType.TaskFailed;
}

/// <summary>A sub-orchestration was started with sequence ID <see cref="HistoryEvent.EventId"/>.</summary>
public sealed record SubOrchestrationInstanceCreatedEvent(int EventId, DateTime Timestamp, string Name, string InstanceId, string? Input)
    : HistoryEvent(EventId, Timestamp)
{
    /// <inheritdoc />
    public override HistoryEventType EventType => HistoryEventType.SubOrchestrationInstanceCreated;
}

/// <summary>The sub-orchestration started as <see cref="TaskScheduledId"/> completed.</summary>
public sealed record SubOrchestrationInstanceCompletedEvent(DateTime Timestamp, int TaskScheduledId, string? Result)
    : HistoryEvent(-1, Timestamp)
{
    /// <inheritdoc />
    public override HistoryEventType EventType => HistoryEventType.SubOrchestrationInstanceCompleted;
}

/// <summary>The sub-orchestration started as <see cref="TaskScheduledId"/> failed, was terminated or could not start.</summary>
public sealed record SubOrchestrationInstanceFailedEvent(DateTime Timestamp, int TaskScheduledId, TaskFailureDetails FailureDetails)
    : HistoryEvent(-1, Timestamp)
{
    /// <inheritdoc />
    public override HistoryEventType EventType => HistoryEventType.SubOrchestrationInstanceFailed;
}

/// <summary>A durable timer was created with sequence ID <see cref="HistoryEvent.EventId"/>.</summary>
public sealed record TimerCreatedEvent(int EventId, DateTime Timestamp, DateTime FireAt)
    : HistoryEvent(EventId, Timestamp)
{
    /// <inheritdoc />
    public override HistoryEventType EventType => HistoryEventType.TimerCreated;
}

/// <summary>The timer created as <see cref="TimerId"/> fired.</summary>
public sealed record TimerFiredEvent(DateTime Timestamp, int TimerId, DateTime FireAt) : HistoryEvent(-1, Timestamp)
{
    /// <inheritdoc />
    public override HistoryEventType EventType => HistoryEventType.TimerFired;
}

/// <summary>An event was sent to instance <see cref="InstanceId"/> with sequence ID <see cref="HistoryEvent.EventId"/>.</summary>
public sealed record EventSentEvent(int EventId, DateTime Timestamp, string InstanceId, string Name, string? Input)
    : HistoryEvent(EventId, Timestamp)
{
    /// <inheritdoc />
    public override HistoryEventType EventType => HistoryEventType.EventSent;
}

/// <summary>An external event arrived.</summary>
public sealed record EventRaisedEvent(DateTime Timestamp, string Name, string? Input) : HistoryEvent(-1, Timestamp)
{
    /// <inheritdoc />
    public override HistoryEventType EventType => HistoryEventType.EventRaised;
}
