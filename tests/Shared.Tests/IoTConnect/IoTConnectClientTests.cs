using Fleet.Shared.IoTConnect;
using Fleet.Shared.Tests.Sphere;
using Fleet.Simulator;
using Fleet.Simulator.IoTConnect;
using Fleet.Testing;

namespace Fleet.Shared.Tests.IoTConnect;

/// <summary>The IoTConnect client against the simulator over loopback: envelopes, paging, errors and the data calls.</summary>
public sealed class IoTConnectClientTests
{
    [Fact]
    public async Task Lists_follow_pages_to_the_end_whatever_the_page_size()
    {
        var ct = SimulatorFixture.Timeout();
        await using var host = await IoTConnectTestHost.StartAsync();
        var client = host.Client(o => o.PageSize = 7);

        var devices = new List<IoTConnectDevice>();
        await foreach (var device in client.GetDevicesAsync(cancellationToken: ct))
        {
            devices.Add(device);
        }

        Assert.Equal(host.Contoso.DeviceCount, devices.Count);
        Assert.Equal(devices.Count, devices.Select(d => d.UniqueId).Distinct().Count());
        var pages = (host.Contoso.DeviceCount + 6) / 7;
        Assert.Equal(pages, await host.CountAsync(IoTConnectRoutes.Prefix + "/device/api/v2/Device", 200));

        // A page hint overrides the setting; a page number works as continuation token.
        var second = await client.GetDevicesAsync(cancellationToken: ct).AsPages("2", 25).FirstAsync(ct);
        Assert.Equal(devices.Skip(25).Take(25).Select(d => d.UniqueId), second.Values.Select(d => d.UniqueId));
        Assert.Equal("3", second.ContinuationToken);
    }

    [Fact]
    public async Task Devices_read_back_with_both_casings_of_IsAcquired()
    {
        var ct = SimulatorFixture.Timeout();
        await using var host = await IoTConnectTestHost.StartAsync();
        var client = host.Client();
        var production = host.Contoso.GetEntity("Production East");

        var listed = await client.GetDevicesAsync(new IoTConnectDeviceQuery { EntityGuid = production.EntityGuid }, ct).ToListAsync(ct);

        Assert.Equal(production.DeviceCount, listed.Count);
        Assert.All(listed, d => Assert.Equal(production.EntityGuid, d.EntityGuid));
        foreach (var device in listed.Take(10))
        {
            var view = await host.Control.GetIoTConnectDeviceAsync(device.UniqueId, ct);
            var single = await client.GetDeviceAsync(device.DeviceGuid, ct);
            Assert.Equal(view.Acquired, device.IsAcquired);
            Assert.Equal(view.Acquired, single.IsAcquired);
            Assert.Equal(view.FirmwareUpgradeGuid, single.FirmwareUpgradeGuid);
            Assert.Equal(device with { LastActivity = single.LastActivity }, single);
        }

        var released = await client.GetDevicesAsync(new IoTConnectDeviceQuery { Acquired = false }, ct).ToListAsync(ct);
        Assert.NotEmpty(released);
        Assert.All(released, d => Assert.False(d.IsAcquired));
    }

    [Fact]
    public async Task Failures_carry_status_error_code_and_service_message()
    {
        var ct = SimulatorFixture.Timeout();
        await using var host = await IoTConnectTestHost.StartAsync();
        var client = host.Client();

        var missing = await Assert.ThrowsAsync<IoTConnectApiException>(() => client.GetDeviceAsync(Guid.NewGuid(), ct));
        Assert.True(missing.IsNotFound);
        Assert.Equal("DeviceNotFound", missing.ErrorCode);
        Assert.Equal("device", missing.Service);
        Assert.NotNull(missing.ServiceMessage);
        Assert.NotNull(missing.RequestId);
        Assert.False(missing.IsTransient);

        var invalid = await Assert.ThrowsAsync<IoTConnectApiException>(() => client.CreateDeviceAsync(
            new IoTConnectDeviceCreateRequest("bad id!", "x", host.Contoso.GetTemplate("THERMO").TemplateGuid, host.Contoso.RootEntityGuid), ct));
        Assert.True(invalid.IsBadRequest);
        Assert.Equal("uniqueId", invalid.ErrorCode);
        Assert.Equal("uniqueId", Assert.Single(invalid.Errors).Param);

        Assert.Null(await client.FindDeviceAsync("no-such-device", ct));
        Assert.Null(await client.FindFirmwareAsync("NOSUCHFW", ct));
    }

