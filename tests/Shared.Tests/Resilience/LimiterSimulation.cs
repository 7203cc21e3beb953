using System.Threading.RateLimiting;
using Fleet.Shared.Resilience;
using Fleet.Testing;

namespace Fleet.Shared.Tests.Resilience;

/// <summary>
/// Drives an <see cref="AdaptiveRateLimiter"/> on a fake clock against a simulated server token bucket, the way
/// the fleet simulator throttles: many callers always want to send, each response arrives after a fixed latency.
/// Pure logic: no threads, no real time.
/// </summary>
internal sealed class LimiterSimulation
{
    private readonly FakeTimeProvider _clock;
    private readonly AdaptiveRateLimiter _limiter;
    private readonly double _serverRate;
    private readonly int _serverBurst;
    private readonly bool _sendRetryAfter;
    private double _serverTokens;
    private DateTimeOffset _serverLast;

    public LimiterSimulation(FakeTimeProvider clock, AdaptiveRateLimiter limiter, double serverRate, int serverBurst = 0,
        bool sendRetryAfter = true)
    {
        _clock = clock;
        _limiter = limiter;
        _serverRate = serverRate;
        _serverBurst = serverBurst > 0 ? serverBurst : (int)Math.Ceiling(serverRate);
        _sendRetryAfter = sendRetryAfter;
        _serverTokens = _serverBurst;
        _serverLast = clock.GetUtcNow();
    }

    public long Accepted { get; private set; }

    public long Throttled { get; private set; }

    /// <summary>Accepted responses per whole simulated second since the start.</summary>
    public List<int> AcceptedPerSecond { get; } = [];

    /// <summary>Runs <paramref name="callers"/> always-busy callers for <paramref name="duration"/>.</summary>
    public void Run(int callers, TimeSpan duration, TimeSpan latency, TimeSpan? step = null)
    {
        var tick = step ?? TimeSpan.FromMilliseconds(1);
        var start = _clock.GetUtcNow();
        var end = start + duration;
        var waiting = new List<Task<RateLimitLease>>();
        var inFlight = new List<(DateTimeOffset Due, RateLimitLease Lease, bool Accepted, TimeSpan? RetryAfter)>();
        for (var i = 0; i < callers; i++)
        {
            waiting.Add(_limiter.AcquireAsync(1).AsTask());
        }

        while (_clock.GetUtcNow() < end)
        {
            var now = _clock.GetUtcNow();
            for (var i = 0; i < waiting.Count; i++)
            {
                if (!waiting[i].IsCompleted)
                {
                    continue;
                }

                var lease = waiting[i].Result;
                var accepted = ServerTryAccept(now, out var retryAfter);
                inFlight.Add((now + latency, lease, accepted, retryAfter));
                waiting[i] = _limiter.AcquireAsync(1).AsTask();
            }

            for (var i = inFlight.Count - 1; i >= 0; i--)
            {
                var (due, lease, accepted, retryAfter) = inFlight[i];
                if (due > now)
                {
                    continue;
                }

                inFlight.RemoveAt(i);
                if (accepted)
                {
                    Accepted++;
                    var second = (int)(now - start).TotalSeconds;
                    while (AcceptedPerSecond.Count <= second)
                    {
                        AcceptedPerSecond.Add(0);
                    }

                    AcceptedPerSecond[second]++;
                    _limiter.RecordAccepted(lease);
                }
                else
                {
                    Throttled++;
                    _limiter.RecordThrottled(lease, retryAfter);
                }

                lease.Dispose();
            }

            _clock.Advance(tick);
        }
    }

    private bool ServerTryAccept(DateTimeOffset now, out TimeSpan? retryAfter)
    {
        _serverTokens = Math.Min(_serverBurst, _serverTokens + ((now - _serverLast).TotalSeconds * _serverRate));
        _serverLast = now;
        if (_serverTokens >= 1)
        {
            _serverTokens -= 1;
            retryAfter = null;
            return true;
        }

        // Whole seconds, at least one: what the simulator's Seconds mode sends.
        retryAfter = _sendRetryAfter
            ? TimeSpan.FromSeconds(Math.Max(1, Math.Ceiling((1 - _serverTokens) / _serverRate)))
            : null;
        return false;
    }
}
