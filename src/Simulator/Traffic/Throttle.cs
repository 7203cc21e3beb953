using System.Collections.Concurrent;
using System.Globalization;
using Fleet.Simulator.Model;

namespace Fleet.Simulator.Traffic;

/// <summary>
/// A token bucket per tenant. System.Threading.RateLimiting's buckets replenish on the real clock with their own
/// timer; the simulator needs buckets that read the injected <see cref="TimeProvider"/> (so tests can drive them
/// with a fake clock) and that can say exactly how long until the next token, for Retry-After.
/// </summary>
internal sealed class Throttle
{
    private readonly TimeProvider _time;
    private readonly SettingsStore _settings;
    private volatile ConcurrentDictionary<string, Bucket> _buckets = new(StringComparer.Ordinal);

    public Throttle(TimeProvider time, SettingsStore settings)
    {
        _time = time;
        _settings = settings;
        settings.Changed += _ => Clear();
    }

    /// <summary>Forgets every bucket; the next request of each tenant starts with a full one.</summary>
    public void Clear() => _buckets = new ConcurrentDictionary<string, Bucket>(StringComparer.Ordinal);

    /// <summary>Takes a token from the key's bucket, or says how long until one is available.</summary>
    public bool TryAcquire(string key, out TimeSpan retryAfter)
    {
        var settings = _settings.Current;
        return TryAcquire(key, settings.RateLimit, settings.EffectiveBurst, out retryAfter);
    }

    /// <summary>
    /// Takes a token from the key's bucket of <paramref name="rate"/> per second and <paramref name="capacity"/>, for
    /// a cloud with limits of its own (keys of different clouds must not collide); a rate of 0 means unlimited.
    /// </summary>
    public bool TryAcquire(string key, double rate, int capacity, out TimeSpan retryAfter)
    {
        retryAfter = TimeSpan.Zero;
        if (rate <= 0)
        {
            return true;
        }

        var bucket = _buckets.GetOrAdd(key, static (_, s) => new Bucket(s.rate, s.capacity), (rate, capacity));
        return bucket.TryTake(_time.GetTimestamp(), _time.TimestampFrequency, out retryAfter);
    }

    /// <summary>
    /// Writes the <c>Retry-After</c> of a throttled answer as <paramref name="mode"/> says: the wait rounded up to
    /// whole seconds (at least 1), as seconds or as that instant's HTTP date, or nothing. Returns the seconds.
    /// </summary>
    public static int SetRetryAfter(HttpResponse response, RetryAfterMode mode, TimeSpan wait, TimeProvider time)
    {
        var seconds = Math.Max(1, (int)Math.Ceiling(wait.TotalSeconds));
        switch (mode)
        {
            case RetryAfterMode.Seconds:
                response.Headers.RetryAfter = seconds.ToString(CultureInfo.InvariantCulture);
                break;
            case RetryAfterMode.HttpDate:
                response.Headers.RetryAfter = time.GetUtcNow().AddSeconds(seconds).ToString("R", CultureInfo.InvariantCulture);
                break;
            default:
                break;
        }

        return seconds;
    }

    private sealed class Bucket(double rate, int capacity)
    {
        private readonly object _gate = new();
        private double _tokens = capacity;
        private long _last = -1;

        public bool TryTake(long now, long frequency, out TimeSpan retryAfter)
        {
            lock (_gate)
            {
                if (_last >= 0 && now > _last)
                {
                    _tokens = Math.Min(capacity, _tokens + ((now - _last) * rate / frequency));
                }

                _last = Math.Max(_last, now);
                if (_tokens >= 1)
                {
                    _tokens -= 1;
                    retryAfter = TimeSpan.Zero;
                    return true;
                }

                retryAfter = TimeSpan.FromSeconds((1 - _tokens) / rate);
                return false;
            }
        }
    }
}

/// <summary>Draws injected 500/503 faults from a generator seeded by the fleet seed.</summary>
internal sealed class FaultInjector(int seed, SettingsStore settings)
{
    private readonly object _gate = new();
    private Random _random = new(unchecked(seed * 7919 + 17));

    public void Reset()
    {
        lock (_gate)
        {
            _random = new Random(unchecked(seed * 7919 + 17));
        }
    }

    /// <summary>Whether this request gets a fault, and which status (500 or 503).</summary>
    public bool TryDraw(out int status)
    {
        status = 0;
        var rate = settings.Current.FaultRate;
        if (rate <= 0)
        {
            return false;
        }

        lock (_gate)
        {
            if (_random.NextDouble() >= rate)
            {
                return false;
            }

            status = _random.NextDouble() < 0.5 ? 500 : 503;
            return true;
        }
    }
}
