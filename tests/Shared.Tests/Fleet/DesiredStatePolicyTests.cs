using Fleet.Shared.DesiredState;
using Fleet.Shared.Sphere;

namespace Fleet.Shared.Tests.DesiredState;

public sealed class DesiredStatePolicyTests
{
    internal static readonly string DeviceA = new('A', 128);
    internal static readonly string DeviceB = new('b', 128);

    internal static string Example => $$"""
        {
          // Comments and trailing commas are allowed.
          "tenants": [
            {
              "tenant": "Contoso Fleet",
              "allowCreate": true,
              "products": [
                {
                  "name": "Thermostat",
                  "deviceGroups": [
                    { "name": "Production", "osFeedType": "Retail", "updatePolicy": "UpdateAll", "deployment": ["ThermostatApp 1.1"] },
                    { "name": "Field Test", "updatePolicy": 0 },
                  ]
                }
              ],
              "devices": { "{{DeviceA}}": "Thermostat/Production", "{{DeviceB}}": "thermostat/field test" },
              "unassignedDevices": { "action": "assign", "target": "Thermostat/Field Test" }
            },
            { "tenant": "Fabrikam Fleet" }
          ]
        }
        """;

    [Fact]
    public void Parse_reads_tenants_groups_placements_and_rules()
    {
        var policy = DesiredStatePolicy.Parse(Example);

        Assert.Equal(2, policy.Tenants.Count);
        var contoso = policy.FindTenant("contoso fleet")!;
        Assert.True(contoso.AllowCreate);
        var production = contoso.FindGroup(new GroupPath("thermostat", "PRODUCTION"))!;
        Assert.Equal(OsFeedType.Retail, production.OsFeedType);
        Assert.Equal(UpdatePolicy.UpdateAll, production.UpdatePolicy);
        Assert.Equal(["ThermostatApp 1.1"], production.Deployment!);
        var fieldTest = contoso.FindGroup(GroupPath.Parse("Thermostat/Field Test"))!;
        Assert.Null(fieldTest.OsFeedType);
        Assert.Null(fieldTest.Deployment);
        Assert.Equal(new GroupPath("Thermostat", "Field Test"), contoso.PlacementOf(DeviceB.ToLowerInvariant()));
        Assert.Equal(new UnassignedDeviceRule(UnassignedDeviceAction.Assign, new GroupPath("Thermostat", "Field Test")), contoso.UnassignedDevices);

        var fabrikam = policy.FindTenant("00000000-0000-0000-0000-000000000000", "Fabrikam Fleet")!;
        Assert.False(fabrikam.AllowCreate);
        Assert.Empty(fabrikam.Products);
        Assert.Equal(UnassignedDeviceRule.ReportOnly, fabrikam.UnassignedDevices);
        Assert.Equal(64, policy.Sha256.Length);
    }

    [Theory]
    [InlineData("""{ "tenants": [ { "tenant": "A", "product": [] } ] }""", "tenants[0].product")]
    [InlineData("""{ "tenants": [ { "tenant": "A", "products": [ { "name": "P", "deviceGroups": [ { "name": "G", "updatePolicy": "Sometimes" } ] } ] } ] }""", "tenants[0].products[0].deviceGroups[0].updatePolicy")]
    [InlineData("""{ "tenants": [ { "tenant": "A", "products": [ { "name": "P", "deviceGroups": [ { "name": "G", "osFeedType": 7 } ] } ] } ] }""", "tenants[0].products[0].deviceGroups[0].osFeedType")]
    [InlineData("""{ "tenants": [ { "tenant": "A", "products": [ { "name": "P/Q" } ] } ] }""", "tenants[0].products[0].name")]
    [InlineData("""{ "tenants": [ { "tenant": "A", "devices": { "1234": "P/G" } } ] }""", "tenants[0].devices['1234']")]
    [InlineData("""{ "tenants": [ { "tenant": "A", "unassignedDevices": { "action": "assign" } } ] }""", "tenants[0].unassignedDevices.target")]
    [InlineData("""{ "tenants": [ { "tenant": "A", "unassignedDevices": { "action": "report", "target": "P/G" } } ] }""", "tenants[0].unassignedDevices.target")]
    [InlineData("""{ "tenants": [ { "tenant": "A" }, { "tenant": "a" } ] }""", "tenants[1].tenant")]
    [InlineData("""{ "tenants": [] }""", "tenants")]
    [InlineData("""{ "tenants": [ { "tenant": "A", "products": [ { "name": "P", "deviceGroups": [ { "name": "G", "deployment": [] } ] } ] } ] }""", "tenants[0].products[0].deviceGroups[0].deployment")]
    [InlineData("""{ "tenants": [ { "tenant": "A", "products": [ { "name": "P", "deviceGroups": [ { "name": "G" }, { "name": "g" } ] } ] } ] }""", "tenants[0].products[0].deviceGroups[1].name")]
    [InlineData("not json", "(document)")]
    public void Parse_names_the_path_of_each_problem(string json, string path)
    {
        var error = Assert.Throws<PolicyFormatException>(() => DesiredStatePolicy.Parse(json));

        Assert.Contains(error.Errors, e => e.StartsWith(path + ":", StringComparison.Ordinal) || e.StartsWith(path + " ", StringComparison.Ordinal));
    }

    [Fact]
    public void Placements_must_name_a_group_the_policy_declares()
    {
        var json = $$"""{ "tenants": [ { "tenant": "A", "products": [ { "name": "P", "deviceGroups": [ { "name": "G" } ] } ], "devices": { "{{DeviceA}}": "P/Other" } } ] }""";

        var ok = DesiredStatePolicy.TryParse(json, out var policy, out var errors);

        Assert.False(ok);
        Assert.Null(policy);
        Assert.Contains("'P/Other' is not a device group of this tenant's policy", Assert.Single(errors), StringComparison.Ordinal);
    }

    [Fact]
    public void Every_problem_is_reported_at_once()
    {
        const string json = """{ "tenants": [ { "tenant": "" , "products": [ { "name": "" } ] }, { "tenant": "B", "unassignedDevices": { "action": "assign", "target": "X/Y" } } ] }""";

        var error = Assert.Throws<PolicyFormatException>(() => DesiredStatePolicy.Parse(json));

        Assert.Equal(3, error.Errors.Count);
    }

    [Theory]
    [InlineData("Thermostat/Field Test", true)]
    [InlineData(" Thermostat / Field Test ", true)]
    [InlineData("Thermostat", false)]
    [InlineData("A/B/C", false)]
    [InlineData("/B", false)]
    [InlineData("A-1/B", false)]
    public void GroupPath_parses_product_and_group(string text, bool valid)
    {
        Assert.Equal(valid, GroupPath.TryParse(text, out var path));
        if (valid)
        {
            Assert.Equal(new GroupPath("THERMOSTAT", "field test"), path);
            Assert.Equal(new GroupPath("THERMOSTAT", "field test").GetHashCode(), path!.GetHashCode());
        }
    }
}
