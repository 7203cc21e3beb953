using System.Text.Json.Serialization;
using Fleet.Shared.FleetClouds;
using Fleet.Shared.Sphere;

namespace Fleet.Shared.DesiredState;

/// <summary>How a tenant differs from its desired-state policy.</summary>
[JsonConverter(typeof(JsonStringEnumConverter<DriftKind>))]
public enum DriftKind
{
    /// <summary>The policy places a device in the tenant, but the tenant has not claimed it.</summary>
    UnclaimedDevice,

    /// <summary>A claimed device is in no device group.</summary>
    UnassignedDevice,

    /// <summary>A device is in another group than its explicit placement.</summary>
    WrongGroup,

    /// <summary>A device group (or its product) that the policy names does not exist.</summary>
    GroupMissing,

    /// <summary>A group's OS feed or update policy differs from the policy (see <see cref="DriftFinding.Fields"/>).</summary>
    GroupSettingsDiffer,

    /// <summary>A group the policy gives a deployment has none.</summary>
    GroupMissingDeployment,

    /// <summary>A group's current deployment carries other images than the policy says.</summary>
    GroupWrongDeployment,

    /// <summary>A device of an IoT Central or IoTConnect device set that runs another version than the set's deployment.</summary>
    WrongVersion,
}

/// <summary>One field of a device group that differs from the policy.</summary>
/// <param name="Field">The field (<c>OsFeedType</c>, <c>UpdatePolicy</c>).</param>
/// <param name="Expected">The policy's value.</param>
/// <param name="Actual">The group's value.</param>
public sealed record FieldDifference(string Field, string Expected, string Actual);

/// <summary>
/// One difference between a tenant and its policy, with what remediation needs to fix it. Device findings carry
/// <see cref="DeviceId"/> and the target group; group findings carry the group and the expected settings and images.
/// </summary>
public sealed record DriftFinding
{
    /// <summary>Stable within a tenant and sweep: kind and subject (device id, or "Product/Group").</summary>
    public required string Id { get; init; }

    /// <summary>What differs.</summary>
    public required DriftKind Kind { get; init; }

    /// <summary>The tenant.</summary>
    public required string TenantId { get; init; }

    /// <summary>The device, for device findings.</summary>
    public string? DeviceId { get; init; }

    /// <summary>The device group concerned: the group itself for group findings.</summary>
    public GroupPath? Group { get; init; }

    /// <summary>The concerned group's id, when it exists.</summary>
    public string? DeviceGroupId { get; init; }

    /// <summary>The product's id, when the product exists (a missing group of an existing product).</summary>
    public string? ProductId { get; init; }

    /// <summary>What the tenant has now, readable (e.g. <c>Thermostat/Production</c>, <c>no group</c>, image ids).</summary>
    public string? Current { get; init; }

    /// <summary>What the policy wants, readable.</summary>
    public string? Expected { get; init; }

    /// <summary>Field-level differences of <see cref="DriftKind.GroupSettingsDiffer"/>.</summary>
    public IReadOnlyList<FieldDifference>? Fields { get; init; }

    /// <summary>For device findings: the group the device belongs in (null when the rule only reports).</summary>
    public GroupPath? Target { get; init; }

    /// <summary>The target group's id, when it exists.</summary>
    public string? TargetGroupId { get; init; }

    /// <summary>The expected OS feed (group findings).</summary>
    [JsonConverter(typeof(JsonStringEnumConverter<OsFeedType>))]
    public OsFeedType? ExpectedOsFeedType { get; init; }

    /// <summary>The expected update policy (group findings).</summary>
    [JsonConverter(typeof(JsonStringEnumConverter<UpdatePolicy>))]
    public UpdatePolicy? ExpectedUpdatePolicy { get; init; }

    /// <summary>The image ids the group's deployment should carry (group findings), when the policy says.</summary>
    public IReadOnlyList<string>? ExpectedImageIds { get; init; }

    /// <summary>Device sets: where the device belongs (cloud, connection, placement); fixes go through the port with it.</summary>
    public FleetTarget? Placement { get; init; }

    /// <summary>Device sets: the placement resolved to the cloud's ids.</summary>
    public FleetLocation? Location { get; init; }

    /// <summary>Device sets: the deployment the device must run (<see cref="DriftKind.WrongVersion"/>).</summary>
    public FleetDeploymentSpec? ExpectedDeployment { get; init; }

    /// <summary>Whether remediation can fix it (e.g. false for a missing group the policy may not create).</summary>
    public bool Remediable { get; init; }

    /// <summary>Why the finding cannot be remediated, or other context.</summary>
    public string? Note { get; init; }
}

/// <summary>A device group of a tenant as the sweep knows it: ids and names.</summary>
/// <param name="Id">Device group id.</param>
/// <param name="ProductId">Product id.</param>
/// <param name="ProductName">Product name.</param>
/// <param name="Name">Device group name.</param>
public sealed record CatalogGroup(string Id, string ProductId, string ProductName, string Name)
{
    /// <summary>Product and group name.</summary>
    [JsonIgnore]
    public GroupPath Path => new(ProductName, Name);
}

/// <summary>A tenant's products and device groups, so device pages can be judged without reading them again.</summary>
public sealed class TenantCatalog(string tenantId, IReadOnlyList<CatalogGroup> groups)
{
    private Dictionary<string, CatalogGroup>? _byId;
    private Dictionary<GroupPath, CatalogGroup>? _byPath;

    /// <summary>The tenant.</summary>
    public string TenantId { get; } = tenantId;

    /// <summary>Every device group of the tenant.</summary>
    public IReadOnlyList<CatalogGroup> Groups { get; } = groups;

    /// <summary>The group with this id, or null.</summary>
    public CatalogGroup? FindById(string? deviceGroupId) =>
        deviceGroupId is not null
        && (_byId ??= Groups.ToDictionary(g => g.Id, StringComparer.OrdinalIgnoreCase)).TryGetValue(deviceGroupId, out var group)
            ? group
            : null;

    /// <summary>The group at this path, or null.</summary>
    public CatalogGroup? Find(GroupPath? path) =>
        path is not null && (_byPath ??= Groups.GroupBy(g => g.Path).ToDictionary(g => g.Key, g => g.First())).TryGetValue(path, out var group)
            ? group
            : null;
}
