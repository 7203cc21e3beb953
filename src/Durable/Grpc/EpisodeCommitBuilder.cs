using Fleet.Durable.Storage;
using Google.Protobuf.Collections;
using P = Microsoft.DurableTask.Protobuf;

namespace Fleet.Durable.Grpc;

/// <summary>What one episode commits, and what the backend remembers of it afterwards.</summary>
/// <param name="Commit">The store transaction.</param>
/// <param name="NewHistory">The events appended to the current execution's history.</param>
/// <param name="Status">The instance's status after the episode.</param>
/// <param name="Failure">The failure, when the instance failed.</param>
internal sealed record EpisodeOutcome(OrchestrationCommit Commit, List<P.HistoryEvent> NewHistory, InstanceStatus Status, P.TaskFailureDetails? Failure)
{
    public bool ContinuedAsNew => Commit.ReplaceHistory;
}

/// <summary>
/// Turns a worker's <see cref="P.OrchestratorResponse"/> into one store transaction: the episode's events and one
/// history event per action (so the next replay matches them by sequence ID), activities to run, timers, events and
/// terminations for other instances, sub-orchestrations, the parent's notification, and the next execution's start
/// message with the carried-over events for ContinueAsNew.
/// </summary>
internal static class EpisodeCommitBuilder
{
    /// <summary>
    /// The error type of a sub-orchestration start refused because its ID is taken: DurableTask.Core's exception, which
    /// the SDK's worker loads, so <c>TaskFailureDetails.IsCausedBy&lt;OrchestrationAlreadyExistsException&gt;()</c> holds.
    /// </summary>
    public const string SubOrchestrationIdTakenErrorType = "DurableTask.Core.Exceptions.OrchestrationAlreadyExistsException";

    /// <summary>DurableTask.Core's <c>OrchestrationTags.FireAndForget</c>: marks a sub-orchestration whose parent does not wait, and is not inherited.</summary>
    private const string FireAndForgetTag = "FireAndForget";

