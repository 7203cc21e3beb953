using Fleet.Shared.Resilience;
using Fleet.Shared.Sphere;
using Fleet.Simulator;
using Fleet.Testing;
using Xunit.Abstractions;

namespace Fleet.Shared.Tests.Sphere;

[Collection(SimulatorCollection.Name)]
public sealed class SphereClientResilienceTests(ITestOutputHelper output)
{
    private const string TenantRoute = "v2/tenants/{tenantId}";

    [Fact]
    public async Task Injected_server_errors_are_retried_to_success()
    {
        var ct = SimulatorFixture.Timeout();
        await using var sim = await SimulatorFixture.StartSimulatorAsync(new SimulatorOptions { Devices = 100, FaultRate = 0.3 });
        var fleet = await sim.Control.GetFleetAsync(ct);
        var client = SimulatorFixture.CreateClient(sim, o => o.Retry.MaxRetries = 10);
        var tenantId = fleet.Contoso.Id.ToString();

        for (var i = 0; i < 40; i++)
        {
            Assert.Equal("Contoso Fleet", (await client.GetTenantAsync(tenantId, ct)).Name);
        }

        var counters = await sim.Control.GetCountersAsync(ct);
        Assert.Equal(40, counters.CountFor(TenantRoute, 200));
        Assert.True(counters.CountFor(TenantRoute, 500) + counters.CountFor(TenantRoute, 503) > 0);
    }

    [Fact]
    public async Task Retries_stop_at_the_attempt_bound()
    {
        var ct = SimulatorFixture.Timeout();
        await using var sim = await SimulatorFixture.StartSimulatorAsync(new SimulatorOptions { Devices = 100, FaultRate = 1 });
        var fleet = await sim.Control.GetFleetAsync(ct);
        var client = SimulatorFixture.CreateClient(sim, o => o.Retry.MaxRetries = 3);

        var error = await Assert.ThrowsAsync<SphereApiException>(() => client.GetTenantAsync(fleet.Contoso.Id.ToString(), ct));

        Assert.Contains(error.Status, new[] { 500, 503 });
        Assert.True(error.IsTransient);
        Assert.NotNull(error.RequestId);
        Assert.Equal(4, (await sim.Control.GetCountersAsync(ct)).CountFor(TenantRoute));
    }

    [Fact]
    public async Task Retries_stop_when_the_time_budget_is_spent()
    {
        var ct = SimulatorFixture.Timeout();
        await using var sim = await SimulatorFixture.StartSimulatorAsync(new SimulatorOptions { Devices = 100, FaultRate = 1 });
        var fleet = await sim.Control.GetFleetAsync(ct);
        var clock = new FakeTimeProvider();
        var start = clock.GetUtcNow();
        var client = SimulatorFixture.CreateClient(sim, o =>
        {
            o.Retry.MaxRetries = 20;
            o.Retry.Delay = TimeSpan.FromSeconds(1);
            o.Retry.MaxDelay = TimeSpan.FromSeconds(2);
            o.Retry.MaxElapsedTime = TimeSpan.FromSeconds(10);
            o.RateLimiter.Enabled = false;
        }, time: clock);

        var call = client.GetTenantAsync(fleet.Contoso.Id.ToString(), ct);

        // Move the fake clock only while the client sleeps between attempts (its budget timer plus a delay timer).
        while (!call.IsCompleted)
        {
            await TestWaits.UntilAsync(() => call.IsCompleted || clock.ActiveTimerCount >= 2, ct);
            if (!call.IsCompleted)
            {
                clock.Advance(TimeSpan.FromMilliseconds(250));
            }
        }

        var error = await Assert.ThrowsAsync<SphereApiException>(() => call);
        var attempts = (await sim.Control.GetCountersAsync(ct)).CountFor(TenantRoute);
        Assert.Contains(error.Status, new[] { 500, 503 });
        Assert.Contains("MaxElapsedTime", error.Message, StringComparison.Ordinal);
        Assert.InRange(attempts, 3, 20);
        Assert.InRange(clock.GetUtcNow() - start, TimeSpan.FromSeconds(10), TimeSpan.FromSeconds(10.5));
    }

