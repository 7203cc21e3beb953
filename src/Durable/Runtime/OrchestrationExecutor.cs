using Fleet.Durable.Client;
using Fleet.Durable.History;
using Microsoft.Extensions.Logging;

namespace Fleet.Durable.Runtime;

/// <summary>
/// Runs one orchestration execution: replays recorded history, applies new events, and collects the actions the code
/// takes. It is also the <see cref="TaskOrchestrationContext"/> the code sees. Orchestrator code runs only inside
/// <see cref="Replay"/> and <see cref="RunEpisode"/>, on the calling thread, through a private task scheduler: each
/// event completes a durable task and the continuations it releases run to the next await before the next event is
/// applied, so the code's behaviour depends on the history alone.
/// <para>
/// The executor stays in memory between episodes (the worker caches it), so a new event costs only its own
/// processing. Any failure while running or committing an episode makes the executor unusable: the worker drops it and
/// the next episode replays from the stored history.
/// </para>
/// </summary>
internal sealed class OrchestrationExecutor : TaskOrchestrationContext
{
    private readonly ITaskOrchestrator _orchestrator;
    private readonly PayloadSerializer _payloads;
    private readonly ILoggerFactory _loggerFactory;
    private readonly EpisodeScheduler _scheduler;
    private readonly ExecutionStartedEvent _started;

    private Dictionary<int, OrchestratorAction>? _openActions;
    private Dictionary<int, IPendingTask>? _outstanding;
    private List<EventWaiter>? _waiters;
    private List<EventRaisedEvent>? _bufferedEvents;
    private List<HistoryEvent>? _heldWhileSuspended;
    private Dictionary<string, int>? _runningChildren;
    private Task<object?>? _runTask;
    private DateTime _currentUtc;
    private int _sequence;
    private int _guidCounter;
    private bool _isReplaying;
    private bool _suspended;
    private bool _terminated;
    private string? _terminateOutput;
    private bool _recursiveTerminate;
    private string? _customStatus;
    private bool _customStatusChanged;
    private ContinueAsNewRequest? _continueAsNew;
    private TaskFailureDetails? _fatal;
    private volatile int _executingThreadId;
    private volatile bool _foreignContinuation;

    public OrchestrationExecutor(
        string instanceId,
        ExecutionStartedEvent started,
        ITaskOrchestrator orchestrator,
        PayloadSerializer payloads,
        ILoggerFactory loggerFactory)
    {
        InstanceId = instanceId;
        _started = started;
        _orchestrator = orchestrator;
        _payloads = payloads;
        _loggerFactory = loggerFactory;
        _scheduler = new EpisodeScheduler(this);
        _currentUtc = started.Timestamp;
        Name = new TaskName(started.Name);
        Parent = started.Parent is { } p ? new ParentOrchestrationInstance(new TaskName(p.Name), p.InstanceId) : null;
    }

    public override TaskName Name { get; }

    public override string InstanceId { get; }

    public override ParentOrchestrationInstance? Parent { get; }

    public override DateTime CurrentUtcDateTime => _currentUtc;

    public override bool IsReplaying => _isReplaying;

    public override string Version => _started.Version ?? string.Empty;

    public string ExecutionId => _started.ExecutionId;

    public ExecutionStartedEvent Started => _started;

    /// <summary>How many history events have been committed for this execution.</summary>
    public int HistoryCount { get; private set; }

    /// <summary>Whether the execution is suspended (its events are held).</summary>
    public bool IsSuspended => _suspended;

    /// <summary>The execution finished (completed, failed, terminated or continued as new).</summary>
    public bool IsFinished => _terminated || _fatal is not null || (_runTask?.IsCompleted ?? false);

    /// <summary>Unfinished sub-orchestrations this execution started, by instance ID.</summary>
    public IReadOnlyCollection<string> RunningChildren => (IReadOnlyCollection<string>?)_runningChildren?.Keys ?? [];

