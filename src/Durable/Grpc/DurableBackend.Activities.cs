using Fleet.Durable.Storage;
using P = Microsoft.DurableTask.Protobuf;

namespace Fleet.Durable.Grpc;

/// <summary>Activity work: lock, complete (the result goes to the orchestration in the same transaction), abandon.</summary>
public sealed partial class DurableBackend
{
    /// <summary>Waits for and locks the next activity call.</summary>
    public async Task<ActivityLease> LockNextActivityAsync(CancellationToken ct)
    {
        await StartAsync(ct).ConfigureAwait(false);
        while (true)
        {
            var item = await _store.LockNextActivityAsync(ct).ConfigureAwait(false);
            if (item.Attempts >= _options.MessageAttemptLimit)
            {
                _logger.PoisonActivity(item.Name, item.InstanceId, item.TaskId, item.Attempts);
                var failure = ProtoCodec.Failure("PoisonMessage", $"Activity '{item.Name}' was attempted {item.Attempts} times without its result being recorded (setting DurableTask:MessageAttemptLimit = {_options.MessageAttemptLimit}); the worker may have crashed while running it.");
                await CompleteActivityCoreAsync(item, new P.ActivityResponse { TaskId = item.TaskId, FailureDetails = failure }).ConfigureAwait(false);
                continue;
            }

            var request = new P.ActivityRequest
            {
                Name = item.Name,
                Input = item.Input,
                TaskId = item.TaskId,
                OrchestrationInstance = new P.OrchestrationInstance { InstanceId = item.InstanceId, ExecutionId = item.ExecutionId },
            };
            var lease = new ActivityLease(item, request);
            _activities[lease] = 0;
            return lease;
        }
    }

    /// <summary>Records the activity's result (JSON text) or failure for its orchestration; at most once per call.</summary>
    public async Task CompleteActivityAsync(ActivityLease lease, P.ActivityResponse response, CancellationToken ct)
    {
        ArgumentNullException.ThrowIfNull(lease);
        ArgumentNullException.ThrowIfNull(response);
        Settle(ref lease.Settled, lease.Item.InstanceId);
        _activities.TryRemove(lease, out _);
        try
        {
            await CompleteActivityCoreAsync(lease.Item, response).ConfigureAwait(false);
        }
        catch (Exception ex)
        {
            await ReleaseActivityAsync(lease.Item, ex).ConfigureAwait(false);
            throw;
        }
    }

    /// <summary>Gives an activity back; it runs again after a delay (counted as an attempt).</summary>
    public Task AbandonActivityAsync(ActivityLease lease, Exception? reason, CancellationToken ct)
    {
        ArgumentNullException.ThrowIfNull(lease);
        Settle(ref lease.Settled, lease.Item.InstanceId);
        _activities.TryRemove(lease, out _);
        return ReleaseActivityAsync(lease.Item, reason ?? new InvalidOperationException("The worker abandoned the activity."));
    }

    private Task CompleteActivityCoreAsync(ActivityWorkItem item, P.ActivityResponse response)
    {
        var result = ProtoCodec.Event(_time.GetUtcNow());
        if (response.FailureDetails is { } failure)
        {
            result.TaskFailed = new P.TaskFailedEvent { TaskScheduledId = item.TaskId, FailureDetails = failure };
        }
        else
        {
            result.TaskCompleted = new P.TaskCompletedEvent { TaskScheduledId = item.TaskId, Result = response.Result };
        }

        return _store.CompleteActivityAsync(item, ProtoCodec.Encode(result), CancellationToken.None);
    }

    private async Task ReleaseActivityAsync(ActivityWorkItem item, Exception reason)
    {
        var attempt = item.Attempts + 1;
        _logger.ActivityReleased(reason, item.Name, item.InstanceId, attempt, _options.MessageAttemptLimit);
        try
        {
            await _store.AbandonActivityAsync(item, RetryDelay(attempt), countAttempt: true, CancellationToken.None).ConfigureAwait(false);
        }
        catch (Exception)
        {
            // The store itself fails: the lock expires and the activity is handed out again.
        }
    }
}
