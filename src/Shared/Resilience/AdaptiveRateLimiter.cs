using System.Threading.RateLimiting;
using Microsoft.Extensions.Logging;
using Microsoft.Extensions.Logging.Abstractions;

namespace Fleet.Shared.Resilience;

/// <summary>
/// A rate limiter for one remote budget (for example one Sphere tenant) that learns the rate the server accepts.
/// Permits are paced by a token bucket whose rate adapts: it grows quickly until the first 429 ("slow start"),
/// then settles just below the rate the server was measured to accept and probes upward slowly. A 429 with
/// Retry-After pauses every caller of the limiter, not only the one that was throttled.
/// </summary>
/// <remarks>
/// Callers report each response through <see cref="RecordAccepted"/> or <see cref="RecordThrottled"/> with the
/// lease they sent under. The learned rate is the count of accepted responses between two throttle events
/// divided by the time between them: at both events the server's budget was exhausted, so everything it accepted
/// in between was refilled at its own rate, which makes the figure a slightly conservative estimate of that rate.
/// Throttled responses to requests sent before the last decrease are not new information and only extend a pause.
/// </remarks>
public sealed class AdaptiveRateLimiter : RateLimiter
{
    // Shorter measurement spans hold too few responses to mean anything.
    private const double MinMeasureSeconds = 1.0;

    // Used when a throttle event follows too closely on the last one to measure a rate.
    private const double UnmeasuredDecrease = 0.85;

    // Probing speeds up the longer no 429 arrives: slow near the learned rate, faster if the server allows more.
    private const double ProbeAccelerationSeconds = 30;

    private readonly object _gate = new();
    private readonly AdaptiveRateLimiterOptions _options;
    private readonly TimeProvider _time;
    private readonly ILogger _logger;
    private readonly LinkedList<Waiter> _queue = new();
    private readonly ITimer _timer;
    private double _rate;
    private double? _learnedRate;
    private DateTimeOffset? _learnedAt;
    private double _burstLimit = double.PositiveInfinity;
    private long _lastBurstCut = long.MinValue;
    private long _resumeBurstUntil = long.MinValue;
    private bool _slowStart = true;
    private double _tokens;
    private long _lastRefill;
    private long _pausedUntil;
    private long _lastDecrease;
    private long _anchor;
    private long _acceptedSinceAnchor;
    private long _lastActivity;
    private long? _timerDue;
    private double _lastLoggedRate;
    private long _successfulLeases;
    private long _failedLeases;
    private bool _disposed;

    /// <summary>Creates a limiter.</summary>
    /// <param name="name">Name used in logs, e.g. the tenant id.</param>
    /// <param name="options">Rates and growth; copied, later changes have no effect.</param>
    /// <param name="timeProvider">Clock for pacing and pauses; <see cref="TimeProvider.System"/> when null.</param>
    /// <param name="logger">Receives rate changes and pauses.</param>
    public AdaptiveRateLimiter(string name, AdaptiveRateLimiterOptions options, TimeProvider? timeProvider = null,
        ILogger? logger = null)
    {
        ArgumentNullException.ThrowIfNull(name);
        ArgumentNullException.ThrowIfNull(options);
        ArgumentOutOfRangeException.ThrowIfNegativeOrZero(options.MinRate);
        ArgumentOutOfRangeException.ThrowIfLessThan(options.MaxRate, options.MinRate);
        Name = name;
        _options = options.Clone();
        _time = timeProvider ?? TimeProvider.System;
        _logger = logger ?? NullLogger.Instance;
        _rate = Math.Clamp(_options.InitialRate, _options.MinRate, _options.MaxRate);
        _lastLoggedRate = _rate;
        var now = _time.GetTimestamp();
        _lastRefill = now;
        _anchor = now;
        _lastActivity = now;
        _lastDecrease = long.MinValue;
        _pausedUntil = long.MinValue;
        _tokens = Capacity(_rate);
        _timer = _time.CreateTimer(static state => ((AdaptiveRateLimiter)state!).OnTimer(), this,
            Timeout.InfiniteTimeSpan, Timeout.InfiniteTimeSpan);
    }

