using Fleet.Shared.DesiredState;
using Fleet.Shared.Sphere;

namespace Fleet.Shared.Tests.DesiredState;

public sealed class DriftDetectorTests
{
    private const string Tenant = "t-1";
    private static readonly string Placed = new('A', 128);
    private static readonly string Other = new('C', 128);
    private static readonly string Unclaimed = new('D', 128);

    private static readonly Product Thermostat = new("p-1", Tenant, "Thermostat", null);
    private static readonly ImageMetadata App10 = new("img-10", "ThermostatApp 1.0", "c-1", null, 10, ImageType.Applications);
    private static readonly ImageMetadata App11 = new("img-11", "ThermostatApp 1.1", "c-1", null, 10, ImageType.Applications);

    private static DeviceGroup Group(string id, string name, OsFeedType feed = OsFeedType.Retail, UpdatePolicy update = UpdatePolicy.UpdateAll, params string[] images) =>
        new(id, Tenant, Thermostat.Id, name, null, feed, update, false,
            images.Length == 0 ? null : new Deployment("dep-" + id, Tenant, images, DateTimeOffset.UnixEpoch));

    private static Device Device(string id, string? groupId) =>
        new(id, Tenant, groupId is null ? null : Thermostat.Id, groupId, 0, "24.03", "24.03", null, null);

    private static TenantPolicy Policy(bool allowCreate = false, string unassigned = """{ "action": "assign", "target": "Thermostat/Field Test" }""") =>
        DesiredStatePolicy.Parse($$"""
            {
              "tenants": [ {
                "tenant": "Contoso",
                "allowCreate": {{(allowCreate ? "true" : "false")}},
                "products": [
                  { "name": "Thermostat", "deviceGroups": [
                    { "name": "Production", "osFeedType": "Retail", "updatePolicy": "UpdateAll", "deployment": ["ThermostatApp 1.1"] },
                    { "name": "Development", "updatePolicy": "UpdateAll" },
                    { "name": "Field Test", "deployment": ["img-11"] },
                    { "name": "Canary", "osFeedType": "RetailEval", "deployment": ["img-10"] } ] },
                  { "name": "Pump", "deviceGroups": [ { "name": "Production" } ] }
                ],
                "devices": { "{{Placed}}": "Thermostat/Production", "{{Unclaimed}}": "Thermostat/Canary" },
                "unassignedDevices": {{unassigned}}
              } ]
            }
            """).Tenants[0];

    private static readonly DeviceGroup Production = Group("g-prod", "Production", images: "img-10");
    private static readonly DeviceGroup Development = Group("g-dev", "Development", update: UpdatePolicy.No3rdPartyAppUpdates);
    private static readonly DeviceGroup FieldTest = Group("g-ft", "Field Test", images: "IMG-11");
    private static readonly DeviceGroup OsEval = Group("g-eval", "Production OS Evaluation", OsFeedType.RetailEval);

    private static GroupEvaluation EvaluateGroups(TenantPolicy policy) =>
        DriftDetector.EvaluateGroups(policy, Tenant, [Thermostat], [Production, Development, FieldTest, OsEval], [App10, App11]);

    [Fact]
    public void Groups_drift_is_found_per_field_and_per_deployment()
    {
        var evaluation = EvaluateGroups(Policy(allowCreate: true));

        Assert.Empty(evaluation.PolicyErrors);
        Assert.Equal(
            ["GroupWrongDeployment:Thermostat/Production", "GroupSettingsDiffer:Thermostat/Development", "GroupMissing:Thermostat/Canary", "GroupMissing:Pump/Production"],
            evaluation.Findings.Select(f => f.Id));

        var wrong = evaluation.Findings[0];
        Assert.Equal("g-prod", wrong.DeviceGroupId);
        Assert.Equal(["img-11"], wrong.ExpectedImageIds!);
        Assert.Equal("images img-10", wrong.Current);

        var settings = evaluation.Findings[1];
        Assert.Equal([new FieldDifference("UpdatePolicy", "UpdateAll", "No3rdPartyAppUpdates")], settings.Fields!);
        Assert.Equal(UpdatePolicy.UpdateAll, settings.ExpectedUpdatePolicy);
        Assert.True(settings.Remediable);

        var canary = evaluation.Findings[2];
        Assert.Equal(Thermostat.Id, canary.ProductId);
        Assert.Equal(OsFeedType.RetailEval, canary.ExpectedOsFeedType);
        Assert.Equal(["img-10"], canary.ExpectedImageIds!);
        Assert.True(canary.Remediable);

        var pump = evaluation.Findings[3];
        Assert.Null(pump.ProductId);
        Assert.Equal("no product 'Pump'", pump.Current);

        Assert.Equal(4, evaluation.Catalog.Groups.Count);
        Assert.Equal("g-ft", evaluation.Catalog.Find(GroupPath.Parse("thermostat/field test"))!.Id);
    }

