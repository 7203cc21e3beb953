using System.Collections.Concurrent;
using System.Text.Json;
using Fleet.Durable.Client;
using Fleet.Durable.History;
using Fleet.Durable.Runtime;
using Fleet.Durable.Storage;
using Microsoft.Extensions.DependencyInjection;
using Microsoft.Extensions.Hosting;
using Microsoft.Extensions.Logging;
using Microsoft.Extensions.Options;

namespace Fleet.Durable.Worker;

/// <summary>
/// Runs orchestration episodes and activities from a store: a hosted service with one dispatch loop per kind of work,
/// bounded concurrency, cached executors, poison handling and graceful shutdown (in-flight work finishes, or is
/// released when the host's shutdown timeout ends first).
/// </summary>
public sealed class DurableTaskWorker : IHostedService, IAsyncDisposable
{
    private readonly IOrchestrationStore _store;
    private readonly DurableTaskOptions _options;
    private readonly DurableTaskRegistry _registry;
    private readonly IServiceProvider _services;
    private readonly ILoggerFactory _loggerFactory;
    private readonly ILogger _logger;
    private readonly TimeProvider _time;
    private readonly PayloadSerializer _payloads;
    private readonly InstanceCache<OrchestrationExecutor> _cache;
    private readonly SemaphoreSlim _orchestrationSlots;
    private readonly SemaphoreSlim _activitySlots;
    private readonly ConcurrentDictionary<string, byte> _forceLoad = new(StringComparer.Ordinal);
    private readonly ConcurrentDictionary<OrchestrationWorkItem, Task> _episodes = new();
    private readonly ConcurrentDictionary<ActivityWorkItem, Task> _activities = new();
    private readonly CancellationTokenSource _stopping = new();
    private readonly CancellationTokenSource _drainExpired = new();
    private readonly CancellationTokenSource _renewalStop = new();
    private Task? _orchestrationLoop;
    private Task? _activityLoop;
    private Task? _renewalLoop;

    /// <summary>Creates the worker; the DI extension <c>AddDurableTask</c> registers it as a hosted service.</summary>
    public DurableTaskWorker(
        IOrchestrationStore store,
        IOptions<DurableTaskOptions> options,
        IOptions<DurableTaskRegistry> registry,
        IServiceProvider services,
        ILoggerFactory loggerFactory,
        TimeProvider timeProvider)
    {
        _store = store;
        _options = options.Value;
        _registry = registry.Value;
        _services = services;
        _loggerFactory = loggerFactory;
        _logger = loggerFactory.CreateLogger("Fleet.Durable.Worker");
        _time = timeProvider;
        _payloads = new PayloadSerializer(_options.DataConverter, _options.MaxPayloadBytes);
        _cache = new InstanceCache<OrchestrationExecutor>(_options.CacheSize, static e => e.InstanceId);
        _orchestrationSlots = new SemaphoreSlim(_options.MaxConcurrentOrchestrations);
        _activitySlots = new SemaphoreSlim(_options.MaxConcurrentActivities);
    }

    /// <summary>Instances whose next episode must reload from the store (tests check none is left behind).</summary>
    internal int PendingForcedLoads => _forceLoad.Count;

    /// <inheritdoc />
    public async Task StartAsync(CancellationToken cancellationToken)
    {
        await _store.InitializeAsync(cancellationToken).ConfigureAwait(false);
        await _store.StartDispatchAsync(cancellationToken).ConfigureAwait(false);
        _orchestrationLoop = Task.Run(() => RunLoopAsync("orchestration", _orchestrationSlots, DispatchOrchestrationAsync), CancellationToken.None);
        _activityLoop = Task.Run(() => RunLoopAsync("activity", _activitySlots, DispatchActivityAsync), CancellationToken.None);
        _renewalLoop = Task.Run(() => RenewEpisodeLocksAsync(_renewalStop.Token), CancellationToken.None);
        _logger.WorkerStarted(_store.HubName, _registry.Orchestrators.Count, _registry.Activities.Count, _options.MaxConcurrentOrchestrations, _options.MaxConcurrentActivities);
    }

