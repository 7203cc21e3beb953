using Microsoft.Extensions.Logging;

namespace Fleet.Durable;

/// <summary>
/// What orchestrator code uses to schedule durable work (activities, sub-orchestrations, timers, events) and to read
/// replay-safe facts (time, GUIDs, replay state). Call it only from the orchestrator's own thread: code after an
/// <c>await</c> on a durable task stays on that thread; <c>ConfigureAwait(false)</c>, <c>Task.Run</c> or awaiting
/// non-durable tasks (I/O, <c>Task.Delay</c>) leave it and are rejected.
/// </summary>
public abstract class TaskOrchestrationContext
{
    /// <summary>The orchestrator's name.</summary>
    public abstract TaskName Name { get; }

    /// <summary>This orchestration's instance ID.</summary>
    public abstract string InstanceId { get; }

    /// <summary>The parent orchestration, when this is a sub-orchestration.</summary>
    public abstract ParentOrchestrationInstance? Parent { get; }

    /// <summary>
    /// The orchestration's current time in UTC: the time the current episode started, recorded in history, so it is
    /// the same on every replay. Use it instead of <see cref="DateTime.UtcNow"/>.
    /// </summary>
    public abstract DateTime CurrentUtcDateTime { get; }

    /// <summary>Whether the code is re-running recorded history (after an unload or restart).</summary>
    public abstract bool IsReplaying { get; }

    /// <summary>The version recorded when the instance was started.</summary>
    public virtual string Version => string.Empty;

    /// <summary>The logger factory the replay-safe loggers wrap.</summary>
    protected abstract ILoggerFactory LoggerFactory { get; }

    /// <summary>The orchestration input deserialized as <typeparamref name="T"/>; prefer the RunAsync parameter.</summary>
    public abstract T? GetInput<T>();

    /// <summary>Calls an activity and waits for it.</summary>
    /// <exception cref="TaskFailedException">The activity failed (after any retries).</exception>
    public virtual Task CallActivityAsync(TaskName name, object? input = null, TaskOptions? options = null) =>
        CallActivityAsync<object?>(name, input, options);

    /// <summary>Calls an activity without input and waits for it.</summary>
    public virtual Task CallActivityAsync(TaskName name, TaskOptions options) =>
        CallActivityAsync<object?>(name, null, options);

    /// <summary>Calls an activity without input and returns its result.</summary>
    public virtual Task<TResult> CallActivityAsync<TResult>(TaskName name, TaskOptions options) =>
        CallActivityAsync<TResult>(name, null, options);

    /// <summary>Calls an activity and returns its result.</summary>
    /// <exception cref="TaskFailedException">The activity failed (after any retries).</exception>
    public abstract Task<TResult> CallActivityAsync<TResult>(TaskName name, object? input = null, TaskOptions? options = null);

    /// <summary>Starts a sub-orchestration and waits for it to finish.</summary>
    /// <exception cref="TaskFailedException">The sub-orchestration failed or was terminated.</exception>
    public virtual Task CallSubOrchestratorAsync(TaskName orchestratorName, object? input = null, TaskOptions? options = null) =>
        CallSubOrchestratorAsync<object?>(orchestratorName, input, options);

    /// <summary>Starts a sub-orchestration without input and waits for it.</summary>
    public virtual Task CallSubOrchestratorAsync(TaskName orchestratorName, TaskOptions options) =>
        CallSubOrchestratorAsync<object?>(orchestratorName, null, options);

    /// <summary>Starts a sub-orchestration without input and returns its output.</summary>
    public virtual Task<TResult> CallSubOrchestratorAsync<TResult>(TaskName orchestratorName, TaskOptions options) =>
        CallSubOrchestratorAsync<TResult>(orchestratorName, null, options);

    /// <summary>
    /// Starts a sub-orchestration and returns its output. Pass <see cref="SubOrchestrationOptions"/> (or
    /// <c>options.WithInstanceId(id)</c>) to choose the child's instance ID.
    /// </summary>
    /// <exception cref="TaskFailedException">The sub-orchestration failed or was terminated.</exception>
    public abstract Task<TResult> CallSubOrchestratorAsync<TResult>(TaskName orchestratorName, object? input = null, TaskOptions? options = null);

    /// <summary>A durable timer that fires after <paramref name="delay"/> of orchestration time.</summary>
    public virtual Task CreateTimer(TimeSpan delay, CancellationToken cancellationToken) =>
        CreateTimer(CurrentUtcDateTime.Add(delay), cancellationToken);

