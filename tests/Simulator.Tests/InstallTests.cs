using System.Net;
using System.Text.Json;

namespace Fleet.Simulator.Tests;

/// <summary>Devices install their group's current deployment after the install delay, except a seeded failing share.</summary>
public sealed class InstallTests
{
    private static async Task<(TestSim Sim, DeviceGroupDescription Group, string Insight)> DeployAsync(
        Action<SimulatorOptions>? configure = null, string groupName = "Production", double? groupRate = null)
    {
        var sim = await TestSim.StartAsync(o =>
        {
            o.Devices = 1000;
            o.InstallDelayMs = 60_000;
            o.TokenLifetime = TimeSpan.FromDays(30);
            configure?.Invoke(o);
        }, fakeClock: true);
        var product = sim.Fleet.Contoso.GetProduct("Thermostat");
        var group = product.GetDeviceGroup(groupName);
        if (groupRate is not null)
        {
            await sim.Control.SetGroupInstallFailureRateAsync(group.Id, groupRate);
        }

        var image = sim.Fleet.Contoso.Images.Single(i => i.Name == "ThermostatApp 1.1");
        var op = await sim.SendJsonAsync(HttpMethod.Post, $"v2/tenants/{sim.TenantA}/devicegroups/{group.Id}/deployments", $"[\"{image.Id}\"]");
        var done = await sim.WaitAsync(sim.TenantA, op);
        Assert.Equal(2, done.GetProperty("State").GetInt32());
        return (sim, group, image.Id.ToString());
    }

    [Fact]
    public async Task Devices_report_the_deployment_installed_only_after_the_install_delay()
    {
        var (sim, group, imageId) = await DeployAsync();
        await using var _ = sim;
        var device = group.SampleDeviceIds[0];

        var targeted = await sim.GetAsync($"v2/tenants/{sim.TenantA}/devices/{device}/images");
        Assert.Equal(imageId, targeted.Json.GetProperty("Items")[0].GetProperty("Id").GetString());
        var pending = await sim.Control.GetDeviceAsync(device);
        Assert.Equal(DeviceInstallState.Pending, pending.InstallState);
        Assert.NotEqual(pending.TargetedDeploymentId, pending.InstalledDeploymentId);
        var before = await sim.Control.GetGroupInstallStatusAsync(group.Id);
        Assert.Equal((0, group.DeviceCount), (before.Installed, before.Pending));

        sim.Clock!.Advance(TimeSpan.FromSeconds(59));
        Assert.Equal(DeviceInstallState.Pending, (await sim.Control.GetDeviceAsync(device)).InstallState);
        sim.Clock.Advance(TimeSpan.FromSeconds(1));

        var installed = await sim.Control.GetDeviceAsync(device);
        Assert.Equal(DeviceInstallState.Installed, installed.InstallState);
        Assert.Equal(installed.TargetedDeploymentId, installed.InstalledDeploymentId);
        Assert.Equal([Guid.Parse(imageId)], installed.InstalledImageIds);
        var status = await sim.Control.GetGroupInstallStatusAsync(group.Id);
        Assert.Equal(group.DeviceCount, status.Installed);
        Assert.Equal(1.0, status.InstalledShare);

        var insights = await sim.ListAllAsync($"v2/tenants/{sim.TenantA}/getDeviceInsights", 1000);
        var mine = insights.Where(i => i.GetProperty("Description").GetString()!.Contains(installed.InstalledDeploymentId.ToString()!, StringComparison.Ordinal)).ToList();
        Assert.Equal(group.DeviceCount, mine.Count);
        var expectedDescription = $"Installed deployment {installed.InstalledDeploymentId} images {imageId}";
        var insight = mine.Single(i => i.GetProperty("DeviceId").GetString() == device);
        Assert.Equal(expectedDescription, insight.GetProperty("Description").GetString());
        Assert.Equal(sim.Clock.GetUtcNow().ToUnixTimeSeconds(), insight.GetProperty("EndTimestampInUnix").GetInt64());
    }

