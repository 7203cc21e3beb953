using System.Net;
using System.Text;
using Microsoft.DurableTask.Client;
using Fleet.Functions.Rollouts;
using Fleet.Simulator;

namespace Fleet.Functions.Tests;

/// <summary>Staged rollouts on the simulator: health from device install events, halts, rollbacks and the approval gate.</summary>
[Collection(FleetCollection.Name)]
public sealed class RolloutTests(FleetEnvironment environment)
{
    private const string FieldTest = "Thermostat/Field Test";
    private const string Production = "Thermostat/Production";
    private const string Gateway = "Gateway/Production";

    private static object Wave(string group, double threshold = 0.9, string soak = "00:00:01") =>
        new { deviceGroups = new[] { group }, soak, healthThreshold = threshold };

    [Fact]
    public async Task A_rollout_halts_at_the_wave_whose_install_failures_exceed_the_threshold_and_rolls_it_back()
    {
        await using var app = await TestFleetApp.StartAsync(environment);
        var fleet = await app.Simulator.Control.GetFleetAsync();
        var thermostat = fleet.Contoso.GetProduct("Thermostat");
        var production = thermostat.GetDeviceGroup("Production");
        var gatewayBefore = fleet.Contoso.GetProduct("Gateway").GetDeviceGroup("Production");
        var app11 = Image(fleet, "ThermostatApp 1.1");
        await app.Simulator.Control.SetGroupInstallFailureRateAsync(production.Id, 0.5);

        var payload = await ProvisioningTests.ReadPayloadAsync(await app.PostAsync("api/rollouts", new
        {
            tenant = "Contoso Fleet",
            images = new[] { app11.ToString() },
            waves = new[] { Wave(FieldTest), Wave(Production, threshold: 0.8), Wave(Gateway) },
            rollbackOnFailure = true,
        }));
        var done = await app.WaitForCompletionAsync(payload.Id);

        Assert.Equal(OrchestrationRuntimeStatus.Completed, done.RuntimeStatus);
        var result = done.ReadOutputAs<RolloutResult>()!;
        Assert.Equal(RolloutOutcome.Halted, result.Outcome);
        Assert.Equal(2, result.LastWave);
        Assert.Equal(["Passed", "Halted", "NotStarted"], result.Waves.Select(w => w.State));
        Assert.Equal(1.0, result.Waves[0].Groups[0].Health);
        var halted = result.Waves[1].Groups[0];
        Assert.InRange(halted.Health!.Value, 0.2, 0.8 - 1e-9);
        Assert.Equal(halted.Devices, production.DeviceCount);
        Assert.Equal("RolledBack", halted.State);
        Assert.Equal(production.CurrentDeploymentId?.ToString(), halted.PreviousDeploymentId, ignoreCase: true);
        Assert.NotEqual(halted.DeploymentId, halted.RollbackDeploymentId);

        var status = done.ReadCustomStatusAs<RolloutStatus>()!;
        Assert.Equal(RolloutState.Halted, status.State);
        Assert.Null(status.InFlight);
        Assert.Contains("below 80%", status.Decision, StringComparison.Ordinal);

        var now = await app.Simulator.Control.GetFleetAsync();
        Assert.Equal([app11], now.Contoso.GetProduct("Thermostat").GetDeviceGroup("Field Test").CurrentImageIds);
        var rolledBack = now.Contoso.GetProduct("Thermostat").GetDeviceGroup("Production");
        Assert.Equal(production.CurrentImageIds, rolledBack.CurrentImageIds);
        Assert.Equal(halted.RollbackDeploymentId, rolledBack.CurrentDeploymentId?.ToString(), ignoreCase: true);
        Assert.Equal(gatewayBefore.CurrentDeploymentId, now.Contoso.GetProduct("Gateway").GetDeviceGroup("Production").CurrentDeploymentId);
    }

