using System.Net;
using System.Text.Json;

namespace Fleet.Simulator.Tests.IoTConnect;

/// <summary>Envelopes, casing, paging and status codes of the IoTConnect services, read as a client reads them.</summary>
public sealed class IoTConnectWireTests
{
    [Fact]
    public async Task Device_lists_are_enveloped_and_keep_the_services_mixed_casing()
    {
        await using var sim = await IoTConnectSim.StartAsync();
        var token = await sim.AccessTokenAsync();

        var page = await sim.GetAsync(sim.Urls.Device, "Device?pageNumber=1&pageSize=5", token);

        Assert.Equal(HttpStatusCode.OK, page.Status);
        Assert.Equal("application/json", page.ContentType);
        var json = page.Json;
        Assert.Equal(200, json.GetProperty("status").GetInt32());
        Assert.Equal(sim.Contoso.DeviceCount, json.GetProperty("count").GetInt64());
        var item = json.GetProperty("data")[0];
        Assert.Contains(item.GetProperty("IsAcquired").ValueKind, new[] { JsonValueKind.True, JsonValueKind.False });
        Assert.False(item.TryGetProperty("isAcquired", out _), "Lists carry PascalCase IsAcquired.");
        Assert.True(item.TryGetProperty("IsAllottedDevice", out _));
        Assert.True(item.TryGetProperty("lastactivityDate", out _));
        Assert.True(item.TryGetProperty("firmwareupgradeGuid", out _));
        Assert.Equal(sim.Contoso.SampleUniqueIds[0], item.GetProperty("uniqueId").GetString());
        foreach (var name in new[] { "guid", "displayName", "isConnected", "isActive", "deviceTemplateGuid", "deviceTemplateName", "entityGuid", "entityName" })
        {
            Assert.True(item.TryGetProperty(name, out _), $"Device list items have '{name}'.");
        }
    }

    [Fact]
    public async Task A_single_device_is_a_one_element_array_with_integer_isAcquired()
    {
        await using var sim = await IoTConnectSim.StartAsync();
        var token = await sim.AccessTokenAsync();
        var uniqueId = sim.Contoso.SampleUniqueIds[0];
        var view = await sim.Host.Control.GetIoTConnectDeviceAsync(uniqueId);

        foreach (var path in new[] { $"Device/{view.DeviceGuid}", $"Device/uniqueId/{uniqueId}" })
        {
            var reply = await sim.GetAsync(sim.Urls.Device, path, token);
            Assert.Equal(HttpStatusCode.OK, reply.Status);
            var data = reply.Json.GetProperty("data");
            Assert.Equal(1, data.GetArrayLength());
            Assert.Equal(1, reply.Json.GetProperty("count").GetInt64());
            Assert.Equal(view.Acquired ? 1 : 0, data[0].GetProperty("isAcquired").GetInt32());
            Assert.Equal(view.DeviceGuid, data[0].GetProperty("guid").GetGuid());
        }

        var missing = await sim.GetAsync(sim.Urls.Device, $"Device/{Guid.NewGuid()}", token);
        Assert.Equal(HttpStatusCode.NotFound, missing.Status);
        Assert.Equal("DeviceNotFound", IoTConnectSim.ErrorParam(missing));
    }

    [Fact]
    public async Task Pages_are_numbered_from_one_and_count_is_the_total()
    {
        await using var sim = await IoTConnectSim.StartAsync();
        var token = await sim.AccessTokenAsync();
        var total = sim.Contoso.DeviceCount;

        var seen = new List<string>();
        for (var number = 1; number <= (total / 30) + 1; number++)
        {
            var reply = await sim.GetAsync(sim.Urls.Device, $"Device?pageNumber={number}&pageSize=30", token);
            Assert.Equal(total, reply.Json.GetProperty("count").GetInt64());
            seen.AddRange(reply.Json.GetProperty("data").EnumerateArray().Select(d => d.GetProperty("uniqueId").GetString()!));
        }

        Assert.Equal(total, seen.Count);
        Assert.Equal(total, seen.Distinct().Count());
        Assert.Equal(seen.Order(StringComparer.OrdinalIgnoreCase), seen);

        var beyond = await sim.GetAsync(sim.Urls.Device, "Device?pageNumber=999&pageSize=30", token);
        Assert.Equal(0, beyond.Json.GetProperty("data").GetArrayLength());
        Assert.Equal(total, beyond.Json.GetProperty("count").GetInt64());
        Assert.Equal(10, (await sim.GetAsync(sim.Urls.Device, "Device", token)).Json.GetProperty("data").GetArrayLength());
        Assert.Equal("pageSize", IoTConnectSim.ErrorParam(await sim.GetAsync(sim.Urls.Device, "Device?pageSize=0", token)));
        Assert.Equal("pageNumber", IoTConnectSim.ErrorParam(await sim.GetAsync(sim.Urls.Device, "Device?pageNumber=x", token)));
    }