    protected override ILoggerFactory LoggerFactory => _loggerFactory;

    /// <summary>Re-applies recorded history. A mismatch between code and history is kept and fails the next episode.</summary>
    public void Replay(IReadOnlyList<HistoryEvent> history)
    {
        _isReplaying = true;
        _executingThreadId = Environment.CurrentManagedThreadId;
        try
        {
            foreach (var historyEvent in history)
            {
                Process(historyEvent);
                if (_fatal is not null)
                {
                    break;
                }
            }
        }
        catch (NonDeterministicOrchestrationException ex)
        {
            _fatal = TaskFailureDetails.FromException(ex);
        }
        finally
        {
            _executingThreadId = 0;
            _isReplaying = false;
        }

        HistoryCount = history.Count;
    }

    /// <summary>Applies new events (already in delivery order) at orchestration time <paramref name="now"/>.</summary>
    public EpisodeResult RunEpisode(IReadOnlyList<HistoryEvent> newEvents, DateTime now)
    {
        var episodeTime = now > _currentUtc ? now : _currentUtc;
        var started = new OrchestratorStartedEvent(episodeTime);
        var history = new List<HistoryEvent>(newEvents.Count + 4) { started };
        var carried = new List<EventRaisedEvent>();
        _customStatusChanged = false;
        _executingThreadId = Environment.CurrentManagedThreadId;
        try
        {
            if (_foreignContinuation)
            {
                _fatal ??= TaskFailureDetails.FromException(new OrchestrationDeterminismException(
                    $"Orchestrator '{Name}' awaited a task that the orchestration context did not create (for example Task.Delay, I/O or Task.Run). Orchestrator code may only await durable tasks: activities, sub-orchestrations, timers and external events."));
            }

            if (_fatal is null)
            {
                Process(started);
            }

            foreach (var e in newEvents)
            {
                if (IsFinished)
                {
                    if (e is EventRaisedEvent raised)
                    {
                        carried.Add(raised);
                    }

                    continue;
                }

                history.Add(e);
                Process(e);
            }
        }
        catch (NonDeterministicOrchestrationException ex)
        {
            _fatal ??= TaskFailureDetails.FromException(ex);
        }
        finally
        {
            _executingThreadId = 0;
        }

        return Finish(history, carried, episodeTime);
    }

    /// <summary>Records that the episode's writes were committed.</summary>
    public void OnCommitted(int historyAppended) => HistoryCount += historyAppended;

    public override T? GetInput<T>()
        where T : default => _payloads.Converter.Deserialize<T>(_started.Input);

    public override Task<TResult> CallActivityAsync<TResult>(TaskName name, object? input = null, TaskOptions? options = null)
    {
        EnsureOrchestratorThread();
        var serialized = _payloads.Serialize(input, $"input of activity '{name}'");
        return options?.Retry is { } retry
            ? WithRetry(() => ScheduleActivity<TResult>(name, serialized), retry)
            : ScheduleActivity<TResult>(name, serialized);
    }

    public override Task<TResult> CallSubOrchestratorAsync<TResult>(TaskName orchestratorName, object? input = null, TaskOptions? options = null)
    {
        EnsureOrchestratorThread();
        var serialized = _payloads.Serialize(input, $"input of sub-orchestration '{orchestratorName}'");
        var instanceId = (options as SubOrchestrationOptions)?.InstanceId;
        return options?.Retry is { } retry
            ? WithRetry(() => ScheduleSubOrchestration<TResult>(orchestratorName, instanceId, serialized), retry)
            : ScheduleSubOrchestration<TResult>(orchestratorName, instanceId, serialized);
    }