    /// <summary>Name used in logs.</summary>
    public string Name { get; }

    /// <summary>Requests per second the limiter currently grants.</summary>
    public double CurrentRate
    {
        get
        {
            lock (_gate)
            {
                return _rate;
            }
        }
    }

    /// <summary>The server rate measured at the last 429, or null before the first.</summary>
    public double? LearnedRate
    {
        get
        {
            lock (_gate)
            {
                return _learnedRate;
            }
        }
    }

    /// <summary>
    /// The server rate this limiter settled on after a 429 whose span it could measure (or was told to remember), with
    /// when it was measured; null before either (a rate only guessed from 429s close together is not worth keeping).
    /// </summary>
    public RememberedRate? Learned
    {
        get
        {
            lock (_gate)
            {
                return _learnedRate is { } rate && _learnedAt is { } at ? new RememberedRate(rate, at) : null;
            }
        }
    }

    /// <summary>
    /// Starts from a server rate measured earlier (by another process: see <see cref="RateLimiterRegistry.Remember"/>),
    /// as if a 429 had just measured it: no slow start, the rate just below it, probing upward from there. Ignored
    /// once this limiter has learned a rate of its own.
    /// </summary>
    /// <returns>Whether the remembered rate was taken.</returns>
    public bool Recall(RememberedRate remembered)
    {
        ArgumentNullException.ThrowIfNull(remembered);
        if (!_options.Enabled || !(remembered.Rate > 0))
        {
            return false;
        }

        double rate;
        lock (_gate)
        {
            if (_learnedRate is not null)
            {
                return false;
            }

            var now = _time.GetTimestamp();
            Refill(now);
            _learnedRate = Math.Clamp(remembered.Rate, _options.MinRate, _options.MaxRate);
            _learnedAt = remembered.LearnedAt;
            _rate = Math.Clamp(_learnedRate.Value * (1 - _options.BackoffMargin), _options.MinRate, _options.MaxRate);
            _tokens = Capacity(_rate);
            _slowStart = false;
            _anchor = now;
            _acceptedSinceAnchor = 0;
            _lastDecrease = now;
            _lastLoggedRate = _rate;
            rate = _rate;
        }

        _logger.LimiterRateRecalled(Name, rate, remembered.Rate, remembered.LearnedAt);
        return true;
    }

    /// <summary>When a Retry-After pause ends, or null when the limiter is not paused.</summary>
    public DateTimeOffset? PausedUntil
    {
        get
        {
            lock (_gate)
            {
                var now = _time.GetTimestamp();
                return _pausedUntil > now ? _time.GetUtcNow() + _time.GetElapsedTime(now, _pausedUntil) : null;
            }
        }
    }

    /// <inheritdoc />
    public override TimeSpan? IdleDuration
    {
        get
        {
            lock (_gate)
            {
                return _queue.Count > 0 ? null : _time.GetElapsedTime(_lastActivity);
            }
        }
    }

    /// <inheritdoc />
    public override RateLimiterStatistics? GetStatistics()
    {
        lock (_gate)
        {
            return new RateLimiterStatistics
            {
                CurrentAvailablePermits = (long)Math.Max(0, Math.Floor(_tokens)),
                CurrentQueuedCount = _queue.Count,
                TotalSuccessfulLeases = _successfulLeases,
                TotalFailedLeases = _failedLeases,
            };
        }
    }

    /// <summary>Reports that a request sent under <paramref name="lease"/> was answered with anything but 429.</summary>
    public void RecordAccepted(RateLimitLease lease)
    {
        ArgumentNullException.ThrowIfNull(lease);
        if (!_options.Enabled)
        {
            return;
        }

        lock (_gate)
        {
            _acceptedSinceAnchor++;
        }
    }