    [Fact]
    public async Task A_global_failure_rate_keeps_a_seeded_share_of_devices_from_ever_installing()
    {
        var (sim, group, _) = await DeployAsync(o => o.InstallFailureRate = 0.3);
        await using var __ = sim;
        sim.Clock!.Advance(TimeSpan.FromHours(1));

        var status = await sim.Control.GetGroupInstallStatusAsync(group.Id);

        Assert.Equal(group.DeviceCount, status.Installed + status.Failed);
        Assert.InRange(status.Failed / (double)group.DeviceCount, 0.15, 0.45);
        Assert.Equal(0.3, status.InstallFailureRate);

        // The same seed fails the same devices: the draw hashes seed, device and deployment.
        var failed = new List<string>();
        foreach (var device in (await sim.ListAllAsync($"v2/tenants/{sim.TenantA}/devicegroups/{group.Id}/devices", 1000)).Select(d => d.GetProperty("DeviceId").GetString()!))
        {
            if ((await sim.Control.GetDeviceAsync(device)).InstallState == DeviceInstallState.Failed)
            {
                failed.Add(device);
            }
        }

        Assert.Equal(status.Failed, failed.Count);
        sim.Clock.Advance(TimeSpan.FromDays(1));
        Assert.Equal(status.Installed, (await sim.Control.GetGroupInstallStatusAsync(group.Id)).Installed);
    }

    [Fact]
    public async Task A_group_rate_overrides_the_global_rate()
    {
        var (sim, group, _) = await DeployAsync(o => o.InstallFailureRate = 0, groupRate: 1.0);
        await using var __ = sim;
        var other = sim.Fleet.Contoso.GetProduct("Thermostat").GetDeviceGroup("Field Test");
        var op = await sim.SendJsonAsync(HttpMethod.Post, $"v2/tenants/{sim.TenantA}/devicegroups/{other.Id}/deployments", $"[\"{sim.Fleet.Contoso.Images.Single(i => i.Name == "ThermostatApp 1.0").Id}\"]");
        await sim.WaitAsync(sim.TenantA, op);
        sim.Clock!.Advance(TimeSpan.FromHours(1));

        var failing = await sim.Control.GetGroupInstallStatusAsync(group.Id);
        var fine = await sim.Control.GetGroupInstallStatusAsync(other.Id);

        Assert.Equal((0, group.DeviceCount), (failing.Installed, failing.Failed));
        Assert.Equal((other.DeviceCount, 0), (fine.Installed, fine.Failed));
        Assert.Equal(1.0, (await sim.Control.GetFleetAsync()).Contoso.GetProduct("Thermostat").GetDeviceGroup("Production").InstallFailureRate);
    }

    [Fact]
    public async Task The_same_seed_fails_the_same_devices_in_two_simulators()
    {
        async Task<List<string>> FailedDevicesAsync()
        {
            await using var sim = await TestSim.StartAsync(o => o.InstallFailureRate = 0.5);
            var group = sim.Fleet.Contoso.GetProduct("Thermostat").GetDeviceGroup("Production");
            var devices = await sim.ListAllAsync($"v2/tenants/{sim.TenantA}/devicegroups/{group.Id}/devices", 1000);
            var failed = new List<string>();
            foreach (var id in devices.Select(d => d.GetProperty("DeviceId").GetString()!))
            {
                if ((await sim.Control.GetDeviceAsync(id)).InstallState == DeviceInstallState.Failed)
                {
                    failed.Add(id);
                }
            }

            return failed;
        }

        var first = await FailedDevicesAsync();
        var second = await FailedDevicesAsync();

        Assert.NotEmpty(first);
        Assert.Equal(first, second);
    }

    [Fact]
    public async Task Update_policy_blocks_app_installs_until_it_allows_them()
    {
        var (sim, group, _) = await DeployAsync(groupName: "Development");
        await using var __ = sim;
        sim.Clock!.Advance(TimeSpan.FromHours(1));
        var device = group.SampleDeviceIds[0];

        Assert.Equal(DeviceInstallState.Blocked, (await sim.Control.GetDeviceAsync(device)).InstallState);
        Assert.Single((await sim.GetAsync($"v2/tenants/{sim.TenantA}/devices/{device}/images")).Json.GetProperty("Items").EnumerateArray());
        Assert.Equal(group.DeviceCount, (await sim.Control.GetGroupInstallStatusAsync(group.Id)).Blocked);

        await sim.SendJsonAsync(HttpMethod.Patch, $"v2/tenants/{sim.TenantA}/devicegroups/{group.Id}", """{ "UpdatePolicy": 0 }""");
        sim.Clock.Advance(TimeSpan.FromMinutes(1));

        Assert.Equal(DeviceInstallState.Installed, (await sim.Control.GetDeviceAsync(device)).InstallState);
    }

