using System.Net;
using System.Text.Json;
using System.Text.Json.Nodes;
using Microsoft.DurableTask.Client;
using Fleet.Functions.Compliance;
using Fleet.Simulator;

namespace Fleet.Functions.Tests;

/// <summary>
/// Sweeps of a seeded fleet against a policy written from the simulator's fleet view. The expected drift is worked
/// out here from that view and the policy, independently of the app's drift detection.
/// </summary>
[Collection(FleetCollection.Name)]
public sealed class ComplianceSweepTests(FleetEnvironment environment)
{
    private const string Thermostat = "Thermostat";

    [Fact]
    public async Task A_dry_run_finds_exactly_the_seeded_drift_reports_it_and_changes_nothing()
    {
        await using var app = await TestFleetApp.StartAsync(environment);
        var fleet = await app.Simulator.Control.GetFleetAsync();
        var scenario = new Scenario(fleet, withUnfixable: true);
        await app.Simulator.Control.ResetCountersAsync();

        var missing = await app.Http.GetAsync("api/sweeps/sweep-19700101-000000-00000000/report", TestFleetApp.Timeout(30));
        Assert.Equal(HttpStatusCode.NotFound, missing.StatusCode);
        var payload = await ProvisioningTests.ReadPayloadAsync(await app.PostAsync("api/sweeps", new { dryRun = true, policy = scenario.Policy }));
        var done = await app.WaitForCompletionAsync(payload.Id, 120);

        Assert.Equal(OrchestrationRuntimeStatus.Completed, done.RuntimeStatus);
        var summary = done.ReadOutputAs<SweepSummary>()!;
        Assert.Equal(scenario.Expected.Count, summary.Findings);
        Assert.Equal(0, summary.Fixed);

        var report = await GetReportAsync(app, payload.Id);
        Assert.Equal(scenario.Expected.Order(), Findings(report).Order());
        var tenants = report["tenants"]!.AsArray();
        var northwind = tenants.Single(t => (string?)t!["tenantId"] == fleet.Northwind.Id.ToString())!;
        Assert.Equal(403, (int)northwind["error"]!["status"]!);
        Assert.Equal("PrincipalNotTenantUser", (string?)northwind["error"]!["errorCode"]);
        var contoso = tenants.Single(t => (string?)t!["tenantName"] == fleet.Contoso.Name)!;
        Assert.Equal(fleet.Contoso.ClaimedDeviceCount, (int)contoso["devices"]!);
        var settings = contoso["findings"]!.AsArray().Select(f => f!["drift"]!)
            .Single(d => (string?)d["id"] == "GroupSettingsDiffer:Thermostat/Production OS Evaluation");
        Assert.Equal("OsFeedType", (string?)settings["fields"]![0]!["field"]);
        Assert.Equal("Retail", (string?)settings["fields"]![0]!["expected"]);
        Assert.Equal("RetailEval", (string?)settings["fields"]![0]!["actual"]);

        var text = await app.Http.GetStringAsync($"api/sweeps/{payload.Id}/report?format=text", TestFleetApp.Timeout(30));
        Assert.Contains($"Compliance sweep {payload.Id} (report only (dry run))", text, StringComparison.Ordinal);
        Assert.Contains("NOT SWEPT: 403 PrincipalNotTenantUser", text, StringComparison.Ordinal);
        Assert.Contains("GroupWrongDeployment", text, StringComparison.Ordinal);

        var blobs = environment.Blobs.GetBlobContainerClient("compliance-reports");
        Assert.True(await blobs.GetBlobClient($"{payload.Id}/report.json").ExistsAsync());
        Assert.True(await blobs.GetBlobClient($"{payload.Id}/summary.txt").ExistsAsync());

        var counters = await app.Simulator.Control.GetCountersAsync();
        Assert.Equal(0, counters.Endpoints.Where(e => e.Method is "PUT" or "POST" or "PATCH" or "DELETE").Sum(e => e.Count));
    }

