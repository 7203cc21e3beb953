using System.Text.Json;
using System.Text.Json.Nodes;
using Fleet.Shared.FleetClouds;
using Fleet.Simulator;

namespace Fleet.Functions.Tests.Reliability;

/// <summary>
/// A provisioning a reliability test sends on any cloud: its queue message, its instance, and the check (against the
/// simulator's own view) that the device got where the message said; null when it did.
/// </summary>
internal sealed record CloudTarget(string InstanceId, string Message, Func<SimulatorControlClient, CancellationToken, Task<string?>> Misplaced)
{
    private static readonly (string Organization, string Group, string Template)[] IoTCentralPlacements =
    [
        ("contoso-west", "west-thermostats", CloudProvisioningTests.Thermostat),
        ("contoso-east", "thermostats", CloudProvisioningTests.Thermostat),
        ("contoso-lab", "gateways", "dtmi:contoso:gateway;1"),
    ];

    private static readonly (string Entity, string Leaf, string Template)[] IoTConnectPlacements =
    [
        ("Production/Production East", "Production East", "THERMO"),
        ("Field Test", "Field Test", "THERMO"),
        ("Development", "Development", "GATEWAY"),
    ];

    /// <summary><paramref name="count"/> provisionings on <paramref name="cloud"/>, spread over a few placements (new devices off Sphere; the fleet's unclaimed ones on Sphere).</summary>
    public static async Task<IReadOnlyList<CloudTarget>> ForAsync(FleetCloud cloud, SimulatorHost simulator, int count, string idPrefix = "rel")
    {
        switch (cloud)
        {
            case FleetCloud.IoTCentral:
                return [.. Enumerable.Range(0, count).Select(i =>
                {
                    var (organization, group, template) = IoTCentralPlacements[i % IoTCentralPlacements.Length];
                    var id = $"{idPrefix}-{i:D4}";
                    return new CloudTarget(CloudProvisioningTests.IoTCentralInstance(id),
                        JsonSerializer.Serialize(new { cloud = "iotcentral", deviceId = id, template, organization, deviceGroup = group }, TestFleetApp.Json),
                        async (control, token) =>
                        {
                            var device = (await control.GetIoTCentralDeviceAsync("contoso", id, token))["device"]!;
                            var org = device["organizations"] is JsonArray { Count: > 0 } orgs ? (string?)orgs[0] : null;
                            return org == organization && (string?)device["template"] == template ? null : $"{id}: {org} {(string?)device["template"]}, expected {organization} {template}";
                        });
                })];
            case FleetCloud.IoTConnect:
                var solution = (await simulator.Control.GetIoTConnectAsync()).Contoso;
                return [.. Enumerable.Range(0, count).Select(i =>
                {
                    var (entity, leaf, template) = IoTConnectPlacements[i % IoTConnectPlacements.Length];
                    var id = $"{idPrefix}-{i:D4}";
                    var expected = solution.GetEntity(leaf).EntityGuid;
                    return new CloudTarget(CloudProvisioningTests.IoTConnectInstance(id),
                        JsonSerializer.Serialize(new { cloud = "iotconnect", deviceId = id, template, entity }, TestFleetApp.Json),
                        async (control, token) =>
                        {
                            var view = await control.GetIoTConnectDeviceAsync(id, token);
                            return view.Acquired && view.EntityGuid == expected ? null : $"{id}: entity {view.EntityGuid} acquired {view.Acquired}, expected {expected}";
                        });
                })];
            default:
                var fleet = await simulator.Control.GetFleetAsync();
                return [.. ProvisioningTarget.For(fleet, count).Select(t => new CloudTarget(t.InstanceId, t.Message(),
                    async (control, token) => await ProvisioningTarget.FindMisplacedAsync(control, [t], token) is [var problem, ..] ? problem : null))];
        }
    }

    /// <summary>Every target that is not where its message said, described; empty when all are.</summary>
    public static async Task<IReadOnlyList<string>> FindMisplacedAsync(SimulatorControlClient control, IEnumerable<CloudTarget> targets, CancellationToken token)
    {
        var wrong = new List<string>();
        foreach (var target in targets)
        {
            if (await target.Misplaced(control, token) is { } problem)
            {
                wrong.Add(problem);
            }
        }

        return wrong;
    }
}
