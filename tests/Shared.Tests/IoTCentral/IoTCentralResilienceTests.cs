using Fleet.Shared.IoTCentral;
using Fleet.Shared.Tests.Sphere;
using Fleet.Simulator;
using Xunit.Abstractions;

namespace Fleet.Shared.Tests.IoTCentral;

[Collection(SimulatorCollection.Name)]
public sealed class IoTCentralResilienceTests(ITestOutputHelper output)
{
    [Fact]
    public async Task Server_errors_and_dropped_connections_are_retried_to_success()
    {
        var ct = SimulatorFixture.Timeout();
        await using var sim = await IoTCentralTestSupport.StartAsync(o =>
        {
            o.FaultRate = 0.25;
            o.DropRate = 0.1;
        });
        var client = IoTCentralTestSupport.Client(sim, o => o.Retry.MaxRetries = 10);

        for (var i = 0; i < 30; i++)
        {
            Assert.Equal("th-00001", (await client.GetDeviceAsync("th-00001", ct)).Id);
        }

        var counters = await sim.Control.GetIoTCentralCountersAsync("contoso", ct);
        Assert.Equal(30, counters.ByStatus[200]);
        Assert.True(counters.ByStatus.GetValueOrDefault(500) + counters.ByStatus.GetValueOrDefault(503) > 0);
    }

    [Fact]
    public async Task Throttling_without_retry_after_is_backed_off_and_learned()
    {
        var ct = SimulatorFixture.Timeout(TimeSpan.FromSeconds(90));
        await using var sim = await IoTCentralTestSupport.StartAsync(o => o.RateLimit = 50);

        // The limiter as shipped: it starts at the documented 20 requests/s and learns the rest from 429s.
        var client = IoTCentralTestSupport.Client(sim, o => o.RateLimiter = new() { InitialRate = 20 });
        async Task<IoTCentralAppCounters> WaveAsync()
        {
            await sim.Control.ResetIoTCentralCountersAsync(ct);
            await Task.WhenAll(Enumerable.Range(0, 40).Select(async _ =>
            {
                for (var i = 0; i < 5; i++)
                {
                    await client.GetDeviceAsync("th-00002", ct);
                }
            }));
            return await sim.Control.GetIoTCentralCountersAsync("contoso", ct);
        }

        var learning = await WaveAsync();
        var learned = await WaveAsync();

        output.WriteLine($"429s: {learning.Throttled} of {learning.Total} while learning, then {learned.Throttled} of {learned.Total}.");
        Assert.Equal(200, learning.ByStatus[200]);
        Assert.Equal(200, learned.ByStatus[200]);
        Assert.True(learning.Throttled > 0, "the first wave never reached the limit, so nothing was learned");
        Assert.True(learned.Throttled < learned.Total * 0.05, $"{learned.Throttled} of {learned.Total} requests were answered 429 after learning.");
    }

    [Fact]
    public async Task Retries_stop_at_the_attempt_bound_with_the_last_error()
    {
        var ct = SimulatorFixture.Timeout();
        await using var sim = await IoTCentralTestSupport.StartAsync(o => o.FaultRate = 1);
        var client = IoTCentralTestSupport.Client(sim, o => o.Retry.MaxRetries = 2);

        var error = await Assert.ThrowsAsync<IoTCentralApiException>(() => client.GetDeviceAsync("th-00001", ct));

        Assert.Contains(error.Status, new[] { 500, 503 });
        Assert.True(error.IsTransient);
        Assert.NotNull(error.RequestId);
        Assert.Equal(3, (await sim.Control.GetIoTCentralCountersAsync("contoso", ct)).Total);
    }
}