    [Fact]
    public async Task Remediation_fixes_the_drift_and_a_second_sweep_finds_none()
    {
        await using var app = await TestFleetApp.StartAsync(environment);
        var fleet = await app.Simulator.Control.GetFleetAsync();
        var scenario = new Scenario(fleet, withUnfixable: false);
        await app.Simulator.Control.ResetCountersAsync();

        var first = await ProvisioningTests.ReadPayloadAsync(await app.PostAsync("api/sweeps", new { mode = "remediate", policy = scenario.Policy }));
        var done = await app.WaitForCompletionAsync(first.Id, 120);

        Assert.Equal(OrchestrationRuntimeStatus.Completed, done.RuntimeStatus);
        var summary = done.ReadOutputAs<SweepSummary>()!;
        Assert.Equal(scenario.Expected.Count, summary.Findings);
        Assert.Equal(scenario.Expected.Count, summary.Fixed);
        Assert.Equal(0, summary.Failed);
        var report = await GetReportAsync(app, first.Id);
        Assert.Equal(scenario.Expected.Order(), Findings(report).Order());
        Assert.All(report["tenants"]!.AsArray().SelectMany(t => t!["findings"]!.AsArray()),
            f => Assert.Equal("Fixed", (string?)f!["remediation"]!["outcome"]));

        await scenario.AssertFixedAsync(app.Simulator.Control);

        // One move per misplaced device, and a device the sweep listed elsewhere is moved without being read again:
        // only claimed devices are read (to learn where the claim left them) before their move.
        var counters = await app.Simulator.Control.GetCountersAsync();
        var kinds = scenario.Expected.Select(f => f.Split('|')[1].Split(':')[0]).ToList();
        var misplaced = kinds.Count(k => k is "UnclaimedDevice" or "UnassignedDevice" or "WrongGroup");
        Assert.Equal(misplaced, counters.CountFor("v2/tenants/{tenantId}/devices/{deviceId}/devicegroup", method: "PUT"));
        Assert.Equal(kinds.Count(k => k == "UnclaimedDevice"), counters.CountFor("v2/tenants/{tenantId}/devices/{deviceId}", method: "GET"));

        var second = await ProvisioningTests.ReadPayloadAsync(await app.PostAsync("api/sweeps", new { dryRun = true, policy = scenario.Policy }));
        var again = (await app.WaitForCompletionAsync(second.Id, 120)).ReadOutputAs<SweepSummary>()!;
        Assert.Equal(0, again.Findings);
        Assert.Equal(0, again.TenantErrors);
        Assert.Equal(fleet.Contoso.ClaimedDeviceCount + 2 + fleet.Fabrikam.ClaimedDeviceCount, again.Devices);
    }

    [Fact]
    public async Task A_remediation_the_service_refuses_is_reported_with_its_error_and_the_sweep_goes_on()
    {
        await using var app = await TestFleetApp.StartAsync(environment);
        var fleet = await app.Simulator.Control.GetFleetAsync();
        var contosoDevice = fleet.Contoso.GetProduct(Thermostat).GetDeviceGroup("Field Test").SampleDeviceIds[0];
        var unassigned = fleet.Fabrikam.UnassignedDeviceIds;
        var policy = new JsonObject
        {
            ["tenants"] = new JsonArray(new JsonObject
            {
                ["tenant"] = fleet.Fabrikam.Name,
                ["products"] = new JsonArray(Product("Sensor Hub", Group("Field Test"))),
                ["devices"] = new JsonObject { [contosoDevice] = "Sensor Hub/Field Test" },
                ["unassignedDevices"] = new JsonObject { ["action"] = "assign", ["target"] = "Sensor Hub/Field Test" },
            }),
        };

        var payload = await ProvisioningTests.ReadPayloadAsync(await app.PostAsync("api/sweeps", new { dryRun = false, policy }));
        var summary = (await app.WaitForCompletionAsync(payload.Id, 120)).ReadOutputAs<SweepSummary>()!;

        Assert.Equal(unassigned.Count + 1, summary.Findings);
        Assert.Equal(unassigned.Count, summary.Fixed);
        Assert.Equal(1, summary.Failed);
        var report = await GetReportAsync(app, payload.Id);
        var failed = report["tenants"]![0]!["findings"]!.AsArray().Single(f => (string?)f!["remediation"]!["outcome"] == "Failed")!;
        Assert.Equal("UnclaimedDevice:" + contosoDevice, (string?)failed["drift"]!["id"]);
        Assert.Equal("DeviceClaimedByAnotherTenant", (string?)failed["remediation"]!["errorCode"]);
        var fieldTest = fleet.Fabrikam.GetProduct("Sensor Hub").GetDeviceGroup("Field Test").Id;
        foreach (var device in unassigned)
        {
            Assert.Equal(fieldTest, (await app.Simulator.Control.GetDeviceAsync(device)).DeviceGroupId);
        }

        Assert.Equal(fleet.Contoso.Id, (await app.Simulator.Control.GetDeviceAsync(contosoDevice)).TenantId);
    }

    private static async Task<JsonNode> GetReportAsync(TestFleetApp app, string sweepId)
    {
        var response = await app.Http.GetAsync($"api/sweeps/{sweepId}/report", TestFleetApp.Timeout(30));
        Assert.Equal(HttpStatusCode.OK, response.StatusCode);
        Assert.Equal("application/json", response.Content.Headers.ContentType?.MediaType);
        return JsonNode.Parse(await response.Content.ReadAsStringAsync())!;
    }

