using Fleet.Durable.Storage;
using P = Microsoft.DurableTask.Protobuf;

namespace Fleet.Durable.Grpc;

/// <summary>
/// One orchestration episode handed to a worker: the request to give it, and what the backend needs to commit the
/// worker's answer. Complete or abandon it exactly once.
/// </summary>
public sealed class OrchestrationLease
{
    internal OrchestrationLease(OrchestrationWorkItem item, InstanceHistory history, P.OrchestratorRequest request, bool extendedSession)
    {
        Item = item;
        History = history;
        Request = request;
        ExtendedSession = extendedSession;
    }

    /// <summary>The instance ID.</summary>
    public string InstanceId => Item.InstanceId;

    /// <summary>The orchestrator name (from the instance's ExecutionStarted event).</summary>
    public string Name => History.Started.Name;

    /// <summary>The request to hand to the worker (past events, new events, extended-session properties).</summary>
    public P.OrchestratorRequest Request { get; }

    internal OrchestrationWorkItem Item { get; }

    internal InstanceHistory History { get; }

    internal bool ExtendedSession { get; }

    /// <summary>Set once completed or abandoned, so a second answer is refused instead of applied twice.</summary>
    internal int Settled;
}

/// <summary>One activity call handed to a worker. Complete or abandon it exactly once.</summary>
public sealed class ActivityLease
{
    internal ActivityLease(ActivityWorkItem item, P.ActivityRequest request)
    {
        Item = item;
        Request = request;
    }

    /// <summary>The activity name.</summary>
    public string Name => Item.Name;

    /// <summary>The request: name, input as the SDK's ScheduleTask action gave it, the orchestration and task ID.</summary>
    public P.ActivityRequest Request { get; }

    internal ActivityWorkItem Item { get; }

    internal int Settled;
}

/// <summary>
/// What the backend keeps of one instance between episodes: the current execution's history in the SDK's form, so the
/// next episode needs no store read, and whether a worker holds the instance in an extended session.
/// </summary>
internal sealed class InstanceHistory(string instanceId, string executionId, P.ExecutionStartedEvent started, List<P.HistoryEvent> events)
{
    public string InstanceId { get; } = instanceId;

    public string ExecutionId { get; } = executionId;

    public P.ExecutionStartedEvent Started { get; } = started;

    /// <summary>The committed history of the current execution, oldest first.</summary>
    public List<P.HistoryEvent> Events { get; } = events;

    /// <summary>Whether the last suspend/resume event seen suspended the instance.</summary>
    public bool Suspended { get; set; }

    /// <summary>Until when the worker that ran the last episode keeps the instance's state (extended session).</summary>
    public DateTimeOffset? SessionUntil { get; set; }

    public static InstanceHistory FromEvents(string instanceId, string executionId, List<P.HistoryEvent> events)
    {
        var started = events.Find(e => e.EventTypeCase == P.HistoryEvent.EventTypeOneofCase.ExecutionStarted)?.ExecutionStarted
            ?? throw new InvalidDataException($"The history of '{instanceId}' has no ExecutionStarted event.");
        var history = new InstanceHistory(instanceId, executionId, started, events);
        foreach (var e in events)
        {
            history.Observe(e);
        }

        return history;
    }

    public void Observe(P.HistoryEvent e)
    {
        if (e.EventTypeCase == P.HistoryEvent.EventTypeOneofCase.ExecutionSuspended)
        {
            Suspended = true;
        }
        else if (e.EventTypeCase == P.HistoryEvent.EventTypeOneofCase.ExecutionResumed)
        {
            Suspended = false;
        }
    }
}

/// <summary>
/// One batch of entity operations handed to a worker: the requests in the SDK's two forms (the standalone worker's
/// <see cref="Request"/>, the Functions worker's <see cref="BatchRequest"/>), and what the backend needs to commit the
/// result. Complete or abandon it exactly once.
/// </summary>
public sealed class EntityLease
{
    internal EntityLease(OrchestrationWorkItem item, InstanceRecord row, EntitySchedulerState scheduler, EntityWork work)
    {
        Item = item;
        Row = row;
        Scheduler = scheduler;
        Work = work;
        Request = new P.EntityRequest { InstanceId = item.InstanceId, ExecutionId = row.ExecutionId, EntityState = row.Output };
        Request.OperationRequests.Add(work.Operations);
        BatchRequest = new P.EntityBatchRequest { InstanceId = item.InstanceId, EntityState = row.Output };
        BatchRequest.Operations.Add(work.Operations.Select(ToOperation));
    }

    /// <summary>The entity's instance ID (<c>@name@key</c>).</summary>
    public string InstanceId => Item.InstanceId;

    /// <summary>The entity name (the part between the two '@').</summary>
    public string Name => EntityRows.NameOf(Item.InstanceId) ?? string.Empty;

    /// <summary>The request for a standalone SDK worker (the work item's <c>entityRequestV2</c>).</summary>
    public P.EntityRequest Request { get; }

    /// <summary>The request for the Functions worker's entityTrigger.</summary>
    public P.EntityBatchRequest BatchRequest { get; }

    internal OrchestrationWorkItem Item { get; }

    /// <summary>The entity's row when the batch was taken: state, version, scheduler state.</summary>
    internal InstanceRecord Row { get; }

    /// <summary>The scheduler state after the batch's requests were taken out of it.</summary>
    internal EntitySchedulerState Scheduler { get; }

    internal EntityWork Work { get; }

    internal int Settled;

    private static P.OperationRequest ToOperation(P.HistoryEvent e) => e.EventTypeCase == P.HistoryEvent.EventTypeOneofCase.EntityOperationCalled
        ? new P.OperationRequest { Operation = e.EntityOperationCalled.Operation, RequestId = e.EntityOperationCalled.RequestId, Input = e.EntityOperationCalled.Input }
        : new P.OperationRequest { Operation = e.EntityOperationSignaled.Operation, RequestId = e.EntityOperationSignaled.RequestId, Input = e.EntityOperationSignaled.Input };
}
