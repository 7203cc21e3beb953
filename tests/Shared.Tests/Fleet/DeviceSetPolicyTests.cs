using Fleet.Shared.DesiredState;
using Fleet.Shared.FleetClouds;

namespace Fleet.Shared.Tests.DesiredState;

public sealed class DeviceSetPolicyTests
{
    private const string Mixed = """
        {
          "tenants": [ { "tenant": "Contoso Fleet", "unassignedDevices": { "action": "report" } } ],
          "deviceSets": [
            { "name": "contoso-west", "cloud": "iotcentral", "idPrefix": "fleet-",
              "placement": { "template": "dtmi:contoso:thermostat;1", "organization": "contoso-west", "deviceGroup": "west-thermostats" },
              "deployment": { "version": "1.4.0" } },
            { "name": "fabrikam-sensors", "cloud": "IoTConnect", "connection": "IoTConnect_Fabrikam",
              "placement": { "template": "SENSOR", "entity": "Production/Production East" }, "deployment": { "version": "1.1" }, "remediate": false }
          ]
        }
        """;

    [Fact]
    public void One_policy_spans_all_three_clouds()
    {
        var policy = DesiredStatePolicy.Parse(Mixed);

        Assert.Single(policy.Tenants);
        Assert.Equal(2, policy.DeviceSets.Count);
        var central = policy.DeviceSets[0];
        Assert.Equal(new FleetTarget(FleetCloud.IoTCentral, "IoTCentral", "west-thermostats", "dtmi:contoso:thermostat;1", "contoso-west"), central.Target);
        Assert.Equal(new FleetDeploymentSpec("1.4.0"), central.Deployment);
        Assert.True(central.Includes("fleet-7"));
        Assert.False(central.Includes("th-00001"));
        var connect = policy.DeviceSets[1];
        Assert.Equal(new FleetTarget(FleetCloud.IoTConnect, "IoTConnect_Fabrikam", "Production/Production East", "SENSOR"), connect.Target);
        Assert.False(connect.Remediate);
        Assert.True(connect.Includes("anything"));
    }

    [Fact]
    public void A_policy_of_device_sets_alone_is_valid()
    {
        var policy = DesiredStatePolicy.Parse("""{ "deviceSets": [ { "name": "a", "cloud": "iotconnect", "placement": { "template": "THERMO", "entity": "Field Test" } } ] }""");
        Assert.Empty(policy.Tenants);
        Assert.Equal("IoTConnect", policy.DeviceSets[0].Target.Scope);
    }

    [Theory]
    [InlineData("""{ "deviceSets": [ { "name": "a", "cloud": "sphere", "placement": { "template": "T", "entity": "E" } } ] }""", "deviceSets[0].cloud")]
    [InlineData("""{ "deviceSets": [ { "name": "a", "cloud": "iotcentral", "placement": { "template": "T" } } ] }""", "deviceSets[0].placement.deviceGroup")]
    [InlineData("""{ "deviceSets": [ { "name": "a", "cloud": "iotconnect", "placement": { "template": "T", "deviceGroup": "g", "entity": "E" } } ] }""", "deviceSets[0].placement:")]
    [InlineData("""{ "deviceSets": [ { "name": "a", "cloud": "iotconnect", "placement": { "entity": "E" } } ] }""", "deviceSets[0].placement.template")]
    [InlineData("""{ "deviceSets": [ { "name": "a b", "cloud": "iotconnect", "placement": { "template": "T", "entity": "E" } } ] }""", "deviceSets[0].name")]
    [InlineData("""{ "deviceSets": [ { "name": "a", "cloud": "iotconnect", "placement": { "template": "T", "entity": "E" }, "deployment": { "version": "1", "property": "p" } } ] }""", "deviceSets[0].deployment.property")]
    [InlineData("""{ "deviceSets": [ { "name": "a", "cloud": "iotconnect", "placement": { "template": "T", "entity": "E" } }, { "name": "A", "cloud": "iotconnect", "placement": { "template": "T", "entity": "E" } } ] }""", "deviceSets[1].name")]
    [InlineData("""{ "deviceSets": [ { "name": "a", "cloud": "iotconnect", "placement": { "template": "T", "entity": "E" }, "extra": 1 } ] }""", "deviceSets[0].extra")]
    [InlineData("""{ "deviceSets": [] }""", "tenants")]
    public void Invalid_device_sets_are_named_by_path(string json, string path)
    {
        var ex = Assert.Throws<PolicyFormatException>(() => DesiredStatePolicy.Parse(json));
        Assert.Contains(ex.Errors, e => e.StartsWith(path, StringComparison.Ordinal));
    }
}