    [Fact]
    public async Task A_device_moved_into_a_deployed_group_installs_after_the_delay()
    {
        await using var sim = await TestSim.StartAsync(o => o.InstallDelayMs = 30_000, fakeClock: true);
        var device = sim.Fleet.Contoso.UnassignedDeviceIds[0];
        var group = sim.Fleet.Contoso.GetProduct("Gateway").GetDeviceGroup("Field Test");

        await sim.WaitAsync(sim.TenantA, await sim.SendJsonAsync(HttpMethod.Put, $"v2/tenants/{sim.TenantA}/devices/{device}/devicegroup", $"\"{group.Id}\""));
        Assert.Equal(DeviceInstallState.Pending, (await sim.Control.GetDeviceAsync(device)).InstallState);
        sim.Clock!.Advance(TimeSpan.FromSeconds(30));

        var view = await sim.Control.GetDeviceAsync(device);
        Assert.Equal(DeviceInstallState.Installed, view.InstallState);
        Assert.Equal(group.CurrentImageIds, view.InstalledImageIds);
        Assert.Equal(group.CurrentDeploymentId, view.InstalledDeploymentId);
    }

    [Fact]
    public async Task A_device_that_leaves_before_its_install_falls_due_does_not_install()
    {
        await using var sim = await TestSim.StartAsync(o => o.InstallDelayMs = 30_000, fakeClock: true);
        var device = sim.Fleet.Contoso.UnassignedDeviceIds[0];
        var deployed = sim.Fleet.Contoso.GetProduct("Gateway").GetDeviceGroup("Field Test");
        var empty = sim.Fleet.Contoso.GetProduct("Gateway").GetDeviceGroup("Development");

        await sim.WaitAsync(sim.TenantA, await sim.SendJsonAsync(HttpMethod.Put, $"v2/tenants/{sim.TenantA}/devices/{device}/devicegroup", $"\"{deployed.Id}\""));
        await sim.WaitAsync(sim.TenantA, await sim.SendJsonAsync(HttpMethod.Put, $"v2/tenants/{sim.TenantA}/devices/{device}/devicegroup", $"\"{empty.Id}\""));
        sim.Clock!.Advance(TimeSpan.FromMinutes(5));

        var view = await sim.Control.GetDeviceAsync(device);
        Assert.Null(view.InstalledDeploymentId);
        Assert.Equal(DeviceInstallState.None, view.InstallState);
        var insights = await sim.ListAllAsync($"v2/tenants/{sim.TenantA}/getDeviceInsights", 1000);
        Assert.DoesNotContain(insights, i => i.GetProperty("DeviceId").GetString() == device);
        Assert.Equal(JsonValueKind.Array, (await sim.GetAsync($"v2/tenants/{sim.TenantA}/devices/{device}/images")).Json.GetProperty("Items").ValueKind);
    }

    [Fact]
    public async Task Control_rejects_out_of_range_group_rates_and_unknown_groups()
    {
        await using var sim = await TestSim.StartAsync();
        var group = sim.Fleet.Contoso.Products[0].DeviceGroups[0];

        var tooHigh = await Assert.ThrowsAsync<SimulatorControlException>(() => sim.Control.SetGroupInstallFailureRateAsync(group.Id, 1.5));
        var unknown = await Assert.ThrowsAsync<SimulatorControlException>(() => sim.Control.SetGroupInstallFailureRateAsync(Guid.NewGuid(), 0.1));

        Assert.Equal(HttpStatusCode.BadRequest, tooHigh.Status);
        Assert.Equal(HttpStatusCode.NotFound, unknown.Status);
    }
}
