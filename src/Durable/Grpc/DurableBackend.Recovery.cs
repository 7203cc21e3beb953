using Fleet.Durable.Storage;
using P = Microsoft.DurableTask.Protobuf;

namespace Fleet.Durable.Grpc;

/// <summary>What the backend does when an episode cannot run normally: retries, poison, discard, early termination, lock renewal.</summary>
public sealed partial class DurableBackend
{
    private static TimeSpan RetryDelay(int attempt) => TimeSpan.FromSeconds(Math.Min(30, attempt));

    /// <summary>Hands the messages out again later, or fails the instance once they have failed as often as allowed.</summary>
    private async Task HandleFailedEpisodeAsync(OrchestrationWorkItem item, Exception error)
    {
        _cache.Remove(item.InstanceId);
        _forceLoad[item.InstanceId] = 0;
        var attempt = item.Attempts + 1;
        try
        {
            if (attempt < _options.MessageAttemptLimit)
            {
                _logger.EpisodeFailed(error, item.InstanceId, attempt, _options.MessageAttemptLimit);
                await _store.AbandonOrchestrationAsync(item, RetryDelay(attempt), countAttempt: true, CancellationToken.None).ConfigureAwait(false);
                return;
            }

            var reason = $"Messages for this instance failed to be processed {attempt} times (setting DurableTask:MessageAttemptLimit = {_options.MessageAttemptLimit}); last error: {error.GetType().FullName}: {error.Message}";
            _logger.PoisonOrchestration(item.InstanceId, attempt, reason);
            await FailInstanceAsync(item, "PoisonMessage", reason).ConfigureAwait(false);
        }
        catch (Exception ex)
        {
            // The store itself fails (unreachable): the lock expires and the messages are handed out again.
            _logger.EpisodeFailed(ex, item.InstanceId, attempt, _options.MessageAttemptLimit);
        }
    }

    /// <summary>Fails the instance with <paramref name="reason"/> (or discards messages of a finished one), telling its parent.</summary>
    private async Task FailInstanceAsync(OrchestrationWorkItem item, string errorType, string reason)
    {
        var state = await _store.LoadInstanceStateAsync(item.InstanceId, CancellationToken.None).ConfigureAwait(false);
        if (state is null || state.Instance.Status.IsTerminal())
        {
            await DiscardAsync(item).ConfigureAwait(false);
            return;
        }

        var now = _time.GetUtcNow();
        var failure = ProtoCodec.Failure(errorType, reason);
        var completed = ProtoCodec.Event(now);
        completed.ExecutionCompleted = new P.ExecutionCompletedEvent { OrchestrationStatus = P.OrchestrationStatus.Failed, FailureDetails = failure };
        var history = new[] { OrchestratorStarted(now), completed };
        var outgoing = new List<OutgoingMessage>();
        if (FindStart(state.History.Concat(item.Messages.Select(m => m.Data))) is { } started)
        {
            EpisodeCommitBuilder.NotifyParent(started, InstanceStatus.Failed, null, failure, now, outgoing);
        }

        var commit = new OrchestrationCommit
        {
            ExpectedExecutionId = state.Instance.ExecutionId,
            ExpectedHistoryCount = state.Instance.HistoryCount,
            NewHistory = Array.ConvertAll(history, ProtoCodec.Encode),
            ConsumedMessageIds = item.Messages.Select(m => m.Id).ToArray(),
            Instance = new InstanceUpdate
            {
                Status = InstanceStatus.Failed,
                ExecutionId = state.Instance.ExecutionId,
                HistoryCount = state.Instance.HistoryCount + history.Length,
                LastUpdatedAt = now,
                CompletedAt = now,
                FailureDetails = ProtoCodec.Encode(failure),
            },
            Messages = outgoing,
        };
        if (!await _store.CommitOrchestrationAsync(item, commit, CancellationToken.None).ConfigureAwait(false))
        {
            await _store.AbandonOrchestrationAsync(item, TimeSpan.Zero, countAttempt: false, CancellationToken.None).ConfigureAwait(false);
        }
    }