    /// <summary>
    /// Reports that a request sent under <paramref name="lease"/> was answered 429. Lowers the rate (once per
    /// round of requests) and, with a <paramref name="retryAfter"/>, pauses every caller until it has passed.
    /// </summary>
    public void RecordThrottled(RateLimitLease lease, TimeSpan? retryAfter)
    {
        ArgumentNullException.ThrowIfNull(lease);
        if (!_options.Enabled)
        {
            return;
        }

        DateTimeOffset? pausedUntil = null;
        (double Old, double New, double? Measured)? decrease = null;
        (double Old, double New)? burstCut = null;
        lock (_gate)
        {
            var now = _time.GetTimestamp();
            Refill(now);
            if (retryAfter is { } wait && wait > TimeSpan.Zero)
            {
                var until = now + (long)(wait.TotalSeconds * _time.TimestampFrequency);
                if (until > _pausedUntil)
                {
                    _pausedUntil = until;
                    pausedUntil = _time.GetUtcNow() + wait;
                }
            }

            var acquiredAt = lease is Lease ours ? ours.AcquiredAt : now;
            if (acquiredAt >= _lastDecrease && acquiredAt >= _lastBurstCut)
            {
                if (lease is Lease { ResumeBurst: true } && _options.Burst == 0 && Capacity(_rate) > 1)
                {
                    burstCut = (Capacity(_rate), Math.Max(1, Capacity(_rate) / 2));
                    _burstLimit = burstCut.Value.New;
                    _tokens = Math.Min(_tokens, _burstLimit);
                    _lastBurstCut = now;
                }
                else
                {
                    decrease = Decrease(now);
                }
            }

            ScheduleTimer(now);
        }

        if (pausedUntil is { } until2)
        {
            _logger.LimiterPaused(Name, until2);
        }

        if (decrease is { } d)
        {
            _logger.LimiterRateDecreased(Name, d.Old, d.New, d.Measured);
        }

        if (burstCut is { } b)
        {
            _logger.LimiterBurstLowered(Name, b.Old, b.New);
        }
    }

    /// <inheritdoc />
    protected override RateLimitLease AttemptAcquireCore(int permitCount)
    {
        ArgumentOutOfRangeException.ThrowIfNegative(permitCount);
        ObjectDisposedException.ThrowIf(_disposed, this);
        if (!_options.Enabled)
        {
            return new Lease(true, _time.GetTimestamp(), null);
        }

        lock (_gate)
        {
            var now = _time.GetTimestamp();
            Refill(now);
            _lastActivity = now;
            if (_queue.Count == 0 && TryTake(permitCount, now))
            {
                _successfulLeases++;
                return new Lease(true, now, null, IsResumeBurst(now));
            }

            _failedLeases++;
            return new Lease(false, now, EstimatedWait(now));
        }
    }

    /// <inheritdoc />
    protected override ValueTask<RateLimitLease> AcquireAsyncCore(int permitCount, CancellationToken cancellationToken)
    {
        ArgumentOutOfRangeException.ThrowIfNegative(permitCount);
        ObjectDisposedException.ThrowIf(_disposed, this);
        if (cancellationToken.IsCancellationRequested)
        {
            return ValueTask.FromCanceled<RateLimitLease>(cancellationToken);
        }

        if (!_options.Enabled)
        {
            return ValueTask.FromResult<RateLimitLease>(new Lease(true, _time.GetTimestamp(), null));
        }

        Waiter waiter;
        lock (_gate)
        {
            var now = _time.GetTimestamp();
            Refill(now);
            _lastActivity = now;
            if (_queue.Count == 0 && TryTake(permitCount, now))
            {
                _successfulLeases++;
                return ValueTask.FromResult<RateLimitLease>(new Lease(true, now, null, IsResumeBurst(now)));
            }

            waiter = new Waiter(permitCount);
            waiter.Node = _queue.AddLast(waiter);
            ScheduleTimer(now);
        }

        if (cancellationToken.CanBeCanceled)
        {
            var registration = cancellationToken.Register(
                static state =>
                {
                    var (limiter, w, token) = ((AdaptiveRateLimiter, Waiter, CancellationToken))state!;
                    limiter.Cancel(w, token);
                },
                (this, waiter, cancellationToken));
            bool alreadyDone;
            lock (_gate)
            {
                // Whoever takes the waiter off the queue disposes its registration; if that already happened, we do.
                alreadyDone = waiter.Node is null;
                if (!alreadyDone)
                {
                    waiter.Registration = registration;
                }
            }

            if (alreadyDone)
            {
                registration.Dispose();
            }
        }

        return new ValueTask<RateLimitLease>(waiter.Completion.Task);
    }

