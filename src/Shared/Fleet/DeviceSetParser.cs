using Fleet.Shared.FleetClouds;
using Fleet.Shared.IoTCentral;
using Fleet.Shared.IoTConnect;

namespace Fleet.Shared.DesiredState;

/// <summary>Reads the policy's <c>deviceSets</c> (IoT Central and IoTConnect placements and deployments), reporting every problem with its path.</summary>
internal static class DeviceSetParser
{
    public static List<DeviceSetPolicy> Read(List<DeviceSetDocument?>? documents, List<string> errors)
    {
        var sets = new List<DeviceSetPolicy>();
        var names = new HashSet<string>(StringComparer.OrdinalIgnoreCase);
        for (var i = 0; i < (documents?.Count ?? 0); i++)
        {
            var at = $"deviceSets[{i}]";
            if (documents![i] is not { } set)
            {
                errors.Add($"{at}: must be an object.");
                continue;
            }

            var before = errors.Count;
            var name = set.Name?.Trim();
            if (string.IsNullOrEmpty(name) || name.Length > 64 || !name.All(c => char.IsAsciiLetterOrDigit(c) || c is '-' or '_'))
            {
                errors.Add($"{at}.name: a name of 1-64 letters, digits, '-' and '_' is required.");
            }
            else if (!names.Add(name))
            {
                errors.Add($"{at}.name: '{name}' appears more than once.");
            }

            if (!FleetCloudJsonConverter.TryParse(set.Cloud, out var cloud) || cloud == FleetCloud.Sphere)
            {
                errors.Add($"{at}.cloud: use iotcentral or iotconnect (Sphere fleets are described under tenants).");
                continue;
            }

            var connection = set.Connection?.Trim() is { Length: > 0 } c
                ? c
                : cloud == FleetCloud.IoTCentral ? IoTCentralServiceCollectionExtensions.DefaultConnectionName : IoTConnectServiceCollectionExtensions.DefaultConnectionName;
            var target = ReadPlacement(cloud, connection, set.Placement, $"{at}.placement", errors);
            FleetDeploymentSpec? deployment = null;
            if (set.Deployment is { } d)
            {
                if (string.IsNullOrWhiteSpace(d.Version))
                {
                    errors.Add($"{at}.deployment.version: the expected version is required.");
                }
                else if (cloud == FleetCloud.IoTConnect && d.Property is not null)
                {
                    errors.Add($"{at}.deployment.property: IoTConnect deployments are firmware upgrades; leave property out.");
                }
                else
                {
                    deployment = new FleetDeploymentSpec(d.Version.Trim(), d.Property?.Trim());
                }
            }

            if (set.IdPrefix is { } prefix && string.IsNullOrWhiteSpace(prefix))
            {
                errors.Add($"{at}.idPrefix: must not be blank (leave it out to take every device of the template).");
            }

            if (errors.Count == before && target is not null)
            {
                sets.Add(new DeviceSetPolicy(name!, target, set.IdPrefix, deployment, set.Remediate ?? true));
            }
        }

        return sets;
    }

    private static FleetTarget? ReadPlacement(FleetCloud cloud, string connection, PlacementDocument? placement, string at, List<string> errors)
    {
        if (placement is null)
        {
            errors.Add($"{at}: the target placement is required.");
            return null;
        }

        var template = placement.Template?.Trim();
        if (string.IsNullOrEmpty(template))
        {
            errors.Add($"{at}.template: the device template is required.");
        }

        if (cloud == FleetCloud.IoTCentral)
        {
            if (placement.Entity is not null)
            {
                errors.Add($"{at}.entity: IoT Central places devices by organization and deviceGroup; entity is IoTConnect's.");
            }

            if (string.IsNullOrWhiteSpace(placement.DeviceGroup))
            {
                errors.Add($"{at}.deviceGroup: the IoT Central device group id is required.");
                return null;
            }

            return template is { Length: > 0 } ? new FleetTarget(cloud, connection, placement.DeviceGroup.Trim(), template, placement.Organization?.Trim()) : null;
        }

        if (placement.DeviceGroup is not null || placement.Organization is not null)
        {
            errors.Add($"{at}: IoTConnect places devices in an entity; deviceGroup and organization are IoT Central's.");
        }

        if (string.IsNullOrWhiteSpace(placement.Entity))
        {
            errors.Add($"{at}.entity: the IoTConnect entity (path or name) is required.");
            return null;
        }

        return template is { Length: > 0 } ? new FleetTarget(cloud, connection, placement.Entity.Trim(), template) : null;
    }

    internal sealed class DeviceSetDocument
    {
        public string? Name { get; set; }

        public string? Cloud { get; set; }

        public string? Connection { get; set; }

        public string? IdPrefix { get; set; }

        public bool? Remediate { get; set; }

        public PlacementDocument? Placement { get; set; }

        public DeploymentDocument? Deployment { get; set; }
    }

    internal sealed class PlacementDocument
    {
        public string? Template { get; set; }

        public string? Organization { get; set; }

        public string? DeviceGroup { get; set; }

        public string? Entity { get; set; }
    }

    internal sealed class DeploymentDocument
    {
        public string? Version { get; set; }

        public string? Property { get; set; }
    }
}
