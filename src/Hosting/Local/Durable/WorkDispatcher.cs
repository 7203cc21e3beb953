using System.Collections.Concurrent;
using Microsoft.Extensions.Logging;

namespace Fleet.Hosting.Local.Durable;

/// <summary>
/// Pulls durable work (episodes, activity calls) from the backend and runs at most a fixed number at a time. An
/// unreachable store is logged and retried with backoff; stopping stops taking work and lets what runs finish until
/// the drain deadline, then cancels it (its leases are handed back, not lost).
/// </summary>
/// <typeparam name="TLease">The backend's lease type.</typeparam>
internal abstract class WorkDispatcher<TLease>(string kind, int concurrency, ILogger logger, TimeProvider time) : IAsyncDisposable
    where TLease : class
{
    private static readonly TimeSpan FirstRetry = TimeSpan.FromMilliseconds(500);
    private static readonly TimeSpan MaxRetry = TimeSpan.FromSeconds(30);
    private readonly SemaphoreSlim _slots = new(concurrency, concurrency);
    private readonly CancellationTokenSource _stopTaking = new();
    private readonly CancellationTokenSource _cancelRunning = new();
    private readonly ConcurrentDictionary<Task, byte> _running = new();
    private readonly Lock _gate = new();
    private Task? _loop;

    /// <summary>The kind of work, for logs ("orchestration", "activity").</summary>
    protected string Kind => kind;

    /// <summary>The logger.</summary>
    protected ILogger Logger => logger;

    /// <summary>How many run at a time.</summary>
    public int Concurrency => concurrency;

    /// <summary>Starts pulling work (once).</summary>
    public void Start()
    {
        lock (_gate)
        {
            _loop ??= Task.Run(() => PullAsync(_stopTaking.Token), CancellationToken.None);
        }
    }

    /// <summary>Stops taking work; waits for running work until <paramref name="cancellationToken"/> fires, then cancels it.</summary>
    public async Task StopAsync(CancellationToken cancellationToken)
    {
        await _stopTaking.CancelAsync().ConfigureAwait(false);
        if (_loop is { } loop)
        {
            await loop.ConfigureAwait(false);
        }

        var running = Task.WhenAll(_running.Keys);
        try
        {
            await running.WaitAsync(cancellationToken).ConfigureAwait(false);
        }
        catch (OperationCanceledException)
        {
            await _cancelRunning.CancelAsync().ConfigureAwait(false);
            await running.ConfigureAwait(ConfigureAwaitOptions.SuppressThrowing);
        }
    }

    /// <inheritdoc />
    public async ValueTask DisposeAsync()
    {
        await StopAsync(new CancellationToken(canceled: true)).ConfigureAwait(false);
        _stopTaking.Dispose();
        _cancelRunning.Dispose();
        _slots.Dispose();
        GC.SuppressFinalize(this);
    }

    /// <summary>Waits for and locks the next piece of work.</summary>
    protected abstract Task<TLease> LockNextAsync(CancellationToken cancellationToken);

    /// <summary>Runs one piece of work and settles its lease (complete or abandon); must not throw for a settled lease.</summary>
    protected abstract Task ProcessAsync(TLease lease, CancellationToken cancellationToken);

    /// <summary>The instance a lease belongs to, for logs.</summary>
    protected abstract string InstanceOf(TLease lease);

    /// <summary>Hands the work back without applying anything, to run again (the worker died, timed out, or the host stops).</summary>
    protected abstract Task AbandonAsync(TLease lease, string functionName, Exception reason);

    /// <summary>
    /// Invokes the function; null when there is no answer to record — the invocation threw, the worker gave no answer
    /// (it died or timed out) or the host is stopping — and the work was handed back.
    /// </summary>
    protected async Task<InvocationOutcome?> InvokeOrAbandonAsync(
        IFunctionInvoker invoker, FunctionSpec function, TriggerInvocation trigger, TLease lease, CancellationToken cancellationToken)
    {
        ArgumentNullException.ThrowIfNull(invoker);
        ArgumentNullException.ThrowIfNull(function);
        InvocationOutcome outcome;
        try
        {
            outcome = await invoker.InvokeAsync(function, trigger, cancellationToken).ConfigureAwait(false);
        }
        catch (Exception ex)
        {
            await AbandonAsync(lease, function.Name, ex).ConfigureAwait(false);
            return null;
        }

        if (!outcome.Succeeded && (outcome.Response is null || cancellationToken.IsCancellationRequested))
        {
            await AbandonAsync(lease, function.Name, new InvalidOperationException(outcome.Exception?.Message ?? "the worker gave no answer")).ConfigureAwait(false);
            return null;
        }

        return outcome;
    }

    private async Task PullAsync(CancellationToken stop)
    {
        var retry = FirstRetry;
        while (!stop.IsCancellationRequested)
        {
            try
            {
                await _slots.WaitAsync(stop).ConfigureAwait(false);
            }
            catch (OperationCanceledException)
            {
                return;
            }

            TLease lease;
            try
            {
                lease = await LockNextAsync(stop).ConfigureAwait(false);
                retry = FirstRetry;
            }
            catch (OperationCanceledException) when (stop.IsCancellationRequested)
            {
                _slots.Release();
                return;
            }
            catch (Exception ex)
            {
                _slots.Release();
                logger.DurableStoreUnavailable(ex, kind, retry, ex.Message);
                try
                {
                    await Task.Delay(retry, time, stop).ConfigureAwait(false);
                }
                catch (OperationCanceledException)
                {
                    return;
                }

                retry = TimeSpan.FromTicks(Math.Min(retry.Ticks * 2, MaxRetry.Ticks));
                continue;
            }

            var task = RunAsync(lease);
            _running[task] = 0;
            _ = task.ContinueWith(t => _running.TryRemove(t, out _), CancellationToken.None, TaskContinuationOptions.ExecuteSynchronously, TaskScheduler.Default);
        }
    }

    private async Task RunAsync(TLease lease)
    {
        await Task.Yield();
        try
        {
            await ProcessAsync(lease, _cancelRunning.Token).ConfigureAwait(false);
        }
        catch (Exception ex)
        {
            // Settling failed (the store is unreachable): the lease's lock expires and the work is handed out again.
            logger.SettleFailed(ex, kind, InstanceOf(lease));
        }
        finally
        {
            _slots.Release();
        }
    }
}