    /// <inheritdoc />
    public async Task StopAsync(CancellationToken cancellationToken)
    {
        if (_stopping.IsCancellationRequested)
        {
            return;
        }

        _logger.WorkerStopping(_store.HubName, _episodes.Count, _activities.Count);
        await _stopping.CancelAsync().ConfigureAwait(false);
        await Task.WhenAll(_orchestrationLoop ?? Task.CompletedTask, _activityLoop ?? Task.CompletedTask).ConfigureAwait(false);
        var released = 0;
        try
        {
            await Task.WhenAll(_episodes.Values.Concat(_activities.Values)).WaitAsync(cancellationToken).ConfigureAwait(false);
        }
        catch (OperationCanceledException) when (cancellationToken.IsCancellationRequested)
        {
            // The host's shutdown timeout ended first: tell activities that watch TaskActivityContext.CancellationToken,
            // and hand unfinished activities back so they run again later.
            await _drainExpired.CancelAsync().ConfigureAwait(false);
            foreach (var item in _activities.Keys)
            {
                try
                {
                    await _store.AbandonActivityAsync(item, TimeSpan.Zero, countAttempt: false, CancellationToken.None).ConfigureAwait(false);
                    released++;
                }
                catch (Exception)
                {
                    // The store may already be closing; the lock then expires or is reclaimed at the next start.
                }
            }
        }
        finally
        {
            await _renewalStop.CancelAsync().ConfigureAwait(false);
            await (_renewalLoop ?? Task.CompletedTask).ConfigureAwait(false);
        }

        _logger.WorkerStopped(_store.HubName, released);
    }

    /// <inheritdoc />
    public async ValueTask DisposeAsync()
    {
        await StopAsync(CancellationToken.None).ConfigureAwait(false);

        // The semaphores are not disposed: activities released at a shutdown timeout may still finish and release
        // their slot later, and SemaphoreSlim holds no unmanaged resource unless its wait handle is used. For the same
        // reason the drain token stays undisposed: such activities may still hold it.
        _stopping.Dispose();
        _renewalStop.Dispose();
    }

    private async Task RunLoopAsync(string kind, SemaphoreSlim slots, Func<CancellationToken, Task> dispatchOne)
    {
        var stopping = _stopping.Token;
        while (!stopping.IsCancellationRequested)
        {
            try
            {
                await slots.WaitAsync(stopping).ConfigureAwait(false);
            }
            catch (OperationCanceledException)
            {
                return;
            }

            try
            {
                await dispatchOne(stopping).ConfigureAwait(false);
            }
            catch (OperationCanceledException) when (stopping.IsCancellationRequested)
            {
                slots.Release();
                return;
            }
            catch (Exception ex)
            {
                slots.Release();
                _logger.DispatchLoopFailed(ex, kind, _store.HubName);
                try
                {
                    await Task.Delay(_options.PollingInterval, _time, stopping).ConfigureAwait(false);
                }
                catch (OperationCanceledException)
                {
                    return;
                }
            }
        }
    }

    private async Task DispatchOrchestrationAsync(CancellationToken stopping)
    {
        var item = await _store.LockNextOrchestrationAsync(stopping).ConfigureAwait(false);
        var done = new TaskCompletionSource(TaskCreationOptions.RunContinuationsAsynchronously);
        _episodes[item] = done.Task;
        _ = Task.Run(async () =>
        {
            try
            {
                await ProcessOrchestrationAsync(item).ConfigureAwait(false);
            }
            finally
            {
                _episodes.TryRemove(item, out _);
                _orchestrationSlots.Release();
                done.SetResult();
            }
        }, CancellationToken.None);
    }

    private async Task DispatchActivityAsync(CancellationToken stopping)
    {
        var item = await _store.LockNextActivityAsync(stopping).ConfigureAwait(false);
        var done = new TaskCompletionSource(TaskCreationOptions.RunContinuationsAsynchronously);
        _activities[item] = done.Task;
        _ = Task.Run(async () =>
        {
            try
            {
                await ProcessActivityAsync(item).ConfigureAwait(false);
            }
            finally
            {
                _activities.TryRemove(item, out _);
                _activitySlots.Release();
                done.SetResult();
            }
        }, CancellationToken.None);
    }

