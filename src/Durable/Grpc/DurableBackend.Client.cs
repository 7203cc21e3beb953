using Fleet.Durable.Storage;
using P = Microsoft.DurableTask.Protobuf;

namespace Fleet.Durable.Grpc;

/// <summary>What the SDK's client asks of the backend: start, read, wait, events, control, queries, purge, restart.</summary>
public sealed partial class DurableBackend
{
    private const int MaxInstanceIdLength = 256;

    /// <summary>Creates an instance from the SDK's request; returns its ID.</summary>
    /// <exception cref="SidecarRequestException">Invalid request, or an instance with the ID exists and may not be replaced.</exception>
    public async Task<string> StartInstanceAsync(P.CreateInstanceRequest request, CancellationToken ct)
    {
        ArgumentNullException.ThrowIfNull(request);
        if (string.IsNullOrEmpty(request.Name))
        {
            throw new SidecarRequestException(SidecarRefusal.InvalidArgument, "The orchestration name is empty.");
        }

        var instanceId = string.IsNullOrEmpty(request.InstanceId) ? Guid.NewGuid().ToString("N") : request.InstanceId;
        if (instanceId.Length > MaxInstanceIdLength || instanceId.Any(char.IsControl) || instanceId.StartsWith('@'))
        {
            throw new SidecarRequestException(SidecarRefusal.InvalidArgument, $"Instance ID '{instanceId}' is invalid: use 1-{MaxInstanceIdLength} characters without control characters, not starting with '@'.");
        }

        await StartAsync(ct).ConfigureAwait(false);
        if (request.OrchestrationIdReusePolicy is { } policy)
        {
            // The store replaces any finished instance; the SDK's dedupe statuses narrow which finished ones may be.
            var existing = await _store.GetInstanceAsync(instanceId, includePayloads: false, ct).ConfigureAwait(false);
            if (existing is not null && existing.Status.IsTerminal() && !policy.ReplaceableStatus.Contains(ProtoCodec.ToProto(existing.Status)))
            {
                throw new SidecarRequestException(SidecarRefusal.AlreadyExists, $"An orchestration instance with ID '{instanceId}' already exists and is {existing.Status}, which the request's reuse policy does not allow replacing.");
            }
        }

        var executionId = string.IsNullOrEmpty(request.ExecutionId) ? NewExecutionId() : request.ExecutionId;
        var result = await _store.CreateInstanceAsync(NewInstanceOf(request, instanceId, executionId, _time.GetUtcNow()), ct).ConfigureAwait(false);
        return result.Created
            ? instanceId
            : throw new SidecarRequestException(SidecarRefusal.AlreadyExists, $"An orchestration instance with ID '{instanceId}' already exists and is {result.ExistingStatus}.");
    }

    /// <summary>The instance a start request creates, with its ExecutionStarted message (a scheduled start waits until due).</summary>
    internal static NewInstance NewInstanceOf(P.CreateInstanceRequest request, string instanceId, string executionId, DateTimeOffset now)
    {
        var startAt = request.ScheduledStartTimestamp?.ToDateTimeOffset() is { } at && at > now ? at : now;
        var start = ProtoCodec.Event(now);
        start.ExecutionStarted = new P.ExecutionStartedEvent
        {
            Name = request.Name,
            Version = request.Version,
            Input = request.Input,
            OrchestrationInstance = new P.OrchestrationInstance { InstanceId = instanceId, ExecutionId = executionId },
            ScheduledStartTimestamp = startAt > now ? ProtoCodec.Time(startAt) : null,
            ParentTraceContext = request.ParentTraceContext,
            Tags = { request.Tags },
        };
        return new NewInstance(instanceId, executionId, request.Name, request.Version, request.Input, now, startAt, ProtoCodec.Encode(start), Tags: ProtoCodec.EncodeTags(request.Tags));
    }

    /// <summary>Reads an instance, or null when it does not exist.</summary>
    public async Task<InstanceRecord?> GetInstanceAsync(string instanceId, bool includePayloads, CancellationToken ct)
    {
        await StartAsync(ct).ConfigureAwait(false);
        return await _store.GetInstanceAsync(instanceId, includePayloads, ct).ConfigureAwait(false);
    }

    /// <summary>Waits until the instance has started (<paramref name="completion"/> false) or finished; null when it does not exist.</summary>
    public async Task<InstanceRecord?> WaitForInstanceAsync(string instanceId, bool includePayloads, bool completion, CancellationToken ct)
    {
        await StartAsync(ct).ConfigureAwait(false);
        Func<InstanceStatus, bool> reached = completion ? static s => s.IsTerminal() : static s => s != InstanceStatus.Pending;
        return await InstanceWait.ForStatusAsync(_store, instanceId, includePayloads, reached, _options.PollingInterval, ct).ConfigureAwait(false);
    }

    /// <summary>Sends an external event; false (nothing sent) when the instance does not exist or has finished.</summary>
    public Task<bool> RaiseEventAsync(string instanceId, string name, string? input, CancellationToken ct)
    {
        var e = ProtoCodec.Event(_time.GetUtcNow());
        e.EventRaised = new P.EventRaisedEvent { Name = name, Input = input };
        return SendAsync(instanceId, e, ct);
    }