    [Fact]
    public async Task Creating_a_device_answers_newid_and_a_duplicate_is_409()
    {
        await using var sim = await IoTConnectSim.StartAsync();
        var token = await sim.AccessTokenAsync();
        var template = sim.Contoso.GetTemplate("THERMO");
        var entity = sim.Contoso.GetEntity("Field Test");
        var body = new { uniqueId = "wire-test-1", displayName = "Wire test", deviceTemplateGuid = template.TemplateGuid, entityGuid = entity.EntityGuid };

        var created = await sim.SendAsync(HttpMethod.Post, new Uri(sim.Urls.Device, "Device"), token, body);
        Assert.Equal(HttpStatusCode.OK, created.Status);
        var item = created.Json.GetProperty("data")[0];
        var deviceGuid = item.GetProperty("newid").GetGuid();
        Assert.Equal(entity.EntityGuid, item.GetProperty("entityGuid").GetGuid());
        Assert.Equal("wire-test-1", item.GetProperty("uniqueId").GetString());
        Assert.Equal(deviceGuid, (await sim.Host.Control.GetIoTConnectDeviceAsync("wire-test-1")).DeviceGuid);

        var duplicate = await sim.SendAsync(HttpMethod.Post, new Uri(sim.Urls.Device, "Device"), token, body);
        Assert.Equal(HttpStatusCode.Conflict, duplicate.Status);
        Assert.Equal("UniqueIdAlreadyExists", IoTConnectSim.ErrorParam(duplicate));

        var invalid = await sim.SendAsync(HttpMethod.Post, new Uri(sim.Urls.Device, "Device"), token, body with { uniqueId = "has space" });
        Assert.Equal(HttpStatusCode.BadRequest, invalid.Status);
        Assert.Equal("uniqueId", IoTConnectSim.ErrorParam(invalid));
        Assert.Equal("deviceTemplateGuid", IoTConnectSim.ErrorParam(
            await sim.SendAsync(HttpMethod.Post, new Uri(sim.Urls.Device, "Device"), token, body with { uniqueId = "wire-test-2", deviceTemplateGuid = Guid.NewGuid() })));
    }

    [Fact]
    public async Task Acquire_and_release_report_the_state_they_meet_as_409()
    {
        await using var sim = await IoTConnectSim.StartAsync();
        var token = await sim.AccessTokenAsync();
        var template = sim.Contoso.GetTemplate("GATEWAY");
        var body = new { uniqueId = "acq-1", displayName = "Acquire", deviceTemplateGuid = template.TemplateGuid, entityGuid = sim.Contoso.RootEntityGuid };
        Assert.Equal(HttpStatusCode.OK, (await sim.SendAsync(HttpMethod.Post, new Uri(sim.Urls.Device, "Device"), token, body)).Status);
        Assert.False((await sim.Host.Control.GetIoTConnectDeviceAsync("acq-1")).Acquired);

        var acquired = await sim.SendAsync(HttpMethod.Put, new Uri(sim.Urls.Device, "Device/acq-1/acquire"), token, null);
        Assert.Equal(HttpStatusCode.OK, acquired.Status);
        Assert.Equal(0, acquired.Json.GetProperty("data").GetArrayLength());
        Assert.True((await sim.Host.Control.GetIoTConnectDeviceAsync("acq-1")).Acquired);
        Assert.Equal("DeviceAlreadyAcquired", IoTConnectSim.ErrorParam(await sim.SendAsync(HttpMethod.Put, new Uri(sim.Urls.Device, "Device/acq-1/acquire"), token, null)));

        Assert.Equal(HttpStatusCode.OK, (await sim.SendAsync(HttpMethod.Put, new Uri(sim.Urls.Device, "Device/acq-1/release"), token, null)).Status);
        Assert.Equal("DeviceAlreadyReleased", IoTConnectSim.ErrorParam(await sim.SendAsync(HttpMethod.Put, new Uri(sim.Urls.Device, "Device/acq-1/release"), token, null)));
        Assert.Equal("DeviceNotFound", IoTConnectSim.ErrorParam(await sim.SendAsync(HttpMethod.Put, new Uri(sim.Urls.Device, "Device/nope/acquire"), token, null)));
    }

