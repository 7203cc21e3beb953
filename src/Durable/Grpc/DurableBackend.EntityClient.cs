using Fleet.Durable.Storage;
using Google.Protobuf.WellKnownTypes;
using P = Microsoft.DurableTask.Protobuf;

namespace Fleet.Durable.Grpc;

/// <summary>What the SDK's entity client asks of the backend: signal, read, query, clean up.</summary>
public sealed partial class DurableBackend
{
    private const int MaxEntityPage = 1000;

    /// <summary>Sends an operation to an entity (at its scheduled time, if one is set); the entity is created if needed.</summary>
    /// <exception cref="SidecarRequestException">The instance ID is no entity ID, the operation is empty, or the request ID no GUID.</exception>
    public async Task SignalEntityAsync(P.SignalEntityRequest request, CancellationToken ct)
    {
        ArgumentNullException.ThrowIfNull(request);
        var name = EntityNameOf(request.InstanceId);
        if (string.IsNullOrEmpty(request.Name))
        {
            throw new SidecarRequestException(SidecarRefusal.InvalidArgument, $"The signal to entity '{request.InstanceId}' names no operation.");
        }

        var requestId = string.IsNullOrEmpty(request.RequestId) ? Guid.NewGuid().ToString() : request.RequestId;
        if (!Guid.TryParse(requestId, out _))
        {
            throw new SidecarRequestException(SidecarRefusal.InvalidArgument, $"The signal's request ID '{requestId}' is no GUID.");
        }

        await StartAsync(ct).ConfigureAwait(false);
        var now = _time.GetUtcNow();
        var message = ProtoCodec.Event(now);
        message.EntityOperationSignaled = new P.EntityOperationSignaledEvent
        {
            RequestId = requestId,
            Operation = request.Name,
            Input = request.Input,
            ScheduledTime = request.ScheduledTime,
        };
        var due = request.ScheduledTime?.ToDateTimeOffset() is { } at && at > now ? at : now;
        await _store.EnqueueEntityMessageAsync(request.InstanceId, name, ProtoCodec.Encode(message), due, ct).ConfigureAwait(false);
    }

    /// <summary>An entity's metadata (and state when asked); null when it does not exist or has no state.</summary>
    public async Task<P.EntityMetadata?> GetEntityAsync(string instanceId, bool includeState, CancellationToken ct)
    {
        EntityNameOf(instanceId);
        await StartAsync(ct).ConfigureAwait(false);
        var row = await _store.GetInstanceAsync(instanceId, includePayloads: true, ct).ConfigureAwait(false);
        return row is { Output: not null } && row.ExecutionId == EntityRows.ExecutionId ? Metadata(row, includeState) : null;
    }

    /// <summary>
    /// One page of entities whose ID starts with the query's prefix, oldest first; entities without state only when the
    /// query includes transient ones. A page may hold fewer entities than asked while its token points further.
    /// </summary>
    public async Task<P.QueryEntitiesResponse> QueryEntitiesAsync(P.EntityQuery query, CancellationToken ct)
    {
        ArgumentNullException.ThrowIfNull(query);
        await StartAsync(ct).ConfigureAwait(false);
        var prefix = query.InstanceIdStartsWith ?? string.Empty;
        prefix = prefix.StartsWith('@') ? prefix : "@" + prefix;
        var pageSize = query.PageSize is > 0 and <= MaxEntityPage ? query.PageSize.Value : 100;
        var page = await _store.QueryInstancesAsync(
            new InstanceQuery(new InstanceFilter { InstanceIdPrefix = prefix }, pageSize, IncludePayloads: true, query.ContinuationToken), ct).ConfigureAwait(false);
        var from = query.LastModifiedFrom?.ToDateTimeOffset();
        var to = query.LastModifiedTo?.ToDateTimeOffset();
        var response = new P.QueryEntitiesResponse { ContinuationToken = page.ContinuationToken };
        response.Entities.Add(page.Instances
            .Where(r => r.ExecutionId == EntityRows.ExecutionId && (query.IncludeTransient || r.Output is not null))
            .Where(r => (from is null || r.LastUpdatedAt >= from) && (to is null || r.LastUpdatedAt <= to))
            .Select(r => Metadata(r, query.IncludeState)));
        return response;
    }

    /// <summary>
    /// One page of clean-up: releases locks held by orchestrations that no longer run (the entity gets a release in
    /// the holder's name) and deletes entities with no state, no lock, no waiting request and no message pending.
    /// </summary>
    public async Task<P.CleanEntityStorageResponse> CleanEntityStorageAsync(P.CleanEntityStorageRequest request, CancellationToken ct)
    {
        ArgumentNullException.ThrowIfNull(request);
        await StartAsync(ct).ConfigureAwait(false);
        var page = await _store.QueryInstancesAsync(
            new InstanceQuery(new InstanceFilter { InstanceIdPrefix = "@" }, 100, IncludePayloads: true, request.ContinuationToken), ct).ConfigureAwait(false);
        var response = new P.CleanEntityStorageResponse { ContinuationToken = page.ContinuationToken };
        foreach (var row in page.Instances.Where(r => r.ExecutionId == EntityRows.ExecutionId))
        {
            var scheduler = EntitySchedulerState.Parse(row.CustomStatus, row.InstanceId);
            if (request.ReleaseOrphanedLocks && scheduler.LockedBy is { } holder && !await IsRunningAsync(holder, ct).ConfigureAwait(false))
            {
                var release = ProtoCodec.Event(_time.GetUtcNow());
                release.EntityUnlockSent = new P.EntityUnlockSentEvent { CriticalSectionId = string.Empty, ParentInstanceId = holder };
                await _store.EnqueueEntityMessageAsync(row.InstanceId, EntityNameOf(row.InstanceId), ProtoCodec.Encode(release), _time.GetUtcNow(), ct).ConfigureAwait(false);
                _logger.OrphanedLockReleased(row.InstanceId, holder);
                response.OrphanedLocksReleased++;
            }
            else if (request.RemoveEmptyEntities && row.Output is null && scheduler.IsIdle
                && await _store.DeleteEmptyEntityAsync(row.InstanceId, row.HistoryCount, ct).ConfigureAwait(false))
            {
                response.EmptyEntitiesRemoved++;
            }
        }

        return response;
    }

    private async Task<bool> IsRunningAsync(string instanceId, CancellationToken ct) =>
        await _store.GetInstanceAsync(instanceId, includePayloads: false, ct).ConfigureAwait(false) is { } owner
        && owner.Status is InstanceStatus.Running or InstanceStatus.Suspended or InstanceStatus.Pending;

    private static P.EntityMetadata Metadata(InstanceRecord row, bool includeState)
    {
        var scheduler = EntitySchedulerState.Parse(row.CustomStatus, row.InstanceId);
        return new P.EntityMetadata
        {
            InstanceId = row.InstanceId,
            LastModifiedTime = Timestamp.FromDateTimeOffset(row.LastUpdatedAt),
            BacklogQueueSize = scheduler.Queue.Count,
            LockedBy = scheduler.LockedBy,
            SerializedState = includeState ? row.Output : null,
        };
    }

    private static string EntityNameOf(string instanceId) =>
        EntityRows.NameOf(instanceId) ?? throw new SidecarRequestException(SidecarRefusal.InvalidArgument, $"'{instanceId}' is no entity instance ID (expected @name@key).");
}
