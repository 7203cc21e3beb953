using System.Net;
using System.Net.Http.Json;
using Microsoft.DurableTask.Client;
using Fleet.Functions.Compliance;
using Fleet.Functions.Settings;
using Fleet.Simulator;
using Microsoft.Extensions.DependencyInjection;
using Fleet.Hosting;
using Microsoft.Extensions.Configuration;
using Microsoft.Extensions.Hosting;
using Microsoft.Extensions.Hosting.Internal;

namespace Fleet.Functions.Tests;

/// <summary>Start-up validation of the app's settings, and the sweep triggers' one-at-a-time rule and schedule.</summary>
[Collection(FleetCollection.Name)]
public sealed class StartupAndTriggerTests(FleetEnvironment environment)
{
    private const string Policy = """{ "tenants": [ { "tenant": "Contoso Fleet", "unassignedDevices": { "action": "report" } } ] }""";

    [Theory]
    [InlineData("ComplianceSweep:PageSize", "0", "Setting 'ComplianceSweep:PageSize' must be between 1 and 1000.")]
    [InlineData("ComplianceSweep:MaxParallelRemediations", "many", "Setting 'ComplianceSweep:MaxParallelRemediations' has a value that is not a valid")]
    [InlineData("ComplianceSweep:Mode", "fix-everything", "Setting 'ComplianceSweep:Mode' has a value that is not a valid")]
    [InlineData("ComplianceSweep:ReportContainer", "Reports_2026", "Setting 'ComplianceSweep:ReportContainer' must be a blob container name")]
    [InlineData("ComplianceSweep:Policy", """{ "tenants": [ { "tenant": "A", "unassignedDevices": { "action": "assign" } } ] }""",
        "Setting 'ComplianceSweep:Policy' holds an invalid policy: tenants[0].unassignedDevices.target")]
    [InlineData("ComplianceSweep:PolicyPath", "no-such-policy.json", "Setting 'ComplianceSweep:PolicyPath' names the policy file")]
    [InlineData("Orchestrations:OperationPollInterval", "00:00:00.001", "Setting 'Orchestrations:OperationPollInterval' must be between")]
    [InlineData("Orchestrations:RetryMaxAttempts", "0", "Setting 'Orchestrations:RetryMaxAttempts' must be between 1 and 20.")]
    [InlineData("Provisioning:DefaultTenant", " ", "Setting 'Provisioning:DefaultTenant' must not be blank.")]
    public async Task An_invalid_setting_stops_start_up_naming_it(string key, string value, string message)
    {
        var settings = TestFleetApp.DefaultSettings(environment, environment.Identity, Path.GetTempPath(), "prov-startup");
        settings[key] = value;

        // The worker validates its options before it connects; it exits, and the host's start fails with its words.
        var error = await Assert.ThrowsAsync<HostStartupException>(() => TestFleetApp.StartHostAsync(settings));

        Assert.True(error.Message.Contains(message, StringComparison.Ordinal), error.Message);
    }

    [Fact]
    public async Task A_sweep_is_not_started_while_one_is_running()
    {
        await using var app = await TestFleetApp.StartAsync(environment,
            new SimulatorOptions { Devices = 100, LatencyMs = 20 }, new Dictionary<string, string?> { ["ComplianceSweep:Policy"] = Policy });
        await using var services = AppServices(app);
        var starter = services.GetRequiredService<SweepStarter>();

        var first = await ProvisioningTests.ReadPayloadAsync(await app.PostAsync("api/sweeps", null));
        await app.Client.SuspendInstanceAsync(first.Id, "test holds the sweep", TestFleetApp.Timeout(30));
        var second = await app.PostAsync("api/sweeps", new { dryRun = true });
        await starter.StartScheduledAsync(app.Client, pastDue: false, TestFleetApp.Timeout(30));

        Assert.Equal(HttpStatusCode.Conflict, second.StatusCode);
        Assert.Equal(first.Id, (await second.Content.ReadFromJsonAsync<CheckStatusPayload>(TestFleetApp.Json))!.Id);
        Assert.Equal([first.Id], await SweepsAsync(app));

        await app.Client.ResumeInstanceAsync(first.Id, "done holding", TestFleetApp.Timeout(30));
        Assert.Equal(OrchestrationRuntimeStatus.Completed, (await app.WaitForCompletionAsync(first.Id)).RuntimeStatus);
        await starter.StartScheduledAsync(app.Client, pastDue: false, TestFleetApp.Timeout(30));
        var sweeps = await SweepsAsync(app);
        Assert.Equal(2, sweeps.Count);
        var scheduled = await app.WaitForCompletionAsync(sweeps.Single(s => s != first.Id));
        Assert.Equal("schedule", scheduled.ReadInputAs<SweepInput>()!.Source);
    }

