namespace Fleet.Durable.Postgres;

/// <summary>
/// One <see cref="TimeProvider"/> timer for the future times at which work becomes visible (durable timers, delayed
/// retries, scheduled starts, held-back messages), so that work is fetched when it is due rather than at the next
/// poll. Times come from this store's own writes, from other hosts' notices and from polling the database.
/// </summary>
internal sealed class DueTimer : IDisposable
{
    private readonly Lock _gate = new();
    private readonly TimeProvider _time;
    private readonly Action _onDue;
    private readonly SortedSet<long> _due = [];
    private readonly ITimer _timer;
    private long _armedFor = long.MaxValue;
    private bool _disposed;

    public DueTimer(TimeProvider time, Action onDue)
    {
        _time = time;
        _onDue = onDue;
        _timer = time.CreateTimer(static s => ((DueTimer)s!).OnTimer(), this, Timeout.InfiniteTimeSpan, Timeout.InfiniteTimeSpan);
    }

    /// <summary>Work becomes visible at <paramref name="ticks"/> (UTC ticks); past times signal at once.</summary>
    public void Add(long ticks)
    {
        if (ticks <= _time.GetUtcNow().UtcTicks)
        {
            _onDue();
            return;
        }

        lock (_gate)
        {
            if (_disposed)
            {
                return;
            }

            _due.Add(ticks);
            Arm(ticks);
        }
    }

    public void Dispose()
    {
        lock (_gate)
        {
            _disposed = true;
            _due.Clear();
        }

        _timer.Dispose();
    }

    private void Arm(long ticks)
    {
        if (ticks >= _armedFor)
        {
            return;
        }

        _armedFor = ticks;
        var delay = TimeSpan.FromTicks(Math.Max(ticks - _time.GetUtcNow().UtcTicks, TimeSpan.TicksPerMillisecond));

        // Long waits are re-armed in steps because timers cannot wait for more than about 49 days.
        _timer.Change(delay > TimeSpan.FromDays(1) ? TimeSpan.FromDays(1) : delay, Timeout.InfiniteTimeSpan);
    }

    private void OnTimer()
    {
        var fired = false;
        lock (_gate)
        {
            if (_disposed)
            {
                return;
            }

            var now = _time.GetUtcNow().UtcTicks;
            while (_due.Count > 0 && _due.Min <= now)
            {
                _due.Remove(_due.Min);
                fired = true;
            }

            _armedFor = long.MaxValue;
            if (_due.Count > 0)
            {
                Arm(_due.Min);
            }
        }

        if (fired)
        {
            _onDue();
        }
    }
}
