using System.Net;
using System.Text.Json;

namespace Fleet.Simulator.Tests.IoTConnect;

/// <summary>OTA updates progress on the simulator clock: Pending, Sent from half the delay, Success/Failed at the delay.</summary>
public sealed class IoTConnectOtaTests
{
    [Fact]
    public async Task An_update_to_an_entity_reaches_its_subtree_and_progresses_over_time()
    {
        await using var sim = await IoTConnectSim.StartAsync(o =>
        {
            o.IoTConnect.OtaDelayMs = 60_000;
            o.IoTConnect.OtaFailureRate = 0.25;
            o.IoTConnect.AccessTokenLifetime = TimeSpan.FromDays(1);
        }, fakeClock: true);
        var token = await sim.AccessTokenAsync();
        var template = sim.Contoso.GetTemplate("THERMO");
        var upgrade = template.GetUpgrade("1.1");
        var production = sim.Contoso.GetEntity("Production");

        var created = await sim.SendAsync(HttpMethod.Post, new Uri(sim.Urls.Firmware, "ota-update"), token,
            new { firmwareUpgradeGuid = upgrade.UpgradeGuid, target = 1, entityGuid = production.EntityGuid, isForceUpdate = false, isTrialDraft = false });
        Assert.Equal(HttpStatusCode.OK, created.Status);
        var targets = created.Json.GetProperty("data").EnumerateArray().ToList();
        var otaGuid = targets[0].GetProperty("otaUpdateGuid").GetGuid();
        Assert.All(targets, t => Assert.Equal(otaGuid, t.GetProperty("otaUpdateGuid").GetGuid()));

        // Production's devices live in its sub-entities; only the THERMO template's are targeted.
        var expected = await DevicesAsync(sim, token, d => d.GetProperty("deviceTemplateGuid").GetGuid() == template.TemplateGuid
            && (d.GetProperty("entityName").GetString() is "Production East" or "Production West"));
        Assert.Equal(expected.Count, targets.Count);
        Assert.True(targets.Count > 20);

        var initial = await StatusesAsync(sim, token, otaGuid);
        Assert.Equal(0, initial.GetValueOrDefault("Sent") + initial.GetValueOrDefault("Success") + initial.GetValueOrDefault("Failed"));
        var skipped = initial.GetValueOrDefault("Skipped");
        Assert.True(initial["Pending"] > 0);

        sim.Clock!.Advance(TimeSpan.FromSeconds(30));
        var halfway = await StatusesAsync(sim, token, otaGuid);
        Assert.Equal(initial["Pending"], halfway["Sent"]);

        sim.Clock.Advance(TimeSpan.FromSeconds(30));
        var done = await StatusesAsync(sim, token, otaGuid);
        Assert.Equal(initial["Pending"], done.GetValueOrDefault("Success") + done.GetValueOrDefault("Failed"));
        Assert.Equal(skipped, done.GetValueOrDefault("Skipped"));
        var failedShare = (double)done["Failed"] / initial["Pending"];
        Assert.InRange(failedShare, 0.08, 0.45);

        // Successful devices now run the upgrade; the list's counts are strings on this wire.
        var item = (await sim.GetAsync(sim.Urls.Firmware, $"ota-update/{otaGuid}/status/Success?pageSize=1", token)).Json.GetProperty("data")[0];
        var device = await sim.Host.Control.GetIoTConnectDeviceAsync(item.GetProperty("uniqueId").GetString()!);
        Assert.Equal(upgrade.UpgradeGuid, device.FirmwareUpgradeGuid);
        var summary = (await sim.GetAsync(sim.Urls.Firmware, "ota-update", token)).Json.GetProperty("data")[0];
        Assert.Equal(JsonValueKind.String, summary.GetProperty("success").ValueKind);
        Assert.Equal(done["Success"].ToString(System.Globalization.CultureInfo.InvariantCulture), summary.GetProperty("success").GetString());
    }

    [Fact]
    public async Task The_same_seed_fails_the_same_devices()
    {
        async Task<HashSet<string>> FailedAsync()
        {
            await using var sim = await IoTConnectSim.StartAsync(o => o.IoTConnect.OtaFailureRate = 0.3, fakeClock: true);
            var token = await sim.AccessTokenAsync();
            var upgrade = sim.Contoso.GetTemplate("GATEWAY").GetUpgrade("1.1");
            var created = await sim.SendAsync(HttpMethod.Post, new Uri(sim.Urls.Firmware, "ota-update"), token,
                new { firmwareUpgradeGuid = upgrade.UpgradeGuid, target = 1, entityGuid = sim.Contoso.RootEntityGuid, isForceUpdate = true });
            var otaGuid = created.Json.GetProperty("data")[0].GetProperty("otaUpdateGuid").GetGuid();
            var failed = await sim.GetAsync(sim.Urls.Firmware, $"ota-update/{otaGuid}?status=failed&pageSize=1000", token);
            return [.. failed.Json.GetProperty("data").EnumerateArray().Select(d => d.GetProperty("uniqueId").GetString()!)];
        }

        var first = await FailedAsync();
        Assert.NotEmpty(first);
        Assert.Equal(first, await FailedAsync());
    }