    [Fact]
    public async Task Stopping_a_sweep_stops_its_tenant_sweeps_too()
    {
        await using var app = await TestFleetApp.StartAsync(environment,
            new SimulatorOptions { Devices = 200, LatencyMs = 100 }, new Dictionary<string, string?> { ["ComplianceSweep:Policy"] = Policy });

        var sweep = await ProvisioningTests.ReadPayloadAsync(await app.PostAsync("api/sweeps", null));
        var tenantSweep = ComplianceSweepOrchestration.TenantInstanceId(sweep.Id, 0);
        await app.WaitForAsync(tenantSweep, m => m.IsRunning, "the tenant sweep to run");
        var stop = await app.PostAsync($"api/sweeps/{sweep.Id}/stop", null);

        Assert.Equal(HttpStatusCode.Accepted, stop.StatusCode);
        Assert.Equal(OrchestrationRuntimeStatus.Terminated, (await app.WaitForCompletionAsync(sweep.Id)).RuntimeStatus);
        Assert.Equal(OrchestrationRuntimeStatus.Terminated, (await app.WaitForCompletionAsync(tenantSweep)).RuntimeStatus);
        Assert.Equal(HttpStatusCode.Conflict, (await app.PostAsync($"api/sweeps/{sweep.Id}/stop", null)).StatusCode);
        Assert.Equal(HttpStatusCode.NotFound, (await app.PostAsync("api/sweeps/sweep-none/stop", null)).StatusCode);
    }

    [Fact]
    public async Task The_schedule_starts_sweeps_and_a_sweep_needs_a_policy()
    {
        await using var app = await TestFleetApp.StartAsync(environment, settings: new Dictionary<string, string?>
        {
            ["ComplianceSweep:Schedule"] = "*/2 * * * * *",
            ["ComplianceSweep:Policy"] = Policy,
        });

        var token = TestFleetApp.Timeout(30);
        while ((await SweepsAsync(app)).Count == 0)
        {
            await Task.Delay(100, token);
        }

        var scheduled = await app.WaitForCompletionAsync((await SweepsAsync(app))[0]);
        Assert.Equal(OrchestrationRuntimeStatus.Completed, scheduled.RuntimeStatus);
        Assert.Equal("schedule", scheduled.ReadInputAs<SweepInput>()!.Source);
        Assert.Equal(SweepMode.Report, scheduled.ReadInputAs<SweepInput>()!.Mode);

        await using var withoutPolicy = await TestFleetApp.StartAsync(environment);
        var refused = await withoutPolicy.PostAsync("api/sweeps", new { dryRun = true });
        Assert.Equal(HttpStatusCode.BadRequest, refused.StatusCode);
        Assert.Contains("No desired-state policy is configured", await refused.Content.ReadAsStringAsync(), StringComparison.Ordinal);
        var invalid = await withoutPolicy.PostAsync("api/sweeps", new { dryRun = true, mode = "remediate" });
        Assert.Equal(HttpStatusCode.BadRequest, invalid.StatusCode);
    }

    /// <summary>
    /// The app's own composition over the test's settings, in the test process: the timer function's starter, called
    /// directly against the host's task hub (the host has no admin endpoint that invokes a timer function).
    /// </summary>
    private static ServiceProvider AppServices(TestFleetApp app)
    {
        var settings = TestFleetApp.DefaultSettings(app.Environment, app.Simulator, app.Folder, app.QueueName);
        settings["ComplianceSweep:Policy"] = Policy;
        var configuration = new ConfigurationManager();
        configuration.AddInMemoryCollection(settings);
        var services = new ServiceCollection();
        services.AddLogging();
        services.AddSingleton<IHostEnvironment>(new HostingEnvironment { ContentRootPath = TestFleetApp.ScriptRoot, EnvironmentName = Environments.Development });
        services.AddFleetServices(configuration);
        return services.BuildServiceProvider();
    }

    private static async Task<List<string>> SweepsAsync(TestFleetApp app)
    {
        var ids = new List<string>();
        await foreach (var instance in app.Client.GetAllInstancesAsync(new OrchestrationQuery { InstanceIdPrefix = SweepStarter.InstancePrefix }))
        {
            if (instance.Name == ComplianceSweepOrchestration.Name)
            {
                ids.Add(instance.InstanceId);
            }
        }

        return ids;
    }
}
