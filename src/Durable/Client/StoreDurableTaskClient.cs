using Fleet.Durable.History;
using Fleet.Durable.Runtime;
using Fleet.Durable.Storage;
using Microsoft.Extensions.Options;

namespace Fleet.Durable.Client;

/// <summary>The <see cref="DurableTaskClient"/> that works directly against an <see cref="IOrchestrationStore"/>.</summary>
public sealed class StoreDurableTaskClient : DurableTaskClient
{
    private const int MaxInstanceIdLength = 256;
    private readonly IOrchestrationStore _store;
    private readonly DurableTaskOptions _options;
    private readonly PayloadSerializer _payloads;
    private readonly TimeProvider _time;
    private readonly Lock _initializeGate = new();
    private Task? _initialized;

    /// <summary>Creates a client over a store.</summary>
    public StoreDurableTaskClient(IOrchestrationStore store, IOptions<DurableTaskOptions> options, TimeProvider timeProvider)
        : base(store.HubName)
    {
        _store = store;
        _options = options.Value;
        _payloads = new PayloadSerializer(_options.DataConverter, _options.MaxPayloadBytes);
        _time = timeProvider;
    }

    /// <inheritdoc />
    public override async Task<string> ScheduleNewOrchestrationInstanceAsync(
        TaskName orchestratorName,
        object? input = null,
        StartOrchestrationOptions? options = null,
        CancellationToken cancellation = default)
    {
        ArgumentException.ThrowIfNullOrEmpty(orchestratorName.Name, nameof(orchestratorName));
        var instanceId = options?.InstanceId ?? Guid.NewGuid().ToString("N");
        ValidateInstanceId(instanceId);
        var serialized = _payloads.Serialize(input, $"input of orchestration '{orchestratorName}'");
        await EnsureInitializedAsync().ConfigureAwait(false);
        var now = _time.GetUtcNow();
        var startAt = options?.StartAt is { } at && at > now ? at : now;
        var executionId = Guid.NewGuid().ToString("N");
        var started = new ExecutionStartedEvent(
            now.UtcDateTime, orchestratorName.Name, executionId, serialized, options?.Version,
            ScheduledStartTime: startAt > now ? startAt.UtcDateTime : null);
        var result = await _store.CreateInstanceAsync(
            new NewInstance(instanceId, executionId, orchestratorName.Name, options?.Version, serialized, now, startAt, HistorySerializer.Serialize(started)),
            cancellation).ConfigureAwait(false);
        return result.Created
            ? instanceId
            : throw new OrchestrationAlreadyExistsException(instanceId, result.ExistingStatus ?? OrchestrationRuntimeStatus.Running);
    }

    /// <inheritdoc />
    public override async Task RaiseEventAsync(string instanceId, string eventName, object? eventPayload = null, CancellationToken cancellation = default)
    {
        ArgumentException.ThrowIfNullOrEmpty(instanceId);
        ArgumentException.ThrowIfNullOrEmpty(eventName);
        var payload = _payloads.Serialize(eventPayload, $"payload of event '{eventName}'");
        await SendAsync(instanceId, new EventRaisedEvent(_time.GetUtcNow().UtcDateTime, eventName, payload), cancellation).ConfigureAwait(false);
    }

    /// <inheritdoc />
    public override async Task TerminateInstanceAsync(string instanceId, TerminateInstanceOptions? options = null, CancellationToken cancellation = default)
    {
        ArgumentException.ThrowIfNullOrEmpty(instanceId);
        var output = _payloads.Serialize(options?.Output, "terminate output");
        await SendAsync(instanceId, new ExecutionTerminatedEvent(_time.GetUtcNow().UtcDateTime, output, options?.Recursive ?? false), cancellation).ConfigureAwait(false);
    }

    /// <inheritdoc />
    public override Task SuspendInstanceAsync(string instanceId, string? reason = null, CancellationToken cancellation = default)
    {
        ArgumentException.ThrowIfNullOrEmpty(instanceId);
        return SendAsync(instanceId, new ExecutionSuspendedEvent(_time.GetUtcNow().UtcDateTime, reason), cancellation);
    }

