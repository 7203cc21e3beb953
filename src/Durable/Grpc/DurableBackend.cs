using System.Collections.Concurrent;
using Fleet.Durable.Storage;
using Google.Protobuf.WellKnownTypes;
using Microsoft.Extensions.Logging;
using P = Microsoft.DurableTask.Protobuf;

namespace Fleet.Durable.Grpc;

/// <summary>
/// The durable backend behind the real Microsoft.DurableTask SDK: hands out orchestration episodes, activity calls
/// and their results over an <see cref="IOrchestrationStore"/> (one committed transaction per episode), and serves
/// what the SDK's client asks for. Both the standalone <c>GetWorkItems</c> stream of the sidecar service and a Functions
/// host dispatching to its worker sit on the same lock / complete / abandon methods; several consumers (and several
/// hosts on one PostgreSQL store) may lock concurrently.
/// </summary>
public sealed partial class DurableBackend : IAsyncDisposable
{
    private readonly IOrchestrationStore _store;
    private readonly DurableTaskOptions _options;
    private readonly DurableBackendOptions _backendOptions;
    private readonly TimeProvider _time;
    private readonly ILogger _logger;
    private readonly InstanceCache<InstanceHistory> _cache;
    private readonly ConcurrentDictionary<string, byte> _forceLoad = new(StringComparer.Ordinal);
    private readonly ConcurrentDictionary<OrchestrationLease, byte> _episodes = new();
    private readonly ConcurrentDictionary<ActivityLease, byte> _activities = new();
    private readonly ConcurrentDictionary<EntityLease, byte> _entityBatches = new();
    private readonly WorkRouter _router;
    private readonly CancellationTokenSource _stop = new();
    private readonly Lock _startGate = new();
    private Task? _started;
    private Task? _renewal;

    /// <summary>Creates the backend over a store; <see cref="StartAsync"/> (or the first lock) prepares the store.</summary>
    public DurableBackend(IOrchestrationStore store, DurableTaskOptions options, DurableBackendOptions backendOptions, TimeProvider timeProvider, ILoggerFactory loggerFactory)
    {
        ArgumentNullException.ThrowIfNull(loggerFactory);
        _store = store;
        _options = options;
        _backendOptions = backendOptions;
        _time = timeProvider;
        _logger = loggerFactory.CreateLogger("Fleet.Durable.Grpc");
        _cache = new InstanceCache<InstanceHistory>(backendOptions.HistoryCacheSize, static h => h.InstanceId);
        _router = new WorkRouter(store);
    }

    /// <summary>The task hub served.</summary>
    public string HubName => _store.HubName;

    /// <summary>Prepares the store (schema, ownership, recovery) once; later calls wait for the same start.</summary>
    public Task StartAsync(CancellationToken cancellationToken)
    {
        lock (_startGate)
        {
            // A failed start (an unreachable database) is retried by the next call. The start runs on the backend's
            // own token, not the first caller's: a caller that gives up (an aborted HTTP request) stops only its wait,
            // never the start every concurrent caller is waiting for.
            if (_started is null || _started.IsFaulted || _started.IsCanceled)
            {
                _started = StartCoreAsync(_stop.Token);
            }

            return _started.IsCompletedSuccessfully ? _started : _started.WaitAsync(cancellationToken);
        }
    }

    private async Task StartCoreAsync(CancellationToken cancellationToken)
    {
        await _store.InitializeAsync(cancellationToken).ConfigureAwait(false);
        await _store.StartDispatchAsync(cancellationToken).ConfigureAwait(false);
        _renewal ??= Task.Run(() => RenewLocksAsync(_stop.Token), CancellationToken.None);
        _logger.BackendStarted(_store.HubName, _backendOptions.ExtendedSessionIdleTimeoutSeconds);
    }

    /// <summary>
    /// Waits for and locks the next instance with messages, and returns the request to hand to a worker. Uses extended
    /// sessions as configured (<see cref="DurableBackendOptions.ExtendedSessionIdleTimeoutSeconds"/>).
    /// </summary>
    public Task<OrchestrationLease> LockNextOrchestrationAsync(CancellationToken ct) =>
        LockNextOrchestrationAsync(_backendOptions.ExtendedSessionIdleTimeoutSeconds > 0, ct);

