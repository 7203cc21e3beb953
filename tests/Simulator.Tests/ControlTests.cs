using System.Net;
using System.Text.Json;

namespace Fleet.Simulator.Tests;

public sealed class ControlTests
{
    [Fact]
    public async Task Counters_are_exact_under_concurrency()
    {
        await using var sim = await TestSim.StartAsync();
        await sim.Control.ResetCountersAsync();
        var devicePath = $"v2/tenants/{sim.TenantA}/devices";
        var groupsPath = $"v2/tenants/{sim.TenantB}/devicegroups";

        await Parallel.ForEachAsync(Enumerable.Range(0, 600), new ParallelOptions { MaxDegreeOfParallelism = 32 }, async (i, ct) =>
        {
            var reply = await sim.GetAsync(i % 3 == 0 ? groupsPath : devicePath);
            Assert.Equal(HttpStatusCode.OK, reply.Status);
        });
        await sim.GetAsync($"v2/tenants/{sim.TenantA}/devices/{new string('0', 128)}");

        var counters = await sim.Control.GetCountersAsync();
        Assert.Equal(601, counters.Total);
        Assert.Equal(400, counters.CountFor("v2/tenants/{tenantId}/devices", 200, "GET"));
        Assert.Equal(200, counters.CountFor("v2/tenants/{tenantId}/devicegroups", 200));
        Assert.Equal(1, counters.CountFor("v2/tenants/{tenantId}/devices/{deviceId}", 404));
        Assert.Equal(401, counters.Tenants.Single(t => t.TenantId == sim.TenantA).Total);
        Assert.Equal(200, counters.Tenants.Single(t => t.TenantId == sim.TenantB).Total);
        Assert.Equal(600, counters.CountStatus(200));
        Assert.Equal(0, counters.Throttled);

        await sim.Control.ResetCountersAsync();
        Assert.Equal(0, (await sim.Control.GetCountersAsync()).Total);
    }

    [Fact]
    public async Task Reset_returns_to_the_seeded_fleet_and_start_settings()
    {
        await using var sim = await TestSim.StartAsync(o => o.RateLimit = 1000);
        var device = sim.Fleet.UnclaimedDeviceIds[0];
        await sim.WaitAsync(sim.TenantA, await sim.SendJsonAsync(HttpMethod.Put, $"v2/tenants/{sim.TenantA}/devices/{device}/claim", null));
        await sim.WaitAsync(sim.TenantA, await sim.SendJsonAsync(HttpMethod.Post, $"v2/tenants/{sim.TenantA}/products", """{ "Name": "Ephemeral" }"""));
        await sim.Control.SetFaultsAsync(0.5, 10);
        Assert.True((await sim.Control.GetDeviceAsync(device)).Claimed);

        await sim.Control.ResetAsync();

        var fleet = await sim.Control.GetFleetAsync();
        Assert.Equal(JsonSerializer.Serialize(sim.Fleet), JsonSerializer.Serialize(fleet));
        Assert.False((await sim.Control.GetDeviceAsync(device)).Claimed);
        var settings = await sim.Control.GetSettingsAsync();
        Assert.Equal((0.0, 0, 1000.0), (settings.FaultRate, settings.LatencyMs, settings.RateLimit));
        Assert.Equal(0, (await sim.Control.GetCountersAsync()).Total);
        Assert.Equal(HttpStatusCode.OK, (await sim.GetAsync($"v2/tenants/{sim.TenantA}/products")).Status);
    }

    [Fact]
    public async Task Settings_changes_are_validated_and_name_the_setting()
    {
        await using var sim = await TestSim.StartAsync();

        var error = await Assert.ThrowsAsync<SimulatorControlException>(() => sim.Control.SetFaultsAsync(1.5));
        Assert.Equal(HttpStatusCode.BadRequest, error.Status);
        Assert.Contains("FaultRate", error.Message, StringComparison.Ordinal);

        var updated = await sim.Control.UpdateSettingsAsync(new SimulatorSettingsUpdate { DefaultPageSize = 3, OperationDelayMs = 5, InstallDelayMs = 7, InstallFailureRate = 0.1 });
        Assert.Equal((3, 5, 7, 0.1), (updated.DefaultPageSize, updated.OperationDelayMs, updated.InstallDelayMs, updated.InstallFailureRate));
        Assert.Equal(3, (await sim.GetAsync($"v2/tenants/{sim.TenantA}/devices")).Json.GetProperty("Items").GetArrayLength());
        Assert.Equal(0.0, updated.FaultRate);
    }

