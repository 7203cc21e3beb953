using System.Threading.RateLimiting;
using Fleet.Shared.Resilience;
using Fleet.Testing;

namespace Fleet.Shared.Tests.Resilience;

public sealed class AdaptiveRateLimiterTests
{
    private static readonly TimeSpan Bound = TimeSpan.FromSeconds(10);

    private static AdaptiveRateLimiterOptions Fixed(double rate) =>
        new() { InitialRate = rate, SlowStartGrowth = 1, ProbeGrowth = 0, Burst = 1 };

    // On a fake clock a permit is either there now or only after the test moves the clock: never await one.
    private static RateLimitLease Take(AdaptiveRateLimiter limiter)
    {
        var lease = limiter.AttemptAcquire(1);
        Assert.True(lease.IsAcquired, "no permit was available at this point of the fake clock");
        return lease;
    }

    [Fact]
    public void Paces_permits_at_its_rate()
    {
        var clock = new FakeTimeProvider();
        using var limiter = new AdaptiveRateLimiter("t", Fixed(10), clock);

        using var first = Take(limiter);
        Assert.True(first.IsAcquired);
        var waiting = Enumerable.Range(0, 5).Select(_ => limiter.AcquireAsync(1).AsTask()).ToList();

        clock.Advance(TimeSpan.FromMilliseconds(99));
        Assert.Equal(0, waiting.Count(t => t.IsCompleted));
        clock.Advance(TimeSpan.FromMilliseconds(1));
        Assert.Equal(1, waiting.Count(t => t.IsCompleted));
        clock.Advance(TimeSpan.FromMilliseconds(400));
        Assert.Equal(5, waiting.Count(t => t.IsCompleted));
        Assert.All(waiting, t => Assert.True(t.Result.IsAcquired));
        Assert.Equal(0, limiter.GetStatistics()!.CurrentQueuedCount);
    }

    [Fact]
    public async Task Slow_start_grows_the_rate_only_while_callers_wait()
    {
        var clock = new FakeTimeProvider();
        using var limiter = new AdaptiveRateLimiter("t", new AdaptiveRateLimiterOptions { InitialRate = 10, SlowStartGrowth = 4 }, clock);

        // Idle time is no evidence that the server allows more.
        clock.Advance(TimeSpan.FromSeconds(5));
        using (limiter.AttemptAcquire(1))
        {
        }

        Assert.Equal(10, limiter.CurrentRate, 3);

        var waiting = Enumerable.Range(0, 50).Select(_ => limiter.AcquireAsync(1).AsTask()).ToList();
        for (var ms = 0; ms < 1000; ms++)
        {
            clock.Advance(TimeSpan.FromMilliseconds(1));
            for (var i = 0; i < waiting.Count; i++)
            {
                if (waiting[i].IsCompleted)
                {
                    (await waiting[i]).Dispose();
                    waiting[i] = limiter.AcquireAsync(1).AsTask();
                }
            }
        }

        Assert.InRange(limiter.CurrentRate, 35, 45);
        Assert.Null(limiter.LearnedRate);
    }

    [Fact]
    public void Retry_after_pauses_every_caller_of_the_limiter()
    {
        var clock = new FakeTimeProvider();
        using var limiter = new AdaptiveRateLimiter("t", Fixed(100), clock);
        using var throttled = Take(limiter);
        var others = Enumerable.Range(0, 3).Select(_ => limiter.AcquireAsync(1).AsTask()).ToList();

        limiter.RecordThrottled(throttled, TimeSpan.FromSeconds(2));

        Assert.Equal(clock.GetUtcNow() + TimeSpan.FromSeconds(2), limiter.PausedUntil);
        clock.Advance(TimeSpan.FromMilliseconds(1900));
        Assert.DoesNotContain(others, t => t.IsCompleted);
        using var attempt = limiter.AttemptAcquire(1);
        Assert.False(attempt.IsAcquired);
        Assert.True(attempt.TryGetMetadata(MetadataName.RetryAfter, out var retryAfter));
        Assert.True(retryAfter >= TimeSpan.FromMilliseconds(100), $"Retry-After metadata was {retryAfter}.");

        clock.Advance(TimeSpan.FromMilliseconds(200));
        Assert.Contains(others, t => t.IsCompleted);
        Assert.Null(limiter.PausedUntil);
    }

    [Fact]
    public void A_throttle_without_retry_after_lowers_the_rate_without_pausing()
    {
        var clock = new FakeTimeProvider();
        using var limiter = new AdaptiveRateLimiter("t", Fixed(100), clock);
        using var lease = Take(limiter);

        limiter.RecordThrottled(lease, retryAfter: null);

        Assert.Null(limiter.PausedUntil);
        Assert.True(limiter.CurrentRate < 100, $"rate stayed {limiter.CurrentRate}");
    }

