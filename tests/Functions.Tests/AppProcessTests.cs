using System.Net.Http.Json;
using Fleet.Functions.Provisioning;
using Fleet.Functions.Tests.Reliability;
using Fleet.Simulator;

namespace Fleet.Functions.Tests;

/// <summary>
/// The app as operators run it locally: <c>./host start</c> on its build output, settings from the environment.
/// Host and worker killed with SIGKILL in the middle of a provisioning and started again, it finishes the
/// provisioning from its durable store.
/// </summary>
[Collection(FleetCollection.Name)]
public sealed class AppProcessTests(FleetEnvironment environment)
{
    [Fact]
    public async Task The_app_runs_as_a_process_and_finishes_a_provisioning_after_being_killed()
    {
        await using var simulator = await SimulatorHost.StartAsync(new SimulatorOptions
        {
            Devices = 100, OperationDelayMs = 2000, SigningKey = FleetEnvironment.SigningKey,
        });
        var folder = Directory.CreateTempSubdirectory("fleet-process-").FullName;
        try
        {
            var settings = TestFleetApp.DefaultSettings(environment, simulator, folder, "prov-process");
            settings["AzureFunctionsJobHost:logging:logLevel:default"] = "Information";
            var fleet = await simulator.Control.GetFleetAsync();
            var deviceId = fleet.UnclaimedDeviceIds[0];
            var group = fleet.Contoso.GetProduct("Thermostat").GetDeviceGroup("Development");

            CheckStatusPayload payload;
            using (var first = await FleetAppProcess.StartAsync(settings, TimeSpan.FromSeconds(90)))
            {
                var response = await first.Http.PostAsJsonAsync("api/provision",
                    new { deviceId, product = "Thermostat", deviceGroup = "Development" }, TestFleetApp.Timeout(30));
                payload = await ProvisioningTests.ReadPayloadAsync(response);
                await first.WaitForStatusAsync(payload, s => s.GetProperty("customStatus").GetProperty("step").GetString() == "WaitForClaim");
                first.Kill();
            }

            using var second = await FleetAppProcess.StartAsync(settings, TimeSpan.FromSeconds(90));
            var done = await second.WaitForStatusAsync(payload, s => s.GetProperty("runtimeStatus").GetString() == "Completed", 60);
            Assert.Equal("Done", done.GetProperty("customStatus").GetProperty("step").GetString());
            var view = await simulator.Control.GetDeviceAsync(deviceId);
            Assert.Equal(fleet.Contoso.Id, view.TenantId);
            Assert.Equal(group.Id, view.DeviceGroupId);
            Assert.Equal(ProvisioningStarter.InstanceIdFor(deviceId), payload.Id);
        }
        finally
        {
            Directory.Delete(folder, recursive: true);
        }
    }
}