    public override Task CreateTimer(DateTime fireAt, CancellationToken cancellationToken)
    {
        EnsureOrchestratorThread();
        var utc = fireAt.Kind switch
        {
            DateTimeKind.Local => fireAt.ToUniversalTime(),
            DateTimeKind.Unspecified => DateTime.SpecifyKind(fireAt, DateTimeKind.Utc),
            _ => fireAt,
        };
        var id = _sequence++;
        AddAction(new CreateTimerAction(id, utc));
        var timer = new PendingTimer();
        (_outstanding ??= [])[id] = timer;
        if (cancellationToken.CanBeCanceled)
        {
            // Cancellation comes from orchestrator code on this thread, so it is deterministic.
            cancellationToken.Register(() =>
            {
                _outstanding?.Remove(id);
                timer.Source.TrySetCanceled(cancellationToken);
            });
        }

        return timer.Source.Task;
    }

    public override Task<T> WaitForExternalEvent<T>(string eventName, CancellationToken cancellationToken = default)
    {
        EnsureOrchestratorThread();
        ArgumentException.ThrowIfNullOrEmpty(eventName);
        var waiter = new EventWaiter<T>(eventName, _payloads.Converter);
        if (_bufferedEvents is { } buffered)
        {
            var index = buffered.FindIndex(e => string.Equals(e.Name, eventName, StringComparison.OrdinalIgnoreCase));
            if (index >= 0)
            {
                var raised = buffered[index];
                buffered.RemoveAt(index);
                waiter.Deliver(raised.Input);
                return waiter.Source.Task;
            }
        }

        (_waiters ??= []).Add(waiter);
        if (cancellationToken.CanBeCanceled)
        {
            cancellationToken.Register(() =>
            {
                _waiters?.Remove(waiter);
                waiter.Source.TrySetCanceled(cancellationToken);
            });
        }

        return waiter.Source.Task;
    }

    public override void SendEvent(string instanceId, string eventName, object payload)
    {
        EnsureOrchestratorThread();
        ArgumentException.ThrowIfNullOrEmpty(instanceId);
        ArgumentException.ThrowIfNullOrEmpty(eventName);
        var serialized = _payloads.Serialize(payload, $"payload of event '{eventName}'");
        AddAction(new SendEventAction(_sequence++, instanceId, eventName, serialized));
    }

    public override void SetCustomStatus(object? customStatus)
    {
        EnsureOrchestratorThread();
        _customStatus = _payloads.Serialize(customStatus, "custom status");
        _customStatusChanged = true;
    }

    public override void ContinueAsNew(object? newInput = null, bool preserveUnprocessedEvents = true) =>
        ContinueAsNew(new ContinueAsNewOptions { NewInput = newInput, PreserveUnprocessedEvents = preserveUnprocessedEvents });

    public override void ContinueAsNew(ContinueAsNewOptions options)
    {
        ArgumentNullException.ThrowIfNull(options);
        EnsureOrchestratorThread();
        var input = _payloads.Serialize(options.NewInput, "ContinueAsNew input");
        _continueAsNew = new ContinueAsNewRequest(input, options.PreserveUnprocessedEvents, options.NewVersion);
    }

    public override Guid NewGuid()
    {
        EnsureOrchestratorThread();
        return DeterministicGuid.Create(string.Create(
            System.Globalization.CultureInfo.InvariantCulture, $"{InstanceId}_{_currentUtc:O}_{_guidCounter++}"));
    }

    private Task<TResult> ScheduleActivity<TResult>(TaskName name, string? input)
    {
        var id = _sequence++;
        AddAction(new ScheduleTaskAction(id, name.Name, input));
        var pending = new PendingResult<TResult>(name, id, _payloads.Converter);
        (_outstanding ??= [])[id] = pending;
        return pending.Source.Task;
    }

    private Task<TResult> ScheduleSubOrchestration<TResult>(TaskName name, string? instanceId, string? input)
    {
        instanceId ??= NewGuid().ToString("N");
        var id = _sequence++;
        AddAction(new CreateSubOrchestrationAction(id, name.Name, instanceId, input, null));
        var pending = new PendingResult<TResult>(name, id, _payloads.Converter);
        (_outstanding ??= [])[id] = pending;
        (_runningChildren ??= new(StringComparer.Ordinal))[instanceId] = id;
        return pending.Source.Task;
    }