    /// <inheritdoc />
    protected override void Dispose(bool disposing)
    {
        base.Dispose(disposing);
        if (!disposing)
        {
            return;
        }

        List<(Waiter Waiter, CancellationTokenRegistration Registration)> abandoned;
        lock (_gate)
        {
            if (_disposed)
            {
                return;
            }

            _disposed = true;
            abandoned = [.. _queue.Select(w => (w, w.Registration))];
            foreach (var waiter in _queue)
            {
                waiter.Node = null;
            }

            _queue.Clear();
        }

        _timer.Dispose();
        var now = _time.GetTimestamp();
        foreach (var (waiter, registration) in abandoned)
        {
            registration.Dispose();
            waiter.Completion.TrySetResult(new Lease(false, now, null));
        }
    }

    /// <inheritdoc />
    protected override async ValueTask DisposeAsyncCore()
    {
        Dispose(true);
        await base.DisposeAsyncCore().ConfigureAwait(false);
    }

    // Half a second's worth by default, lowered when the burst that follows a Retry-After pause meets 429s.
    private double Capacity(double rate) => _options.Burst > 0 ? _options.Burst : Math.Max(1, Math.Min(rate * 0.5, _burstLimit));

    // Permits granted when a pause ends, before the rate would have earned the tokens saved up during it, go out back
    // to back: a 429 to one of them says the server's bucket is smaller than ours, not that the rate is too high.
    private bool IsResumeBurst(long now) => now <= _resumeBurstUntil;

    private double Seconds(long from, long to) => (to - from) / (double)_time.TimestampFrequency;

    private bool IsPaused(long now) => now < _pausedUntil;

    private bool TryTake(int permitCount, long now)
    {
        if (IsPaused(now) || _tokens < 1)
        {
            return false;
        }

        _tokens -= permitCount;
        return true;
    }

    private TimeSpan EstimatedWait(long now)
    {
        var pause = IsPaused(now) ? Seconds(now, _pausedUntil) : 0;
        var perPermit = 1 / _rate;
        var deficit = Math.Max(0, 1 - _tokens) * perPermit;
        return TimeSpan.FromSeconds(pause + deficit + (_queue.Count * perPermit));
    }

    // Adds the tokens earned since the last call and lets the rate grow while callers are queued for it.
    private void Refill(long now)
    {
        var previous = _lastRefill;
        if (now <= previous)
        {
            return;
        }

        _lastRefill = now;
        var activeSince = Math.Max(previous, _pausedUntil);
        var active = now > activeSince ? Seconds(activeSince, now) : 0;
        if (_queue.Count > 0 && active > 0)
        {
            var grown = _slowStart
                ? _rate * Math.Pow(_options.SlowStartGrowth, active)
                : _rate * (1 + (_options.ProbeGrowth * active * (1 + (Seconds(_lastDecrease, now) / ProbeAccelerationSeconds))));
            _rate = Math.Min(_options.MaxRate, grown);
        }

        // Tokens accrue through a pause too: the server refills its budget meanwhile, and the bucket's small
        // capacity bounds what is sent when the pause ends.
        _tokens = Math.Min(Capacity(_rate), _tokens + (_rate * Seconds(previous, now)));
        if (previous < _pausedUntil && now >= _pausedUntil)
        {
            _resumeBurstUntil = _pausedUntil + (long)(_tokens / _rate * _time.TimestampFrequency);
        }
    }