    /// <summary>A durable timer that fires at <paramref name="fireAt"/> (UTC).</summary>
    public abstract Task CreateTimer(DateTime fireAt, CancellationToken cancellationToken);

    /// <summary>
    /// Waits for an external event (names are case-insensitive). Events that arrive before the wait are buffered and
    /// delivered in arrival order, one per wait.
    /// </summary>
    public abstract Task<T> WaitForExternalEvent<T>(string eventName, CancellationToken cancellationToken = default);

    /// <summary>Waits for an external event for at most <paramref name="timeout"/> (a durable timer).</summary>
    /// <exception cref="TaskCanceledException">The timeout elapsed first.</exception>
    public Task<T> WaitForExternalEvent<T>(string eventName, TimeSpan timeout) =>
        WaitForExternalEvent<T>(eventName, timeout, CancellationToken.None);

    /// <summary>Waits for an external event for at most <paramref name="timeout"/> or until cancelled.</summary>
    /// <exception cref="TaskCanceledException">The timeout elapsed or the token was cancelled first.</exception>
    public async Task<T> WaitForExternalEvent<T>(string eventName, TimeSpan timeout, CancellationToken cancellationToken)
    {
        using var timerCts = CancellationTokenSource.CreateLinkedTokenSource(cancellationToken);
        var timeoutTask = CreateTimer(timeout, timerCts.Token);
        using var eventCts = CancellationTokenSource.CreateLinkedTokenSource(cancellationToken);
        var eventTask = WaitForExternalEvent<T>(eventName, eventCts.Token);
        var winner = await Task.WhenAny(timeoutTask, eventTask);

        // Cancel synchronously: the callbacks must run on the orchestrator's thread, which CancelAsync would leave.
        if (winner == eventTask)
        {
            timerCts.Cancel();
        }
        else
        {
            eventCts.Cancel();
        }

        return await eventTask;
    }

    /// <summary>Sends an event to another orchestration instance; dropped silently if it does not exist or has finished.</summary>
    public abstract void SendEvent(string instanceId, string eventName, object payload);

    /// <summary>Sets the custom status shown by status queries; null clears it.</summary>
    public abstract void SetCustomStatus(object? customStatus);

    /// <summary>
    /// Restarts the orchestration with a new input and an empty history once the current code returns. Events received
    /// but not yet awaited are carried over when <paramref name="preserveUnprocessedEvents"/> is true.
    /// </summary>
    public abstract void ContinueAsNew(object? newInput = null, bool preserveUnprocessedEvents = true);

    /// <summary>Restarts the orchestration with the given options once the current code returns.</summary>
    public virtual void ContinueAsNew(ContinueAsNewOptions options)
    {
        ArgumentNullException.ThrowIfNull(options);
        ContinueAsNew(options.NewInput, options.PreserveUnprocessedEvents);
    }

    /// <summary>A GUID that is the same on every replay (UUID v5 of instance ID, orchestration time and a counter).</summary>
    public abstract Guid NewGuid();

    /// <summary>A logger that writes nothing while the orchestration is replaying.</summary>
    public ILogger CreateReplaySafeLogger(string categoryName) =>
        new ReplaySafeLogger(this, LoggerFactory.CreateLogger(categoryName));

    /// <summary>A logger that writes nothing while the orchestration is replaying.</summary>
    public ILogger CreateReplaySafeLogger(Type type) =>
        new ReplaySafeLogger(this, LoggerFactory.CreateLogger(type));

    /// <summary>A logger that writes nothing while the orchestration is replaying.</summary>
    public ILogger CreateReplaySafeLogger<T>() => CreateReplaySafeLogger(typeof(T));

    private sealed class ReplaySafeLogger(TaskOrchestrationContext context, ILogger inner) : ILogger
    {
        public IDisposable? BeginScope<TState>(TState state)
            where TState : notnull => inner.BeginScope(state);

        public bool IsEnabled(LogLevel logLevel) => !context.IsReplaying && inner.IsEnabled(logLevel);

        public void Log<TState>(LogLevel logLevel, EventId eventId, TState state, Exception? exception, Func<TState, Exception?, string> formatter)
        {
            if (!context.IsReplaying)
            {
                inner.Log(logLevel, eventId, state, exception, formatter);
            }
        }
    }
}