    [Fact]
    public async Task Device_view_shows_tenant_product_group_and_images()
    {
        await using var sim = await TestSim.StartAsync();
        var product = sim.Fleet.Contoso.GetProduct("Thermostat");
        var group = product.GetDeviceGroup("Production");

        var view = await sim.Control.GetDeviceAsync(group.SampleDeviceIds[0].ToLowerInvariant());

        Assert.Equal(group.SampleDeviceIds[0], view.DeviceId);
        Assert.True(view.Claimed);
        Assert.Equal((sim.TenantA, product.Id, group.Id), (view.TenantId!.Value, view.ProductId!.Value, view.DeviceGroupId!.Value));
        Assert.Equal(group.CurrentImageIds, view.TargetedImageIds);
        Assert.Contains(view.InstallState, new[] { DeviceInstallState.Installed, DeviceInstallState.Failed });

        var unclaimed = await sim.Control.GetDeviceAsync(sim.Fleet.UnclaimedDeviceIds[0]);
        Assert.False(unclaimed.Claimed);
        Assert.Null(unclaimed.TenantId);
        var missing = await Assert.ThrowsAsync<SimulatorControlException>(() => sim.Control.GetDeviceAsync("nope"));
        Assert.Equal(HttpStatusCode.NotFound, missing.Status);
    }
}

public sealed class SeedTests
{
    [Fact]
    public async Task The_same_seed_gives_the_same_fleet_and_another_seed_a_different_one()
    {
        await using var a = await TestSim.StartAsync(o => o.Seed = 42, fakeClock: true);
        await using var b = await TestSim.StartAsync(o => o.Seed = 42, fakeClock: true);
        await using var c = await TestSim.StartAsync(o => o.Seed = 43);

        Assert.Equal(JsonSerializer.Serialize(a.Fleet), JsonSerializer.Serialize(b.Fleet));
        Assert.Equal(
            (await a.ListAllAsync($"v2/tenants/{a.TenantA}/devices", 1000)).Select(d => d.GetRawText()),
            (await b.ListAllAsync($"v2/tenants/{b.TenantA}/devices", 1000)).Select(d => d.GetRawText()));
        Assert.NotEqual(a.TenantA, c.TenantA);
        Assert.Empty(a.Fleet.UnclaimedDeviceIds.Intersect(c.Fleet.UnclaimedDeviceIds));
        Assert.Equal(a.Fleet.SystemAssignedIdentity, c.Fleet.SystemAssignedIdentity);
    }

    [Theory]
    [InlineData(0)]
    [InlineData(7)]
    [InlineData(1000)]
    public async Task The_seeded_fleet_has_the_documented_shape(int devices)
    {
        await using var sim = await TestSim.StartAsync(o => o.Devices = devices);
        var fleet = sim.Fleet;

        Assert.Equal(devices, fleet.DeviceCount);
        Assert.Equal(["Contoso Fleet", "Fabrikam Fleet", "Northwind Lab"], fleet.Tenants.Select(t => t.Name));
        Assert.Equal(devices, fleet.Tenants.Sum(t => t.ClaimedDeviceCount) + fleet.UnclaimedDeviceIds.Count);
        Assert.Equal(devices / 10, fleet.UnclaimedDeviceIds.Count);
        foreach (var tenant in new[] { fleet.Contoso, fleet.Fabrikam })
        {
            Assert.Contains(tenant.Users, u => u.PrincipalId == fleet.SystemAssignedIdentity.PrincipalId && u.Role == TenantRole.Contributor);
            Assert.Contains(tenant.Users, u => u.PrincipalId == fleet.GetUserAssignedIdentity("fleet-automation").PrincipalId && u.Role == TenantRole.Contributor);
            Assert.All(tenant.Products, p => Assert.Equal(5, p.DeviceGroups.Count));
            Assert.All(tenant.Products, p => Assert.NotNull(p.GetDeviceGroup("Production").CurrentDeploymentId));
            Assert.NotEmpty(tenant.Images);
        }

        Assert.DoesNotContain(fleet.Northwind.Users, u => u.PrincipalId == fleet.SystemAssignedIdentity.PrincipalId);
        if (devices >= 1000)
        {
            Assert.InRange(fleet.Contoso.UnassignedDeviceIds.Count, 1, fleet.Contoso.ClaimedDeviceCount / 4);
            Assert.Equal(
                fleet.Contoso.ClaimedDeviceCount - fleet.Contoso.UnassignedDeviceIds.Count,
                fleet.Contoso.Products.Sum(p => p.DeviceCount));
        }
    }
}