    /// <summary>Each finding as "tenant name|id".</summary>
    private static List<string> Findings(JsonNode report) =>
        report["tenants"]!.AsArray()
            .SelectMany(t => t!["findings"]!.AsArray().Select(f => $"{(string?)t["tenantName"]}|{(string?)f!["drift"]!["id"]}"))
            .ToList();

    private static JsonObject Product(string name, params JsonObject[] groups) =>
        new() { ["name"] = name, ["deviceGroups"] = new JsonArray(groups) };

    private static JsonObject Group(string name, string? osFeedType = null, string? updatePolicy = null, params string[] deployment)
    {
        var group = new JsonObject { ["name"] = name };
        if (osFeedType is not null)
        {
            group["osFeedType"] = osFeedType;
        }

        if (updatePolicy is not null)
        {
            group["updatePolicy"] = updatePolicy;
        }

        if (deployment.Length > 0)
        {
            group["deployment"] = new JsonArray(deployment.Select(d => (JsonNode)d!).ToArray());
        }

        return group;
    }

    /// <summary>
    /// A policy over tenants A and B (and C, which the identity may not use) and the drift it must produce, worked
    /// out from the fleet view: settings, deployments, a missing group, devices in the wrong group, unclaimed and
    /// unassigned devices.
    /// </summary>
    private sealed class Scenario
    {
        private readonly FleetDescription _fleet;
        private readonly Dictionary<string, string> _placements = [];

        public Scenario(FleetDescription fleet, bool withUnfixable)
        {
            _fleet = fleet;
            var a = fleet.Contoso;
            var b = fleet.Fabrikam;
            var thermostat = a.GetProduct(Thermostat);
            var gateway = a.GetProduct("Gateway");
            var app11 = a.Images.Single(i => i.Name == "ThermostatApp 1.1");
            var expected = new List<string>();
            void Expect(TenantDescription tenant, string id) => expected.Add($"{tenant.Name}|{id}");

            // Tenant A: groups.
            Assert.Equal([app11.Id], thermostat.GetDeviceGroup("Field Test").CurrentImageIds);
            Assert.NotEqual([app11.Id], thermostat.GetDeviceGroup("Production").CurrentImageIds);
            Assert.Equal(1, thermostat.GetDeviceGroup("Development").UpdatePolicy);
            Assert.Equal(1, thermostat.GetDeviceGroup("Production OS Evaluation").OsFeedType);
            Assert.Empty(thermostat.GetDeviceGroup("Production OS Evaluation").CurrentImageIds);
            Expect(a, "GroupWrongDeployment:Thermostat/Production");
            Expect(a, "GroupSettingsDiffer:Thermostat/Development");
            Expect(a, "GroupSettingsDiffer:Thermostat/Production OS Evaluation");
            Expect(a, "GroupMissingDeployment:Thermostat/Production OS Evaluation");
            Expect(a, "GroupMissing:Thermostat/Canary");

            // Tenant A: devices.
            var wrong1 = thermostat.GetDeviceGroup("Production").SampleDeviceIds[0];
            var wrong2 = gateway.GetDeviceGroup("Production").SampleDeviceIds[0];
            var right = thermostat.GetDeviceGroup("Field Test").SampleDeviceIds[0];
            var unclaimed1 = fleet.UnclaimedDeviceIds[0];
            var unclaimed2 = fleet.UnclaimedDeviceIds[1];
            var placedUnassigned = a.UnassignedDeviceIds[0];
            Place(wrong1, "Thermostat/Field Test");
            Place(wrong2, "Thermostat/Canary");
            Place(right, "Thermostat/Field Test");
            Place(unclaimed1, "Thermostat/Canary");
            Place(unclaimed2, "Gateway/Production");
            Place(placedUnassigned, "Gateway/Production");
            Expect(a, "WrongGroup:" + wrong1);
            Expect(a, "WrongGroup:" + wrong2);
            Expect(a, "UnclaimedDevice:" + unclaimed1);
            Expect(a, "UnclaimedDevice:" + unclaimed2);
            foreach (var device in a.UnassignedDeviceIds)
            {
                Expect(a, "UnassignedDevice:" + device);
            }

            var contoso = new JsonObject
            {
                ["tenant"] = a.Name,
                ["allowCreate"] = true,
                ["products"] = new JsonArray(
                    Product(Thermostat,
                        Group("Production", "Retail", "UpdateAll", "ThermostatApp 1.1"),
                        Group("Field Test", deployment: app11.Id.ToString()),
                        Group("Development", updatePolicy: "UpdateAll"),
                        Group("Production OS Evaluation", "Retail", deployment: "ThermostatApp 1.0"),
                        Group("Canary", "RetailEval", "UpdateAll", "ThermostatApp 1.1")),
                    Product("Gateway", Group("Production"))),
                ["devices"] = new JsonObject(_placements.Select(p => KeyValuePair.Create(p.Key, (JsonNode?)p.Value))),
                ["unassignedDevices"] = new JsonObject { ["action"] = "assign", ["target"] = "Thermostat/Development" },
            };

            // Tenant B: a deployment that matches, a setting that differs, unassigned devices.
            Assert.Equal(0, b.GetProduct("Sensor Hub").GetDeviceGroup("Field Test").UpdatePolicy);
            Expect(b, "GroupSettingsDiffer:Sensor Hub/Field Test");
            foreach (var device in b.UnassignedDeviceIds)
            {
                Expect(b, "UnassignedDevice:" + device);
            }

            var fabrikam = new JsonObject
            {
                ["tenant"] = b.Id.ToString(),
                ["products"] = new JsonArray(Product("Sensor Hub", Group("Production", deployment: "Sensor HubApp 1.0"), Group("Field Test", updatePolicy: "NoUpdates"))),
                ["unassignedDevices"] = withUnfixable
                    ? new JsonObject { ["action"] = "report" }
                    : new JsonObject { ["action"] = "assign", ["target"] = "Sensor Hub/Production" },
            };
            var tenants = new JsonArray(contoso, fabrikam);
            if (withUnfixable)
            {
                // A device of tenant A placed in tenant B is unclaimed from B's point of view; C refuses the identity.
                var elsewhere = thermostat.GetDeviceGroup("Field Test").SampleDeviceIds[1];
                fabrikam["devices"] = new JsonObject { [elsewhere] = "Sensor Hub/Production" };
                Expect(b, "UnclaimedDevice:" + elsewhere);
                tenants.Add(new JsonObject { ["tenant"] = fleet.Northwind.Id.ToString() });
            }

            Policy = new JsonObject { ["tenants"] = tenants };
            Expected = expected;
        }

