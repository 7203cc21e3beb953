using Microsoft.Extensions.Logging;

namespace Fleet.Hosting.Timers;

/// <summary>
/// Runs one timer function's schedule, for either host. Only the host holding the schedule's lease fires it, so with
/// several hosts each occurrence runs once; a monitored schedule keeps its status in storage and catches up a missed
/// occurrence (<see cref="TimerInfo.IsPastDue"/>) when a host takes over. Occurrences that pass while the function
/// still runs are skipped, as in Azure Functions. What an invocation is, is the caller's (<c>invoke</c>).
/// </summary>
internal sealed class TimerScheduleRunner : IDisposable
{
    /// <summary>How often a host without the lease tries to take it.</summary>
    internal static readonly TimeSpan LeaseRetryInterval = TimeSpan.FromSeconds(15);

    /// <summary>How long cancelled invocations get to end after the drain period.</summary>
    internal static readonly TimeSpan ShutdownGrace = TimeSpan.FromSeconds(5);

    // System.Threading timers cannot wait longer than about 49 days.
    private static readonly TimeSpan MaxDelayChunk = TimeSpan.FromDays(24);

    private readonly string _functionName;
    private readonly TimerSchedule _schedule;
    private readonly bool _runOnStartup;
    private readonly ScheduleMonitor? _monitor;
    private readonly SingletonLease _lease;
    private readonly Func<TimerInfo, string, CancellationToken, Task> _invoke;
    private readonly TimeProvider _time;
    private readonly ILogger _logger;
    private readonly CancellationTokenSource _stopping = new();
    private readonly CancellationTokenSource _cancelInvocations = new();
    private Task _loop = Task.CompletedTask;
    private ScheduleStatus _status = new();
    private bool _startupRunDone;
    private bool _leading;

    /// <param name="functionName">The function (logs and status blob name).</param>
    /// <param name="schedule">When it runs.</param>
    /// <param name="runOnStartup">Whether it runs once when this host takes the schedule first.</param>
    /// <param name="monitor">Keeps the status in storage; null for an unmonitored schedule.</param>
    /// <param name="lease">The schedule's lease.</param>
    /// <param name="invoke">Runs the function once with the timer info and a reason for the logs; may throw.</param>
    /// <param name="time">The clock.</param>
    /// <param name="logger">Where the schedule logs.</param>
    public TimerScheduleRunner(
        string functionName, TimerSchedule schedule, bool runOnStartup, ScheduleMonitor? monitor, SingletonLease lease,
        Func<TimerInfo, string, CancellationToken, Task> invoke, TimeProvider time, ILogger logger)
    {
        _functionName = functionName;
        _schedule = schedule;
        _runOnStartup = runOnStartup;
        _monitor = monitor;
        _lease = lease;
        _invoke = invoke;
        _time = time;
        _logger = logger;
    }

    public ListenerHealth Health { get; } = new();

    /// <summary>True while this host runs the schedule: it leads and its lease has not been lost.</summary>
    public bool IsLeader => Volatile.Read(ref _leading) && _lease.IsHeld;

    public SingletonLease Lease => _lease;

    public void Dispose()
    {
        // A host disposed without a stop must not leave the schedule running.
        _stopping.Cancel();
        _cancelInvocations.Cancel();
        _stopping.Dispose();
        _cancelInvocations.Dispose();
    }

    /// <summary>Starts competing for the lease and running the schedule in the background.</summary>
    public void Start() => _loop = Task.Run(() => RunAsync(_stopping.Token), CancellationToken.None);

    /// <summary>Stops the schedule; an invocation still running is cancelled when <paramref name="cancellationToken"/> fires.</summary>
    public async Task StopAsync(CancellationToken cancellationToken)
    {
        await _stopping.CancelAsync().ConfigureAwait(false);
        try
        {
            await _loop.WaitAsync(cancellationToken).ConfigureAwait(false);
        }
        catch (OperationCanceledException) when (cancellationToken.IsCancellationRequested)
        {
            await _cancelInvocations.CancelAsync().ConfigureAwait(false);
            try
            {
                await _loop.WaitAsync(ShutdownGrace, TimeProvider.System, CancellationToken.None).ConfigureAwait(false);
            }
            catch (TimeoutException)
            {
                // The invocation ignores its token; the lease expires on its own.
            }
        }
    }

