using System.Text.Json;
using System.Text.Json.Nodes;
using Fleet.Functions.Provisioning;
using Fleet.Shared.FleetClouds;
using Fleet.Simulator;
using Fleet.Simulator.IoTCentral;
using Microsoft.DurableTask.Client;

namespace Fleet.Functions.Tests;

/// <summary>Queued provisioning on IoT Central and IoTConnect through the app under the local host, checked in the simulator.</summary>
[Collection(FleetCollection.Name)]
public sealed class CloudProvisioningTests(FleetEnvironment environment)
{
    public const string Thermostat = "dtmi:contoso:thermostat;1";

    public static string IoTCentralMessage(string deviceId, string organization = "contoso-west", string group = "west-thermostats") =>
        JsonSerializer.Serialize(new { cloud = "iotcentral", deviceId, template = Thermostat, organization, deviceGroup = group }, TestFleetApp.Json);

    public static string IoTConnectMessage(string deviceId, string entity = "Production/Production East", string template = "THERMO") =>
        JsonSerializer.Serialize(new { cloud = "iotconnect", deviceId, template, entity }, TestFleetApp.Json);

    public static string IoTCentralInstance(string deviceId) => ProvisioningStarter.InstanceIdFor(FleetCloud.IoTCentral, "IoTCentral", deviceId);

    public static string IoTConnectInstance(string deviceId) => ProvisioningStarter.InstanceIdFor(FleetCloud.IoTConnect, "IoTConnect", deviceId);

    /// <summary>The simulator's view of an IoT Central device: its organization and template.</summary>
    public static async Task<(string? Organization, string? Template)> IoTCentralPlacementAsync(SimulatorHost simulator, string deviceId)
    {
        var view = await simulator.Control.GetIoTCentralDeviceAsync("contoso", deviceId);
        var device = view["device"]!;
        return (device["organizations"] is JsonArray { Count: > 0 } orgs ? (string?)orgs[0] : null, (string?)device["template"]);
    }

    [Fact]
    public async Task A_queued_IoT_Central_request_ends_with_the_device_in_its_organization_and_group_with_bearer_auth()
    {
        await using var app = await TestFleetApp.StartAsync(environment);

        await app.EnqueueAsync(IoTCentralMessage("e2e-th-1"));
        var done = await app.WaitForCompletionAsync(IoTCentralInstance("e2e-th-1"));

        TestFleetApp.AssertCompleted(done);
        var result = done.ReadOutputAs<ProvisionResult>()!;
        Assert.Equal(FleetCloud.IoTCentral, result.Cloud);
        Assert.Equal("west-thermostats", result.DeviceGroupId);
        Assert.Equal("contoso-west", result.ProductId);
        Assert.True(result.Claimed);
        Assert.Equal(("contoso-west", Thermostat), await IoTCentralPlacementAsync(app.Simulator, "e2e-th-1"));

        // Provisioning again into another organization rewrites the device; the east group then lists it.
        await app.EnqueueAsync(IoTCentralMessage("e2e-th-1", organization: "contoso-east", group: "thermostats"));
        var again = await app.WaitForRerunAsync(IoTCentralInstance("e2e-th-1"), done.CreatedAt);
        TestFleetApp.AssertCompleted(again);
        Assert.Equal(("contoso-east", Thermostat), await IoTCentralPlacementAsync(app.Simulator, "e2e-th-1"));
    }

    [Fact]
    public async Task IoT_Central_provisioning_works_with_an_API_token_instead_of_an_identity()
    {
        // The token is minted by the app's simulator before the app starts with it as its only credential.
        string? token = null;
        await using var app = await TestFleetApp.StartAsync(environment, settings: new Dictionary<string, string?>
        {
            ["IoTCentral:credential"] = null,
        }, beforeHost: async (simulator, settings) =>
        {
            var issued = await simulator.Control.IssueIoTCentralApiTokenAsync("contoso", new IoTCentralApiTokenRequest("fleet-e2e", IoTCentralRoleIds.Administrator));
            settings["IoTCentral:apiToken"] = token = issued.Token;
        });

        await app.EnqueueAsync(IoTCentralMessage("e2e-token-1"));
        var done = await app.WaitForCompletionAsync(IoTCentralInstance("e2e-token-1"));

        TestFleetApp.AssertCompleted(done);
        Assert.Equal(("contoso-west", Thermostat), await IoTCentralPlacementAsync(app.Simulator, "e2e-token-1"));
        // Every call was answered with the token: no 401 (the identity would not have been asked, it is not configured).
        var counters = await app.Simulator.Control.GetIoTCentralCountersAsync("contoso");
        Assert.True(counters.Total > 0);
        Assert.False(counters.ByStatus.ContainsKey(401));
        Assert.NotNull(token);
    }