    private async Task<TResult> WithRetry<TResult>(Func<Task<TResult>> attempt, TaskRetryOptions retry)
    {
        var firstAttemptAt = CurrentUtcDateTime;
        for (var attemptNumber = 1; ; attemptNumber++)
        {
            try
            {
                return await attempt();
            }
            catch (TaskFailedException ex)
            {
                if (retry.Policy is { } policy)
                {
                    if (!policy.HandleFailure(ex.FailureDetails)
                        || policy.GetDelayBefore(attemptNumber + 1, CurrentUtcDateTime - firstAttemptAt) is not { } delay)
                    {
                        throw;
                    }

                    await CreateTimer(delay, CancellationToken.None);
                }
                else if (retry.Handler is { } handler)
                {
                    var context = new RetryContext(this, attemptNumber, ex.FailureDetails, CurrentUtcDateTime - firstAttemptAt, CancellationToken.None);
                    if (!await handler(context))
                    {
                        throw;
                    }
                }
                else
                {
                    throw;
                }
            }
        }
    }

    private void AddAction(OrchestratorAction action) => (_openActions ??= [])[action.Id] = action;

    private void EnsureOrchestratorThread()
    {
        if (_executingThreadId != Environment.CurrentManagedThreadId)
        {
            throw new OrchestrationDeterminismException(
                $"The orchestration context of '{Name}' ('{InstanceId}') was used outside the orchestrator's thread. Do not use ConfigureAwait(false), Task.Run or other threads in orchestrator code.");
        }
    }

    private void Process(HistoryEvent historyEvent)
    {
        switch (historyEvent)
        {
            case OrchestratorStartedEvent e:
                _currentUtc = e.Timestamp;
                break;
            case ExecutionStartedEvent:
                Start();
                break;
            case TaskScheduledEvent or TimerCreatedEvent or SubOrchestrationInstanceCreatedEvent or EventSentEvent:
                MatchRecordedAction(historyEvent);
                break;
            case ExecutionSuspendedEvent:
                _suspended = true;
                break;
            case ExecutionResumedEvent:
                _suspended = false;
                if (_heldWhileSuspended is { Count: > 0 } held)
                {
                    _heldWhileSuspended = null;
                    foreach (var e in held)
                    {
                        Deliver(e);
                    }
                }

                break;
            case ExecutionTerminatedEvent e:
                if (!IsFinished)
                {
                    _terminated = true;
                    _terminateOutput = e.Output;
                    _recursiveTerminate = e.Recursive;
                }

                break;
            case ExecutionCompletedEvent:
                break;
            default:
                if (_suspended)
                {
                    (_heldWhileSuspended ??= []).Add(historyEvent);
                }
                else
                {
                    Deliver(historyEvent);
                }

                break;
        }
    }

    private void Start()
    {
        if (_runTask is not null)
        {
            return;
        }

        object? input;
        try
        {
            input = _payloads.Converter.Deserialize(_started.Input, _orchestrator.InputType);
        }
        catch (Exception ex)
        {
            _runTask = Task.FromException<object?>(new ArgumentException(
                $"The input of orchestration '{Name}' could not be deserialized to {_orchestrator.InputType}: {ex.Message}", ex));
            return;
        }

        _runTask = Task.Factory.StartNew(
            () => _orchestrator.RunAsync(this, input),
            CancellationToken.None,
            TaskCreationOptions.None,
            _scheduler).Unwrap();
        _scheduler.Drain();
    }

