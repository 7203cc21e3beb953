using System.Collections.Concurrent;
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
    private readonly Func<(double Rate, int Burst)> _limits;
    private volatile ConcurrentDictionary<string, Bucket> _buckets = new(StringComparer.Ordinal);

    /// <summary>The Sphere API's throttle: per-tenant limits from the simulator settings.</summary>
    public Throttle(TimeProvider time, SettingsStore settings)
        : this(time, () => (settings.Current.RateLimit, settings.Current.EffectiveBurst))
    {
        settings.Changed += _ => Clear();
    }

    /// <summary>A throttle whose rate and burst <paramref name="limits"/> reads (the owner clears it when they change).</summary>
    public Throttle(TimeProvider time, Func<(double Rate, int Burst)> limits)
    {
        _time = time;
        _limits = limits;
    }

    /// <summary>Forgets every bucket; the next request of each tenant starts with a full one.</summary>
    public void Clear() => _buckets = new ConcurrentDictionary<string, Bucket>(StringComparer.Ordinal);

    /// <summary>Takes a token from the key's bucket, or says how long until one is available.</summary>
    public bool TryAcquire(string key, out TimeSpan retryAfter)
    {
        retryAfter = TimeSpan.Zero;
        var limits = _limits();
        if (limits.Rate <= 0)
        {
            return true;
        }

        var bucket = _buckets.GetOrAdd(key, static (_, l) => new Bucket(l.Rate, l.Burst), limits);
        return bucket.TryTake(_time.GetTimestamp(), _time.TimestampFrequency, out retryAfter);
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

/// <summary>Writes the <c>Retry-After</c> of a throttled answer as the simulator's settings ask.</summary>
internal static class RetryAfterHeader
{
    /// <summary>Sets <c>Retry-After</c> to whole seconds or an HTTP date <paramref name="seconds"/> from now, or nothing.</summary>
    public static void Set(HttpResponse response, RetryAfterMode mode, int seconds, TimeProvider time)
    {
        switch (mode)
        {
            case RetryAfterMode.Seconds:
                response.Headers.RetryAfter = seconds.ToString(System.Globalization.CultureInfo.InvariantCulture);
                break;
            case RetryAfterMode.HttpDate:
                response.Headers.RetryAfter = time.GetUtcNow().AddSeconds(seconds).ToString("R", System.Globalization.CultureInfo.InvariantCulture);
                break;
            default:
                break;
        }
    }
}

/// <summary>Draws injected 500/503 faults from a generator seeded by the fleet seed.</summary>
internal sealed class FaultInjector(int seed, Func<double> faultRate)
{
    /// <summary>The Sphere API's faults, at the rate of the simulator settings.</summary>
    public FaultInjector(int seed, SettingsStore settings)
        : this(seed, () => settings.Current.FaultRate)
    {
    }

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
        var rate = faultRate();
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