    private static P.ExecutionStartedEvent? FindStart(IEnumerable<string> data)
    {
        foreach (var text in data)
        {
            try
            {
                if (ProtoCodec.DecodeEvent(text, "event").ExecutionStarted is { } started)
                {
                    return started;
                }
            }
            catch (InvalidDataException)
            {
                // An unreadable event cannot name the parent; the instance is failed on its own terms.
            }
        }

        return null;
    }

    private static P.HistoryEvent OrchestratorStarted(DateTimeOffset now) =>
        new() { EventId = -1, Timestamp = ProtoCodec.Time(now), OrchestratorStarted = new P.OrchestratorStartedEvent() };

    private Task DiscardAsync(OrchestrationWorkItem item) =>
        _store.CommitOrchestrationAsync(
            item,
            new OrchestrationCommit { ExpectedExecutionId = string.Empty, ExpectedHistoryCount = 0, ConsumedMessageIds = item.Messages.Select(m => m.Id).ToArray() },
            CancellationToken.None);

    /// <summary>Terminates an instance whose scheduled start is not due yet; no worker is involved.</summary>
    private async Task TerminateBeforeStartAsync(OrchestrationWorkItem item, InstanceRecord record, P.HistoryEvent terminate)
    {
        var now = _time.GetUtcNow();
        var completed = ProtoCodec.Event(now);
        completed.ExecutionCompleted = new P.ExecutionCompletedEvent { OrchestrationStatus = P.OrchestrationStatus.Terminated, Result = terminate.ExecutionTerminated.Input };
        var history = new[] { OrchestratorStarted(now), terminate, completed };
        var commit = new OrchestrationCommit
        {
            ExpectedExecutionId = record.ExecutionId,
            ExpectedHistoryCount = 0,
            NewHistory = Array.ConvertAll(history, ProtoCodec.Encode),
            ConsumedMessageIds = item.Messages.Select(m => m.Id).ToArray(),
            Instance = new InstanceUpdate
            {
                Status = InstanceStatus.Terminated,
                ExecutionId = record.ExecutionId,
                HistoryCount = history.Length,
                LastUpdatedAt = now,
                CompletedAt = now,
                Output = terminate.ExecutionTerminated.Input,
            },
        };
        if (!await _store.CommitOrchestrationAsync(item, commit, CancellationToken.None).ConfigureAwait(false))
        {
            await _store.AbandonOrchestrationAsync(item, TimeSpan.Zero, countAttempt: false, CancellationToken.None).ConfigureAwait(false);
        }
    }

    /// <summary>
    /// Renews the locks of all leases handed out and not yet settled every half lock timeout, so a slow worker keeps its
    /// work instead of it being handed to a second one; a worker that died stops being renewed only when its consumer
    /// abandons the lease, and otherwise its lock expires.
    /// </summary>
    private async Task RenewLocksAsync(CancellationToken stop)
    {
        using var timer = new PeriodicTimer(_options.LockTimeout / 2, _time);
        try
        {
            while (await timer.WaitForNextTickAsync(stop).ConfigureAwait(false))
            {
                foreach (var lease in _episodes.Keys)
                {
                    await RenewAsync(lease.InstanceId, () => _store.RenewOrchestrationLockAsync(lease.Item, stop), stop).ConfigureAwait(false);
                }

                foreach (var lease in _activities.Keys)
                {
                    await RenewAsync(lease.Item.InstanceId, () => _store.RenewActivityLockAsync(lease.Item, stop), stop).ConfigureAwait(false);
                }

                foreach (var item in _entityBatches.Keys.Select(l => l.Item).Concat(_router.Passed))
                {
                    await RenewAsync(item.InstanceId, () => _store.RenewOrchestrationLockAsync(item, stop), stop).ConfigureAwait(false);
                }
            }
        }
        catch (OperationCanceledException) when (stop.IsCancellationRequested)
        {
            // The backend was disposed.
        }
    }

    private async Task RenewAsync(string instanceId, Func<Task<bool>> renew, CancellationToken stop)
    {
        try
        {
            await renew().ConfigureAwait(false);
        }
        catch (Exception ex) when (!stop.IsCancellationRequested)
        {
            // Best effort: if renewal keeps failing the lock expires and the commit's version check keeps the instance consistent.
            _logger.LockRenewalFailed(ex, instanceId);
        }
    }
}
