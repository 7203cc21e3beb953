using Fleet.Durable.Storage;
using P = Microsoft.DurableTask.Protobuf;

namespace Fleet.Durable.Grpc;

/// <summary>
/// Turns an entity batch and the worker's <see cref="P.EntityBatchResult"/> into one store transaction: the new state
/// and scheduler state with the entity's version advanced, the batch's messages consumed, a reply to every caller,
/// the signals and orchestrations the operations started, and the lock request granted (forwarded to the next entity
/// of its lock set, or answered). Operations the worker left undone go back to the head of the queue.
/// </summary>
internal static class EntityBatchCommit
{
    public static OrchestrationCommit Build(
        OrchestrationWorkItem item, InstanceRecord row, EntitySchedulerState scheduler, EntityWork work, P.EntityBatchResult? result, DateTimeOffset now, Func<string> newExecutionId)
    {
        var outgoing = new List<OutgoingMessage>();
        var started = new List<NewInstance>();
        var operations = work.Operations;
        var done = result is null ? 0 : Math.Min(result.Results.Count, operations.Count);
        for (var i = 0; i < done; i++)
        {
            if (operations[i].EntityOperationCalled is { ParentInstanceId: { } parent } call)
            {
                outgoing.Add(EntityMessages.Reply(parent, call.ParentExecutionId, Answer(call.RequestId, result!.Results[i], now)));
            }
        }

        if (done < operations.Count)
        {
            var undone = operations.Skip(done).ToList();
            if (work.LockRequest is { } pending)
            {
                undone.Add(pending);
            }

            scheduler.PutBack(undone);
        }
        else if (work.LockRequest is { } lockRequest)
        {
            Grant(scheduler, lockRequest.EntityLockRequested, now, outgoing);
        }

        IEnumerable<P.OperationAction> actions = done > 0 ? result!.Actions : [];
        foreach (var action in actions)
        {
            if (action.SendSignal is { } signal && EntityRows.IsEntity(signal.InstanceId))
            {
                var message = ProtoCodec.Event(now);
                message.EntityOperationSignaled = new P.EntityOperationSignaledEvent
                {
                    RequestId = Guid.NewGuid().ToString(),
                    Operation = signal.Name,
                    Input = signal.Input,
                    ScheduledTime = signal.ScheduledTime,
                };
                var due = signal.ScheduledTime?.ToDateTimeOffset() is { } at && at > now ? at : now;
                outgoing.Add(EntityMessages.To(signal.InstanceId, message, due));
            }
            else if (action.StartNewOrchestration is { } start && !string.IsNullOrEmpty(start.Name))
            {
                var request = new P.CreateInstanceRequest
                {
                    Name = start.Name,
                    Version = start.Version,
                    Input = start.Input,
                    ScheduledStartTimestamp = start.ScheduledTime,
                    ParentTraceContext = start.ParentTraceContext,
                    Tags = { start.Tags },
                };
                var instanceId = string.IsNullOrEmpty(start.InstanceId) ? Guid.NewGuid().ToString("N") : start.InstanceId;
                started.Add(DurableBackend.NewInstanceOf(request, instanceId, newExecutionId(), now));
            }
        }

        return new OrchestrationCommit
        {
            ExpectedExecutionId = row.ExecutionId,
            ExpectedHistoryCount = row.HistoryCount,
            ConsumedMessageIds = item.Messages.Select(m => m.Id).ToArray(),
            Instance = new InstanceUpdate
            {
                Status = InstanceStatus.Running,
                ExecutionId = row.ExecutionId,
                HistoryCount = row.HistoryCount + 1,
                StatusChanged = false,
                LastUpdatedAt = now,
                Output = done > 0 ? result!.EntityState : row.Output,
                CustomStatusChanged = true,
                CustomStatus = scheduler.Serialize(),
            },
            Messages = outgoing,
            NewInstances = started,
        };
    }

    /// <summary>A result in which every operation of the batch failed with <paramref name="failure"/>; the state is kept.</summary>
    public static P.EntityBatchResult Failed(EntityWork work, string? state, P.TaskFailureDetails failure)
    {
        var result = new P.EntityBatchResult { EntityState = state };
        result.Results.Add(work.Operations.Select(_ => new P.OperationResult { Failure = new P.OperationResultFailure { FailureDetails = failure } }));
        return result;
    }

    private static P.HistoryEvent Answer(string requestId, P.OperationResult result, DateTimeOffset now)
    {
        var reply = ProtoCodec.Event(now);
        if (result.ResultTypeCase == P.OperationResult.ResultTypeOneofCase.Failure)
        {
            reply.EntityOperationFailed = new P.EntityOperationFailedEvent
            {
                RequestId = requestId,
                FailureDetails = result.Failure.FailureDetails ?? ProtoCodec.Failure("EntityOperationFailed", "The entity operation failed without failure details."),
            };
        }
        else
        {
            reply.EntityOperationCompleted = new P.EntityOperationCompletedEvent { RequestId = requestId, Output = result.Success?.Result };
        }

        return reply;
    }

    private static void Grant(EntitySchedulerState scheduler, P.EntityLockRequestedEvent request, DateTimeOffset now, List<OutgoingMessage> outgoing)
    {
        scheduler.LockedBy = request.ParentInstanceId;
        var next = request.Position + 1;
        if (next < request.LockSet.Count)
        {
            var forward = ProtoCodec.Event(now);
            forward.EntityLockRequested = request.Clone();
            forward.EntityLockRequested.Position = next;
            outgoing.Add(EntityMessages.To(request.LockSet[next], forward, now));
        }
        else if (request.ParentInstanceId is { } parent)
        {
            var granted = ProtoCodec.Event(now);
            granted.EntityLockGranted = new P.EntityLockGrantedEvent { CriticalSectionId = request.CriticalSectionId };
            outgoing.Add(EntityMessages.Reply(parent, null, granted));
        }
    }
}
