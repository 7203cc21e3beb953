using Fleet.Durable.Storage;
using P = Microsoft.DurableTask.Protobuf;

namespace Fleet.Durable.Grpc;

/// <summary>
/// Entity work: one batch at a time per entity (the instance lock), the requests taken in order by the scheduler,
/// the worker's result committed in one transaction that also consumes the batch's messages, so a batch is applied
/// once or, when the worker fails or dies, not at all and handed out again. Batches that need no worker (lock
/// requests and releases only) are committed here directly.
/// </summary>
public sealed partial class DurableBackend
{
    /// <summary>Waits for and locks the next entity batch that has operations for a worker to run.</summary>
    public Task<EntityLease> LockNextEntityAsync(CancellationToken ct) =>
        LockNextAsync(entities: true, PrepareEntityBatchAsync, ReleaseEntityBatchAsync, _entityBatches, ct);

    /// <summary>
    /// Commits the worker's result of a batch. A result that reports a failure of the worker itself (not of an
    /// operation) applies nothing: the batch runs again.
    /// </summary>
    /// <exception cref="InvalidOperationException">The lease was already completed or abandoned.</exception>
    public async Task CompleteEntityAsync(EntityLease lease, P.EntityBatchResult result, CancellationToken ct)
    {
        ArgumentNullException.ThrowIfNull(lease);
        ArgumentNullException.ThrowIfNull(result);
        Settle(ref lease.Settled, lease.InstanceId);
        _entityBatches.TryRemove(lease, out _);
        if (result.FailureDetails is { } failure)
        {
            await ReleaseEntityBatchAsync(lease.Item, new InvalidOperationException($"The worker failed the batch: {failure.ErrorType}: {failure.ErrorMessage}")).ConfigureAwait(false);
            return;
        }

        if (result.RequiresState)
        {
            await _store.AbandonOrchestrationAsync(lease.Item, TimeSpan.Zero, countAttempt: false, CancellationToken.None).ConfigureAwait(false);
            return;
        }

        try
        {
            await CommitEntityBatchAsync(lease.Item, lease.Row, lease.Scheduler, lease.Work, result).ConfigureAwait(false);
        }
        catch (Exception ex)
        {
            await ReleaseEntityBatchAsync(lease.Item, ex).ConfigureAwait(false);
            throw;
        }
    }

    /// <summary>Completes a batch whose every operation failed with <paramref name="failure"/> (the entity's function is unknown, or it cannot run).</summary>
    public Task FailEntityBatchAsync(EntityLease lease, P.TaskFailureDetails failure, CancellationToken ct)
    {
        ArgumentNullException.ThrowIfNull(lease);
        return CompleteEntityAsync(lease, EntityBatchCommit.Failed(lease.Work, lease.Row.Output, failure), ct);
    }

    /// <summary>Gives a batch back without applying anything; it runs again after a delay (counted as an attempt).</summary>
    public async Task AbandonEntityAsync(EntityLease lease, Exception? reason, CancellationToken ct)
    {
        ArgumentNullException.ThrowIfNull(lease);
        Settle(ref lease.Settled, lease.InstanceId);
        _entityBatches.TryRemove(lease, out _);
        await ReleaseEntityBatchAsync(lease.Item, reason ?? new InvalidOperationException("The worker abandoned the entity batch.")).ConfigureAwait(false);
    }

    private async Task<EntityLease?> PrepareEntityBatchAsync(OrchestrationWorkItem item)
    {
        var row = await _store.GetInstanceAsync(item.InstanceId, includePayloads: true, CancellationToken.None).ConfigureAwait(false);
        if (row is null || row.ExecutionId != EntityRows.ExecutionId)
        {
            _logger.EntityMessagesDropped(item.InstanceId, item.Messages.Count, "the entity has no row in the store");
            await DiscardAsync(item).ConfigureAwait(false);
            return null;
        }

        var poisoned = item.Attempts >= _options.MessageAttemptLimit;
        var scheduler = EntitySchedulerState.Parse(row.CustomStatus, item.InstanceId);
        var work = scheduler.TakeWork(DecodeEntityMessages(item, dropUnreadable: poisoned));
        if (work.Operations.Count == 0)
        {
            await CommitEntityBatchAsync(item, row, scheduler, work, result: null).ConfigureAwait(false);
            return null;
        }

        if (poisoned)
        {
            var reason = $"The batch of {work.Operations.Count} operations was attempted {item.Attempts} times without its result being recorded (setting DurableTask:MessageAttemptLimit = {_options.MessageAttemptLimit}); the worker may have crashed while running it.";
            _logger.PoisonEntityBatch(item.InstanceId, item.Attempts, reason);
            await CommitEntityBatchAsync(item, row, scheduler, work, EntityBatchCommit.Failed(work, row.Output, ProtoCodec.Failure("PoisonMessage", reason))).ConfigureAwait(false);
            return null;
        }

        return new EntityLease(item, row, scheduler, work);
    }

    private List<P.HistoryEvent> DecodeEntityMessages(OrchestrationWorkItem item, bool dropUnreadable)
    {
        var messages = new List<P.HistoryEvent>(item.Messages.Count);
        foreach (var message in item.Messages)
        {
            try
            {
                messages.Add(ProtoCodec.DecodeEvent(message.Data, $"Message {message.Id} for entity '{item.InstanceId}'"));
            }
            catch (InvalidDataException ex) when (dropUnreadable)
            {
                _logger.EntityMessagesDropped(item.InstanceId, 1, ex.Message);
            }
        }

        return messages;
    }

    private async Task CommitEntityBatchAsync(OrchestrationWorkItem item, InstanceRecord row, EntitySchedulerState scheduler, EntityWork work, P.EntityBatchResult? result)
    {
        var commit = EntityBatchCommit.Build(item, row, scheduler, work, result, _time.GetUtcNow(), NewExecutionId);
        if (!await _store.CommitOrchestrationAsync(item, commit, CancellationToken.None).ConfigureAwait(false))
        {
            // Another host (or an expired lock) advanced the entity meanwhile: this batch's messages are handed out
            // again with the entity's current state.
            _logger.StaleEntityBatch(item.InstanceId);
            await _store.AbandonOrchestrationAsync(item, TimeSpan.Zero, countAttempt: false, CancellationToken.None).ConfigureAwait(false);
        }
    }

    /// <summary>Hands a batch's messages out again after a growing delay, counting an attempt (poison at the limit).</summary>
    private async Task ReleaseEntityBatchAsync(OrchestrationWorkItem item, Exception error)
    {
        var attempt = item.Attempts + 1;
        _logger.EntityBatchFailed(error, item.InstanceId, attempt, _options.MessageAttemptLimit);
        try
        {
            await _store.AbandonOrchestrationAsync(item, RetryDelay(attempt), countAttempt: true, CancellationToken.None).ConfigureAwait(false);
        }
        catch (Exception ex)
        {
            // The store itself fails: the lock expires and the messages are handed out again.
            _logger.EntityBatchFailed(ex, item.InstanceId, attempt, _options.MessageAttemptLimit);
        }
    }
}