    private async Task ProcessOrchestrationAsync(OrchestrationWorkItem item)
    {
        var instanceId = item.InstanceId;

        // The flag forces this one episode to load from the store; every path below that leaves the instance in doubt
        // sets it again, so nothing stays flagged once an instance is finished, discarded or failed.
        var forceLoad = _forceLoad.TryRemove(instanceId, out _);
        try
        {
            if (item.Attempts >= _options.MessageAttemptLimit)
            {
                // Interrupted as often as the limit allows (for example orchestrator code that crashes the process).
                var reason = $"Messages for this instance were attempted {item.Attempts} times without being processed (setting DurableTask:MessageAttemptLimit = {_options.MessageAttemptLimit}); the process may have crashed while processing them.";
                _logger.PoisonOrchestration(instanceId, item.Attempts, reason);
                _cache.Remove(instanceId);
                await FailPoisonedInstanceAsync(item, reason).ConfigureAwait(false);
                return;
            }

            var messages = DecodeMessages(item);
            var executor = _cache.Take(instanceId);
            if (executor is not null && item.HistoryCount is { } storedCount
                && (storedCount != executor.HistoryCount || item.ExecutionId != executor.ExecutionId))
            {
                executor = null; // another host advanced the instance since this executor was cached
            }

            var start = messages.Count > 0 ? messages[0].Event as ExecutionStartedEvent : null;
            if (executor is not null && start is not null && start.ExecutionId != executor.ExecutionId)
            {
                executor = null;
            }

            var fresh = false;
            if (executor is null)
            {
                if (start is not null && !forceLoad)
                {
                    executor = CreateExecutor(instanceId, start);
                    fresh = true;
                }
                else
                {
                    var loaded = await LoadExecutorAsync(item, messages).ConfigureAwait(false);
                    if (loaded is null)
                    {
                        return; // handled: discarded, terminated before start, or not started yet
                    }

                    (executor, fresh) = loaded.Value;
                }
            }

            if (executor is null)
            {
                return;
            }

            var deliver = new List<HistoryEvent>(messages.Count);
            foreach (var (message, historyEvent) in messages)
            {
                if (message.TargetExecutionId is { } target && target != executor.ExecutionId)
                {
                    continue; // meant for an earlier execution (ContinueAsNew or a restart)
                }

                if (historyEvent is ExecutionStartedEvent && !fresh)
                {
                    continue;
                }

                deliver.Add(historyEvent);
            }

            var statusBefore = fresh ? OrchestrationRuntimeStatus.Pending
                : executor.IsSuspended ? OrchestrationRuntimeStatus.Suspended : OrchestrationRuntimeStatus.Running;
            var result = executor.RunEpisode(deliver, _time.GetUtcNow().UtcDateTime);
            var commit = BuildCommit(item, executor, result, statusBefore);
            if (!await _store.CommitOrchestrationAsync(item, commit, CancellationToken.None).ConfigureAwait(false))
            {
                _forceLoad[instanceId] = 0;
                _logger.StaleEpisode(instanceId);
                await _store.AbandonOrchestrationAsync(item, TimeSpan.Zero, countAttempt: false, CancellationToken.None).ConfigureAwait(false);
                return;
            }

            executor.OnCommitted(commit.NewHistory.Count);
            if (!executor.IsFinished)
            {
                _cache.Put(executor);
            }
            else
            {
                LogFinished(executor.Name.Name, instanceId, result);
            }
        }
        catch (Exception ex)
        {
            _cache.Remove(instanceId);
            _forceLoad[instanceId] = 0;
            if (!await HandleFailedEpisodeAsync(item, ex).ConfigureAwait(false))
            {
                _forceLoad.TryRemove(instanceId, out _); // failed as poisoned: there is no next episode to force
            }
        }
    }

    private static List<(StoredMessage Message, HistoryEvent Event)> DecodeMessages(OrchestrationWorkItem item)
    {
        var messages = new List<(StoredMessage, HistoryEvent)>(item.Messages.Count);
        foreach (var message in item.Messages)
        {
            HistoryEvent decoded;
            try
            {
                decoded = HistorySerializer.Deserialize(message.Data);
            }
            catch (Exception ex) when (ex is JsonException or NotSupportedException)
            {
                throw new InvalidDataException($"Message {message.Id} for '{item.InstanceId}' is not a valid runtime message: {ex.Message}", ex);
            }

            messages.Add((message, decoded));
        }

        // A start message goes first: events enqueued while a ContinueAsNew episode ran precede the new start message.
        var startIndex = messages.FindIndex(m => m.Item2 is ExecutionStartedEvent);
        if (startIndex > 0)
        {
            var start = messages[startIndex];
            messages.RemoveAt(startIndex);
            messages.Insert(0, start);
        }

        return messages;
    }