    [Fact]
    public async Task An_operator_rotates_the_IoT_Central_API_token_and_the_app_keeps_working_on_the_new_one()
    {
        var tokenFile = Path.Combine(Path.GetTempPath(), $"iotc-token-{Guid.NewGuid():N}");
        try
        {
            await using var app = await TestFleetApp.StartAsync(environment, new SimulatorOptions { Devices = 20 }, new Dictionary<string, string?>
            {
                ["IoTCentral:credential"] = null,
                ["IoTCentral:apiTokenFile"] = tokenFile,
            }, beforeHost: async (simulator, _) =>
            {
                var issued = await simulator.Control.IssueIoTCentralApiTokenAsync("contoso", new IoTCentralApiTokenRequest("fleet-first", IoTCentralRoleIds.Administrator));
                await File.WriteAllTextAsync(tokenFile, issued.Token);
            });
            var first = await File.ReadAllTextAsync(tokenFile);

            var response = await app.PostAsync("api/iotcentral/IoTCentral/api-token/rotate", new { newTokenId = "fleet-second", deletePrevious = true });
            var body = await response.Content.ReadAsStringAsync();

            Assert.Equal(System.Net.HttpStatusCode.OK, response.StatusCode);
            using (var json = JsonDocument.Parse(body))
            {
                Assert.Equal("fleet-second", json.RootElement.GetProperty("tokenId").GetString());
                Assert.True(json.RootElement.GetProperty("previousTokenDeleted").GetBoolean());
                Assert.Equal(JsonValueKind.Null, json.RootElement.GetProperty("token").ValueKind);
            }

            var second = await File.ReadAllTextAsync(tokenFile);
            Assert.NotEqual(first, second);
            Assert.Contains("skn=fleet-second", second, StringComparison.Ordinal);
            Assert.DoesNotContain(second, body, StringComparison.Ordinal);

            // The old token is gone from the application; the app provisions with the new one.
            await app.EnqueueAsync(IoTCentralMessage("e2e-rotated"));
            TestFleetApp.AssertCompleted(await app.WaitForCompletionAsync(IoTCentralInstance("e2e-rotated")));

            var unknown = await app.PostAsync("api/iotcentral/IoTCentral_Nowhere/api-token/rotate", null);
            Assert.Equal(System.Net.HttpStatusCode.NotFound, unknown.StatusCode);
        }
        finally
        {
            File.Delete(tokenFile);
        }
    }

    [Fact]
    public async Task A_queued_IoTConnect_request_ends_with_the_device_created_acquired_and_in_its_entity()
    {
        await using var app = await TestFleetApp.StartAsync(environment);
        var solution = (await app.Simulator.Control.GetIoTConnectAsync()).Contoso;
        var east = solution.GetEntity("Production East").EntityGuid;
        var fieldTest = solution.GetEntity("Field Test").EntityGuid;

        await app.EnqueueAsync(IoTConnectMessage("e2e-1"));
        var done = await app.WaitForCompletionAsync(IoTConnectInstance("e2e-1"));

        TestFleetApp.AssertCompleted(done);
        var result = done.ReadOutputAs<ProvisionResult>()!;
        Assert.Equal(FleetCloud.IoTConnect, result.Cloud);
        Assert.Equal(east.ToString(), result.DeviceGroupId);
        var view = await app.Simulator.Control.GetIoTConnectDeviceAsync("e2e-1");
        Assert.True(view.Acquired);
        Assert.Equal(east, view.EntityGuid);

        // An existing device is moved, not created again; a template that does not exist fails with its code.
        await app.EnqueueAsync(IoTConnectMessage("e2e-1", entity: "Field Test"));
        await app.EnqueueAsync(IoTConnectMessage("e2e-2", template: "NOSUCH"));
        var moved = await app.WaitForRerunAsync(IoTConnectInstance("e2e-1"), done.CreatedAt);
        TestFleetApp.AssertCompleted(moved);
        Assert.True(moved.ReadOutputAs<ProvisionResult>()!.Moved);
        Assert.Equal(fieldTest, (await app.Simulator.Control.GetIoTConnectDeviceAsync("e2e-1")).EntityGuid);

        var failed = await app.WaitForCompletionAsync(IoTConnectInstance("e2e-2"));
        Assert.Equal(OrchestrationRuntimeStatus.Failed, failed.RuntimeStatus);
        var status = failed.ReadCustomStatusAs<ProvisionStatus>()!;
        Assert.Equal(FleetError.TemplateNotFound, status.ErrorCode);
        Assert.Equal("Claim", status.FailedStep);
    }

    [Fact]
    public async Task Requests_for_the_other_clouds_are_validated_per_cloud()
    {
        await using var app = await TestFleetApp.StartAsync(environment, new SimulatorOptions { Devices = 20 });
        string[] invalid =
        [
            JsonSerializer.Serialize(new { cloud = "azure", deviceId = "x1" }),
            JsonSerializer.Serialize(new { cloud = "iotconnect", deviceId = "x1", template = "THERMO" }),
            JsonSerializer.Serialize(new { cloud = "iotcentral", deviceId = "x 1", template = Thermostat, deviceGroup = "thermostats" }),
            JsonSerializer.Serialize(new { cloud = "iotcentral", deviceId = "x1", template = Thermostat, deviceGroup = "thermostats", product = "Thermostat" }),
        ];
        foreach (var text in invalid)
        {
            await app.EnqueueAsync(text);
        }

        var rejected = await app.ReceiveRejectedAsync(invalid.Length);

        var reasons = string.Join("\n", rejected.SelectMany(r => r.Errors));
        Assert.Contains("cloud must be sphere, iotcentral or iotconnect", reasons, StringComparison.Ordinal);
        Assert.Contains("entity is required", reasons, StringComparison.Ordinal);
        Assert.Contains("deviceId must be 1-128 letters", reasons, StringComparison.Ordinal);
        Assert.Contains("product does not apply to cloud iotcentral", reasons, StringComparison.Ordinal);
    }
}
