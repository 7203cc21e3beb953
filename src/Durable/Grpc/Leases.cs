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