    [Fact]
    public void Throttles_of_requests_sent_before_a_decrease_do_not_lower_the_rate_again()
    {
        var clock = new FakeTimeProvider();
        using var limiter = new AdaptiveRateLimiter("t", Fixed(100), clock);
        var inFlight = new List<RateLimitLease>();
        for (var i = 0; i < 3; i++)
        {
            clock.Advance(TimeSpan.FromMilliseconds(10));
            inFlight.Add(Take(limiter));
        }

        clock.Advance(TimeSpan.FromSeconds(2));
        limiter.RecordThrottled(inFlight[0], null);
        var afterFirst = limiter.CurrentRate;
        limiter.RecordThrottled(inFlight[1], null);
        limiter.RecordThrottled(inFlight[2], null);
        Assert.Equal(afterFirst, limiter.CurrentRate);

        // A request sent after the decrease that is throttled again is new evidence.
        clock.Advance(TimeSpan.FromMilliseconds(50));
        using var later = Take(limiter);
        limiter.RecordThrottled(later, null);
        Assert.True(limiter.CurrentRate < afterFirst);
    }

    [Fact]
    public void The_learned_rate_is_what_the_server_accepted_between_two_throttles()
    {
        var clock = new FakeTimeProvider();
        using var limiter = new AdaptiveRateLimiter("t", Fixed(100), clock);
        using var first = Take(limiter);
        limiter.RecordThrottled(first, null);
        var afterFirst = limiter.CurrentRate;

        // 130 accepted responses, then a throttle 1.965 s after the first: the server allows about 66/s.
        for (var i = 0; i < 130; i++)
        {
            clock.Advance(TimeSpan.FromMilliseconds(15));
            using var lease = limiter.AttemptAcquire(1);
            Assert.True(lease.IsAcquired);
            limiter.RecordAccepted(lease);
        }

        clock.Advance(TimeSpan.FromMilliseconds(15));
        using var second = Take(limiter);
        limiter.RecordThrottled(second, null);

        const double expected = 130 / 1.965;
        Assert.True(expected < afterFirst, "the test needs a measurement below the current rate");
        Assert.Equal(expected, limiter.LearnedRate!.Value, 1);
        Assert.Equal(expected * (1 - new AdaptiveRateLimiterOptions().BackoffMargin), limiter.CurrentRate, 1);
    }

    [Fact]
    public void One_throttle_after_an_idle_spell_at_most_halves_the_rate()
    {
        var clock = new FakeTimeProvider();
        using var limiter = new AdaptiveRateLimiter("t", Fixed(100), clock);
        using var first = Take(limiter);
        limiter.RecordThrottled(first, null);
        var before = limiter.CurrentRate;

        // Idle callers accept little; that says nothing about the server's rate.
        clock.Advance(TimeSpan.FromSeconds(30));
        using var second = Take(limiter);
        limiter.RecordThrottled(second, null);

        Assert.Equal(before * 0.5, limiter.LearnedRate!.Value, 3);
    }

    [Fact]
    public void The_rate_never_falls_below_the_minimum()
    {
        var clock = new FakeTimeProvider();
        using var limiter = new AdaptiveRateLimiter("t", new AdaptiveRateLimiterOptions { InitialRate = 50, MinRate = 2 }, clock);
        for (var i = 0; i < 40; i++)
        {
            clock.Advance(TimeSpan.FromSeconds(1));
            using var lease = Take(limiter);
            limiter.RecordThrottled(lease, null);
        }

        Assert.Equal(2, limiter.CurrentRate);
    }

    [Theory]
    [InlineData(50, 0)]
    [InlineData(100, 0)]
    [InlineData(20, 0)]
    [InlineData(100, 200)]
    public void Many_busy_callers_converge_just_below_a_server_token_bucket(double serverRate, int serverBurst)
    {
        var clock = new FakeTimeProvider();
        using var limiter = new AdaptiveRateLimiter("t", new AdaptiveRateLimiterOptions(), clock);
        var simulation = new LimiterSimulation(clock, limiter, serverRate, serverBurst);

        simulation.Run(callers: 100, TimeSpan.FromSeconds(100), latency: TimeSpan.FromMilliseconds(5));

        var total = simulation.Accepted + simulation.Throttled;
        Assert.True(simulation.Throttled < total * 0.01, $"{simulation.Throttled} of {total} requests were throttled.");
        Assert.True(simulation.Accepted >= serverRate * 100 * 0.95,
            $"{simulation.Accepted} accepted in 100 s against a server rate of {serverRate}/s.");
        Assert.InRange(limiter.LearnedRate!.Value, serverRate * 0.9, serverRate * 1.05);
    }