    [Fact]
    public async Task Provisioning_is_idempotent_and_a_different_placement_is_a_conflict()
    {
        var ct = SimulatorFixture.Timeout();
        await using var host = await IoTConnectTestHost.StartAsync();
        var client = host.Client();
        var request = new IoTConnectDeviceCreateRequest("prov-0001", "Provisioned", host.Contoso.GetTemplate("GATEWAY").TemplateGuid,
            host.Contoso.GetEntity("Field Test").EntityGuid);

        var first = await client.ProvisionDeviceAsync(request, cancellationToken: ct);
        Assert.True(first.Created);
        Assert.True(first.Acquired);
        Assert.True(first.Device.IsAcquired);
        Assert.Equal(request.EntityGuid, first.Device.EntityGuid);

        // The same request again (an orchestration retry): the 409 and the already-acquired device count as done.
        var again = await client.ProvisionDeviceAsync(request, cancellationToken: ct);
        Assert.False(again.Created);
        Assert.False(again.Acquired);
        Assert.Equal(first.Device.DeviceGuid, again.Device.DeviceGuid);
        Assert.Equal(1, await host.CountAsync(IoTConnectRoutes.Prefix + "/device/api/v2/Device", 409));

        var elsewhere = await Assert.ThrowsAsync<IoTConnectApiException>(() =>
            client.ProvisionDeviceAsync(request with { EntityGuid = host.Contoso.GetEntity("Development").EntityGuid }, cancellationToken: ct));
        Assert.True(elsewhere.IsConflict);
        Assert.Equal("UniqueIdAlreadyExists", elsewhere.ErrorCode);
        Assert.Contains(request.EntityGuid.ToString(), elsewhere.Message, StringComparison.Ordinal);

        var unacquired = await client.ProvisionDeviceAsync(request with { UniqueId = "prov-0002" }, acquire: false, ct);
        Assert.True(unacquired.Created);
        Assert.False(unacquired.Device.IsAcquired);
    }

    [Fact]
    public async Task Entities_templates_and_firmware_are_read_as_typed_models()
    {
        var ct = SimulatorFixture.Timeout();
        await using var host = await IoTConnectTestHost.StartAsync();
        var client = host.Client();

        var tree = await client.GetEntityTreeAsync(ct);
        Assert.Equal(host.Contoso.RootEntityGuid, tree.Root.EntityGuid);
        var east = tree.FindByPath("Contoso/Production/Production East")!;
        Assert.Equal(host.Contoso.GetEntity("Production East").EntityGuid, east.EntityGuid);
        Assert.Equal(east, tree.FindByPath("Production/Production East"));
        Assert.Equal("Contoso/Production/Production East", tree.GetPath(east.EntityGuid));
        Assert.True(tree.IsWithin(east.EntityGuid, tree.Root.EntityGuid));
        Assert.Equal(3, tree.GetSubtree(host.Contoso.GetEntity("Production").EntityGuid).Count);
        Assert.Equal(host.Contoso.Entities.Count, (await client.GetEntitiesAsync(ct).ToListAsync(ct)).Count);

        var newEntity = await client.CreateEntityAsync("Production South", host.Contoso.GetEntity("Production").EntityGuid, cancellationToken: ct);
        Assert.Equal("Production South", (await client.GetEntityAsync(newEntity, ct)).Name);

        var templates = await client.GetTemplatesAsync(ct).ToListAsync(ct);
        Assert.Equal(["THERMO", "GATEWAY"], templates.Select(t => t.Code));
        var thermo = await client.GetTemplateByCodeAsync("thermo", ct);
        Assert.Equal(thermo, await client.GetTemplateAsync(thermo.TemplateGuid, ct));

        var firmware = await client.FindFirmwareAsync("THERMOFW", ct);
        Assert.NotNull(firmware);
        Assert.Equal(thermo.TemplateGuid, firmware.TemplateGuid);
        Assert.Equal(["1.0", "1.1", "1.2"], firmware.Upgrades.Select(u => u.Software));
        Assert.Equal([true, true, false], firmware.Upgrades.Select(u => u.IsReleased));
        Assert.Equal(2, (await client.GetFirmwareListAsync(ct).ToListAsync(ct)).Count);

        var upgrade = await client.CreateFirmwareUpgradeAsync(firmware.FirmwareGuid, "2.0", "next", ct);
        Assert.False((await client.GetFirmwareUpgradeAsync(upgrade, ct)).IsReleased);
        await client.PublishFirmwareUpgradeAsync(upgrade, ct);
        Assert.True((await client.GetFirmwareUpgradeAsync(upgrade, ct)).IsReleased);
        var twice = await Assert.ThrowsAsync<IoTConnectApiException>(() => client.PublishFirmwareUpgradeAsync(upgrade, ct));
        Assert.True(twice.IsConflict);
        Assert.Equal(4, (await client.GetFirmwareUpgradesAsync(firmware.FirmwareGuid, ct).ToListAsync(ct)).Count);

        var duplicate = await Assert.ThrowsAsync<IoTConnectApiException>(() => client.CreateFirmwareAsync(
            new IoTConnectFirmwareCreateRequest(thermo.TemplateGuid, "THERMO2", "1.0", "1.0"), ct));
        Assert.Equal("TemplateAlreadyAttachedWithFirmware", duplicate.ErrorCode);
    }

