using System.Text.Json;
using Fleet.Simulator;

namespace Fleet.Demo;

/// <summary>One demo provisioning request: a device, its cloud, and the queue message that places it.</summary>
/// <param name="Cloud">sphere, iotcentral or iotconnect.</param>
/// <param name="DeviceId">The device.</param>
/// <param name="Tenant">Sphere tenant (or the connection elsewhere), for the summary line.</param>
/// <param name="Placement">Where it goes, for the summary line.</param>
/// <param name="Message">The queue message (the app's provisioning message format).</param>
internal sealed record DemoRequest(string Cloud, string DeviceId, string Tenant, string Placement, string Message)
{
    /// <summary>A Sphere request for a seeded unclaimed device.</summary>
    public static DemoRequest Sphere(string deviceId, string tenant, string product, string group, string requestId) => new("sphere", deviceId, tenant, $"{product}/{group}",
        JsonSerializer.Serialize(new { tenantId = tenant, deviceId, product, deviceGroup = group, requestId }));
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

        var sphere = devices.Select((id, i) => i % 4 == 3
            ? DemoRequest.Sphere(id, fleet.Fabrikam.Name, "Sensor Hub", "Field Test", $"demo-{i + 1}")
            : DemoRequest.Sphere(id, fleet.Contoso.Name, "Thermostat", "Field Test", $"demo-{i + 1}"));

        // New devices on the other two clouds, into the placements the policy's device sets name.
        var iotCentral = Enumerable.Range(1, OtherCloudRequests).Select(i => $"demo-th-{i:D2}").Select(id => new DemoRequest("iotcentral", id, "IoTCentral", "west-thermostats",
            JsonSerializer.Serialize(new { cloud = "iotcentral", deviceId = id, template = IoTCentralThermostat, organization = "contoso-west", deviceGroup = "west-thermostats", requestId = id })));
        var iotConnect = Enumerable.Range(1, OtherCloudRequests).Select(i => $"demo-{i:D2}").Select(id => new DemoRequest("iotconnect", id, "IoTConnect", IoTConnectEast,
            JsonSerializer.Serialize(new { cloud = "iotconnect", deviceId = id, template = "THERMO", entity = IoTConnectEast, requestId = id })));
        return [.. sphere, .. iotCentral, .. iotConnect];
    }

    /// <summary>Provisioning requests per cloud besides Sphere.</summary>
    public const int OtherCloudRequests = 10;

    private const string IoTCentralThermostat = "dtmi:contoso:thermostat;1";
    private const string IoTConnectEast = "Production/Production East";

    /// <summary>
    /// The policy (the app's desired-state format) the demo's sweep remediates against: the two Sphere tenants, and a
    /// device set on each other cloud whose seeded devices partly sit elsewhere and run older firmware.
    /// </summary>
    public static string Policy(FleetDescription fleet) => JsonSerializer.Serialize(new
    {
        deviceSets = new object[]
        {
            new
            {
                name = "contoso-west-thermostats", cloud = "iotcentral", idPrefix = "th-",
                placement = new { template = IoTCentralThermostat, organization = "contoso-west", deviceGroup = "west-thermostats" },
                deployment = new { version = "1.4.0" },
            },
            new
            {
                name = "contoso-east-thermostats", cloud = "iotconnect", idPrefix = "contoso-0000",
                placement = new { template = "THERMO", entity = IoTConnectEast },
                deployment = new { version = "1.1" },
            },
        },
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