    private async Task<(OrchestrationExecutor Executor, bool Fresh)?> LoadExecutorAsync(
        OrchestrationWorkItem item,
        List<(StoredMessage Message, HistoryEvent Event)> messages)
    {
        var state = await _store.LoadInstanceStateAsync(item.InstanceId, CancellationToken.None).ConfigureAwait(false);
        if (state is null || state.Instance.Status.IsTerminal())
        {
            await DiscardAsync(item).ConfigureAwait(false);
            return null;
        }

        var record = state.Instance;
        var history = new List<HistoryEvent>(state.History.Count);
        foreach (var data in state.History)
        {
            history.Add(HistorySerializer.Deserialize(data));
        }

        if (history.Count > 0)
        {
            var started = history.OfType<ExecutionStartedEvent>().FirstOrDefault()
                ?? throw new InvalidDataException($"The history of '{item.InstanceId}' has no ExecutionStarted event.");
            var executor = CreateExecutor(item.InstanceId, started);
            executor.Replay(history);
            return (executor, false);
        }

        if (messages.Count > 0 && messages[0].Event is ExecutionStartedEvent start && start.ExecutionId == record.ExecutionId)
        {
            return (CreateExecutor(item.InstanceId, start), true);
        }

        if (messages.Any(m => m.Event is ExecutionTerminatedEvent))
        {
            await TerminateBeforeStartAsync(item, record, messages).ConfigureAwait(false);
            return null;
        }

        // Not started yet (a scheduled start): hold the messages until the start is due.
        var wait = record.ScheduledStartAt is { } due && due > _time.GetUtcNow() ? due - _time.GetUtcNow() : _options.PollingInterval;
        await _store.AbandonOrchestrationAsync(item, wait, countAttempt: false, CancellationToken.None).ConfigureAwait(false);
        return null;
    }

    private OrchestrationExecutor CreateExecutor(string instanceId, ExecutionStartedEvent started)
    {
        ITaskOrchestrator orchestrator;
        if (_registry.Orchestrators.TryGetValue(new TaskName(started.Name), out var factory))
        {
            orchestrator = factory(_services);
        }
        else
        {
            _logger.OrchestratorNotRegistered(started.Name, instanceId);
            orchestrator = new MissingOrchestrator(started.Name);
        }

        return new OrchestrationExecutor(instanceId, started, orchestrator, _payloads, _loggerFactory);
    }

    private Task DiscardAsync(OrchestrationWorkItem item) =>
        _store.CommitOrchestrationAsync(
            item,
            new OrchestrationCommit
            {
                ExpectedExecutionId = string.Empty,
                ExpectedHistoryCount = 0,
                ConsumedMessageIds = item.Messages.Select(m => m.Id).ToArray(),
            },
            CancellationToken.None);

    private async Task TerminateBeforeStartAsync(OrchestrationWorkItem item, InstanceRecord record, List<(StoredMessage Message, HistoryEvent Event)> messages)
    {
        var terminate = messages.Select(m => m.Event).OfType<ExecutionTerminatedEvent>().First();
        var now = _time.GetUtcNow();
        var history = new HistoryEvent[] { new OrchestratorStartedEvent(now.UtcDateTime), terminate };
        var commit = new OrchestrationCommit
        {
            ExpectedExecutionId = record.ExecutionId,
            ExpectedHistoryCount = 0,
            NewHistory = history.Select(HistorySerializer.Serialize).ToArray(),
            ConsumedMessageIds = item.Messages.Select(m => m.Id).ToArray(),
            Instance = new InstanceUpdate
            {
                Status = OrchestrationRuntimeStatus.Terminated,
                ExecutionId = record.ExecutionId,
                HistoryCount = history.Length,
                LastUpdatedAt = now,
                CompletedAt = now,
                Output = terminate.Output,
            },
        };
        if (!await _store.CommitOrchestrationAsync(item, commit, CancellationToken.None).ConfigureAwait(false))
        {
            await _store.AbandonOrchestrationAsync(item, TimeSpan.Zero, countAttempt: false, CancellationToken.None).ConfigureAwait(false);
        }
    }