    /// <summary>Locks the next episode; <paramref name="extendedSessions"/> false always sends the full history.</summary>
    public Task<OrchestrationLease> LockNextOrchestrationAsync(bool extendedSessions, CancellationToken ct) =>
        LockNextAsync(entities: false, item => PrepareEpisodeAsync(item, extendedSessions), HandleFailedEpisodeAsync, _episodes, ct);

    /// <summary>
    /// Takes locked instances of one kind until one yields a lease: <paramref name="prepare"/> may settle an instance
    /// itself (null), and one it fails on is handed to <paramref name="failed"/>.
    /// </summary>
    private async Task<TLease> LockNextAsync<TLease>(
        bool entities, Func<OrchestrationWorkItem, Task<TLease?>> prepare, Func<OrchestrationWorkItem, Exception, Task> failed, ConcurrentDictionary<TLease, byte> held, CancellationToken ct)
        where TLease : class
    {
        await StartAsync(ct).ConfigureAwait(false);
        while (true)
        {
            var item = await _router.NextAsync(entities, ct).ConfigureAwait(false);
            TLease? lease;
            try
            {
                lease = await prepare(item).ConfigureAwait(false);
            }
            catch (Exception ex)
            {
                await failed(item, ex).ConfigureAwait(false);
                continue;
            }

            if (lease is not null)
            {
                held[lease] = 0;
                return lease;
            }
        }
    }

    /// <summary>Commits the worker's answer to an episode: one transaction, then the lock is released.</summary>
    /// <exception cref="InvalidOperationException">The lease was already completed or abandoned.</exception>
    public async Task CompleteOrchestrationAsync(OrchestrationLease lease, P.OrchestratorResponse response, CancellationToken ct)
    {
        ArgumentNullException.ThrowIfNull(lease);
        ArgumentNullException.ThrowIfNull(response);
        Settle(ref lease.Settled, lease.InstanceId);
        _episodes.TryRemove(lease, out _);
        var history = lease.History;
        if (response.RequiresHistory)
        {
            // The worker no longer holds the instance (evicted or restarted): hand the same messages out again with
            // the full history.
            history.SessionUntil = null;
            _cache.Put(history);
            _logger.HistoryRequired(lease.InstanceId);
            await _store.AbandonOrchestrationAsync(lease.Item, TimeSpan.Zero, countAttempt: false, CancellationToken.None).ConfigureAwait(false);
            return;
        }

        EpisodeOutcome outcome;
        bool committed;
        try
        {
            outcome = EpisodeCommitBuilder.Build(lease, response, _time.GetUtcNow(), NewExecutionId);
            committed = await _store.CommitOrchestrationAsync(lease.Item, outcome.Commit, CancellationToken.None).ConfigureAwait(false);
        }
        catch (Exception ex)
        {
            await HandleFailedEpisodeAsync(lease.Item, ex).ConfigureAwait(false);
            throw;
        }

        if (!committed)
        {
            _forceLoad[lease.InstanceId] = 0;
            _logger.StaleEpisode(lease.InstanceId);
            await _store.AbandonOrchestrationAsync(lease.Item, TimeSpan.Zero, countAttempt: false, CancellationToken.None).ConfigureAwait(false);
            return;
        }

        if (outcome.Status.IsTerminal())
        {
            LogFinished(lease, outcome);
        }
        else if (!outcome.ContinuedAsNew)
        {
            history.Events.AddRange(outcome.NewHistory);
            history.Suspended = outcome.Status == InstanceStatus.Suspended;
            history.SessionUntil = lease.ExtendedSession ? _time.GetUtcNow().AddSeconds(_backendOptions.ExtendedSessionIdleTimeoutSeconds * 0.8) : null;
            _cache.Put(history);
        }
    }

