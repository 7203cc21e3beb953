using Fleet.Durable.Storage;
using P = Microsoft.DurableTask.Protobuf;

namespace Fleet.Durable.Grpc;

/// <summary>
/// Rewind of a failed orchestration, done by the backend as Durable Task's own dispatcher does it (the worker only
/// replays): the history loses the failed activities (their TaskScheduled and TaskFailed events), the failures of
/// sub-orchestrations and the completion; the instance runs again under a new execution ID, so the replay schedules
/// the failed activities anew. Failed sub-orchestrations are rewound the same way, recursively, and report to the
/// parent's new execution when they complete.
/// </summary>
public sealed partial class DurableBackend
{
    /// <summary>Asks a failed instance to rewind (the work happens on the dispatch path).</summary>
    /// <exception cref="SidecarRequestException">The instance does not exist, or it has not failed.</exception>
    public async Task RewindInstanceAsync(string instanceId, string? reason, CancellationToken ct)
    {
        ArgumentException.ThrowIfNullOrEmpty(instanceId);
        await StartAsync(ct).ConfigureAwait(false);
        var now = _time.GetUtcNow();
        var request = ProtoCodec.Event(now);
        request.ExecutionRewound = new P.ExecutionRewoundEvent { Reason = reason };
        if (await _store.EnqueueForFailedInstanceAsync(instanceId, ProtoCodec.Encode(request), now, ct).ConfigureAwait(false))
        {
            _logger.RewindRequested(instanceId, reason ?? string.Empty);
            return;
        }

        var existing = await _store.GetInstanceAsync(instanceId, includePayloads: false, ct).ConfigureAwait(false);
        throw existing is null || instanceId.StartsWith('@')
            ? new SidecarRequestException(SidecarRefusal.NotFound, $"No orchestration instance with ID '{instanceId}' exists in hub '{HubName}'.")
            : new SidecarRequestException(SidecarRefusal.FailedPrecondition, $"Instance '{instanceId}' is {existing.Status}; only a failed orchestration can be rewound.");
    }

    /// <summary>
    /// Applies a rewind request found among a work item's messages when the instance is still Failed (true: the item
    /// is settled). For an instance that runs again, a rewind message is an ordinary event the worker ignores (false).
    /// </summary>
    private async Task<bool> TryRewindAsync(OrchestrationWorkItem item, P.ExecutionRewoundEvent rewound)
    {
        var state = await _store.LoadInstanceStateAsync(item.InstanceId, CancellationToken.None).ConfigureAwait(false);
        if (state is null || state.Instance.Status != InstanceStatus.Failed)
        {
            return false;
        }

        _cache.Remove(item.InstanceId);
        var now = _time.GetUtcNow();
        var executionId = NewExecutionId();
        var history = new List<P.HistoryEvent>(state.History.Count + 2);
        var outgoing = new List<OutgoingMessage>();
        var events = state.History.Select(data => ProtoCodec.DecodeEvent(data, $"A history event of '{item.InstanceId}'")).ToList();
        var failedTasks = events
            .Select(e => e.TaskFailed?.TaskScheduledId ?? e.SubOrchestrationInstanceFailed?.TaskScheduledId)
            .OfType<int>()
            .ToHashSet();
        foreach (var e in events)
        {
            switch (e.EventTypeCase)
            {
                case P.HistoryEvent.EventTypeOneofCase.TaskScheduled when failedTasks.Contains(e.EventId):
                case P.HistoryEvent.EventTypeOneofCase.TaskFailed:
                case P.HistoryEvent.EventTypeOneofCase.SubOrchestrationInstanceFailed:
                case P.HistoryEvent.EventTypeOneofCase.ExecutionCompleted:
                    continue;
                case P.HistoryEvent.EventTypeOneofCase.ExecutionStarted:
                    var started = e.Clone();
                    started.ExecutionStarted.OrchestrationInstance.ExecutionId = executionId;
                    if (rewound.ParentExecutionId is { } parentExecution && started.ExecutionStarted.ParentInstance is { } parent)
                    {
                        parent.OrchestrationInstance.ExecutionId = parentExecution;
                    }

                    history.Add(started);
                    continue;
                case P.HistoryEvent.EventTypeOneofCase.SubOrchestrationInstanceCreated when failedTasks.Contains(e.EventId):
                    var child = e.SubOrchestrationInstanceCreated.InstanceId;
                    outgoing.Add(new OutgoingMessage(child, null, ProtoCodec.Encode(RewindEvent(now, rewound.Reason, executionId, child)), now, OnlyIfRunning: false));
                    break;
            }

            history.Add(e);
        }

        history.Add(OrchestratorStarted(now));
        history.Add(RewindEvent(now, rewound.Reason, rewound.ParentExecutionId, rewound.InstanceId));
        if (outgoing.Count == 0)
        {
            // No child to wait for: a message to the new execution runs its first episode, which reschedules the failed
            // activities (the worker ignores the rewind event itself).
            outgoing.Add(new OutgoingMessage(item.InstanceId, executionId, ProtoCodec.Encode(RewindEvent(now, rewound.Reason, null, null)), now, OnlyIfRunning: false));
        }

        var commit = new OrchestrationCommit
        {
            ExpectedExecutionId = state.Instance.ExecutionId,
            ExpectedHistoryCount = state.Instance.HistoryCount,
            ReplaceHistory = true,
            NewHistory = history.ConvertAll(ProtoCodec.Encode),
            ConsumedMessageIds = item.Messages.Select(m => m.Id).ToArray(),
            Instance = new InstanceUpdate
            {
                Status = InstanceStatus.Running,
                ExecutionId = executionId,
                HistoryCount = history.Count,
                LastUpdatedAt = now,
            },
            Messages = outgoing,
        };
        if (await _store.CommitOrchestrationAsync(item, commit, CancellationToken.None).ConfigureAwait(false))
        {
            var children = outgoing.Count(m => m.InstanceId != item.InstanceId);
            _logger.Rewound(item.InstanceId, failedTasks.Count, children);
        }
        else
        {
            await _store.AbandonOrchestrationAsync(item, TimeSpan.Zero, countAttempt: false, CancellationToken.None).ConfigureAwait(false);
        }

        return true;
    }

    private static P.HistoryEvent RewindEvent(DateTimeOffset now, string? reason, string? parentExecutionId, string? instanceId)
    {
        var e = ProtoCodec.Event(now);
        e.ExecutionRewound = new P.ExecutionRewoundEvent { Reason = reason, ParentExecutionId = parentExecutionId, InstanceId = instanceId };
        return e;
    }
}