    private OrchestrationCommit BuildCommit(OrchestrationWorkItem item, OrchestrationExecutor executor, EpisodeResult result, OrchestrationRuntimeStatus statusBefore)
    {
        var now = _time.GetUtcNow();
        var episodeTime = new DateTimeOffset(result.EpisodeTime, TimeSpan.Zero);
        var terminal = result.Status.IsTerminal();
        var activities = new List<NewActivity>();
        var outgoing = new List<OutgoingMessage>();
        var children = new List<NewSubOrchestration>();
        foreach (var action in result.Actions)
        {
            switch (action)
            {
                case ScheduleTaskAction a:
                    activities.Add(new NewActivity(a.Id, a.Name, a.Input));
                    break;
                case CreateTimerAction a when !terminal:
                    var fired = new TimerFiredEvent(a.FireAt, a.Id, a.FireAt);
                    outgoing.Add(new OutgoingMessage(executor.InstanceId, executor.ExecutionId, HistorySerializer.Serialize(fired), new DateTimeOffset(a.FireAt, TimeSpan.Zero), OnlyIfRunning: false));
                    break;
                case SendEventAction a:
                    var raised = new EventRaisedEvent(result.EpisodeTime, a.EventName, a.Input);
                    outgoing.Add(new OutgoingMessage(a.TargetInstanceId, null, HistorySerializer.Serialize(raised), now, OnlyIfRunning: true));
                    break;
                case CreateSubOrchestrationAction a:
                    var executionId = Guid.NewGuid().ToString("N");
                    var childStart = new ExecutionStartedEvent(
                        result.EpisodeTime, a.Name, executionId, a.Input, a.Version,
                        new ParentInstanceInfo(executor.Name.Name, executor.InstanceId, executor.ExecutionId, a.Id));
                    var conflict = new SubOrchestrationInstanceFailedEvent(result.EpisodeTime, a.Id, new TaskFailureDetails(
                        typeof(OrchestrationAlreadyExistsException).FullName!,
                        $"A sub-orchestration with instance ID '{a.InstanceId}' is already running.",
                        null,
                        null));
                    children.Add(new NewSubOrchestration(
                        new NewInstance(a.InstanceId, executionId, a.Name, a.Version, a.Input, now, now, HistorySerializer.Serialize(childStart), executor.InstanceId),
                        HistorySerializer.Serialize(conflict)));
                    break;
            }
        }

        var update = new InstanceUpdate
        {
            Status = result.Status,
            ExecutionId = executor.ExecutionId,
            HistoryCount = executor.HistoryCount + result.NewHistory.Count,
            StatusChanged = result.Status != statusBefore,
            LastUpdatedAt = now,
            CompletedAt = terminal ? now : null,
            Output = result.Output,
            FailureDetails = result.Failure is { } failure && result.Status == OrchestrationRuntimeStatus.Failed ? HistorySerializer.SerializeFailure(failure) : null,
            CustomStatusChanged = result.CustomStatusChanged,
            CustomStatus = result.CustomStatus,
        };

        var started = executor.Started;
        if (terminal && started.Parent is { } parent)
        {
            HistoryEvent notice = result.Status == OrchestrationRuntimeStatus.Completed
                ? new SubOrchestrationInstanceCompletedEvent(result.EpisodeTime, parent.TaskScheduledId, result.Output)
                : new SubOrchestrationInstanceFailedEvent(result.EpisodeTime, parent.TaskScheduledId, result.Failure!);
            outgoing.Add(new OutgoingMessage(parent.InstanceId, parent.ExecutionId, HistorySerializer.Serialize(notice), now, OnlyIfRunning: true));
        }

        var history = result.NewHistory.Select(HistorySerializer.Serialize).ToArray();
        var replaceHistory = false;
        if (result.ContinueAsNew is { } next)
        {
            var executionId = Guid.NewGuid().ToString("N");
            var nextStart = new ExecutionStartedEvent(result.EpisodeTime, started.Name, executionId, next.Input, next.NewVersion ?? started.Version, started.Parent);
            outgoing.Add(new OutgoingMessage(executor.InstanceId, executionId, HistorySerializer.Serialize(nextStart), now, OnlyIfRunning: false));
            foreach (var carried in result.CarriedEvents)
            {
                outgoing.Add(new OutgoingMessage(executor.InstanceId, executionId, HistorySerializer.Serialize(carried), now, OnlyIfRunning: false));
            }

            update = update with
            {
                ExecutionId = executionId,
                HistoryCount = 0,
                InputChanged = true,
                Input = next.Input,
            };
            history = [];
            replaceHistory = true;
        }

        return new OrchestrationCommit
        {
            ExpectedExecutionId = executor.ExecutionId,
            ExpectedHistoryCount = executor.HistoryCount,
            NewHistory = history,
            ReplaceHistory = replaceHistory,
            ConsumedMessageIds = item.Messages.Select(m => m.Id).ToArray(),
            Instance = update,
            Activities = activities,
            Messages = outgoing,
            SubOrchestrations = children,
            MessageToRunningChildren = result.RecursiveTerminate
                ? HistorySerializer.Serialize(new ExecutionTerminatedEvent(result.EpisodeTime, result.Output, Recursive: true))
                : null,
        };
    }