    /// <inheritdoc />
    public override Task ResumeInstanceAsync(string instanceId, string? reason = null, CancellationToken cancellation = default)
    {
        ArgumentException.ThrowIfNullOrEmpty(instanceId);
        return SendAsync(instanceId, new ExecutionResumedEvent(_time.GetUtcNow().UtcDateTime, reason), cancellation);
    }

    /// <inheritdoc />
    public override async Task<OrchestrationMetadata?> GetInstanceAsync(string instanceId, bool getInputsAndOutputs = false, CancellationToken cancellation = default)
    {
        ArgumentException.ThrowIfNullOrEmpty(instanceId);
        await EnsureInitializedAsync().ConfigureAwait(false);
        var record = await _store.GetInstanceAsync(instanceId, getInputsAndOutputs, cancellation).ConfigureAwait(false);
        return record is null ? null : ToMetadata(record, getInputsAndOutputs);
    }

    /// <inheritdoc />
    public override Task<OrchestrationMetadata> WaitForInstanceStartAsync(string instanceId, bool getInputsAndOutputs = false, CancellationToken cancellation = default) =>
        WaitForStatusAsync(instanceId, getInputsAndOutputs, static s => s != OrchestrationRuntimeStatus.Pending, cancellation);

    /// <inheritdoc />
    public override Task<OrchestrationMetadata> WaitForInstanceCompletionAsync(string instanceId, bool getInputsAndOutputs = false, CancellationToken cancellation = default) =>
        WaitForStatusAsync(instanceId, getInputsAndOutputs, static s => s.IsTerminal(), cancellation);

    /// <inheritdoc />
    public override AsyncPageable<OrchestrationMetadata> GetAllInstancesAsync(OrchestrationQuery? filter = null)
    {
        filter ??= new OrchestrationQuery();
        if (filter.PageSize is < 1 or > 1000)
        {
            throw new ArgumentOutOfRangeException(nameof(filter), filter.PageSize, "OrchestrationQuery.PageSize must be between 1 and 1000.");
        }

        var otherHubsOnly = filter.TaskHubNames is { } hubs && !hubs.Contains(Name, StringComparer.OrdinalIgnoreCase);
        var instanceFilter = new InstanceFilter
        {
            CreatedFrom = filter.CreatedFrom,
            CreatedTo = filter.CreatedTo,
            Statuses = filter.Statuses?.ToArray(),
            InstanceIdPrefix = filter.InstanceIdPrefix,
        };
        return AsyncPageable<OrchestrationMetadata>.Create(async (token, pageSizeHint, cancellation) =>
        {
            if (otherHubsOnly)
            {
                return new Page<OrchestrationMetadata>([]);
            }

            await EnsureInitializedAsync().ConfigureAwait(false);
            var pageSize = pageSizeHint is > 0 and <= 1000 ? pageSizeHint.Value : filter.PageSize;
            var page = await _store.QueryInstancesAsync(
                new InstanceQuery(instanceFilter, pageSize, filter.FetchInputsAndOutputs, token ?? filter.ContinuationToken),
                cancellation).ConfigureAwait(false);
            return new Page<OrchestrationMetadata>(
                page.Instances.Select(r => ToMetadata(r, filter.FetchInputsAndOutputs)).ToArray(),
                page.ContinuationToken);
        });
    }

    /// <inheritdoc />
    public override async Task<PurgeResult> PurgeInstanceAsync(string instanceId, PurgeInstanceOptions? options = null, CancellationToken cancellation = default)
    {
        ArgumentException.ThrowIfNullOrEmpty(instanceId);
        await EnsureInitializedAsync().ConfigureAwait(false);
        var count = await _store.PurgeInstanceAsync(instanceId, options?.Recursive ?? false, cancellation).ConfigureAwait(false);
        return new PurgeResult(count);
    }