    private (double Old, double New, double? Measured) Decrease(long now)
    {
        var span = Seconds(_anchor, now);
        double? measured = span >= MinMeasureSeconds ? _acceptedSinceAnchor / span : null;
        var old = _rate;

        // What got through is the best estimate of the server's rate; it cannot exceed what was offered, and a
        // halving is the most a single event may cost (the measurement is low when callers were idle).
        var learned = measured is { } m ? Math.Clamp(m, old * 0.5, old) : old * UnmeasuredDecrease;
        _learnedRate = learned;
        if (measured is not null)
        {
            _learnedAt = _time.GetUtcNow();
        }
        _rate = Math.Clamp(learned * (1 - _options.BackoffMargin), _options.MinRate, _options.MaxRate);
        _tokens = Math.Min(_tokens, Capacity(_rate));
        _slowStart = false;
        _anchor = now;
        _acceptedSinceAnchor = 0;
        _lastDecrease = now;
        _lastLoggedRate = _rate;
        return (old, _rate, measured);
    }

    private void ScheduleTimer(long now)
    {
        if (_queue.Count == 0 || _disposed)
        {
            return;
        }

        var waitSeconds = IsPaused(now)
            ? Seconds(now, _pausedUntil)
            : Math.Max(0, 1 - _tokens) / _rate;

        // At least a millisecond, so a timer never fires inside the call that sets it.
        var ticks = Math.Max((long)(waitSeconds * _time.TimestampFrequency), _time.TimestampFrequency / 1000);
        var due = now + ticks;
        if (_timerDue is { } existing && existing <= due && existing > now)
        {
            return;
        }

        _timerDue = due;
        _timer.Change(TimeSpan.FromSeconds(ticks / (double)_time.TimestampFrequency), Timeout.InfiniteTimeSpan);
    }

    private void OnTimer()
    {
        List<(Waiter Waiter, CancellationTokenRegistration Registration, RateLimitLease Lease)>? released = null;
        double? raised = null;
        lock (_gate)
        {
            if (_disposed)
            {
                return;
            }

            var now = _time.GetTimestamp();
            _timerDue = null;
            Refill(now);
            while (_queue.First is { } node && TryTake(node.Value.Permits, now))
            {
                _queue.RemoveFirst();
                node.Value.Node = null;
                _successfulLeases++;
                (released ??= []).Add((node.Value, node.Value.Registration, new Lease(true, now, null, IsResumeBurst(now))));
            }

            if (released is not null)
            {
                _lastActivity = now;
            }

            if (_rate >= _lastLoggedRate * 1.25 || (_rate >= _options.MaxRate && _lastLoggedRate < _options.MaxRate))
            {
                _lastLoggedRate = _rate;
                raised = _rate;
            }

            ScheduleTimer(now);
        }

        if (raised is { } rate)
        {
            _logger.LimiterRateRaised(Name, rate);
        }

        if (released is null)
        {
            return;
        }

        foreach (var (waiter, registration, lease) in released)
        {
            registration.Dispose();
            if (!waiter.Completion.TrySetResult(lease))
            {
                lease.Dispose();
            }
        }
    }

    private void Cancel(Waiter waiter, CancellationToken cancellationToken)
    {
        lock (_gate)
        {
            if (waiter.Node is null)
            {
                return;
            }

            _queue.Remove(waiter.Node);
            waiter.Node = null;
        }

        waiter.Completion.TrySetCanceled(cancellationToken);
    }

    private sealed class Waiter(int permits)
    {
        public int Permits { get; } = permits;

        public TaskCompletionSource<RateLimitLease> Completion { get; } =
            new(TaskCreationOptions.RunContinuationsAsynchronously);

        public LinkedListNode<Waiter>? Node { get; set; }

        public CancellationTokenRegistration Registration { get; set; }
    }

    private sealed class Lease(bool acquired, long acquiredAt, TimeSpan? retryAfter, bool resumeBurst = false) : RateLimitLease
    {
        public long AcquiredAt { get; } = acquiredAt;

        public bool ResumeBurst { get; } = resumeBurst;

        public override bool IsAcquired { get; } = acquired;

        public override IEnumerable<string> MetadataNames =>
            retryAfter is null ? [] : [MetadataName.RetryAfter.Name];

        public override bool TryGetMetadata(string metadataName, out object? metadata)
        {
            if (retryAfter is { } value && metadataName == MetadataName.RetryAfter.Name)
            {
                metadata = value;
                return true;
            }

            metadata = null;
            return false;
        }
    }
}