    /// <summary>Retries the messages later or fails the instance as poisoned; true when they will be retried.</summary>
    private async Task<bool> HandleFailedEpisodeAsync(OrchestrationWorkItem item, Exception error)
    {
        var attempt = item.Attempts + 1;
        try
        {
            if (attempt < _options.MessageAttemptLimit)
            {
                _logger.EpisodeFailed(error, item.InstanceId, attempt, _options.MessageAttemptLimit);
                await _store.AbandonOrchestrationAsync(item, RetryDelay(attempt), countAttempt: true, CancellationToken.None).ConfigureAwait(false);
                return true;
            }

            var reason = $"Messages for this instance failed to be processed {attempt} times (setting DurableTask:MessageAttemptLimit = {_options.MessageAttemptLimit}); last error: {error.GetType().FullName}: {error.Message}";
            _logger.PoisonOrchestration(item.InstanceId, attempt, reason);
            return !await FailPoisonedInstanceAsync(item, reason).ConfigureAwait(false);
        }
        catch (Exception ex)
        {
            _logger.EpisodeFailed(ex, item.InstanceId, attempt, _options.MessageAttemptLimit);
            try
            {
                await _store.AbandonOrchestrationAsync(item, RetryDelay(attempt), countAttempt: true, CancellationToken.None).ConfigureAwait(false);
            }
            catch (Exception)
            {
                // The lock expires on its own; nothing more can be done here.
            }

            return true;
        }
    }

    /// <summary>Fails the instance (or discards messages of a finished one); false when the commit was refused and the messages wait for another attempt.</summary>
    private async Task<bool> FailPoisonedInstanceAsync(OrchestrationWorkItem item, string reason)
    {
        var state = await _store.LoadInstanceStateAsync(item.InstanceId, CancellationToken.None).ConfigureAwait(false);
        if (state is null || state.Instance.Status.IsTerminal())
        {
            await DiscardAsync(item).ConfigureAwait(false);
            return true;
        }

        var now = _time.GetUtcNow();
        var failure = TaskFailureDetails.FromException(new PoisonMessageException(reason));
        var history = new HistoryEvent[] { new OrchestratorStartedEvent(now.UtcDateTime), new ExecutionCompletedEvent(now.UtcDateTime, null, failure) };
        var outgoing = new List<OutgoingMessage>();
        ParentInstanceInfo? parent = null;
        try
        {
            parent = state.History.Concat(item.Messages.Select(m => m.Data))
                .Select(TryDecode).OfType<ExecutionStartedEvent>().FirstOrDefault()?.Parent;
        }
        catch (Exception)
        {
            // Without a readable start event the parent cannot be told; it is failed on its own terms.
        }

        if (parent is not null)
        {
            var notice = new SubOrchestrationInstanceFailedEvent(now.UtcDateTime, parent.TaskScheduledId, failure);
            outgoing.Add(new OutgoingMessage(parent.InstanceId, parent.ExecutionId, HistorySerializer.Serialize(notice), now, OnlyIfRunning: true));
        }

        var commit = new OrchestrationCommit
        {
            ExpectedExecutionId = state.Instance.ExecutionId,
            ExpectedHistoryCount = state.Instance.HistoryCount,
            NewHistory = history.Select(HistorySerializer.Serialize).ToArray(),
            ConsumedMessageIds = item.Messages.Select(m => m.Id).ToArray(),
            Instance = new InstanceUpdate
            {
                Status = OrchestrationRuntimeStatus.Failed,
                ExecutionId = state.Instance.ExecutionId,
                HistoryCount = state.Instance.HistoryCount + history.Length,
                LastUpdatedAt = now,
                CompletedAt = now,
                FailureDetails = HistorySerializer.SerializeFailure(failure),
            },
            Messages = outgoing,
        };
        if (!await _store.CommitOrchestrationAsync(item, commit, CancellationToken.None).ConfigureAwait(false))
        {
            await _store.AbandonOrchestrationAsync(item, TimeSpan.Zero, countAttempt: false, CancellationToken.None).ConfigureAwait(false);
            return false;
        }

        return true;
    }

