namespace Fleet.Testing;

/// <summary>
/// A <see cref="TimeProvider"/> whose clock moves only when a test moves it. Timers created through it
/// fire, in due-time order, as <see cref="Advance"/> or <see cref="SetUtcNow"/> passes their due time.
/// Mirrors Microsoft.Extensions.Time.Testing.FakeTimeProvider, which the package feed does not hold.
/// </summary>
public sealed class FakeTimeProvider : TimeProvider
{
    private readonly object _gate = new();
    private readonly List<FakeTimer> _timers = [];
    private DateTimeOffset _now;

    /// <summary>Starts the clock at 2026-01-01T00:00:00Z.</summary>
    public FakeTimeProvider()
        : this(new DateTimeOffset(2026, 1, 1, 0, 0, 0, TimeSpan.Zero))
    {
    }

    /// <summary>Starts the clock at <paramref name="start"/>.</summary>
    public FakeTimeProvider(DateTimeOffset start) => _now = start;

    /// <summary>How far the clock moves on every read; zero (the default) keeps it still.</summary>
    public TimeSpan AutoAdvanceAmount { get; set; }

    /// <summary>Number of timers that are scheduled and not yet fired or disposed.</summary>
    public int ActiveTimerCount
    {
        get
        {
            lock (_gate)
            {
                return _timers.Count(t => t.DueAt is not null);
            }
        }
    }

    /// <inheritdoc />
    public override TimeZoneInfo LocalTimeZone => TimeZoneInfo.Utc;

    /// <inheritdoc />
    public override DateTimeOffset GetUtcNow()
    {
        lock (_gate)
        {
            var now = _now;
            _now += AutoAdvanceAmount;
            return now;
        }
    }

    /// <inheritdoc />
    public override long TimestampFrequency => TimeSpan.TicksPerSecond;

    /// <inheritdoc />
    public override long GetTimestamp()
    {
        lock (_gate)
        {
            return _now.UtcTicks;
        }
    }

    /// <summary>Moves the clock forward, firing every timer that falls due on the way.</summary>
    public void Advance(TimeSpan delta)
    {
        ArgumentOutOfRangeException.ThrowIfLessThan(delta, TimeSpan.Zero);
        DateTimeOffset target;
        lock (_gate)
        {
            target = _now + delta;
        }

        SetUtcNow(target);
    }

    /// <summary>Sets the clock, firing every timer due at or before the new time in due order.</summary>
    public void SetUtcNow(DateTimeOffset value)
    {
        while (true)
        {
            FakeTimer? next;
            lock (_gate)
            {
                if (value < _now)
                {
                    throw new ArgumentOutOfRangeException(nameof(value), "The fake clock does not go backwards.");
                }

                next = _timers.Where(t => t.DueAt is { } due && due <= value).MinBy(t => t.DueAt);
                if (next is null)
                {
                    _now = value;
                    return;
                }

                _now = next.DueAt!.Value;
                next.DueAt = next.Period is { } period && period > TimeSpan.Zero && period != Timeout.InfiniteTimeSpan
                    ? _now + period
                    : null;
            }

            next.Callback(next.State);
        }
    }

    /// <inheritdoc />
    public override ITimer CreateTimer(TimerCallback callback, object? state, TimeSpan dueTime, TimeSpan period)
    {
        var timer = new FakeTimer(this, callback, state);
        timer.Change(dueTime, period);
        return timer;
    }

    private sealed class FakeTimer(FakeTimeProvider owner, TimerCallback callback, object? state) : ITimer
    {
        public TimerCallback Callback { get; } = callback;

        public object? State { get; } = state;

        public DateTimeOffset? DueAt { get; set; }

        public TimeSpan? Period { get; private set; }

        public bool Change(TimeSpan dueTime, TimeSpan period)
        {
            lock (owner._gate)
            {
                if (!owner._timers.Contains(this))
                {
                    owner._timers.Add(this);
                }

                Period = period;
                DueAt = dueTime == Timeout.InfiniteTimeSpan ? null : owner._now + dueTime;
            }

            // A zero due time fires at once, as System.Threading.Timer does.
            if (dueTime == TimeSpan.Zero)
            {
                owner.SetUtcNow(owner.GetUtcNowWithoutAdvance());
            }

            return true;
        }

        public void Dispose()
        {
            lock (owner._gate)
            {
                owner._timers.Remove(this);
                DueAt = null;
            }
        }

        public ValueTask DisposeAsync()
        {
            Dispose();
            return ValueTask.CompletedTask;
        }
    }

    private DateTimeOffset GetUtcNowWithoutAdvance()
    {
        lock (_gate)
        {
            return _now;
        }
    }
}