    public static EpisodeOutcome Build(OrchestrationLease lease, P.OrchestratorResponse response, DateTimeOffset now, Func<string> newExecutionId)
    {
        var history = lease.History;
        var newHistory = new List<P.HistoryEvent>(lease.Request.NewEvents.Count + response.Actions.Count + 2);
        newHistory.AddRange(lease.Request.NewEvents);
        var activities = new List<NewActivity>();
        var outgoing = new List<OutgoingMessage>();
        var children = new List<NewSubOrchestration>();
        P.CompleteOrchestrationAction? completion = null;
        var suspended = history.Suspended;
        var recursiveTerminate = false;
        foreach (var e in lease.Request.NewEvents)
        {
            if (e.EventTypeCase == P.HistoryEvent.EventTypeOneofCase.ExecutionSuspended)
            {
                suspended = true;
            }
            else if (e.EventTypeCase == P.HistoryEvent.EventTypeOneofCase.ExecutionResumed)
            {
                suspended = false;
            }
            else if (e.EventTypeCase == P.HistoryEvent.EventTypeOneofCase.ExecutionTerminated && e.ExecutionTerminated.Recurse)
            {
                recursiveTerminate = true;
            }
        }

        foreach (var action in response.Actions)
        {
            switch (action.OrchestratorActionTypeCase)
            {
                case P.OrchestratorAction.OrchestratorActionTypeOneofCase.ScheduleTask:
                    var task = action.ScheduleTask;
                    var scheduled = ProtoCodec.Event(now, action.Id);
                    scheduled.TaskScheduled = new P.TaskScheduledEvent { Name = task.Name, Version = task.Version, Input = task.Input, Tags = { task.Tags } };
                    newHistory.Add(scheduled);
                    activities.Add(new NewActivity(action.Id, task.Name, task.Input));
                    break;
                case P.OrchestratorAction.OrchestratorActionTypeOneofCase.CreateTimer:
                    var fireAt = action.CreateTimer.FireAt;
                    var created = ProtoCodec.Event(now, action.Id);
                    created.TimerCreated = new P.TimerCreatedEvent { FireAt = fireAt };
                    newHistory.Add(created);
                    var fired = new P.HistoryEvent { EventId = -1, Timestamp = fireAt, TimerFired = new P.TimerFiredEvent { FireAt = fireAt, TimerId = action.Id } };
                    outgoing.Add(new OutgoingMessage(history.InstanceId, history.ExecutionId, ProtoCodec.Encode(fired), fireAt.ToDateTimeOffset(), OnlyIfRunning: false));
                    break;
                case P.OrchestratorAction.OrchestratorActionTypeOneofCase.CreateSubOrchestration:
                    children.Add(SubOrchestration(history, action.Id, action.CreateSubOrchestration, now, newExecutionId(), newHistory));
                    break;
                case P.OrchestratorAction.OrchestratorActionTypeOneofCase.SendEvent:
                    var send = action.SendEvent;
                    var sent = ProtoCodec.Event(now, action.Id);
                    sent.EventSent = new P.EventSentEvent { InstanceId = send.Instance.InstanceId, Name = send.Name, Input = send.Data };
                    newHistory.Add(sent);
                    if (EntityRows.IsEntity(send.Instance.InstanceId))
                    {
                        // An entity request in DurableTask.Core's form (the worker does not convert entity events).
                        outgoing.Add(EntityMessages.FromLegacy(send, history.InstanceId, history.ExecutionId, now));
                        break;
                    }

                    var raised = ProtoCodec.Event(now);
                    raised.EventRaised = new P.EventRaisedEvent { Name = send.Name, Input = send.Data };
                    outgoing.Add(new OutgoingMessage(send.Instance.InstanceId, null, ProtoCodec.Encode(raised), now, OnlyIfRunning: true));
                    break;
                case P.OrchestratorAction.OrchestratorActionTypeOneofCase.SendEntityMessage:
                    var (recorded, entityMessage) = EntityMessages.FromAction(action, history.InstanceId, history.ExecutionId, now);
                    newHistory.Add(recorded);
                    outgoing.Add(entityMessage);
                    break;
                case P.OrchestratorAction.OrchestratorActionTypeOneofCase.TerminateOrchestration:
                    var terminate = action.TerminateOrchestration;
                    var terminated = ProtoCodec.Event(now);
                    terminated.ExecutionTerminated = new P.ExecutionTerminatedEvent { Input = terminate.Reason, Recurse = terminate.Recurse };
                    outgoing.Add(new OutgoingMessage(terminate.InstanceId, null, ProtoCodec.Encode(terminated), now, OnlyIfRunning: true));
                    break;
                case P.OrchestratorAction.OrchestratorActionTypeOneofCase.CompleteOrchestration:
                    completion = action.CompleteOrchestration;
                    break;
                default:
                    throw new InvalidDataException($"The worker returned an action the backend does not support ({action.OrchestratorActionTypeCase}) for '{history.InstanceId}'.");
            }
        }

        newHistory.Add(new P.HistoryEvent { EventId = -1, Timestamp = ProtoCodec.Time(now), OrchestratorCompleted = new P.OrchestratorCompletedEvent() });
        var status = suspended ? InstanceStatus.Suspended : InstanceStatus.Running;
        var statusBefore = history.Events.Count == 0 ? InstanceStatus.Pending
            : history.Suspended ? InstanceStatus.Suspended : InstanceStatus.Running;
        var update = new InstanceUpdate
        {
            Status = status,
            ExecutionId = history.ExecutionId,
            HistoryCount = history.Events.Count + newHistory.Count,
            LastUpdatedAt = now,
            CustomStatusChanged = true,
            CustomStatus = response.CustomStatus,
        };
        P.TaskFailureDetails? failure = null;
        var replaceHistory = false;
        if (completion is not null && completion.OrchestrationStatus == P.OrchestrationStatus.ContinuedAsNew)
        {
            var executionId = newExecutionId();
            var start = ProtoCodec.Event(now);
            start.ExecutionStarted = history.Started.Clone();
            start.ExecutionStarted.Input = completion.Result;
            start.ExecutionStarted.OrchestrationInstance = new P.OrchestrationInstance { InstanceId = history.InstanceId, ExecutionId = executionId };
            start.ExecutionStarted.ScheduledStartTimestamp = null;
            if (completion.NewVersion is { } version)
            {
                start.ExecutionStarted.Version = version;
            }

            outgoing.Add(new OutgoingMessage(history.InstanceId, executionId, ProtoCodec.Encode(start), now, OnlyIfRunning: false));
            foreach (var carried in completion.CarryoverEvents)
            {
                outgoing.Add(new OutgoingMessage(history.InstanceId, executionId, ProtoCodec.Encode(carried), now, OnlyIfRunning: false));
            }

            // Timers of the finished execution are dropped with it; activities it scheduled still run but their
            // results are addressed to the old execution and discarded.
            outgoing.RemoveAll(m => m.InstanceId == history.InstanceId && m.TargetExecutionId == history.ExecutionId);
            update = update with { Status = InstanceStatus.Running, ExecutionId = executionId, HistoryCount = 0, InputChanged = true, Input = completion.Result };
            replaceHistory = true;
            newHistory.Clear();
        }
        else if (completion is not null)
        {
            status = ProtoCodec.FromProto(completion.OrchestrationStatus);
            if (!status.IsTerminal())
            {
                throw new InvalidDataException($"The worker completed '{history.InstanceId}' with status {completion.OrchestrationStatus}, which is not a final status.");
            }

            failure = status == InstanceStatus.Failed
                ? completion.FailureDetails ?? ProtoCodec.Failure("OrchestrationFailed", completion.Details ?? "The orchestration failed without failure details.")
                : null;
            var completed = ProtoCodec.Event(now);
            completed.ExecutionCompleted = new P.ExecutionCompletedEvent { OrchestrationStatus = completion.OrchestrationStatus, Result = completion.Result, FailureDetails = failure };
            newHistory.Insert(newHistory.Count - 1, completed);
            outgoing.RemoveAll(m => m.InstanceId == history.InstanceId && m.TargetExecutionId == history.ExecutionId);
            update = update with
            {
                Status = status,
                HistoryCount = history.Events.Count + newHistory.Count,
                CompletedAt = now,
                Output = completion.Result,
                FailureDetails = failure is null ? null : ProtoCodec.Encode(failure),
            };
            NotifyParent(history.Started, status, completion, failure, now, outgoing);
            if (status == InstanceStatus.Terminated)
            {
                outgoing.AddRange(EntityMessages.ReleasesAfterTermination(history.Events.Concat(newHistory), history.InstanceId, now));
            }
        }

        var commit = new OrchestrationCommit
        {
            ExpectedExecutionId = history.ExecutionId,
            ExpectedHistoryCount = history.Events.Count,
            NewHistory = newHistory.ConvertAll(ProtoCodec.Encode),
            ReplaceHistory = replaceHistory,
            ConsumedMessageIds = lease.Item.Messages.Select(m => m.Id).ToArray(),
            Instance = update with { StatusChanged = update.Status != statusBefore },
            Activities = activities,
            Messages = outgoing,
            SubOrchestrations = children,
            MessageToRunningChildren = recursiveTerminate && status == InstanceStatus.Terminated
                ? ProtoCodec.Encode(TerminateEvent(now, completion?.Result, recurse: true))
                : null,
        };
        return new EpisodeOutcome(commit, newHistory, update.Status, failure);
    }

