using System.Diagnostics;
using System.Globalization;
using System.Net;

namespace Fleet.Simulator.Tests;

/// <summary>Per-tenant token buckets (on a fake clock), injected faults and added latency.</summary>
public sealed class ThrottleTests : IAsyncLifetime
{
    private TestSim _sim = null!;

    public async Task InitializeAsync() => _sim = await TestSim.StartAsync(o =>
    {
        o.RateLimit = 2;
        o.Burst = 3;
    }, fakeClock: true);

    public async Task DisposeAsync() => await _sim.DisposeAsync();

    private Task<Reply> ListAsync(Guid tenantId) => _sim.GetAsync($"v2/tenants/{tenantId}/products");

    [Fact]
    public async Task Over_the_bucket_is_429_with_retry_after_in_seconds_until_tokens_refill()
    {
        for (var i = 0; i < 3; i++)
        {
            Assert.Equal(HttpStatusCode.OK, (await ListAsync(_sim.TenantA)).Status);
        }

        var throttled = await ListAsync(_sim.TenantA);
        Assert.Equal(HttpStatusCode.TooManyRequests, throttled.Status);
        Assert.Equal("TooManyRequests", throttled.ErrorCode);
        Assert.Equal(TimeSpan.FromSeconds(1), throttled.Headers.RetryAfter!.Delta);

        _sim.Clock!.Advance(TimeSpan.FromMilliseconds(500));
        Assert.Equal(HttpStatusCode.OK, (await ListAsync(_sim.TenantA)).Status);
        Assert.Equal(HttpStatusCode.TooManyRequests, (await ListAsync(_sim.TenantA)).Status);

        _sim.Clock.Advance(TimeSpan.FromSeconds(10));
        for (var i = 0; i < 3; i++)
        {
            Assert.Equal(HttpStatusCode.OK, (await ListAsync(_sim.TenantA)).Status);
        }

        var counters = await _sim.Control.GetCountersAsync();
        Assert.Equal(2, counters.Throttled);
        Assert.Equal(2, counters.Tenants.Single(t => t.TenantId == _sim.TenantA).Throttled);
        Assert.Equal(2, counters.CountFor("v2/tenants/{tenantId}/products", 429, "GET"));
    }

    [Fact]
    public async Task Each_tenant_has_its_own_bucket()
    {
        for (var i = 0; i < 3; i++)
        {
            await ListAsync(_sim.TenantA);
        }

        Assert.Equal(HttpStatusCode.TooManyRequests, (await ListAsync(_sim.TenantA)).Status);
        Assert.Equal(HttpStatusCode.OK, (await ListAsync(_sim.TenantB)).Status);
    }

    [Fact]
    public async Task Retry_after_can_be_an_http_date_or_absent()
    {
        await _sim.Control.SetLimitsAsync(1, 1, RetryAfterMode.HttpDate);
        await ListAsync(_sim.TenantA);
        var dated = await ListAsync(_sim.TenantA);
        Assert.Equal(HttpStatusCode.TooManyRequests, dated.Status);
        Assert.Equal(_sim.Clock!.GetUtcNow().AddSeconds(1).ToString("R", CultureInfo.InvariantCulture), dated.Headers.GetValues("Retry-After").Single());

        await _sim.Control.SetLimitsAsync(1, 1, RetryAfterMode.None);
        await ListAsync(_sim.TenantA);
        var bare = await ListAsync(_sim.TenantA);
        Assert.Equal(HttpStatusCode.TooManyRequests, bare.Status);
        Assert.False(bare.Headers.Contains("Retry-After"));
    }

    [Fact]
    public async Task Slow_rates_give_longer_retry_after_and_zero_means_unlimited()
    {
        await _sim.Control.SetLimitsAsync(0.2, 1);
        await ListAsync(_sim.TenantA);
        Assert.Equal(TimeSpan.FromSeconds(5), (await ListAsync(_sim.TenantA)).Headers.RetryAfter!.Delta);

        await _sim.Control.SetLimitsAsync(0);
        for (var i = 0; i < 50; i++)
        {
            Assert.Equal(HttpStatusCode.OK, (await ListAsync(_sim.TenantA)).Status);
        }
    }
}

public sealed class FaultAndLatencyTests
{
    [Fact]
    public async Task Injected_faults_come_at_roughly_the_set_rate_as_500_or_503_error_arrays()
    {
        await using var sim = await TestSim.StartAsync(o => o.FaultRate = 0.25);
        var statuses = new List<HttpStatusCode>();
        for (var i = 0; i < 400; i++)
        {
            var reply = await sim.GetAsync($"v2/tenants/{sim.TenantA}/products");
            statuses.Add(reply.Status);
            if (reply.Status != HttpStatusCode.OK)
            {
                Assert.Contains(reply.ErrorCode, new[] { "InternalServerError", "ServiceUnavailable" });
            }
        }

        var faults = statuses.Count(s => s != HttpStatusCode.OK);
        Assert.InRange(faults, 60, 140);
        Assert.Contains(HttpStatusCode.InternalServerError, statuses);
        Assert.Contains(HttpStatusCode.ServiceUnavailable, statuses);
        Assert.All(statuses, s => Assert.Contains(s, new[] { HttpStatusCode.OK, HttpStatusCode.InternalServerError, HttpStatusCode.ServiceUnavailable }));

        var counters = await sim.Control.GetCountersAsync();
        Assert.Equal(faults, counters.CountStatus(500) + counters.CountStatus(503));
    }

    [Fact]
    public async Task Faults_are_deterministic_for_a_seed_and_can_be_switched_off()
    {
        async Task<List<HttpStatusCode>> SequenceAsync()
        {
            await using var sim = await TestSim.StartAsync(o => o.FaultRate = 0.5);
            var statuses = new List<HttpStatusCode>();
            for (var i = 0; i < 40; i++)
            {
                statuses.Add((await sim.GetAsync($"v2/tenants/{sim.TenantA}/devices")).Status);
            }

            await sim.Control.SetFaultsAsync(0);
            for (var i = 0; i < 20; i++)
            {
                Assert.Equal(HttpStatusCode.OK, (await sim.GetAsync($"v2/tenants/{sim.TenantA}/devices")).Status);
            }

            return statuses;
        }

        Assert.Equal(await SequenceAsync(), await SequenceAsync());
    }

    [Fact]
    public async Task The_token_and_control_endpoints_are_never_faulted()
    {
        await using var sim = await TestSim.StartAsync(o => o.FaultRate = 1);

        Assert.Equal(5, (int)(await sim.GetAsync("v2/tenants")).Status / 100);
        for (var i = 0; i < 5; i++)
        {
            Assert.False(string.IsNullOrEmpty(await sim.TokenAsync()));
            Assert.Equal(sim.Fleet.Seed, (await sim.Control.GetFleetAsync()).Seed);
        }
    }

    [Fact]
    public async Task Latency_is_added_to_api_responses()
    {
        await using var sim = await TestSim.StartAsync();
        await sim.Control.SetFaultsAsync(0, latencyMs: 300);

        var watch = Stopwatch.StartNew();
        var reply = await sim.GetAsync($"v2/tenants/{sim.TenantA}");
        watch.Stop();

        Assert.Equal(HttpStatusCode.OK, reply.Status);
        Assert.True(watch.Elapsed >= TimeSpan.FromMilliseconds(290), $"took {watch.Elapsed}");
        Assert.Equal(300, (await sim.Control.GetSettingsAsync()).LatencyMs);
    }
}