    private void Deliver(HistoryEvent historyEvent)
    {
        switch (historyEvent)
        {
            case TaskCompletedEvent e:
                Complete(e.TaskScheduledId, historyEvent);
                break;
            case TaskFailedEvent e:
                Complete(e.TaskScheduledId, historyEvent);
                break;
            case SubOrchestrationInstanceCompletedEvent e:
                Complete(e.TaskScheduledId, historyEvent);
                ForgetChild(e.TaskScheduledId);
                break;
            case SubOrchestrationInstanceFailedEvent e:
                Complete(e.TaskScheduledId, historyEvent);
                ForgetChild(e.TaskScheduledId);
                break;
            case TimerFiredEvent e:
                Complete(e.TimerId, historyEvent);
                break;
            case EventRaisedEvent e:
                var index = _waiters?.FindIndex(w => string.Equals(w.Name, e.Name, StringComparison.OrdinalIgnoreCase)) ?? -1;
                if (index >= 0)
                {
                    var waiter = _waiters![index];
                    _waiters.RemoveAt(index);
                    waiter.Deliver(e.Input);
                }
                else
                {
                    (_bufferedEvents ??= []).Add(e);
                }

                break;
        }

        _scheduler.Drain();
    }

    private void Complete(int taskId, HistoryEvent completion)
    {
        if (_outstanding is not null && _outstanding.Remove(taskId, out var pending))
        {
            pending.Complete(completion);
        }
    }

    private void ForgetChild(int taskId)
    {
        if (_runningChildren is null)
        {
            return;
        }

        foreach (var (childId, id) in _runningChildren)
        {
            if (id == taskId)
            {
                _runningChildren.Remove(childId);
                return;
            }
        }
    }

    private void MatchRecordedAction(HistoryEvent recorded)
    {
        if (_openActions is null || !_openActions.Remove(recorded.EventId, out var action))
        {
            throw NonDeterminism(recorded, null);
        }

        var matches = (recorded, action) switch
        {
            (TaskScheduledEvent e, ScheduleTaskAction a) => string.Equals(e.Name, a.Name, StringComparison.OrdinalIgnoreCase),
            (TimerCreatedEvent, CreateTimerAction) => true,
            (SubOrchestrationInstanceCreatedEvent e, CreateSubOrchestrationAction a) =>
                string.Equals(e.Name, a.Name, StringComparison.OrdinalIgnoreCase) && string.Equals(e.InstanceId, a.InstanceId, StringComparison.Ordinal),
            (EventSentEvent e, SendEventAction a) =>
                string.Equals(e.Name, a.EventName, StringComparison.OrdinalIgnoreCase) && string.Equals(e.InstanceId, a.TargetInstanceId, StringComparison.Ordinal),
            _ => false,
        };
        if (!matches)
        {
            throw NonDeterminism(recorded, action);
        }
    }

    private NonDeterministicOrchestrationException NonDeterminism(HistoryEvent recorded, OrchestratorAction? action)
    {
        var what = recorded switch
        {
            TaskScheduledEvent e => $"TaskScheduled #{e.EventId} '{e.Name}'",
            TimerCreatedEvent e => $"TimerCreated #{e.EventId} (fire at {e.FireAt:O})",
            SubOrchestrationInstanceCreatedEvent e => $"SubOrchestrationInstanceCreated #{e.EventId} '{e.Name}' (instance '{e.InstanceId}')",
            EventSentEvent e => $"EventSent #{e.EventId} '{e.Name}' to '{e.InstanceId}'",
            _ => $"{recorded.EventType} #{recorded.EventId}",
        };
        var now = action is null
            ? $"the replayed code took no action with sequence ID #{recorded.EventId}"
            : $"the replayed code now produces {action.Describe()}";
        return new NonDeterministicOrchestrationException(
            $"Non-deterministic orchestration '{Name}' (instance '{InstanceId}'): the history recorded {what}, but {now}. " +
            "The orchestrator code changed while this instance was running; deploy such changes under a new orchestrator name or version.");
    }