    [Fact]
    public void A_group_without_deployment_is_missing_one_and_creation_needs_permission()
    {
        var policy = Policy(allowCreate: false);
        var evaluation = DriftDetector.EvaluateGroups(policy, Tenant, [Thermostat], [Production with { CurrentDeployment = null }], [App10, App11]);

        var missing = Assert.Single(evaluation.Findings, f => f.Group == GroupPath.Parse("Thermostat/Production"));
        Assert.Equal(DriftKind.GroupMissingDeployment, missing.Kind);
        Assert.Equal("no deployment", missing.Current);
        Assert.All(evaluation.Findings.Where(f => f.Kind == DriftKind.GroupMissing), f =>
        {
            Assert.False(f.Remediable);
            Assert.NotNull(f.Note);
        });
    }

    [Fact]
    public void Image_names_that_do_not_resolve_are_policy_errors_not_drift()
    {
        var evaluation = DriftDetector.EvaluateGroups(Policy(), Tenant, [Thermostat], [Production, FieldTest], [App10]);

        Assert.Contains(evaluation.PolicyErrors, e => e.StartsWith("Thermostat/Production: image 'ThermostatApp 1.1'", StringComparison.Ordinal));
        Assert.DoesNotContain(evaluation.Findings, f => f.Group == GroupPath.Parse("Thermostat/Production"));
    }

    [Fact]
    public void Devices_outside_their_placement_and_unassigned_devices_are_drift()
    {
        var policy = Policy();
        var catalog = EvaluateGroups(policy).Catalog;
        var unassigned = new string('E', 128);
        Device[] page = [Device(Placed.ToLowerInvariant(), "g-dev"), Device(Other, "g-prod"), Device(unassigned, null)];

        var findings = DriftDetector.EvaluateDevices(policy, catalog, page);

        Assert.Equal(2, findings.Count);
        var wrong = findings[0];
        Assert.Equal(DriftKind.WrongGroup, wrong.Kind);
        Assert.Equal(Placed, wrong.DeviceId);
        Assert.Equal("Thermostat/Development", wrong.Current);
        Assert.Equal("g-prod", wrong.TargetGroupId);
        Assert.True(wrong.Remediable);

        var loose = findings[1];
        Assert.Equal(DriftKind.UnassignedDevice, loose.Kind);
        Assert.Equal(GroupPath.Parse("Thermostat/Field Test"), loose.Target);
        Assert.Equal("g-ft", loose.TargetGroupId);
        Assert.Equal([Placed], DriftDetector.PlacedDevicesIn(policy, page));
    }

    [Fact]
    public void Unassigned_devices_are_only_reported_under_a_report_rule_unless_placed()
    {
        var policy = Policy(unassigned: """{ "action": "report" }""");
        var catalog = EvaluateGroups(policy).Catalog;

        var findings = DriftDetector.EvaluateDevices(policy, catalog, [Device(Other, null), Device(Placed, null), Device(new string('F', 128), "g-ft")]);

        Assert.Equal(2, findings.Count);
        Assert.False(findings[0].Remediable);
        Assert.Null(findings[0].Target);
        Assert.NotNull(findings[0].Note);
        Assert.True(findings[1].Remediable);
        Assert.Equal("g-prod", findings[1].TargetGroupId);
    }

    [Fact]
    public void Placed_devices_that_no_page_contained_are_unclaimed()
    {
        var policy = Policy(allowCreate: true);
        var catalog = EvaluateGroups(policy).Catalog;

        var findings = DriftDetector.FindUnclaimedDevices(policy, catalog, new HashSet<string> { Placed });

        var unclaimed = Assert.Single(findings);
        Assert.Equal(DriftKind.UnclaimedDevice, unclaimed.Kind);
        Assert.Equal(Unclaimed, unclaimed.DeviceId);
        Assert.Equal(GroupPath.Parse("Thermostat/Canary"), unclaimed.Target);
        Assert.Null(unclaimed.TargetGroupId);
        Assert.True(unclaimed.Remediable);

        var strict = Policy(allowCreate: false);
        var both = DriftDetector.FindUnclaimedDevices(strict, catalog, new HashSet<string>());
        Assert.Equal([Placed, Unclaimed], both.Select(f => f.DeviceId));
        Assert.True(both[0].Remediable);
        Assert.False(both[1].Remediable);
    }
}
