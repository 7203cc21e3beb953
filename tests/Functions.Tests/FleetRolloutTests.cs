using System.Text.Json.Nodes;
using Fleet.Functions.Rollouts;
using Fleet.Shared.IoTCentral;
using Fleet.Simulator;
using Fleet.Simulator.IoTCentral;
using Fleet.Simulator.IoTConnect;

namespace Fleet.Functions.Tests;

/// <summary>Rollouts in waves through the port on IoT Central (jobs) and IoTConnect (OTA), with per-device failures from the simulator.</summary>
[Collection(FleetCollection.Name)]
public sealed class FleetRolloutTests(FleetEnvironment environment)
{
    private static async Task<FleetRolloutStatus> RolloutAsync(TestFleetApp app, object request)
    {
        var payload = await ProvisioningTests.ReadPayloadAsync(await app.PostAsync("api/fleet-rollouts", request));
        var done = await app.WaitForCompletionAsync(payload.Id, 120);
        TestFleetApp.AssertCompleted(done);
        return done.ReadOutputAs<FleetRolloutStatus>()!;
    }

    [Fact]
    public async Task An_IoT_Central_rollout_completes_and_halts_at_the_wave_whose_failures_pass_the_gate()
    {
        await using var app = await TestFleetApp.StartAsync(environment, new SimulatorOptions { Devices = 20 });
        await app.Simulator.Control.UpdateIoTCentralSettingsAsync(new IoTCentralSimulatorSettingsUpdate { JobStartDelayMs = 50, JobBatchDurationMs = 200 });
        const string gateway = "dtmi:contoso:gateway;1";
        object Request(string id, string version, double firstGate) => new
        {
            id, cloud = "iotcentral", version,
            waves = new object[]
            {
                new { targets = new[] { new { group = "west-thermostats", template = CloudProvisioningTests.Thermostat } }, maxFailureRate = firstGate },
                new { targets = new[] { new { group = "gateways", template = gateway } }, maxFailureRate = 0.1 },
                new { targets = new[] { new { group = "thermostats", template = CloudProvisioningTests.Thermostat } }, maxFailureRate = 0.1 },
            },
        };

        var completed = await RolloutAsync(app, Request("fw-3", "3.0.0", 0.1));
        Assert.Equal(FleetRolloutOutcome.Completed, completed.Outcome);
        Assert.Equal(3, completed.Waves.Count);
        Assert.All(completed.Waves, w => Assert.Equal((w.Devices, 0), (w.Succeeded, w.Failed)));
        var client = CloudSweepTests.IoTCentralClient(app.Simulator);
        Assert.Equal("3.0.0", (await client.GetDevicePropertiesAsync("th-00001")).GetProperty("firmwareVersion").GetString());

        // Half the devices now fail their job: the first wave's gate allows it, the second's does not.
        await app.Simulator.Control.UpdateIoTCentralSettingsAsync(new IoTCentralSimulatorSettingsUpdate { JobDeviceFailureRate = 0.5 });
        var halted = await RolloutAsync(app, Request("fw-4", "4.0.0", 0.9));

        Assert.Equal(FleetRolloutOutcome.Halted, halted.Outcome);
        Assert.Equal(2, halted.Waves.Count);
        Assert.True(halted.Waves[0].Passed);
        Assert.InRange(halted.Waves[0].FailureRate, 0.1, 0.9);
        Assert.False(halted.Waves[1].Passed);
        Assert.True(halted.Waves[1].FailureRate > 0.1);
        Assert.NotEmpty(halted.Waves[1].FailedDeviceIds);
        var notDeployed = await Assert.ThrowsAsync<IoTCentralApiException>(() => client.GetJobAsync("fleet-rollout-fw-4-w2-t0"));
        Assert.True(notDeployed.IsNotFound);
    }

    [Fact]
    public async Task An_IoTConnect_rollout_completes_and_halts_at_the_wave_whose_failures_pass_the_gate()
    {
        await using var app = await TestFleetApp.StartAsync(environment, new SimulatorOptions { Devices = 100 });
        object Request(string id, string version, double firstGate) => new
        {
            id, cloud = "iotconnect", version, retryFailed = true,
            waves = new object[]
            {
                new { targets = new[] { new { group = "Field Test", template = "THERMO" } }, maxFailureRate = firstGate },
                new { targets = new[] { new { group = "Production/Production East", template = "THERMO" } }, maxFailureRate = 0.1 },
            },
        };

        var completed = await RolloutAsync(app, Request("ota-1", "1.1", 0.1));
        Assert.Equal(FleetRolloutOutcome.Completed, completed.Outcome);
        Assert.Equal(2, completed.Waves.Count);
        Assert.All(completed.Waves, w => Assert.Equal(0, w.Failed));

        await app.Simulator.Control.UpdateIoTConnectSettingsAsync(new IoTConnectSettingsUpdate { OtaFailureRate = 0.5 });
        var halted = await RolloutAsync(app, Request("ota-2", "1.0", 0.9));

        Assert.Equal(FleetRolloutOutcome.Halted, halted.Outcome);
        Assert.True(halted.Waves[0].Passed);
        Assert.Equal(halted.Waves[0].Failed, halted.Waves[0].Retried);
        Assert.False(halted.Waves[1].Passed);
        Assert.True(halted.Waves[1].FailureRate > 0.1);
    }
}