    /// <summary>Terminates an instance (and its running sub-orchestrations when <paramref name="recursive"/>).</summary>
    public Task<bool> TerminateAsync(string instanceId, string? output, bool recursive, CancellationToken ct) =>
        SendAsync(instanceId, EpisodeCommitBuilder.TerminateEvent(_time.GetUtcNow(), output, recursive), ct);

    /// <summary>Suspends an instance: later events are recorded and held until it is resumed.</summary>
    public Task<bool> SuspendAsync(string instanceId, string? reason, CancellationToken ct)
    {
        var e = ProtoCodec.Event(_time.GetUtcNow());
        e.ExecutionSuspended = new P.ExecutionSuspendedEvent { Input = reason };
        return SendAsync(instanceId, e, ct);
    }

    /// <summary>Resumes a suspended instance.</summary>
    public Task<bool> ResumeAsync(string instanceId, string? reason, CancellationToken ct)
    {
        var e = ProtoCodec.Event(_time.GetUtcNow());
        e.ExecutionResumed = new P.ExecutionResumedEvent { Input = reason };
        return SendAsync(instanceId, e, ct);
    }

    /// <summary>One page of orchestration instances (entities are left out).</summary>
    public async Task<InstancePage> QueryInstancesAsync(InstanceQuery query, CancellationToken ct)
    {
        ArgumentNullException.ThrowIfNull(query);
        await StartAsync(ct).ConfigureAwait(false);

        // Entities are instances too ('@name@key'); the SDK's orchestration queries never list them.
        return await _store.QueryInstancesAsync(query with { Filter = query.Filter with { ExcludeEntities = true } }, ct).ConfigureAwait(false);
    }

    /// <summary>Deletes a finished instance (with its finished descendants when recursive); how many were deleted.</summary>
    public async Task<int> PurgeInstanceAsync(string instanceId, bool recursive, CancellationToken ct)
    {
        await StartAsync(ct).ConfigureAwait(false);
        return await _store.PurgeInstanceAsync(instanceId, recursive, ct).ConfigureAwait(false);
    }

    /// <summary>Deletes finished instances matching <paramref name="filter"/>, page by page, until none is left or <paramref name="timeout"/> passes.</summary>
    public async Task<(int Deleted, bool Complete)> PurgeInstancesAsync(InstanceFilter filter, bool recursive, TimeSpan? timeout, CancellationToken ct)
    {
        await StartAsync(ct).ConfigureAwait(false);
        ArgumentNullException.ThrowIfNull(filter);
        return await InstancePurge.AllAsync(_store, filter with { ExcludeEntities = true }, recursive, timeout, _time, ct).ConfigureAwait(false);
    }

    /// <summary>The current execution's history, oldest first; null when the instance does not exist.</summary>
    public async Task<IReadOnlyList<P.HistoryEvent>?> GetHistoryAsync(string instanceId, CancellationToken ct)
    {
        await StartAsync(ct).ConfigureAwait(false);
        var history = await _store.GetHistoryAsync(instanceId, ct).ConfigureAwait(false);
        return history?.Select(data => ProtoCodec.DecodeEvent(data, $"A history event of '{instanceId}'")).ToArray();
    }

    /// <summary>Starts a finished instance again with its original name, version, input and tags; returns the new instance's ID.</summary>
    /// <exception cref="SidecarRequestException">The instance does not exist, or it has not finished and keeps its ID.</exception>
    public async Task<string> RestartInstanceAsync(string instanceId, bool newInstanceId, CancellationToken ct)
    {
        await StartAsync(ct).ConfigureAwait(false);
        var state = await _store.LoadInstanceStateAsync(instanceId, ct).ConfigureAwait(false)
            ?? throw new SidecarRequestException(SidecarRefusal.NotFound, $"No orchestration instance with ID '{instanceId}' exists in hub '{HubName}'.");
        if (!newInstanceId && !state.Instance.Status.IsTerminal())
        {
            throw new SidecarRequestException(SidecarRefusal.FailedPrecondition, $"Instance '{instanceId}' is {state.Instance.Status}; only a finished instance can be restarted under the same ID.");
        }

        var started = FindStart(state.History);
        var request = new P.CreateInstanceRequest
        {
            InstanceId = newInstanceId ? Guid.NewGuid().ToString("N") : instanceId,
            Name = state.Instance.Name,
            Version = state.Instance.Version,
            Input = started?.Input ?? state.Instance.Input,
        };
        if (started is not null)
        {
            request.Tags.Add(started.Tags);
        }

        return await StartInstanceAsync(request, ct).ConfigureAwait(false);
    }

    private async Task<bool> SendAsync(string instanceId, P.HistoryEvent message, CancellationToken ct)
    {
        await StartAsync(ct).ConfigureAwait(false);
        return await _store.EnqueueMessageAsync(instanceId, ProtoCodec.Encode(message), _time.GetUtcNow(), ct).ConfigureAwait(false);
    }
}