    public static P.HistoryEvent TerminateEvent(DateTimeOffset now, string? output, bool recurse)
    {
        var e = ProtoCodec.Event(now);
        e.ExecutionTerminated = new P.ExecutionTerminatedEvent { Input = output, Recurse = recurse };
        return e;
    }

    /// <summary>Tells the parent of a sub-orchestration how it ended (its own commit drops it if the parent moved on).</summary>
    public static void NotifyParent(P.ExecutionStartedEvent started, InstanceStatus status, P.CompleteOrchestrationAction? completion, P.TaskFailureDetails? failure, DateTimeOffset now, List<OutgoingMessage> outgoing)
    {
        if (started.ParentInstance is not { } parent)
        {
            return;
        }

        var notice = ProtoCodec.Event(now);
        if (status == InstanceStatus.Completed)
        {
            notice.SubOrchestrationInstanceCompleted = new P.SubOrchestrationInstanceCompletedEvent { TaskScheduledId = parent.TaskScheduledId, Result = completion?.Result };
        }
        else
        {
            notice.SubOrchestrationInstanceFailed = new P.SubOrchestrationInstanceFailedEvent
            {
                TaskScheduledId = parent.TaskScheduledId,
                FailureDetails = failure ?? ProtoCodec.Failure("OrchestrationTerminated", $"Sub-orchestration '{started.OrchestrationInstance.InstanceId}' was terminated: {completion?.Result}"),
            };
        }

        outgoing.Add(new OutgoingMessage(parent.OrchestrationInstance.InstanceId, parent.OrchestrationInstance.ExecutionId, ProtoCodec.Encode(notice), now, OnlyIfRunning: true));
    }