    private static HistoryEvent? TryDecode(string data)
    {
        try
        {
            return HistorySerializer.Deserialize(data);
        }
        catch (Exception ex) when (ex is JsonException or NotSupportedException)
        {
            return null;
        }
    }

    private static TimeSpan RetryDelay(int attempt) => TimeSpan.FromSeconds(Math.Min(30, attempt));

    private void LogFinished(string name, string instanceId, EpisodeResult result)
    {
        if (result.Status == OrchestrationRuntimeStatus.Failed && result.Failure is { } failure)
        {
            _logger.OrchestrationFailed(name, instanceId, failure.ErrorType, failure.ErrorMessage);
        }
        else if (_logger.IsEnabled(LogLevel.Debug))
        {
            _logger.OrchestrationFinished(name, instanceId, result.Status.ToString());
        }
    }

    private async Task ProcessActivityAsync(ActivityWorkItem item)
    {
        if (item.Attempts >= _options.MessageAttemptLimit)
        {
            _logger.PoisonActivity(item.Name, item.InstanceId, item.TaskId, item.Attempts);
            var poisoned = new TaskFailedEvent(_time.GetUtcNow().UtcDateTime, item.TaskId, TaskFailureDetails.FromException(new PoisonMessageException(
                $"Activity '{item.Name}' was attempted {item.Attempts} times without its result being recorded (setting DurableTask:MessageAttemptLimit = {_options.MessageAttemptLimit}); the process may have crashed while running it.")));
            await CompleteActivityAsync(item, poisoned).ConfigureAwait(false);
            return;
        }

        using var renewal = new CancellationTokenSource();
        var renewTask = RenewWhileRunningAsync(item, renewal.Token);
        HistoryEvent? outcome;
        try
        {
            outcome = await RunActivityAsync(item).ConfigureAwait(false);
        }
        finally
        {
            await renewal.CancelAsync().ConfigureAwait(false);
            await renewTask.ConfigureAwait(false);
        }

        if (outcome is null)
        {
            // Stopped by the end of the shutdown drain period: not a failure of the activity, so it runs again later.
            try
            {
                await _store.AbandonActivityAsync(item, TimeSpan.Zero, countAttempt: false, CancellationToken.None).ConfigureAwait(false);
            }
            catch (Exception)
            {
                // The store may already be closing; the lock then expires or is reclaimed at the next start.
            }

            return;
        }

        await CompleteActivityAsync(item, outcome).ConfigureAwait(false);
    }

    private async Task CompleteActivityAsync(ActivityWorkItem item, HistoryEvent outcome)
    {
        try
        {
            await _store.CompleteActivityAsync(item, HistorySerializer.Serialize(outcome), CancellationToken.None).ConfigureAwait(false);
        }
        catch (Exception ex)
        {
            var attempt = item.Attempts + 1;
            _logger.ActivityCompleteFailed(ex, item.Name, item.InstanceId, attempt, _options.MessageAttemptLimit);
            try
            {
                await _store.AbandonActivityAsync(item, RetryDelay(attempt), countAttempt: true, CancellationToken.None).ConfigureAwait(false);
            }
            catch (Exception)
            {
                // The lock expires on its own and the activity is handed out again.
            }
        }
    }