    private async Task RunAsync(CancellationToken stopping)
    {
        while (!stopping.IsCancellationRequested)
        {
            try
            {
                if (!await _lease.TryAcquireAsync(stopping).ConfigureAwait(false))
                {
                    Health.Ok();
                    await Task.Delay(LeaseRetryInterval, _time, stopping).ConfigureAwait(false);
                    continue;
                }

                Volatile.Write(ref _leading, true);
                _logger.TimerLeaseAcquired(_functionName, _lease.BlobName);
                try
                {
                    Health.Ok();
                    using var leading = CancellationTokenSource.CreateLinkedTokenSource(stopping, _lease.Lost);
                    await LeadAsync(leading.Token).ConfigureAwait(false);
                }
                catch (OperationCanceledException) when (!stopping.IsCancellationRequested && _lease.Lost.IsCancellationRequested)
                {
                    // Another host owns the schedule now; compete again.
                }
                finally
                {
                    Volatile.Write(ref _leading, false);
                    await _lease.ReleaseAsync().ConfigureAwait(false);
                }
            }
            catch (OperationCanceledException) when (stopping.IsCancellationRequested)
            {
                return;
            }
            catch (Exception ex)
            {
                Health.Failed($"Timer '{_functionName}' could not reach its lease or status in AzureWebJobsStorage: {ex.GetType().Name}.");
                _logger.TimerListenerFailed(ex, _functionName);
                try
                {
                    await Task.Delay(LeaseRetryInterval, _time, stopping).ConfigureAwait(false);
                }
                catch (OperationCanceledException)
                {
                    return;
                }
            }
        }
    }

    private async Task LeadAsync(CancellationToken leading)
    {
        var now = _time.GetUtcNow();
        var pastDue = false;
        if (_monitor is not null)
        {
            (_status, pastDue) = await _monitor.CheckPastDueAsync(_functionName, _schedule, now, leading).ConfigureAwait(false);
        }
        else
        {
            _status = new ScheduleStatus { Last = _status.Last, Next = _schedule.NextAfter(now).UtcDateTime, LastUpdated = now.UtcDateTime };
        }

        if (pastDue)
        {
            await InvokeAsync(new DateTimeOffset(_status.Next, TimeSpan.Zero), isPastDue: true, scheduled: true).ConfigureAwait(false);
        }
        else if (_runOnStartup && !_startupRunDone)
        {
            await InvokeAsync(now, isPastDue: false, scheduled: false).ConfigureAwait(false);
        }

        _startupRunDone = true;
        var after = now;
        while (true)
        {
            leading.ThrowIfCancellationRequested();
            var current = _time.GetUtcNow();
            var next = _schedule.NextAfter(current > after ? current : after);
            _status = new ScheduleStatus { Last = _status.Last, Next = next.UtcDateTime, LastUpdated = _status.LastUpdated };
            await DelayUntilAsync(next, leading).ConfigureAwait(false);

            // The lease may have been lost just as the occurrence came due: then it belongs to the next holder.
            leading.ThrowIfCancellationRequested();
            await InvokeAsync(next, isPastDue: false, scheduled: true).ConfigureAwait(false);

            // An early timer wake-up must not fire the same occurrence twice.
            after = next;
        }
    }

    private async Task InvokeAsync(DateTimeOffset occurrence, bool isPastDue, bool scheduled)
    {
        var timerInfo = new TimerInfo
        {
            ScheduleStatus = new ScheduleStatus { Last = _status.Last, Next = _status.Next, LastUpdated = _status.LastUpdated },
            IsPastDue = isPastDue,
        };
        var reason = isPastDue ? "Timer is past due." : scheduled ? "Timer fired." : "Timer run on startup.";
        await _invoke(timerInfo, reason, _cancelInvocations.Token).ConfigureAwait(false);
        if (!scheduled)
        {
            return;
        }

        var now = _time.GetUtcNow();
        _status = new ScheduleStatus
        {
            Last = occurrence.UtcDateTime,
            Next = _schedule.NextAfter(now > occurrence ? now : occurrence).UtcDateTime,
            LastUpdated = now.UtcDateTime,
        };
        if (_monitor is null)
        {
            return;
        }

        // Only the lease holder writes the status: after a loss another host owns it, and an invocation that ran
        // on past the loss must not overwrite what the new holder wrote. The write is cancelled if the lease is
        // lost while it is on its way.
        var lost = _lease.Lost;
        if (!_lease.IsHeld)
        {
            _logger.ScheduleStatusNotWritten(_functionName, occurrence);
            return;
        }

        try
        {
            await _monitor.UpdateStatusAsync(_functionName, _status, lost).ConfigureAwait(false);
        }
        catch (OperationCanceledException) when (lost.IsCancellationRequested)
        {
            _logger.ScheduleStatusNotWritten(_functionName, occurrence);
        }
        catch (Exception ex) when (ex.IsStorageFailure(lost))
        {
            // The next occurrence still runs; a missed write only weakens past-due detection.
            _logger.ScheduleStatusWriteFailed(_functionName, ex.Message);
        }
    }

    private async Task DelayUntilAsync(DateTimeOffset due, CancellationToken cancellationToken)
    {
        while (true)
        {
            var remaining = due - _time.GetUtcNow();
            if (remaining <= TimeSpan.Zero)
            {
                return;
            }

            await Task.Delay(remaining < MaxDelayChunk ? remaining : MaxDelayChunk, _time, cancellationToken).ConfigureAwait(false);
        }
    }
}