    [Fact]
    public async Task A_rollout_completes_when_every_wave_is_healthy()
    {
        await using var app = await TestFleetApp.StartAsync(environment);
        var fleet = await app.Simulator.Control.GetFleetAsync();
        var app11 = Image(fleet, "ThermostatApp 1.1");

        var payload = await ProvisioningTests.ReadPayloadAsync(await app.PostAsync("api/rollouts", new
        {
            id = "complete-1",
            tenant = fleet.Contoso.Id,
            images = new[] { app11.ToString() },
            waves = new[] { Wave(FieldTest), Wave(fleet.Contoso.GetProduct("Thermostat").GetDeviceGroup("Production").Id.ToString()) },
        }));
        Assert.Equal("rollout-complete-1", payload.Id);
        var result = (await app.WaitForCompletionAsync(payload.Id)).ReadOutputAs<RolloutResult>()!;

        Assert.Equal(RolloutOutcome.Completed, result.Outcome);
        Assert.All(result.Waves, w => Assert.Equal("Passed", w.State));
        Assert.All(result.Waves.SelectMany(w => w.Groups), g =>
        {
            Assert.Equal(1.0, g.Health);
            Assert.True(g.Devices > 0);
        });
        var production = (await app.Simulator.Control.GetFleetAsync()).Contoso.GetProduct("Thermostat").GetDeviceGroup("Production");
        Assert.Equal([app11], production.CurrentImageIds);
        var installs = await app.Simulator.Control.GetGroupInstallStatusAsync(production.Id);
        Assert.Equal(installs.DeviceCount, installs.Installed);
    }

    [Fact]
    public async Task The_approval_gate_waits_for_the_approve_event_and_then_proceeds()
    {
        await using var app = await TestFleetApp.StartAsync(environment);
        var fleet = await app.Simulator.Control.GetFleetAsync();
        var app11 = Image(fleet, "ThermostatApp 1.1");
        var productionBefore = fleet.Contoso.GetProduct("Thermostat").GetDeviceGroup("Production");

        var payload = await ProvisioningTests.ReadPayloadAsync(await app.PostAsync("api/rollouts", new
        {
            tenant = "Contoso Fleet",
            images = new[] { app11.ToString() },
            waves = new[] { Wave(FieldTest), Wave(Production) },
            approval = new { required = true, timeout = "00:05:00" },
        }));
        var waiting = await app.WaitForAsync(payload.Id,
            m => m.ReadCustomStatusAs<RolloutStatus>()?.State == RolloutState.AwaitingApproval, "the approval gate");

        var status = waiting.ReadCustomStatusAs<RolloutStatus>()!;
        Assert.Equal(2, status.CurrentWave);
        Assert.Equal("Passed", status.Waves[0].State);
        Assert.Equal("AwaitingApproval", status.Waves[1].State);
        var stillBefore = (await app.Simulator.Control.GetFleetAsync()).Contoso.GetProduct("Thermostat").GetDeviceGroup("Production");
        Assert.Equal(productionBefore.CurrentDeploymentId, stillBefore.CurrentDeploymentId);

        var approve = await app.Http.PostAsync(
            new Uri(payload.SendEventPostUri.Replace("{eventName}", "approve", StringComparison.Ordinal)),
            new StringContent("""{ "by": "operator" }""", Encoding.UTF8, "application/json"), TestFleetApp.Timeout(30));
        Assert.Equal(HttpStatusCode.Accepted, approve.StatusCode);
        var done = await app.WaitForCompletionAsync(payload.Id);

        var result = done.ReadOutputAs<RolloutResult>()!;
        Assert.Equal(RolloutOutcome.Completed, result.Outcome);
        Assert.Equal([app11], (await app.Simulator.Control.GetFleetAsync()).Contoso.GetProduct("Thermostat").GetDeviceGroup("Production").CurrentImageIds);
        Assert.Equal("Approved by operator.", done.ReadCustomStatusAs<RolloutStatus>()!.Waves[1].Approval);
    }

