using Fleet.Functions.Compliance;
using Fleet.Simulator;
using Fleet.Simulator.IoTConnect;

namespace Fleet.Functions.Tests;

/// <summary>The app's IoTConnect session under load and token trouble, through the host: one login shared by concurrent activities, renewal mid-sweep.</summary>
[Collection(FleetCollection.Name)]
public sealed class IoTConnectSessionTests(FleetEnvironment environment)
{
    [Fact]
    public async Task Thirty_two_concurrent_activities_share_one_login_and_a_sweep_survives_expired_access_and_revoked_refresh_tokens()
    {
        await using var app = await TestFleetApp.StartAsync(environment, new SimulatorOptions { Devices = 200, LatencyMs = 5 },
            new Dictionary<string, string?> { ["ComplianceSweep:PageSize"] = "10" });
        await app.Simulator.Control.ResetCountersAsync();

        // 32 provisionings at once are the worker's first IoTConnect calls: they all wait for one session.
        await app.Queue.CreateIfNotExistsAsync();
        await Task.WhenAll(Enumerable.Range(0, 32).Select(i => app.Queue.SendMessageAsync(CloudProvisioningTests.IoTConnectMessage($"burst-{i:D2}"))));
        foreach (var i in Enumerable.Range(0, 32))
        {
            TestFleetApp.AssertCompleted(await app.WaitForCompletionAsync(CloudProvisioningTests.IoTConnectInstance($"burst-{i:D2}"), 120));
        }

        var counters = await app.Simulator.Control.GetCountersAsync();
        Assert.Equal(1, counters.CountFor(IoTConnectRoutes.BasicToken));
        Assert.Equal(1, counters.CountFor(IoTConnectRoutes.Login));

        // A sweep of every THERMO device; once it has read a page, every access token expires and every refresh token is revoked.
        var policy = new
        {
            deviceSets = new[] { new { name = "thermo", cloud = "iotconnect", placement = new { template = "THERMO", entity = "Production/Production East" } } },
        };
        var payload = await ProvisioningTests.ReadPayloadAsync(await app.PostAsync("api/sweeps", new { mode = "report", policy }));
        var setSweep = ComplianceSweepOrchestration.TenantInstanceId(payload.Id, 0);
        await app.WaitForAsync(setSweep, m => m.ReadCustomStatusAs<TenantSweepStatus>() is { Counters.Pages: >= 1 }, "the first page", 60);
        await app.Simulator.Control.ExpireIoTConnectAccessTokensAsync();
        await app.Simulator.Control.RevokeIoTConnectRefreshTokensAsync();

        var done = await app.WaitForCompletionAsync(payload.Id, 120);
        TestFleetApp.AssertCompleted(done);
        var summary = done.ReadOutputAs<SweepSummary>()!;
        Assert.Equal(0, summary.TenantErrors);

        // The expired token was met (401s), the refresh was refused (revoked), and one more login renewed the session.
        counters = await app.Simulator.Control.GetCountersAsync();
        Assert.True(counters.Endpoints.Where(e => e.Route.StartsWith(IoTConnectRoutes.Prefix + "/device", StringComparison.Ordinal) && e.Status == 401).Sum(e => e.Count) >= 1,
            "no data call met the expired token");
        Assert.True(counters.CountFor(IoTConnectRoutes.RefreshToken, 401) >= 1, "the revoked refresh token was never presented");
        Assert.Equal(2, counters.CountFor(IoTConnectRoutes.Login));

        // Nothing was skipped: the sweep judged every THERMO device of the solution.
        var client = await CloudSweepTests.IoTConnectClientAsync(app.Simulator);
        var template = await client.GetTemplateByCodeAsync("THERMO");
        var thermo = 0;
        await foreach (var device in client.GetDevicesAsync())
        {
            thermo += device.TemplateGuid == template.TemplateGuid ? 1 : 0;
        }

        Assert.Equal(thermo, summary.Devices);
    }
}