    /// <summary>Gives an episode back without applying anything; its messages are handed out again (counted as an attempt).</summary>
    public async Task AbandonOrchestrationAsync(OrchestrationLease lease, Exception? reason, CancellationToken ct)
    {
        ArgumentNullException.ThrowIfNull(lease);
        Settle(ref lease.Settled, lease.InstanceId);
        _episodes.TryRemove(lease, out _);
        await HandleFailedEpisodeAsync(lease.Item, reason ?? new InvalidOperationException("The worker abandoned the episode.")).ConfigureAwait(false);
    }

    /// <inheritdoc />
    public async ValueTask DisposeAsync()
    {
        await _stop.CancelAsync().ConfigureAwait(false);
        await (_renewal ?? Task.CompletedTask).ConfigureAwait(false);
        _stop.Dispose();
    }

    private static void Settle(ref int settled, string instanceId)
    {
        if (Interlocked.Exchange(ref settled, 1) != 0)
        {
            throw new InvalidOperationException($"The work item for '{instanceId}' was already completed or abandoned.");
        }
    }

    private static string NewExecutionId() => Guid.NewGuid().ToString("N");

    private async Task<OrchestrationLease?> PrepareEpisodeAsync(OrchestrationWorkItem item, bool extendedSessions)
    {
        var instanceId = item.InstanceId;
        var forceLoad = _forceLoad.TryRemove(instanceId, out _);
        if (item.Attempts >= _options.MessageAttemptLimit)
        {
            _cache.Remove(instanceId);
            var reason = $"Messages for this instance were attempted {item.Attempts} times without being processed (setting DurableTask:MessageAttemptLimit = {_options.MessageAttemptLimit}); the worker may have crashed while processing them.";
            _logger.PoisonOrchestration(instanceId, item.Attempts, reason);
            await FailInstanceAsync(item, "PoisonMessage", reason).ConfigureAwait(false);
            return null;
        }

        var messages = DecodeMessages(item);
        if (messages.Find(m => m.Event.EventTypeCase == P.HistoryEvent.EventTypeOneofCase.ExecutionRewound).Event?.ExecutionRewound is { } rewound
            && await TryRewindAsync(item, rewound).ConfigureAwait(false))
        {
            return null;
        }

        var start = messages.Count > 0 && messages[0].Event.EventTypeCase == P.HistoryEvent.EventTypeOneofCase.ExecutionStarted ? messages[0].Event : null;
        var history = _cache.Take(instanceId);
        if (history is not null && (forceLoad
            || (item.HistoryCount is { } count && (count != history.Events.Count || item.ExecutionId != history.ExecutionId))
            || (start is not null && start.ExecutionStarted.OrchestrationInstance.ExecutionId != history.ExecutionId)))
        {
            history = null; // another host advanced the instance, or it was restarted
        }

        if (history is null)
        {
            history = start is not null && !forceLoad
                ? new InstanceHistory(instanceId, start.ExecutionStarted.OrchestrationInstance.ExecutionId, start.ExecutionStarted, [])
                : await LoadHistoryAsync(item, messages).ConfigureAwait(false);
            if (history is null)
            {
                return null;
            }
        }

        // Entity parameters tell the worker that this backend runs entities (without them the SDK refuses entity calls).
        // Messages reach an entity in the order sent, so the worker need not sort them (reorder window 0).
        var request = new P.OrchestratorRequest
        {
            InstanceId = instanceId,
            ExecutionId = history.ExecutionId,
            EntityParameters = new P.OrchestratorEntityParameters { EntityMessageReorderWindow = new Duration() },
        };
        var now = _time.GetUtcNow();
        request.NewEvents.Add(new P.HistoryEvent { EventId = -1, Timestamp = ProtoCodec.Time(now), OrchestratorStarted = new P.OrchestratorStartedEvent() });
        foreach (var (message, e) in messages)
        {
            if (message.TargetExecutionId is { } target && target != history.ExecutionId)
            {
                continue; // meant for an earlier execution (ContinueAsNew or a restart)
            }

            if (e.EventTypeCase == P.HistoryEvent.EventTypeOneofCase.ExecutionStarted
                && (history.Events.Count > 0 || e.ExecutionStarted.OrchestrationInstance.ExecutionId != history.ExecutionId))
            {
                continue;
            }

            request.NewEvents.Add(e);
        }

        if (request.NewEvents.Count == 1)
        {
            // Nothing left for this execution: consume the messages without an episode.
            await DiscardAsync(item).ConfigureAwait(false);
            _cache.Put(history);
            return null;
        }

        var session = extendedSessions && history.Events.Count > 0 && history.SessionUntil is { } until && until > now;
        if (!session)
        {
            request.PastEvents.Add(history.Events);
        }

        if (extendedSessions)
        {
            request.Properties["IncludeState"] = Value.ForBool(!session);
            request.Properties["IsExtendedSession"] = Value.ForBool(true);
            request.Properties["ExtendedSessionIdleTimeoutInSeconds"] = Value.ForNumber(_backendOptions.ExtendedSessionIdleTimeoutSeconds);
        }

        return new OrchestrationLease(item, history, request, extendedSessions);
    }