    [Fact]
    public async Task Drafts_go_only_to_device_lists_and_unfinished_items_can_be_skipped()
    {
        await using var sim = await IoTConnectSim.StartAsync(o => o.IoTConnect.OtaDelayMs = 10_000, fakeClock: true);
        var token = await sim.AccessTokenAsync();
        var template = sim.Contoso.GetTemplate("THERMO");
        var draft = template.GetUpgrade("1.2");
        var uri = new Uri(sim.Urls.Firmware, "ota-update");

        Assert.Equal("FirmwareUpgradeIsDraft", IoTConnectSim.ErrorParam(await sim.SendAsync(HttpMethod.Post, uri, token,
            new { firmwareUpgradeGuid = draft.UpgradeGuid, target = 1, entityGuid = sim.Contoso.RootEntityGuid, isTrialDraft = true })));
        Assert.Equal("target", IoTConnectSim.ErrorParam(await sim.SendAsync(HttpMethod.Post, uri, token,
            new { firmwareUpgradeGuid = draft.UpgradeGuid, target = 2, entityGuid = sim.Contoso.RootEntityGuid })));

        var acquired = (await DevicesAsync(sim, token, d => d.GetProperty("IsAcquired").GetBoolean() && d.GetProperty("deviceTemplateGuid").GetGuid() == template.TemplateGuid))
            .Take(2).Select(d => d.GetProperty("guid").GetGuid()).ToList();
        var other = (await DevicesAsync(sim, token, d => d.GetProperty("deviceTemplateGuid").GetGuid() != template.TemplateGuid)).First().GetProperty("guid").GetGuid();
        Assert.Equal("DeviceTemplateMismatch", IoTConnectSim.ErrorParam(await sim.SendAsync(HttpMethod.Post, uri, token,
            new { firmwareUpgradeGuid = draft.UpgradeGuid, target = 3, deviceGuids = acquired.Append(other), isTrialDraft = true })));

        var trial = await sim.SendAsync(HttpMethod.Post, uri, token, new { firmwareUpgradeGuid = draft.UpgradeGuid, target = 3, deviceGuids = acquired, isTrialDraft = true });
        Assert.Equal(HttpStatusCode.OK, trial.Status);
        var otaGuid = trial.Json.GetProperty("data")[0].GetProperty("otaUpdateGuid").GetGuid();

        // Without force, a device whose same update is unfinished is left out.
        var again = await sim.SendAsync(HttpMethod.Post, uri, token, new { firmwareUpgradeGuid = draft.UpgradeGuid, target = 3, deviceGuids = acquired, isTrialDraft = true });
        Assert.Equal(0, again.Json.GetProperty("data").GetArrayLength());

        var items = (await sim.GetAsync(sim.Urls.Firmware, $"ota-update/{otaGuid}", token)).Json.GetProperty("data").EnumerateArray().ToList();
        var first = items[0];
        var skipPath = $"ota-update/device/{first.GetProperty("deviceGuid").GetGuid()}/otaupdateitem/{first.GetProperty("otaUpdateItemGuid").GetGuid()}/status/Skipped";
        Assert.Equal(HttpStatusCode.OK, (await sim.SendAsync(HttpMethod.Put, new Uri(sim.Urls.Firmware, skipPath), token, null)).Status);
        Assert.Equal("OtaUpdateItemFinished", IoTConnectSim.ErrorParam(await sim.SendAsync(HttpMethod.Put, new Uri(sim.Urls.Firmware, skipPath), token, null)));

        sim.Clock!.Advance(TimeSpan.FromSeconds(10));
        var statuses = await StatusesAsync(sim, token, otaGuid);
        Assert.Equal(1, statuses["Skipped"]);
        Assert.Equal(1, statuses["Success"]);
    }

    private static async Task<List<JsonElement>> DevicesAsync(IoTConnectSim sim, string token, Func<JsonElement, bool> where)
    {
        var reply = await sim.GetAsync(sim.Urls.Device, "Device?pageSize=1000", token);
        return [.. reply.Json.GetProperty("data").EnumerateArray().Where(where)];
    }

    private static async Task<Dictionary<string, int>> StatusesAsync(IoTConnectSim sim, string token, Guid otaGuid)
    {
        var reply = await sim.GetAsync(sim.Urls.Firmware, $"ota-update/{otaGuid}?pageSize=1000", token);
        Assert.Equal(HttpStatusCode.OK, reply.Status);
        return reply.Json.GetProperty("data").EnumerateArray().GroupBy(d => d.GetProperty("status").GetString()!).ToDictionary(g => g.Key, g => g.Count());
    }
}