    [Theory]
    [InlineData(RetryAfterMode.Seconds)]
    [InlineData(RetryAfterMode.HttpDate)]
    public async Task A_long_retry_after_is_waited_out_on_the_clock(RetryAfterMode mode)
    {
        var ct = SimulatorFixture.Timeout();
        // A whole-second start, moved in whole seconds: an HTTP-date Retry-After (second precision) then loses nothing.
        var clock = new FakeTimeProvider();

        // One request per 100 s: the second call is throttled with a 100 s Retry-After (on the shared fake clock).
        await using var sim = await SimulatorFixture.StartSimulatorAsync(
            new SimulatorOptions { Devices = 100, RateLimit = 0.01, Burst = 1, RetryAfter = mode }, clock);
        var fleet = await sim.Control.GetFleetAsync(ct);
        using var limiters = new RateLimiterRegistry(clock);
        var client = SimulatorFixture.CreateClient(sim, o => o.Retry.MaxElapsedTime = TimeSpan.FromMinutes(5), time: clock,
            rateLimiters: limiters);
        var tenantId = fleet.Contoso.Id.ToString();
        await client.GetTenantAsync(tenantId, ct);

        var call = client.GetTenantAsync(tenantId, ct);
        await TestWaits.UntilAsync(() => clock.ActiveTimerCount >= 2, ct);
        Assert.Equal(1, (await sim.Control.GetCountersAsync(ct)).CountFor(TenantRoute, 429));

        // The whole tenant pauses, not only the throttled caller.
        var limiter = Assert.Single(limiters.Keys, k => k.EndsWith(tenantId, StringComparison.Ordinal));
        Assert.True(limiters.TryGet(limiter, out var tenantLimiter));
        Assert.InRange(tenantLimiter!.PausedUntil!.Value - clock.GetUtcNow(), TimeSpan.FromSeconds(98), TimeSpan.FromSeconds(100));

        clock.Advance(TimeSpan.FromSeconds(98));
        await Task.Delay(200, ct);
        Assert.False(call.IsCompleted);
        Assert.Equal(2, (await sim.Control.GetCountersAsync(ct)).CountFor(TenantRoute));

        clock.Advance(TimeSpan.FromSeconds(3));
        Assert.Equal("Contoso Fleet", (await call.WaitAsync(ct)).Name);
        var counters = await sim.Control.GetCountersAsync(ct);
        Assert.Equal(2, counters.CountFor(TenantRoute, 200));
        Assert.Equal(1, counters.CountFor(TenantRoute, 429));
    }

    [Fact]
    public async Task A_retry_after_beyond_the_budget_surfaces_at_once()
    {
        var ct = SimulatorFixture.Timeout();
        await using var sim = await SimulatorFixture.StartSimulatorAsync(new SimulatorOptions { Devices = 100, RateLimit = 0.01, Burst = 1 });
        var fleet = await sim.Control.GetFleetAsync(ct);
        var client = SimulatorFixture.CreateClient(sim, o => o.Retry.MaxElapsedTime = TimeSpan.FromSeconds(30));
        var tenantId = fleet.Contoso.Id.ToString();
        await client.GetTenantAsync(tenantId, ct);

        var error = await Assert.ThrowsAsync<SphereApiException>(() => client.GetTenantAsync(tenantId, ct));

        Assert.True(error.IsThrottled);
        Assert.Equal("TooManyRequests", error.ErrorCode);
        Assert.InRange(error.RetryAfter!.Value, TimeSpan.FromSeconds(90), TimeSpan.FromSeconds(100));
        Assert.Equal(1, (await sim.Control.GetCountersAsync(ct)).CountFor(TenantRoute, 429));
    }

    [Fact]
    public async Task Hundred_concurrent_callers_against_50_requests_per_second_all_get_through_the_throttling()
    {
        var ct = SimulatorFixture.Timeout(TimeSpan.FromSeconds(90));
        await using var sim = await SimulatorFixture.StartSimulatorAsync();
        var fleet = await sim.Control.GetFleetAsync(ct);
        await sim.Control.SetLimitsAsync(50, cancellationToken: ct);

        // The limiter as shipped: it learns the rate from scratch.
        var client = SimulatorFixture.CreateClient(sim, o => o.RateLimiter = new());
        var tenantId = fleet.Contoso.Id.ToString();
        await sim.Control.ResetCountersAsync(ct);

        await Task.WhenAll(Enumerable.Range(0, 100).Select(async _ =>
        {
            for (var i = 0; i < 3; i++)
            {
                await client.GetTenantAsync(tenantId, ct);
            }
        }));

        var counters = await sim.Control.GetCountersAsync(ct);
        var tenant = Assert.Single(counters.Tenants, t => t.TenantId == fleet.Contoso.Id);
        output.WriteLine($"{tenant.Throttled} of {tenant.Total} requests were answered 429.");
        // Every call succeeds, whatever the service refused on the way. How rarely it refuses is a speed figure that
        // depends on the machine's load (client and simulator share this process), so the benchmarks measure it
        // (`sweep_10k_429_share`, `iotc_sweep_10k_429_share`), not this test.
        Assert.Equal(300, counters.CountFor(TenantRoute, 200));
        Assert.Equal(tenant.Total - 300, tenant.Throttled);
    }
}
