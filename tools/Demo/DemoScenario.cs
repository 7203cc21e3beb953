using System.Text.Json;
using Fleet.Simulator;

namespace Fleet.Demo;

/// <summary>One demo provisioning request: a seeded unclaimed device and where it goes.</summary>
internal sealed record DemoRequest(string DeviceId, string Tenant, string Product, string DeviceGroup, string RequestId)
{
    /// <summary>The queue message (the app's provisioning message format).</summary>
    public string ToMessage() =>
        JsonSerializer.Serialize(new { tenantId = Tenant, deviceId = DeviceId, product = Product, deviceGroup = DeviceGroup, requestId = RequestId });
}

/// <summary>
/// What the demo asks of the app: provisioning requests for the fleet's unclaimed devices and a desired-state policy
/// with drift in both reachable tenants (unassigned devices, group settings, a wrong deployment, a missing group).
/// </summary>
internal static class DemoScenario
{
    private static readonly JsonSerializerOptions Indented = new() { WriteIndented = true };
    private static readonly string[] ThermostatRelease = ["ThermostatApp 1.1"];

    /// <summary>
    /// Three in four requests go to Contoso's Thermostat/Field Test, the rest to Fabrikam's Sensor Hub/Field Test: the
    /// groups the policy assigns unassigned devices to, so a sweep that meets a device between its claim and its move
    /// puts it where its provisioning does.
    /// </summary>
    public static IReadOnlyList<DemoRequest> Requests(FleetDescription fleet, int count)
    {
        var devices = fleet.UnclaimedDeviceIds.Take(count).ToList();
        if (devices.Count < count)
        {
            throw new DemoException($"The simulated fleet has only {devices.Count} unclaimed devices; ask for fewer requests or more devices.");
        }

        return devices.Select((id, i) => i % 4 == 3
                ? new DemoRequest(id, fleet.Fabrikam.Name, "Sensor Hub", "Field Test", $"demo-{i + 1}")
                : new DemoRequest(id, fleet.Contoso.Name, "Thermostat", "Field Test", $"demo-{i + 1}"))
            .ToList();
    }

    /// <summary>The policy (the app's desired-state format) the demo's sweep remediates against.</summary>
    public static string Policy(FleetDescription fleet) => JsonSerializer.Serialize(new
    {
        tenants = new object[]
        {
            new
            {
                tenant = fleet.Contoso.Name,
                allowCreate = true,
                products = new[]
                {
                    new
                    {
                        name = "Thermostat",
                        deviceGroups = new object[]
                        {
                            new { name = "Field Test" },
                            new { name = "Development", updatePolicy = "UpdateAll" },
                            new { name = "Production", deployment = ThermostatRelease },
                            new { name = "Canary", osFeedType = "RetailEval", updatePolicy = "UpdateAll" },
                        },
                    },
                },
                unassignedDevices = new { action = "assign", target = "Thermostat/Field Test" },
            },
            new
            {
                tenant = fleet.Fabrikam.Name,
                products = new[]
                {
                    new
                    {
                        name = "Sensor Hub",
                        deviceGroups = new object[]
                        {
                            new { name = "Field Test" },
                            new { name = "Development", updatePolicy = "UpdateAll" },
                        },
                    },
                },
                unassignedDevices = new { action = "assign", target = "Sensor Hub/Field Test" },
            },
        },
    }, Indented);
}