    private EpisodeResult Finish(List<HistoryEvent> history, List<EventRaisedEvent> carried, DateTime episodeTime)
    {
        var actions = new List<OrchestratorAction>();
        if (_fatal is null && !_terminated && _openActions is { Count: > 0 } open)
        {
            actions.AddRange(open.Values);
            actions.Sort(static (a, b) => a.Id.CompareTo(b.Id));
            open.Clear();
        }

        _openActions?.Clear();
        foreach (var action in actions)
        {
            history.Add(action switch
            {
                ScheduleTaskAction a => new TaskScheduledEvent(a.Id, episodeTime, a.Name, a.Input),
                CreateTimerAction a => new TimerCreatedEvent(a.Id, episodeTime, a.FireAt),
                CreateSubOrchestrationAction a => new SubOrchestrationInstanceCreatedEvent(a.Id, episodeTime, a.Name, a.InstanceId, a.Input),
                SendEventAction a => new EventSentEvent(a.Id, episodeTime, a.TargetInstanceId, a.EventName, a.Input),
                _ => throw new InvalidOperationException($"Unknown action {action}."),
            });
        }

        var result = new EpisodeResult
        {
            NewHistory = history,
            Actions = actions,
            EpisodeTime = episodeTime,
            CustomStatusChanged = _customStatusChanged,
            CustomStatus = _customStatus,
        };

        if (_terminated)
        {
            result.Status = OrchestrationRuntimeStatus.Terminated;
            result.Output = _terminateOutput;
            result.RecursiveTerminate = _recursiveTerminate;
            result.Failure = new TaskFailureDetails(
                "Fleet.Durable.OrchestrationTerminated", $"The orchestration was terminated{(_terminateOutput is null ? "." : $": {_terminateOutput}")}", null, null);
            return result;
        }

        if (_fatal is not null)
        {
            result.Status = OrchestrationRuntimeStatus.Failed;
            result.Failure = _fatal;
            history.Add(new ExecutionCompletedEvent(episodeTime, null, _fatal));
            return result;
        }

        if (_runTask is { IsCompleted: true } run)
        {
            if (run.IsCompletedSuccessfully)
            {
                if (_continueAsNew is { } next)
                {
                    result.ContinueAsNew = next;
                    if (next.PreserveUnprocessedEvents)
                    {
                        if (_bufferedEvents is not null)
                        {
                            carried.InsertRange(0, _bufferedEvents);
                        }

                        result.CarriedEvents = carried;
                    }

                    result.Status = OrchestrationRuntimeStatus.Running;
                    return result;
                }

                try
                {
                    result.Output = _payloads.Serialize(run.Result, $"output of orchestration '{Name}'");
                    result.Status = OrchestrationRuntimeStatus.Completed;
                    history.Add(new ExecutionCompletedEvent(episodeTime, result.Output, null));
                    return result;
                }
                catch (Exception ex)
                {
                    result.Failure = TaskFailureDetails.FromException(ex);
                }
            }
            else
            {
                var exception = run.Exception?.InnerException ?? new TaskCanceledException(run);
                result.Failure = TaskFailureDetails.FromException(exception);
            }

            result.Status = OrchestrationRuntimeStatus.Failed;
            history.Add(new ExecutionCompletedEvent(episodeTime, null, result.Failure));
            return result;
        }

        var waitsOnSomething = (_outstanding?.Count ?? 0) + (_waiters?.Count ?? 0) > 0 || _suspended;
        if (!waitsOnSomething && _runTask is not null)
        {
            _fatal = TaskFailureDetails.FromException(new OrchestrationDeterminismException(
                $"Orchestrator '{Name}' is waiting, but not on any durable task, so it could never resume. Orchestrator code may only await durable tasks: activities, sub-orchestrations, timers and external events (not Task.Delay, I/O or Task.Run)."));
            result.Status = OrchestrationRuntimeStatus.Failed;
            result.Failure = _fatal;
            history.Add(new ExecutionCompletedEvent(episodeTime, null, _fatal));
            return result;
        }

        result.Status = _suspended ? OrchestrationRuntimeStatus.Suspended : OrchestrationRuntimeStatus.Running;
        return result;
    }