    /// <summary>Runs the activity; its completion or failure event, or null when shutdown cancelled it.</summary>
    private async Task<HistoryEvent?> RunActivityAsync(ActivityWorkItem item)
    {
        try
        {
            if (!_registry.Activities.TryGetValue(new TaskName(item.Name), out var factory))
            {
                throw new InvalidOperationException($"No activity named '{item.Name}' is registered with this worker.");
            }

            var scope = _services.CreateAsyncScope();
            await using (scope.ConfigureAwait(false))
            {
                var activity = factory(scope.ServiceProvider);
                object? input;
                try
                {
                    input = _payloads.Converter.Deserialize(item.Input, activity.InputType);
                }
                catch (Exception ex)
                {
                    throw new ArgumentException($"The input of activity '{item.Name}' could not be deserialized to {activity.InputType}: {ex.Message}", ex);
                }

                var output = await activity.RunAsync(new ActivityContext(new TaskName(item.Name), item.InstanceId, _drainExpired.Token), input).ConfigureAwait(false);
                var serialized = _payloads.Serialize(output, $"output of activity '{item.Name}'");
                return new TaskCompletedEvent(_time.GetUtcNow().UtcDateTime, item.TaskId, serialized);
            }
        }
        catch (OperationCanceledException) when (_drainExpired.IsCancellationRequested)
        {
            return null;
        }
        catch (Exception ex)
        {
            var details = TaskFailureDetails.FromException(ex);
            _logger.ActivityFailed(item.Name, item.InstanceId, item.TaskId, details.ErrorType, details.ErrorMessage);
            return new TaskFailedEvent(_time.GetUtcNow().UtcDateTime, item.TaskId, details);
        }
    }

    private async Task RenewWhileRunningAsync(ActivityWorkItem item, CancellationToken done)
    {
        var interval = _options.LockTimeout / 2;
        try
        {
            while (true)
            {
                await Task.Delay(interval, _time, done).ConfigureAwait(false);
                if (!await _store.RenewActivityLockAsync(item, done).ConfigureAwait(false))
                {
                    _logger.ActivityLockLost(item.Name, item.InstanceId, item.TaskId);
                    return;
                }
            }
        }
        catch (OperationCanceledException)
        {
            // The activity finished.
        }
        catch (Exception)
        {
            // Renewal is best effort: if it keeps failing the lock expires and the activity may run again.
        }
    }

    /// <summary>
    /// Renews the locks of all episodes in flight every half lock timeout, so an episode that outlasts the timeout (a
    /// long replay, a large fan-in, a writer backlog) keeps its instance instead of it being handed to a second
    /// dispatcher. One timer for all episodes keeps the per-episode cost at nothing.
    /// </summary>
    private async Task RenewEpisodeLocksAsync(CancellationToken stop)
    {
        using var timer = new PeriodicTimer(_options.LockTimeout / 2, _time);
        try
        {
            while (await timer.WaitForNextTickAsync(stop).ConfigureAwait(false))
            {
                foreach (var item in _episodes.Keys)
                {
                    try
                    {
                        // An episode that committed since the snapshot has released its lock: not a loss.
                        if (!await _store.RenewOrchestrationLockAsync(item, stop).ConfigureAwait(false) && _episodes.ContainsKey(item))
                        {
                            _logger.OrchestrationLockLost(item.InstanceId);
                        }
                    }
                    catch (Exception ex) when (!stop.IsCancellationRequested)
                    {
                        // Best effort, as for activities: if renewal keeps failing the lock expires and the commit's
                        // version check still keeps the instance consistent.
                        _logger.OrchestrationLockRenewalFailed(ex, item.InstanceId);
                    }
                }
            }
        }
        catch (OperationCanceledException) when (stop.IsCancellationRequested)
        {
            // The worker stopped.
        }
    }

    private sealed class ActivityContext(TaskName name, string instanceId, CancellationToken cancellationToken) : TaskActivityContext
    {
        public override TaskName Name { get; } = name;

        public override string InstanceId { get; } = instanceId;

        public override CancellationToken CancellationToken { get; } = cancellationToken;
    }

    private sealed class MissingOrchestrator(string name) : ITaskOrchestrator
    {
        public Type InputType => typeof(object);

        public Type OutputType => typeof(object);

        public Task<object?> RunAsync(TaskOrchestrationContext context, object? input) =>
            Task.FromException<object?>(new InvalidOperationException($"No orchestrator named '{name}' is registered with this worker."));
    }
}
