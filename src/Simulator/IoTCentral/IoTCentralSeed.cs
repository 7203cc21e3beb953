using System.Globalization;
using System.Text.Json.Nodes;
using Fleet.Simulator.Auth;

namespace Fleet.Simulator.IoTCentral;

/// <summary>
/// The seeded applications. Everything depends only on (Seed, IoTCentral.Devices): the same seed gives the same
/// devices, organizations and firmware versions. Each application has two templates (thermostat, gateway), three
/// organizations (west, east and lab under west), four filter-based groups, and its devices (80 % thermostats) spread
/// over the organizations. Users: the system-assigned identity is Administrator of both applications, fleet-automation
/// Operator of contoso only, fleet-auditor a user of neither.
/// </summary>
internal static class IoTCentralSeed
{
    public static readonly (string Name, string DisplayName)[] Applications =
    [
        ("contoso", "Contoso Thermostats"),
        ("fabrikam", "Fabrikam Buildings"),
    ];

    private static readonly string[] FirmwareVersions = ["1.2.0", "1.3.1", "1.4.0"];

    public static string ThermostatTemplate(string app) => $"dtmi:{app}:thermostat;1";

    public static string GatewayTemplate(string app) => $"dtmi:{app}:gateway;1";

    /// <summary>A stable per-application seed derived from the fleet seed.</summary>
    public static int SeedOf(int fleetSeed, string app)
    {
        var hash = 17;
        foreach (var c in app)
        {
            hash = unchecked((hash * 31) + c);
        }

        return unchecked((fleetSeed * 7919) + hash);
    }

    public static Guid ApplicationIdOf(int fleetSeed, string app)
    {
        var random = new Random(SeedOf(fleetSeed, app));
        Span<byte> bytes = stackalloc byte[16];
        random.NextBytes(bytes);
        bytes[7] = (byte)((bytes[7] & 0x0F) | 0x40);
        bytes[8] = (byte)((bytes[8] & 0x3F) | 0x80);
        return new Guid(bytes);
    }

    public static void Populate(IoTCentralApp app, int seed, int devices)
    {
        var name = app.Name;
        var random = new Random(seed);
        app.SeedTemplate(Template(ThermostatTemplate(name), "Thermostat", "A thermostat with a firmware version property."));
        app.SeedTemplate(Template(GatewayTemplate(name), "Gateway", "A building gateway with a firmware version property."));

        var west = $"{name}-west";
        var east = $"{name}-east";
        var lab = $"{name}-lab";
        app.SeedOrganization(new IoTCentralOrganizationEntity(west, "West", null));
        app.SeedOrganization(new IoTCentralOrganizationEntity(east, "East", null));
        app.SeedOrganization(new IoTCentralOrganizationEntity(lab, "Lab", west));

        app.SeedGroup(new IoTCentralGroupEntity("all-devices", "All devices", "SELECT * FROM devices", "Every device", null));
        app.SeedGroup(new IoTCentralGroupEntity("thermostats", "Thermostats",
            $"SELECT * FROM devices WHERE $template = \"{ThermostatTemplate(name)}\"", "Every thermostat", null));
        app.SeedGroup(new IoTCentralGroupEntity("gateways", "Gateways",
            $"SELECT * FROM devices WHERE $template = \"{GatewayTemplate(name)}\"", "Every gateway", null));
        app.SeedGroup(new IoTCentralGroupEntity("west-thermostats", "West thermostats",
            $"SELECT * FROM devices WHERE $template = \"{ThermostatTemplate(name)}\"", "Thermostats of the west organization", west));

        for (var i = 1; i <= devices; i++)
        {
            var thermostat = random.NextDouble() < 0.8;
            var draw = random.NextDouble();
            var organization = draw < 0.45 ? west : draw < 0.9 ? east : lab;
            var id = (thermostat ? "th-" : "gw-") + i.ToString("D5", CultureInfo.InvariantCulture);
            app.SeedDevice(new IoTCentralDeviceEntity(id)
            {
                DisplayName = (thermostat ? "Thermostat " : "Gateway ") + i.ToString(CultureInfo.InvariantCulture),
                Template = thermostat ? ThermostatTemplate(name) : GatewayTemplate(name),
                Provisioned = true,
                Organization = organization,
                Properties = new JsonObject { ["firmwareVersion"] = FirmwareVersions[random.Next(FirmwareVersions.Length)] },
            });
        }

        app.SeedUser(ServicePrincipal(KnownIdentities.SystemAssigned.PrincipalId, IoTCentralRoles.Administrator));
        if (name == "contoso")
        {
            app.SeedUser(ServicePrincipal(KnownIdentities.FleetAutomation.PrincipalId, IoTCentralRoles.Operator));
        }
    }

    private static IoTCentralUserEntity ServicePrincipal(Guid objectId, string role) =>
        new(objectId.ToString(), "servicePrincipal", objectId, [new RoleAssignment(role, null)]);

    private static IoTCentralTemplateEntity Template(string id, string displayName, string description) =>
        new(id, displayName, description, new JsonObject
        {
            ["@id"] = id.Replace(";1", ":model;1", StringComparison.Ordinal),
            ["@type"] = "Interface",
            ["contents"] = new JsonArray(new JsonObject
            {
                ["@type"] = "Property",
                ["name"] = "firmwareVersion",
                ["schema"] = "string",
                ["writable"] = true,
            }),
        });
}
