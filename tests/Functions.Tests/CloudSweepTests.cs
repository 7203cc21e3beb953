using System.Text.Json.Nodes;
using Azure.Identity;
using Fleet.Functions.Compliance;
using Fleet.Shared.DesiredState;
using Fleet.Shared.FleetClouds;
using Fleet.Shared.IoTCentral;
using Fleet.Shared.IoTConnect;
using Fleet.Simulator;

namespace Fleet.Functions.Tests;

/// <summary>
/// Remediating sweeps of IoT Central and IoTConnect device sets through the app: drift is seeded with the typed
/// clients (as another operator would cause it), the sweep must find exactly it, fix it, and a second sweep find none.
/// </summary>
[Collection(FleetCollection.Name)]
public sealed class CloudSweepTests(FleetEnvironment environment)
{
    private static async Task<SweepSummary> SweepAsync(TestFleetApp app, string mode, object policy)
    {
        var payload = await ProvisioningTests.ReadPayloadAsync(await app.PostAsync("api/sweeps", new { mode, policy }));
        var done = await app.WaitForCompletionAsync(payload.Id, 120);
        TestFleetApp.AssertCompleted(done);
        return done.ReadOutputAs<SweepSummary>()!;
    }

    public static IoTCentralClient IoTCentralClient(SimulatorHost simulator) =>
        new(new IoTCentralClientOptions { Endpoint = simulator.IoTCentralEndpoint("contoso") },
            new ManagedIdentityCredential(ManagedIdentityId.SystemAssigned), null, null, null);

    public static async Task<IoTConnectClient> IoTConnectClientAsync(SimulatorHost simulator)
    {
        var solution = (await simulator.Control.GetIoTConnectAsync()).Contoso;
        var urls = simulator.IoTConnect;
        return new IoTConnectClient(new IoTConnectClientOptions
        {
            AuthUrl = urls.Auth, DeviceUrl = urls.Device, UserUrl = urls.User, FirmwareUrl = urls.Firmware,
            Username = solution.Username, Password = solution.Password, SolutionKey = solution.SolutionKey,
        }, null, null, null, null);
    }

    [Fact]
    public async Task An_IoT_Central_sweep_finds_exactly_the_seeded_drift_and_fixes_it()
    {
        await using var app = await TestFleetApp.StartAsync(environment, new SimulatorOptions { Devices = 20 });
        var client = IoTCentralClient(app.Simulator);
        var token = TestFleetApp.Timeout(60);
        for (var i = 1; i <= 6; i++)
        {
            var id = $"e2e-{i:D2}";
            await client.EnsureDeviceAsync(new IoTCentralProvisioningRequest
            {
                DeviceId = id, Template = CloudProvisioningTests.Thermostat, DeviceGroupId = "thermostats",
                Organization = i >= 5 ? "contoso-east" : "contoso-west",
            }, token);
            await client.UpdateDevicePropertiesAsync(id, new Dictionary<string, JsonNode?> { ["firmwareVersion"] = i == 3 ? "1.2.0" : "2.0.0" }, token);
        }

        var policy = new
        {
            deviceSets = new[]
            {
                new
                {
                    name = "contoso-west", cloud = "iotcentral", idPrefix = "e2e-",
                    placement = new { template = CloudProvisioningTests.Thermostat, organization = "contoso-west", deviceGroup = "west-thermostats" },
                    deployment = new { version = "2.0.0" },
                },
            },
        };
        var summary = await SweepAsync(app, "remediate", policy);

        Assert.Equal(3, summary.Findings);
        Assert.Equal(2, summary.ByKind[DriftKind.WrongGroup]);
        Assert.Equal(1, summary.ByKind[DriftKind.WrongVersion]);
        Assert.Equal(3, summary.Fixed);
        Assert.Equal(0, summary.Failed);
        Assert.Equal(new CloudTotals(1, 0, 6, 3, 3, 0), summary.ByCloud[FleetCloud.IoTCentral]);
        Assert.Equal(("contoso-west", CloudProvisioningTests.Thermostat), await CloudProvisioningTests.IoTCentralPlacementAsync(app.Simulator, "e2e-05"));
        Assert.True(await client.IsInDeviceGroupAsync("west-thermostats", "e2e-06", token));
        Assert.Equal("2.0.0", (await client.GetDevicePropertiesAsync("e2e-03", token)).GetProperty("firmwareVersion").GetString());

        var again = await SweepAsync(app, "report", policy);
        Assert.Equal(0, again.Findings);
        Assert.Equal(6, again.Devices);
    }

    [Fact]
    public async Task An_IoTConnect_sweep_finds_exactly_the_seeded_drift_and_fixes_it()
    {
        await using var app = await TestFleetApp.StartAsync(environment, new SimulatorOptions { Devices = 20 });
        var solution = (await app.Simulator.Control.GetIoTConnectAsync()).Contoso;
        var client = await IoTConnectClientAsync(app.Simulator);
        var token = TestFleetApp.Timeout(60);
        var east = solution.GetEntity("Production East").EntityGuid;
        var fieldTest = solution.GetEntity("Field Test").EntityGuid;
        var template = await client.GetTemplateByCodeAsync("THERMO", token);
        Guid Upgrade(string version) => solution.GetTemplate("THERMO").GetUpgrade(version).UpgradeGuid;

        var devices = new List<IoTConnectDevice>();
        for (var i = 1; i <= 5; i++)
        {
            devices.Add((await client.ProvisionDeviceAsync(new IoTConnectDeviceCreateRequest($"e2e-{i:D2}", $"e2e {i}", template.TemplateGuid, east), cancellationToken: token)).Device);
        }

        await client.CreateOtaUpdateAsync(IoTConnectOtaRequest.ToDevices(Upgrade("1.1"), devices.Select(d => d.DeviceGuid)), token);
        await client.CreateOtaUpdateAsync(IoTConnectOtaRequest.ToDevices(Upgrade("1.0"), [devices[2].DeviceGuid]), token);
        foreach (var moved in devices.Skip(3))
        {
            await client.UpdateDeviceAsync(moved.DeviceGuid, moved.DisplayName, fieldTest, cancellationToken: token);
        }

        var policy = new
        {
            deviceSets = new[]
            {
                new
                {
                    name = "contoso-east", cloud = "iotconnect", idPrefix = "e2e-",
                    placement = new { template = "THERMO", entity = "Production/Production East" },
                    deployment = new { version = "1.1" },
                },
            },
        };
        var summary = await SweepAsync(app, "remediate", policy);

        Assert.Equal(3, summary.Findings);
        Assert.Equal(2, summary.ByKind[DriftKind.WrongGroup]);
        Assert.Equal(1, summary.ByKind[DriftKind.WrongVersion]);
        Assert.Equal(3, summary.Fixed);
        Assert.Equal(new CloudTotals(1, 0, 5, 3, 3, 0), summary.ByCloud[FleetCloud.IoTConnect]);
        foreach (var id in new[] { "e2e-03", "e2e-04", "e2e-05" })
        {
            var view = await app.Simulator.Control.GetIoTConnectDeviceAsync(id);
            Assert.Equal(east, view.EntityGuid);
            Assert.Equal("1.1", view.FirmwareVersion);
        }

        Assert.Equal(0, (await SweepAsync(app, "report", policy)).Findings);
    }
}