    /// <summary>
    /// A sub-orchestration's tags as DurableTask.Core's dispatcher (behind Azure's Durable extension) gives them: the
    /// parent's, overridden by those the action names, without the parent's fire-and-forget marker.
    /// </summary>
    private static MapField<string, string> SubOrchestrationTags(MapField<string, string> parent, MapField<string, string> own)
    {
        var tags = own.Clone();
        foreach (var (key, value) in parent)
        {
            if (key != FireAndForgetTag && !tags.ContainsKey(key))
            {
                tags.Add(key, value);
            }
        }

        return tags;
    }

    private static NewSubOrchestration SubOrchestration(InstanceHistory history, int id, P.CreateSubOrchestrationAction child, DateTimeOffset now, string executionId, List<P.HistoryEvent> newHistory)
    {
        var tags = SubOrchestrationTags(history.Started.Tags, child.Tags);
        var created = ProtoCodec.Event(now, id);
        created.SubOrchestrationInstanceCreated = new P.SubOrchestrationInstanceCreatedEvent
        {
            InstanceId = child.InstanceId,
            Name = child.Name,
            Version = child.Version,
            Input = child.Input,
            Tags = { tags },
        };
        newHistory.Add(created);
        var start = ProtoCodec.Event(now);
        start.ExecutionStarted = new P.ExecutionStartedEvent
        {
            Name = child.Name,
            Version = child.Version,
            Input = child.Input,
            OrchestrationInstance = new P.OrchestrationInstance { InstanceId = child.InstanceId, ExecutionId = executionId },
            ParentInstance = new P.ParentInstanceInfo
            {
                TaskScheduledId = id,
                Name = history.Started.Name,
                Version = history.Started.Version,
                OrchestrationInstance = new P.OrchestrationInstance { InstanceId = history.InstanceId, ExecutionId = history.ExecutionId },
            },
            ParentTraceContext = child.ParentTraceContext,
            Tags = { tags },
        };
        var conflict = ProtoCodec.Event(now);
        conflict.SubOrchestrationInstanceFailed = new P.SubOrchestrationInstanceFailedEvent
        {
            TaskScheduledId = id,
            FailureDetails = ProtoCodec.Failure(SubOrchestrationIdTakenErrorType, $"A sub-orchestration with instance ID '{child.InstanceId}' is already running."),
        };
        return new NewSubOrchestration(
            new NewInstance(child.InstanceId, executionId, child.Name, child.Version, child.Input, now, now, ProtoCodec.Encode(start), history.InstanceId, ProtoCodec.EncodeTags(tags)),
            ProtoCodec.Encode(conflict));
    }
}