    [Fact]
    public void A_server_burst_smaller_than_the_limiters_costs_the_burst_not_the_rate()
    {
        // When a Retry-After pause ends, the saved-up permits go out back to back and meet a server bucket of only 20:
        // the excess is answered 429, which must shrink the limiter's burst, not halve its rate again after every
        // pause down to what one burst gets through (about 20/s).
        var clock = new FakeTimeProvider();
        using var limiter = new AdaptiveRateLimiter("t", new AdaptiveRateLimiterOptions(), clock);
        var simulation = new LimiterSimulation(clock, limiter, serverRate: 100, serverBurst: 20);

        simulation.Run(callers: 100, TimeSpan.FromSeconds(100), latency: TimeSpan.FromMilliseconds(5));

        var total = simulation.Accepted + simulation.Throttled;
        Assert.True(simulation.Throttled < total * 0.01, $"{simulation.Throttled} of {total} requests were throttled.");
        Assert.True(simulation.Accepted >= 100 * 100 * 0.9, $"{simulation.Accepted} accepted in 100 s at 100/s.");
        Assert.True(simulation.AcceptedPerSecond.TakeLast(10).All(n => n >= 90), string.Join(",", simulation.AcceptedPerSecond));
        Assert.InRange(limiter.LearnedRate!.Value, 90, 105);
    }

    [Fact]
    public void Without_retry_after_the_limiter_still_converges_without_a_stampede()
    {
        var clock = new FakeTimeProvider();
        using var limiter = new AdaptiveRateLimiter("t", new AdaptiveRateLimiterOptions(), clock);
        var simulation = new LimiterSimulation(clock, limiter, 50, sendRetryAfter: false);

        simulation.Run(callers: 100, TimeSpan.FromSeconds(60), latency: TimeSpan.FromMilliseconds(5));

        var total = simulation.Accepted + simulation.Throttled;
        Assert.True(simulation.Throttled < total * 0.02, $"{simulation.Throttled} of {total} requests were throttled.");
        Assert.True(simulation.Accepted >= 50 * 60 * 0.9, $"{simulation.Accepted} accepted in 60 s at 50/s.");
    }

    [Fact]
    public async Task A_cancelled_waiter_leaves_the_queue()
    {
        var clock = new FakeTimeProvider();
        using var limiter = new AdaptiveRateLimiter("t", Fixed(1), clock);
        using var first = Take(limiter);
        using var cts = new CancellationTokenSource();
        var waiting = limiter.AcquireAsync(1, cts.Token).AsTask();
        Assert.Equal(1, limiter.GetStatistics()!.CurrentQueuedCount);

        await cts.CancelAsync();

        await Assert.ThrowsAnyAsync<OperationCanceledException>(() => waiting.WaitAsync(Bound));
        Assert.Equal(0, limiter.GetStatistics()!.CurrentQueuedCount);
    }

    [Fact]
    public void A_disabled_limiter_grants_everything_at_once()
    {
        var clock = new FakeTimeProvider();
        using var limiter = new AdaptiveRateLimiter("t", new AdaptiveRateLimiterOptions { Enabled = false, InitialRate = 1 }, clock);
        for (var i = 0; i < 100; i++)
        {
            using var lease = Take(limiter);
            Assert.True(lease.IsAcquired);
            limiter.RecordThrottled(lease, TimeSpan.FromSeconds(10));
        }

        Assert.Null(limiter.PausedUntil);
    }

    [Fact]
    public async Task Disposing_releases_waiters_with_failed_leases()
    {
        var clock = new FakeTimeProvider();
        var limiter = new AdaptiveRateLimiter("t", Fixed(1), clock);
        using var first = Take(limiter);
        var waiting = limiter.AcquireAsync(1).AsTask();

        limiter.Dispose();

        Assert.False((await waiting.WaitAsync(Bound)).IsAcquired);
    }

    [Fact]
    public void The_registry_shares_one_limiter_per_key()
    {
        using var registry = new RateLimiterRegistry(new FakeTimeProvider());
        var a = registry.GetOrAdd("tenant-a", new AdaptiveRateLimiterOptions { InitialRate = 5 });
        var again = registry.GetOrAdd("tenant-a", new AdaptiveRateLimiterOptions { InitialRate = 50 });
        var b = registry.GetOrAdd("tenant-b", new AdaptiveRateLimiterOptions { InitialRate = 50 });

        Assert.Same(a, again);
        Assert.NotSame(a, b);
        Assert.Equal(5, again.CurrentRate);
        Assert.True(registry.TryGet("tenant-b", out var found));
        Assert.Same(b, found);
        Assert.False(registry.TryGet("tenant-c", out _));
    }
}
