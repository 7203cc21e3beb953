using System.Net;
using Fleet.Simulator.IoTConnect;
using Microsoft.Extensions.Options;

namespace Fleet.Simulator.Tests.IoTConnect;

/// <summary>Per-solution throttling, injected faults, dropped connections and settings of the IoTConnect services.</summary>
public sealed class IoTConnectTrafficTests
{
    [Fact]
    public async Task Each_solution_has_its_own_bucket_and_throttled_answers_carry_no_Retry_After_by_default()
    {
        await using var sim = await IoTConnectSim.StartAsync(o =>
        {
            o.IoTConnect.RateLimit = 5;
            o.IoTConnect.Burst = 5;
        }, fakeClock: true);
        var contoso = await sim.AccessTokenAsync();
        var fabrikam = await sim.AccessTokenAsync(sim.Description.Fabrikam);

        for (var i = 0; i < 5; i++)
        {
            Assert.Equal(HttpStatusCode.OK, (await sim.GetAsync(sim.Urls.Device, "Device?pageSize=1", contoso)).Status);
        }

        var throttled = await sim.GetAsync(sim.Urls.User, "Entity/lookup", contoso);
        Assert.Equal(HttpStatusCode.TooManyRequests, throttled.Status);
        Assert.Equal("TooManyRequests", IoTConnectSim.ErrorParam(throttled));
        Assert.Null(throttled.Headers.RetryAfter);

        // Another solution, and the auth service, are not held back.
        Assert.Equal(HttpStatusCode.OK, (await sim.GetAsync(sim.Urls.Device, "Device?pageSize=1", fabrikam)).Status);
        Assert.NotEmpty(await sim.AccessTokenAsync());

        sim.Clock!.Advance(TimeSpan.FromSeconds(1));
        Assert.Equal(HttpStatusCode.OK, (await sim.GetAsync(sim.Urls.Firmware, "Firmware", contoso)).Status);
        var counters = await sim.Host.Control.GetCountersAsync();
        Assert.Equal(1, counters.CountFor(IoTConnectRoutes.Prefix + "/user/api/v2/Entity/lookup", 429));
    }

    [Fact]
    public async Task Throttling_can_answer_503_with_Retry_After_seconds()
    {
        await using var sim = await IoTConnectSim.StartAsync(o =>
        {
            o.IoTConnect.RateLimit = 1;
            o.IoTConnect.ThrottleResponse = IoTConnectThrottleResponse.ServiceUnavailable;
            o.IoTConnect.RetryAfter = RetryAfterMode.Seconds;
        }, fakeClock: true);
        var token = await sim.AccessTokenAsync();

        Assert.Equal(HttpStatusCode.OK, (await sim.GetAsync(sim.Urls.Device, "device-template", token)).Status);
        var throttled = await sim.GetAsync(sim.Urls.Device, "device-template", token);

        Assert.Equal(HttpStatusCode.ServiceUnavailable, throttled.Status);
        Assert.Equal("ServiceUnavailable", IoTConnectSim.ErrorParam(throttled));
        Assert.Equal(TimeSpan.FromSeconds(1), throttled.Headers.RetryAfter?.Delta);
    }

    [Fact]
    public async Task Faults_and_dropped_connections_are_injected()
    {
        await using var sim = await IoTConnectSim.StartAsync();
        var token = await sim.AccessTokenAsync();

        await sim.Host.Control.SetFaultsAsync(1);
        var fault = await sim.GetAsync(sim.Urls.Device, "Device", token);
        Assert.Contains(fault.Status, new[] { HttpStatusCode.InternalServerError, HttpStatusCode.ServiceUnavailable });
        Assert.Contains(IoTConnectSim.ErrorParam(fault), new[] { "InternalServerError", "ServiceUnavailable" });

        await sim.Host.Control.SetFaultsAsync(0);
        await sim.Host.Control.UpdateIoTConnectSettingsAsync(new IoTConnectSettingsUpdate { DropRate = 1 });
        await Assert.ThrowsAnyAsync<HttpRequestException>(() => sim.GetAsync(sim.Urls.Device, "Device", token));

        await sim.Host.Control.UpdateIoTConnectSettingsAsync(new IoTConnectSettingsUpdate { DropRate = 0 });
        Assert.Equal(HttpStatusCode.OK, (await sim.GetAsync(sim.Urls.Device, "Device", token)).Status);
    }

    [Fact]
    public async Task Invalid_settings_are_refused_naming_them()
    {
        var error = await Assert.ThrowsAsync<OptionsValidationException>(() =>
            SimulatorHost.StartAsync(new SimulatorOptions { IoTConnect = { RateLimit = -1, OtaFailureRate = 2 } }));
        Assert.Contains("IoTConnect.RateLimit", error.Message, StringComparison.Ordinal);
        Assert.Contains("IoTConnect.OtaFailureRate", error.Message, StringComparison.Ordinal);

        await using var sim = await IoTConnectSim.StartAsync();
        var refused = await Assert.ThrowsAsync<SimulatorControlException>(() =>
            sim.Host.Control.UpdateIoTConnectSettingsAsync(new IoTConnectSettingsUpdate { DefaultPageSize = 5000 }));
        Assert.Equal(HttpStatusCode.BadRequest, refused.Status);
        Assert.Contains("IoTConnect.DefaultPageSize", refused.Message, StringComparison.Ordinal);
        var applied = await sim.Host.Control.UpdateIoTConnectSettingsAsync(new IoTConnectSettingsUpdate { RateLimit = 50 });
        Assert.Equal(50, applied.RateLimit);
        Assert.Equal(50, (await sim.Host.Control.GetIoTConnectSettingsAsync()).RateLimit);
    }

    [Fact]
    public async Task The_seed_decides_solutions_and_devices_beside_an_unchanged_sphere_fleet()
    {
        await using var one = await IoTConnectSim.StartAsync();
        await using var two = await IoTConnectSim.StartAsync();

        Assert.Equal(one.Contoso.SolutionKey, two.Contoso.SolutionKey);
        Assert.Equal(one.Contoso.SampleUniqueIds, two.Contoso.SampleUniqueIds);
        Assert.Equal(250, one.Contoso.DeviceCount + one.Description.Fabrikam.DeviceCount);
        Assert.Equal(50, one.Description.Fabrikam.DeviceCount);
        var first = one.Contoso.SampleUniqueIds[0];
        Assert.Equal((await one.Host.Control.GetIoTConnectDeviceAsync(first)).DeviceGuid, (await two.Host.Control.GetIoTConnectDeviceAsync(first)).DeviceGuid);
        Assert.NotEqual(one.Contoso.SolutionKey, one.Description.Fabrikam.SolutionKey);
    }
}
