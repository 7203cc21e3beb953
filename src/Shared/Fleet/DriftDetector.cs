using Fleet.Shared.Sphere;

namespace Fleet.Shared.DesiredState;

/// <summary>The result of comparing a tenant's products and device groups with its policy.</summary>
/// <param name="Catalog">Every device group of the tenant, for judging device pages.</param>
/// <param name="Findings">Group drift, in policy order.</param>
/// <param name="PolicyErrors">Parts of the policy that could not be checked (e.g. an image name the tenant does not have).</param>
public sealed record GroupEvaluation(TenantCatalog Catalog, IReadOnlyList<DriftFinding> Findings, IReadOnlyList<string> PolicyErrors);

/// <summary>
/// Compares what a tenant has with its <see cref="TenantPolicy"/>. Pure functions over data the caller read, so a
/// sweep can judge a fleet page by page: groups once (<see cref="EvaluateGroups"/>), then each page of devices
/// (<see cref="EvaluateDevices"/>), then the placed devices no page contained (<see cref="FindUnclaimedDevices"/>).
/// </summary>
public static class DriftDetector
{
    /// <summary>Compares the tenant's products, device groups and their deployments with the policy.</summary>
    /// <param name="policy">The tenant's policy.</param>
    /// <param name="tenantId">The tenant id.</param>
    /// <param name="products">Every product of the tenant.</param>
    /// <param name="groups">Every device group of the tenant.</param>
    /// <param name="images">Every image of the tenant (to resolve image names in the policy).</param>
    public static GroupEvaluation EvaluateGroups(
        TenantPolicy policy, string tenantId, IEnumerable<Product> products, IEnumerable<DeviceGroup> groups, IEnumerable<ImageMetadata> images)
    {
        ArgumentNullException.ThrowIfNull(policy);
        ArgumentNullException.ThrowIfNull(products);
        ArgumentNullException.ThrowIfNull(groups);
        ArgumentNullException.ThrowIfNull(images);
        var productList = products.ToList();
        var productNames = productList.ToDictionary(p => p.Id, p => p.Name, StringComparer.OrdinalIgnoreCase);
        var catalog = new TenantCatalog(
            tenantId,
            groups.Where(g => productNames.ContainsKey(g.ProductId))
                .Select(g => new CatalogGroup(g.Id, g.ProductId, productNames[g.ProductId], g.Name))
                .ToList());
        var groupsById = groups.ToDictionary(g => g.Id, StringComparer.OrdinalIgnoreCase);
        var imageList = images.ToList();

        var findings = new List<DriftFinding>();
        var errors = new List<string>();
        foreach (var expected in policy.Groups)
        {
            var path = expected.Path;
            var imageIds = expected.Deployment is { } refs ? ResolveImages(path, refs, imageList, errors) : null;
            var existing = catalog.Find(path);
            if (existing is null)
            {
                var product = productList.FirstOrDefault(p => string.Equals(p.Name, path.Product, StringComparison.OrdinalIgnoreCase));
                findings.Add(new DriftFinding
                {
                    Id = Id(DriftKind.GroupMissing, path.ToString()),
                    Kind = DriftKind.GroupMissing,
                    TenantId = tenantId,
                    Group = path,
                    ProductId = product?.Id,
                    Current = product is null ? $"no product '{path.Product}'" : $"no group '{path.Group}' in product '{path.Product}'",
                    Expected = Describe(expected, imageIds),
                    ExpectedOsFeedType = expected.OsFeedType,
                    ExpectedUpdatePolicy = expected.UpdatePolicy,
                    ExpectedImageIds = imageIds,
                    Remediable = policy.AllowCreate,
                    Note = policy.AllowCreate ? null : "The policy does not allow creating products or groups (allowCreate is false).",
                });
                continue;
            }

            var group = groupsById[existing.Id];
            if (SettingDifferences(expected, group) is { Count: > 0 } fields)
            {
                findings.Add(new DriftFinding
                {
                    Id = Id(DriftKind.GroupSettingsDiffer, path.ToString()),
                    Kind = DriftKind.GroupSettingsDiffer,
                    TenantId = tenantId,
                    Group = path,
                    DeviceGroupId = group.Id,
                    ProductId = group.ProductId,
                    Current = string.Join(", ", fields.Select(f => $"{f.Field} {f.Actual}")),
                    Expected = string.Join(", ", fields.Select(f => $"{f.Field} {f.Expected}")),
                    Fields = fields,
                    ExpectedOsFeedType = expected.OsFeedType,
                    ExpectedUpdatePolicy = expected.UpdatePolicy,
                    Remediable = true,
                });
            }

            if (imageIds is not null && DeploymentDrift(tenantId, path, group, imageIds) is { } deployment)
            {
                findings.Add(deployment);
            }
        }

        return new GroupEvaluation(catalog, findings, errors);
    }

