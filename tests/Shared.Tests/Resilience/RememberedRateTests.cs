using Fleet.Shared.Resilience;
using Fleet.Testing;

namespace Fleet.Shared.Tests.Resilience;

/// <summary>Limiters that start from a rate an earlier process learned (<see cref="RateLimiterRegistry.Remember"/>).</summary>
public sealed class RememberedRateTests
{
    private static readonly DateTimeOffset Yesterday = DateTimeOffset.UnixEpoch.AddDays(-1);

    [Fact]
    public void A_recalled_rate_replaces_the_slow_start()
    {
        var clock = new FakeTimeProvider();
        using var limiter = new AdaptiveRateLimiter("t", new AdaptiveRateLimiterOptions(), clock);

        Assert.True(limiter.Recall(new RememberedRate(100, Yesterday)));

        Assert.Equal(97, limiter.CurrentRate, 3);
        Assert.Equal(100, limiter.LearnedRate);
        Assert.Equal(new RememberedRate(100, Yesterday), limiter.Learned);

        // Busy callers for a second: a slow start would quadruple the rate; probing above a learned rate barely moves it.
        var simulation = new LimiterSimulation(clock, limiter, serverRate: 200, serverBurst: 200);
        simulation.Run(callers: 20, TimeSpan.FromSeconds(1), latency: TimeSpan.FromMilliseconds(5));
        Assert.InRange(limiter.CurrentRate, 97, 100);
        Assert.Equal(0, simulation.Throttled);
    }

    [Fact]
    public void A_rate_the_limiter_measured_itself_wins_over_a_remembered_one()
    {
        var clock = new FakeTimeProvider();
        using var limiter = new AdaptiveRateLimiter("t", new AdaptiveRateLimiterOptions(), clock);
        var simulation = new LimiterSimulation(clock, limiter, serverRate: 30);
        simulation.Run(callers: 20, TimeSpan.FromSeconds(20), latency: TimeSpan.FromMilliseconds(5));
        var measured = limiter.Learned!;

        Assert.False(limiter.Recall(new RememberedRate(500, Yesterday)));

        Assert.Equal(measured, limiter.Learned);
        Assert.InRange(measured.Rate, 25, 32);
        Assert.Equal(clock.GetUtcNow().Date, measured.LearnedAt.Date);
    }

    [Fact]
    public void The_registry_hands_remembered_rates_to_limiters_made_before_and_after_and_reports_what_they_learned()
    {
        var clock = new FakeTimeProvider();
        using var registry = new RateLimiterRegistry(clock);
        var early = registry.GetOrAdd("early", new AdaptiveRateLimiterOptions());
        var measuring = registry.GetOrAdd("measuring", new AdaptiveRateLimiterOptions());
        Assert.Empty(registry.LearnedRates());

        registry.Remember(new Dictionary<string, RememberedRate>
        {
            ["early"] = new(50, Yesterday),
            ["late"] = new(20, Yesterday),
        });
        var late = registry.GetOrAdd("late", new AdaptiveRateLimiterOptions());
        new LimiterSimulation(clock, measuring, serverRate: 40).Run(callers: 20, TimeSpan.FromSeconds(10), latency: TimeSpan.FromMilliseconds(5));

        // A 429 right after the start only guesses at a rate: nothing worth remembering.
        var unmeasured = registry.GetOrAdd("unmeasured", new AdaptiveRateLimiterOptions());
        using (var first = unmeasured.AttemptAcquire(1))
        {
            unmeasured.RecordThrottled(first, null);
        }

        Assert.Equal(50 * 0.97, early.CurrentRate, 3);
        Assert.Equal(20 * 0.97, late.CurrentRate, 3);
        Assert.NotNull(unmeasured.LearnedRate);
        var learned = registry.LearnedRates();
        Assert.Equal(["early", "late", "measuring"], learned.Keys.Order());
        Assert.Equal(new RememberedRate(50, Yesterday), learned["early"]);
        Assert.Equal(measuring.Learned, learned["measuring"]);
    }
}