    [Fact]
    public async Task Without_approval_in_time_the_next_wave_is_not_deployed()
    {
        await using var app = await TestFleetApp.StartAsync(environment);
        var fleet = await app.Simulator.Control.GetFleetAsync();
        var productionBefore = fleet.Contoso.GetProduct("Thermostat").GetDeviceGroup("Production");

        var payload = await ProvisioningTests.ReadPayloadAsync(await app.PostAsync("api/rollouts", new
        {
            tenant = "Contoso Fleet",
            images = new[] { Image(fleet, "ThermostatApp 1.1").ToString() },
            waves = new[] { Wave(FieldTest), Wave(Production) },
            approval = new { required = true, timeout = "00:00:01" },
        }));
        var result = (await app.WaitForCompletionAsync(payload.Id)).ReadOutputAs<RolloutResult>()!;

        Assert.Equal(RolloutOutcome.ApprovalTimedOut, result.Outcome);
        Assert.Equal(2, result.LastWave);
        Assert.Equal(["Passed", "NotStarted"], result.Waves.Select(w => w.State));
        var production = (await app.Simulator.Control.GetFleetAsync()).Contoso.GetProduct("Thermostat").GetDeviceGroup("Production");
        Assert.Equal(productionBefore.CurrentDeploymentId, production.CurrentDeploymentId);
    }

    [Fact]
    public async Task A_rollout_terminated_while_deploying_says_what_was_in_flight()
    {
        await using var app = await TestFleetApp.StartAsync(environment,
            new SimulatorOptions { Devices = 200, OperationDelayMs = 3000, InstallDelayMs = 100 });
        var fleet = await app.Simulator.Control.GetFleetAsync();
        var previous = fleet.Contoso.GetProduct("Thermostat").GetDeviceGroup("Production").CurrentDeploymentId!.Value;

        var payload = await ProvisioningTests.ReadPayloadAsync(await app.PostAsync("api/rollouts", new
        {
            tenant = "Contoso Fleet",
            images = new[] { Image(fleet, "ThermostatApp 1.1").ToString() },
            waves = new[] { Wave(Production) },
        }));
        await app.WaitForAsync(payload.Id, m => m.ReadCustomStatusAs<RolloutStatus>()?.State == RolloutState.Deploying, "the deployment to start");
        await app.Client.TerminateInstanceAsync(payload.Id, "operator stop", TestFleetApp.Timeout(30));
        var done = await app.WaitForCompletionAsync(payload.Id);

        Assert.Equal(OrchestrationRuntimeStatus.Terminated, done.RuntimeStatus);
        var status = done.ReadCustomStatusAs<RolloutStatus>()!;
        Assert.Equal(RolloutState.Deploying, status.State);
        Assert.Contains(Production, status.InFlight, StringComparison.Ordinal);
        Assert.Contains(previous.ToString(), status.InFlight, StringComparison.OrdinalIgnoreCase);
        Assert.Equal(previous.ToString(), status.Waves[0].Groups[0].PreviousDeploymentId, ignoreCase: true);
    }

    [Fact]
    public async Task An_invalid_rollout_request_is_refused()
    {
        await using var app = await TestFleetApp.StartAsync(environment);

        var response = await app.PostAsync("api/rollouts", new { tenant = "Contoso Fleet", images = Array.Empty<string>(), waves = new[] { new { deviceGroups = new[] { "no-slash" } } } });

        Assert.Equal(HttpStatusCode.BadRequest, response.StatusCode);
        var body = await response.Content.ReadAsStringAsync();
        Assert.Contains("images must list one or more distinct image ids", body, StringComparison.Ordinal);
        Assert.Contains("waves[0]: each device group is", body, StringComparison.Ordinal);
    }

    private static Guid Image(FleetDescription fleet, string name) => fleet.Contoso.Images.Single(i => i.Name == name).Id;
}