    /// <summary>Judges one page of the tenant's devices: unassigned devices and devices outside their explicit placement.</summary>
    public static IReadOnlyList<DriftFinding> EvaluateDevices(TenantPolicy policy, TenantCatalog catalog, IEnumerable<Device> devices)
    {
        ArgumentNullException.ThrowIfNull(policy);
        ArgumentNullException.ThrowIfNull(catalog);
        ArgumentNullException.ThrowIfNull(devices);
        var findings = new List<DriftFinding>();
        foreach (var device in devices)
        {
            var deviceId = device.DeviceId.ToUpperInvariant();
            var placement = policy.PlacementOf(deviceId);
            if (device.DeviceGroupId is null)
            {
                var target = placement ?? (policy.UnassignedDevices.Action == UnassignedDeviceAction.Assign ? policy.UnassignedDevices.Target : null);
                var unassigned = DeviceFinding(DriftKind.UnassignedDevice, policy, catalog, deviceId, "no device group", target);
                findings.Add(target is null
                    ? unassigned with { Note = "The policy reports unassigned devices without assigning them." }
                    : unassigned);
                continue;
            }

            if (placement is null)
            {
                continue;
            }

            var current = catalog.FindById(device.DeviceGroupId);
            if (current is null || !current.Path.Equals(placement))
            {
                findings.Add(DeviceFinding(
                    DriftKind.WrongGroup, policy, catalog, deviceId, current?.Path.ToString() ?? $"device group {device.DeviceGroupId}", placement)
                    with
                {
                    DeviceGroupId = device.DeviceGroupId,
                });
            }
        }

        return findings;
    }

    /// <summary>The ids of devices on a page that the policy places explicitly (to find the ones no page had).</summary>
    public static IReadOnlyList<string> PlacedDevicesIn(TenantPolicy policy, IEnumerable<Device> devices)
    {
        ArgumentNullException.ThrowIfNull(policy);
        ArgumentNullException.ThrowIfNull(devices);
        return devices.Select(d => d.DeviceId.ToUpperInvariant()).Where(policy.Devices.ContainsKey).ToList();
    }

    /// <summary>Devices the policy places in the tenant that were not among its claimed devices, by device id.</summary>
    /// <param name="policy">The tenant's policy.</param>
    /// <param name="catalog">The tenant's groups.</param>
    /// <param name="seenDeviceIds">Upper-case ids of placed devices that the tenant's device list contained.</param>
    public static IReadOnlyList<DriftFinding> FindUnclaimedDevices(TenantPolicy policy, TenantCatalog catalog, IReadOnlySet<string> seenDeviceIds)
    {
        ArgumentNullException.ThrowIfNull(policy);
        ArgumentNullException.ThrowIfNull(catalog);
        ArgumentNullException.ThrowIfNull(seenDeviceIds);
        return policy.Devices
            .Where(d => !seenDeviceIds.Contains(d.Key))
            .OrderBy(d => d.Key, StringComparer.Ordinal)
            .Select(d => DeviceFinding(DriftKind.UnclaimedDevice, policy, catalog, d.Key, "not claimed by the tenant", d.Value))
            .ToList();
    }