    [Fact]
    public async Task Entities_form_a_tree_under_one_root()
    {
        await using var sim = await IoTConnectSim.StartAsync();
        var token = await sim.AccessTokenAsync();

        var lookup = (await sim.GetAsync(sim.Urls.User, "Entity/lookup", token)).Json.GetProperty("data").EnumerateArray().ToList();

        Assert.Equal(sim.Contoso.Entities.Count, lookup.Count);
        var root = Assert.Single(lookup, e => e.GetProperty("parentEntityGuid").ValueKind == JsonValueKind.Null);
        Assert.Equal(sim.Contoso.RootEntityGuid, root.GetProperty("guid").GetGuid());
        var east = lookup.Single(e => e.GetProperty("name").GetString() == "Production East");
        Assert.Equal(sim.Contoso.GetEntity("Production").EntityGuid, east.GetProperty("parentEntityGuid").GetGuid());

        var list = (await sim.GetAsync(sim.Urls.User, "Entity?pageSize=100", token)).Json;
        Assert.Equal(lookup.Count, list.GetProperty("count").GetInt64());
        var createBody = new { name = "Production East", parentEntityGuid = sim.Contoso.GetEntity("Production").EntityGuid };
        Assert.Equal("EntityNameAlreadyExists", IoTConnectSim.ErrorParam(await sim.SendAsync(HttpMethod.Post, new Uri(sim.Urls.User, "Entity"), token, createBody)));
        var created = await sim.SendAsync(HttpMethod.Post, new Uri(sim.Urls.User, "Entity"), token, createBody with { name = "Production North" });
        Assert.Equal(HttpStatusCode.OK, created.Status);
        Assert.NotEqual(Guid.Empty, created.Json.GetProperty("data")[0].GetProperty("entityGuid").GetGuid());
    }

    [Fact]
    public async Task Firmware_keeps_its_quirks_204_by_name_PascalCase_Upgrades_and_string_isDraft()
    {
        await using var sim = await IoTConnectSim.StartAsync();
        var token = await sim.AccessTokenAsync();
        var template = sim.Contoso.GetTemplate("THERMO");

        var byName = await sim.GetAsync(sim.Urls.Firmware, $"Firmware?Name={template.FirmwareName}", token);
        Assert.Equal(HttpStatusCode.OK, byName.Status);
        Assert.Equal(HttpStatusCode.NoContent, (await sim.GetAsync(sim.Urls.Firmware, "Firmware?Name=NOSUCHFW", token)).Status);

        var firmware = (await sim.GetAsync(sim.Urls.Firmware, $"Firmware/{template.FirmwareGuid}", token)).Json.GetProperty("data")[0];
        Assert.True(firmware.TryGetProperty("createdby", out _));
        var upgrades = firmware.GetProperty("Upgrades").EnumerateArray().ToList();
        Assert.Equal(["Released", "Released", "Draft"], upgrades.Select(u => u.GetProperty("isDraft").GetString()));
        Assert.Equal(2, firmware.GetProperty("releaseCount").GetInt32());

        var draft = template.GetUpgrade("1.2");
        Assert.Equal(HttpStatusCode.OK, (await sim.SendAsync(HttpMethod.Put, new Uri(sim.Urls.Firmware, $"firmware-upgrade/{draft.UpgradeGuid}/publish"), token, null)).Status);
        Assert.Equal("FirmwareUpgradeAlreadyPublished", IoTConnectSim.ErrorParam(
            await sim.SendAsync(HttpMethod.Put, new Uri(sim.Urls.Firmware, $"firmware-upgrade/{draft.UpgradeGuid}/publish"), token, null)));

        var second = await sim.SendAsync(HttpMethod.Post, new Uri(sim.Urls.Firmware, "Firmware"), token,
            new { deviceTemplateGuid = template.TemplateGuid, firmwareName = "OTHERFW", hardware = "1.0", software = "1.0" });
        Assert.Equal("TemplateAlreadyAttachedWithFirmware", IoTConnectSim.ErrorParam(second));
        var upgrade = await sim.SendAsync(HttpMethod.Post, new Uri(sim.Urls.Firmware, "firmware-upgrade"), token,
            new { firmwareGuid = template.FirmwareGuid, software = "2.0" });
        Assert.NotEqual(Guid.Empty, upgrade.Json.GetProperty("data")[0].GetProperty("newId").GetGuid());
    }

    [Fact]
    public async Task Unknown_endpoints_are_404_in_the_error_shape_and_routes_ignore_case()
    {
        await using var sim = await IoTConnectSim.StartAsync();
        var token = await sim.AccessTokenAsync();

        var unknown = await sim.GetAsync(sim.Urls.Device, "NoSuchThing", token);
        Assert.Equal(HttpStatusCode.NotFound, unknown.Status);
        Assert.Equal("EndpointNotFound", IoTConnectSim.ErrorParam(unknown));
        Assert.Equal(HttpStatusCode.OK, (await sim.GetAsync(sim.Urls.Device, "device?PAGESIZE=2", token)).Status);
        Assert.Equal(HttpStatusCode.OK, (await sim.GetAsync(sim.Urls.Device, "DEVICE-TEMPLATE/template-code/thermo", token)).Status);
    }
}