    private interface IPendingTask
    {
        void Complete(HistoryEvent completion);
    }

    private sealed class PendingResult<TResult>(TaskName name, int taskId, DataConverter converter) : IPendingTask
    {
        public TaskCompletionSource<TResult> Source { get; } = new();

        public void Complete(HistoryEvent completion)
        {
            switch (completion)
            {
                case TaskCompletedEvent e:
                    SetResult(e.Result);
                    break;
                case SubOrchestrationInstanceCompletedEvent e:
                    SetResult(e.Result);
                    break;
                case TaskFailedEvent e:
                    Source.TrySetException(new TaskFailedException(name, taskId, e.FailureDetails));
                    break;
                case SubOrchestrationInstanceFailedEvent e:
                    Source.TrySetException(new TaskFailedException(name, taskId, e.FailureDetails));
                    break;
            }
        }

        private void SetResult(string? result)
        {
            try
            {
                Source.TrySetResult(converter.Deserialize<TResult>(result)!);
            }
            catch (Exception ex)
            {
                Source.TrySetException(ex);
            }
        }
    }

    private sealed class PendingTimer : IPendingTask
    {
        public TaskCompletionSource Source { get; } = new();

        public void Complete(HistoryEvent completion) => Source.TrySetResult();
    }

    private abstract class EventWaiter(string name)
    {
        public string Name { get; } = name;

        public abstract void Deliver(string? payload);
    }

    private sealed class EventWaiter<T>(string name, DataConverter converter) : EventWaiter(name)
    {
        public TaskCompletionSource<T> Source { get; } = new();

        public override void Deliver(string? payload)
        {
            try
            {
                Source.TrySetResult(converter.Deserialize<T>(payload)!);
            }
            catch (Exception ex)
            {
                Source.TrySetException(ex);
            }
        }
    }

    /// <summary>
    /// Runs the orchestrator's continuations one at a time on the thread driving the episode. A continuation queued from
    /// any other thread means the code awaited something non-durable; it is never run, and the next episode fails.
    /// </summary>
    private sealed class EpisodeScheduler(OrchestrationExecutor owner) : TaskScheduler
    {
        private readonly Queue<Task> _queue = new();

        public override int MaximumConcurrencyLevel => 1;

        public void Drain()
        {
            while (true)
            {
                Task? next;
                lock (_queue)
                {
                    if (!_queue.TryDequeue(out next))
                    {
                        return;
                    }
                }

                TryExecuteTask(next);
            }
        }

        protected override void QueueTask(Task task)
        {
            if (owner._executingThreadId != Environment.CurrentManagedThreadId)
            {
                owner._foreignContinuation = true;
                return;
            }

            lock (_queue)
            {
                _queue.Enqueue(task);
            }
        }

        protected override bool TryExecuteTaskInline(Task task, bool taskWasPreviouslyQueued) => false;

        protected override IEnumerable<Task> GetScheduledTasks()
        {
            lock (_queue)
            {
                return [.. _queue];
            }
        }
    }
}

/// <summary>A ContinueAsNew request made by orchestrator code.</summary>
internal sealed record ContinueAsNewRequest(string? Input, bool PreserveUnprocessedEvents, string? NewVersion);

/// <summary>What an episode produced, before it is turned into a store commit.</summary>
internal sealed class EpisodeResult
{
    public required List<HistoryEvent> NewHistory { get; init; }

    public required List<OrchestratorAction> Actions { get; init; }

    public required DateTime EpisodeTime { get; init; }

    public OrchestrationRuntimeStatus Status { get; set; }

    public string? Output { get; set; }

    public TaskFailureDetails? Failure { get; set; }

    public bool CustomStatusChanged { get; init; }

    public string? CustomStatus { get; init; }

    public ContinueAsNewRequest? ContinueAsNew { get; set; }

    public List<EventRaisedEvent> CarriedEvents { get; set; } = [];

    public bool RecursiveTerminate { get; set; }
}