        public JsonObject Policy { get; }

        public IReadOnlyList<string> Expected { get; }

        /// <summary>Checks through the control API that every finding of the fixable scenario was fixed.</summary>
        public async Task AssertFixedAsync(SimulatorControlClient control)
        {
            var now = await control.GetFleetAsync();
            var a = now.Contoso;
            var thermostat = a.GetProduct(Thermostat);
            var app10 = a.Images.Single(i => i.Name == "ThermostatApp 1.0").Id;
            var app11 = a.Images.Single(i => i.Name == "ThermostatApp 1.1").Id;
            Assert.Equal([app11], thermostat.GetDeviceGroup("Production").CurrentImageIds);
            Assert.Equal(0, thermostat.GetDeviceGroup("Development").UpdatePolicy);
            var osEval = thermostat.GetDeviceGroup("Production OS Evaluation");
            Assert.Equal(0, osEval.OsFeedType);
            Assert.Equal([app10], osEval.CurrentImageIds);
            var canary = thermostat.GetDeviceGroup("Canary");
            Assert.Equal(1, canary.OsFeedType);
            Assert.Equal(0, canary.UpdatePolicy);
            Assert.Equal([app11], canary.CurrentImageIds);
            Assert.Empty(a.UnassignedDeviceIds);
            Assert.Empty(now.Fabrikam.UnassignedDeviceIds);
            Assert.Equal(2, now.Fabrikam.GetProduct("Sensor Hub").GetDeviceGroup("Field Test").UpdatePolicy);

            foreach (var (device, path) in _placements)
            {
                var view = await control.GetDeviceAsync(device);
                var parts = path.Split('/');
                Assert.Equal(a.Id, view.TenantId);
                Assert.Equal(a.GetProduct(parts[0]).GetDeviceGroup(parts[1]).Id, view.DeviceGroupId);
            }

            var development = thermostat.GetDeviceGroup("Development").Id;
            foreach (var device in _fleet.Contoso.UnassignedDeviceIds.Where(d => !_placements.ContainsKey(d)))
            {
                Assert.Equal(development, (await control.GetDeviceAsync(device)).DeviceGroupId);
            }

            var production = now.Fabrikam.GetProduct("Sensor Hub").GetDeviceGroup("Production").Id;
            foreach (var device in _fleet.Fabrikam.UnassignedDeviceIds)
            {
                Assert.Equal(production, (await control.GetDeviceAsync(device)).DeviceGroupId);
            }
        }

        private void Place(string deviceId, string path) => _placements[deviceId] = path;
    }
}