    [Fact]
    public async Task An_ota_rollout_is_watched_per_device_and_can_be_cancelled()
    {
        var ct = SimulatorFixture.Timeout();
        var clock = new FakeTimeProvider();
        await using var host = await IoTConnectTestHost.StartAsync(o =>
        {
            o.IoTConnect.OtaDelayMs = 60_000;
            o.IoTConnect.OtaFailureRate = 0.2;
        }, clock);
        var client = host.Client(o => o.RateLimiter.Enabled = false);
        var upgrade = host.Contoso.GetTemplate("THERMO").GetUpgrade("1.1");

        var east = await client.CreateOtaUpdateAsync(IoTConnectOtaRequest.ToEntity(upgrade.UpgradeGuid, host.Contoso.GetEntity("Production East").EntityGuid), ct);
        Assert.NotNull(east.OtaUpdateGuid);
        var started = await client.GetOtaProgressAsync(east.OtaUpdateGuid.Value, ct);
        Assert.Equal(east.DeviceGuids.Count, started.Total);
        Assert.False(started.IsFinished);

        clock.Advance(TimeSpan.FromSeconds(30));
        var sent = await client.GetOtaUpdateDevicesAsync(east.OtaUpdateGuid.Value, IoTConnectOtaStatus.Sent, ct).ToListAsync(ct);
        Assert.Equal(started.Pending, sent.Count);
        clock.Advance(TimeSpan.FromSeconds(30));
        var done = await client.GetOtaProgressAsync(east.OtaUpdateGuid.Value, ct);
        Assert.True(done.IsFinished);
        Assert.Equal(started.Pending, done.Success + done.Failed);
        Assert.True(done.Failed > 0);
        var summary = Assert.Single(await client.GetOtaUpdatesAsync(ct).ToListAsync(ct));
        Assert.Equal((done.Success, done.Failed, done.Skipped), (summary.Success, summary.Failed, summary.Skipped));

        // A rollout to a device list, stopped half-way: its unfinished items end Skipped.
        var targets = (await client.GetDevicesAsync(new IoTConnectDeviceQuery { EntityName = "Production West", Acquired = true }, ct).ToListAsync(ct))
            .Where(d => d.TemplateGuid == host.Contoso.GetTemplate("THERMO").TemplateGuid).Take(5).Select(d => d.DeviceGuid).ToList();
        var west = await client.CreateOtaUpdateAsync(IoTConnectOtaRequest.ToDevices(upgrade.UpgradeGuid, targets), ct);
        Assert.Equal(targets.Count, west.DeviceGuids.Count);
        Assert.Equal(targets.Count, await client.CancelOtaUpdateAsync(west.OtaUpdateGuid!.Value, ct));
        clock.Advance(TimeSpan.FromMinutes(2));
        var cancelled = await client.GetOtaProgressAsync(west.OtaUpdateGuid.Value, ct);
        Assert.Equal(targets.Count, cancelled.Skipped);
        Assert.Equal(0, await client.CancelOtaUpdateAsync(west.OtaUpdateGuid.Value, ct));
    }
}