    /// <inheritdoc />
    public override async Task<PurgeResult> PurgeAllInstancesAsync(PurgeInstancesFilter filter, PurgeInstanceOptions? options = null, CancellationToken cancellation = default)
    {
        ArgumentNullException.ThrowIfNull(filter);
        await EnsureInitializedAsync().ConfigureAwait(false);
        var terminal = (filter.Statuses ?? [OrchestrationRuntimeStatus.Completed, OrchestrationRuntimeStatus.Failed, OrchestrationRuntimeStatus.Terminated])
            .Where(s => s.IsTerminal()).Distinct().ToArray();
        if (terminal.Length == 0)
        {
            return new PurgeResult(0, true);
        }

        var instanceFilter = new InstanceFilter { CreatedFrom = filter.CreatedFrom, CreatedTo = filter.CreatedTo, Statuses = terminal };
        var (deleted, complete) = await InstancePurge.AllAsync(_store, instanceFilter, options?.Recursive ?? false, filter.Timeout, _time, cancellation).ConfigureAwait(false);
        return new PurgeResult(deleted, complete);
    }

    /// <inheritdoc />
    public override async Task<IList<HistoryEvent>> GetOrchestrationHistoryAsync(string instanceId, CancellationToken cancellation = default)
    {
        ArgumentException.ThrowIfNullOrEmpty(instanceId);
        await EnsureInitializedAsync().ConfigureAwait(false);
        var history = await _store.GetHistoryAsync(instanceId, cancellation).ConfigureAwait(false)
            ?? throw new InvalidOperationException($"No orchestration instance with ID '{instanceId}' exists in hub '{Name}'.");
        return history.Select(HistorySerializer.Deserialize).ToList();
    }

    /// <inheritdoc />
    public override ValueTask DisposeAsync() => ValueTask.CompletedTask;

    private async Task<OrchestrationMetadata> WaitForStatusAsync(
        string instanceId,
        bool getInputsAndOutputs,
        Func<OrchestrationRuntimeStatus, bool> reached,
        CancellationToken cancellation)
    {
        ArgumentException.ThrowIfNullOrEmpty(instanceId);
        await EnsureInitializedAsync().ConfigureAwait(false);
        var record = await InstanceWait.ForStatusAsync(_store, instanceId, getInputsAndOutputs, reached, _options.PollingInterval, cancellation).ConfigureAwait(false);
        return record is null
            ? throw new InvalidOperationException($"No orchestration instance with ID '{instanceId}' exists in hub '{Name}'.")
            : ToMetadata(record, getInputsAndOutputs);
    }

    private async Task SendAsync(string instanceId, HistoryEvent message, CancellationToken cancellation)
    {
        await EnsureInitializedAsync().ConfigureAwait(false);
        await _store.EnqueueMessageAsync(instanceId, HistorySerializer.Serialize(message), _time.GetUtcNow(), cancellation).ConfigureAwait(false);
    }

    private Task EnsureInitializedAsync()
    {
        lock (_initializeGate)
        {
            // A failed initialization (for example a locked or unreachable database) is retried on the next call.
            if (_initialized is null || _initialized.IsFaulted || _initialized.IsCanceled)
            {
                _initialized = _store.InitializeAsync(CancellationToken.None);
            }

            return _initialized;
        }
    }

    private OrchestrationMetadata ToMetadata(InstanceRecord record, bool withPayloads) =>
        new(record.Name, record.InstanceId)
        {
            RuntimeStatus = record.Status,
            CreatedAt = record.CreatedAt,
            LastUpdatedAt = record.LastUpdatedAt,
            SerializedInput = withPayloads ? record.Input : null,
            SerializedOutput = withPayloads ? record.Output : null,
            SerializedCustomStatus = withPayloads ? record.CustomStatus : null,
            FailureDetails = HistorySerializer.DeserializeFailure(record.FailureDetails),
            ParentInstanceId = record.ParentInstanceId,
            RequiresInputsAndOutputs = withPayloads,
            DataConverter = _options.DataConverter,
        };

    private static void ValidateInstanceId(string instanceId)
    {
        if (instanceId.Length is 0 or > MaxInstanceIdLength || instanceId.Any(char.IsControl))
        {
            throw new ArgumentException($"Instance ID '{instanceId}' is invalid: use 1-{MaxInstanceIdLength} characters without control characters.", nameof(instanceId));
        }
    }
}