    private static DriftFinding DeviceFinding(
        DriftKind kind, TenantPolicy policy, TenantCatalog catalog, string deviceId, string current, GroupPath? target) => new()
    {
        Id = Id(kind, deviceId),
        Kind = kind,
        TenantId = catalog.TenantId,
        DeviceId = deviceId,
        Current = current,
        Expected = target?.ToString() ?? "a device group",
        Target = target,
        TargetGroupId = catalog.Find(target)?.Id,
        Remediable = target is not null && CanReach(policy, catalog, target),
        Note = target is not null && !CanReach(policy, catalog, target)
            ? $"Device group '{target}' does not exist and the policy does not allow creating it."
            : null,
    };

    private static bool CanReach(TenantPolicy policy, TenantCatalog catalog, GroupPath target) =>
        catalog.Find(target) is not null || policy.AllowCreate;

    private static List<FieldDifference> SettingDifferences(GroupPolicy expected, DeviceGroup group)
    {
        var fields = new List<FieldDifference>();
        if (expected.OsFeedType is { } feed && feed != group.OsFeedType)
        {
            fields.Add(new FieldDifference(nameof(DeviceGroup.OsFeedType), feed.ToString(), group.OsFeedType.ToString()));
        }

        if (expected.UpdatePolicy is { } update && update != group.UpdatePolicy)
        {
            fields.Add(new FieldDifference(nameof(DeviceGroup.UpdatePolicy), update.ToString(), group.UpdatePolicy.ToString()));
        }

        return fields;
    }

    private static DriftFinding? DeploymentDrift(string tenantId, GroupPath path, DeviceGroup group, IReadOnlyList<string> imageIds)
    {
        var current = group.CurrentDeployment?.DeployedImages ?? [];
        DriftKind kind;
        if (current.Count == 0)
        {
            kind = DriftKind.GroupMissingDeployment;
        }
        else if (current.ToHashSet(StringComparer.OrdinalIgnoreCase).SetEquals(imageIds))
        {
            return null;
        }
        else
        {
            kind = DriftKind.GroupWrongDeployment;
        }

        return new DriftFinding
        {
            Id = Id(kind, path.ToString()),
            Kind = kind,
            TenantId = tenantId,
            Group = path,
            DeviceGroupId = group.Id,
            ProductId = group.ProductId,
            Current = current.Count == 0 ? "no deployment" : "images " + string.Join(", ", current),
            Expected = "images " + string.Join(", ", imageIds),
            ExpectedImageIds = imageIds,
            Remediable = true,
        };
    }

    private static List<string>? ResolveImages(GroupPath path, IReadOnlyList<string> references, List<ImageMetadata> images, List<string> errors)
    {
        var ids = new List<string>();
        foreach (var reference in references)
        {
            var byId = images.FirstOrDefault(i => string.Equals(i.Id, reference, StringComparison.OrdinalIgnoreCase));
            if (byId is not null)
            {
                ids.Add(byId.Id);
                continue;
            }

            var byName = images.Where(i => string.Equals(i.Name, reference, StringComparison.OrdinalIgnoreCase)).ToList();
            switch (byName.Count)
            {
                case 1:
                    ids.Add(byName[0].Id);
                    break;
                case 0:
                    errors.Add($"{path}: image '{reference}' is neither the id nor the name of an image of the tenant; the deployment was not checked.");
                    return null;
                default:
                    errors.Add($"{path}: {byName.Count} images are named '{reference}'; use the image id. The deployment was not checked.");
                    return null;
            }
        }

        return ids;
    }

    private static string Describe(GroupPolicy expected, IReadOnlyList<string>? imageIds)
    {
        var parts = new List<string> { expected.Path.ToString() };
        if (expected.OsFeedType is { } feed)
        {
            parts.Add($"OsFeedType {feed}");
        }

        if (expected.UpdatePolicy is { } update)
        {
            parts.Add($"UpdatePolicy {update}");
        }

        if (imageIds is not null)
        {
            parts.Add("images " + string.Join(", ", imageIds));
        }

        return string.Join(", ", parts);
    }

    private static string Id(DriftKind kind, string subject) => $"{kind}:{subject}";
}