    private static List<(StoredMessage Message, P.HistoryEvent Event)> DecodeMessages(OrchestrationWorkItem item)
    {
        var messages = new List<(StoredMessage, P.HistoryEvent)>(item.Messages.Count);
        foreach (var message in item.Messages)
        {
            messages.Add((message, ProtoCodec.DecodeEvent(message.Data, $"Message {message.Id} for '{item.InstanceId}'")));
        }

        // A start message goes first, followed by the events its ContinueAsNew carried over (enqueued in the same
        // commit, addressed to the new execution): events raised while that episode ran were enqueued before them
        // but arrived later, so they come after.
        var startIndex = messages.FindIndex(m => m.Item2.EventTypeCase == P.HistoryEvent.EventTypeOneofCase.ExecutionStarted);
        if (startIndex > 0)
        {
            var executionId = messages[startIndex].Item1.TargetExecutionId;
            var first = messages.Skip(startIndex)
                .Where(m => m.Item1.TargetExecutionId is not null && m.Item1.TargetExecutionId == executionId)
                .ToList();
            messages = [.. first, .. messages.Except(first)];
        }

        return messages;
    }

    private async Task<InstanceHistory?> LoadHistoryAsync(OrchestrationWorkItem item, List<(StoredMessage Message, P.HistoryEvent Event)> messages)
    {
        var state = await _store.LoadInstanceStateAsync(item.InstanceId, CancellationToken.None).ConfigureAwait(false);
        if (state is null || state.Instance.Status.IsTerminal())
        {
            await DiscardAsync(item).ConfigureAwait(false);
            return null;
        }

        var record = state.Instance;
        if (state.History.Count > 0)
        {
            var events = new List<P.HistoryEvent>(state.History.Count);
            foreach (var data in state.History)
            {
                events.Add(ProtoCodec.DecodeEvent(data, $"A history event of '{item.InstanceId}'"));
            }

            return InstanceHistory.FromEvents(item.InstanceId, record.ExecutionId, events);
        }

        if (messages.Count > 0 && messages[0].Event.ExecutionStarted is { } start && start.OrchestrationInstance.ExecutionId == record.ExecutionId)
        {
            return new InstanceHistory(item.InstanceId, record.ExecutionId, start, []);
        }

        if (messages.Find(m => m.Event.EventTypeCase == P.HistoryEvent.EventTypeOneofCase.ExecutionTerminated).Event is { } terminate)
        {
            await TerminateBeforeStartAsync(item, record, terminate).ConfigureAwait(false);
            return null;
        }

        // Not started yet (a scheduled start): hold the messages until the start is due.
        var now = _time.GetUtcNow();
        var wait = record.ScheduledStartAt is { } due && due > now ? due - now : _options.PollingInterval;
        await _store.AbandonOrchestrationAsync(item, wait, countAttempt: false, CancellationToken.None).ConfigureAwait(false);
        return null;
    }

    private void LogFinished(OrchestrationLease lease, EpisodeOutcome outcome)
    {
        if (outcome.Failure is { } failure)
        {
            _logger.OrchestrationFailed(lease.Name, lease.InstanceId, failure.ErrorType, failure.ErrorMessage);
        }
        else if (_logger.IsEnabled(LogLevel.Debug))
        {
            _logger.OrchestrationFinished(lease.Name, lease.InstanceId, outcome.Status.ToString());
        }
    }
}
