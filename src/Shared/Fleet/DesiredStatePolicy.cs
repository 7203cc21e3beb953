using System.Security.Cryptography;
using System.Text;
using Fleet.Shared.Sphere;

namespace Fleet.Shared.DesiredState;

/// <summary>
/// The desired state of a fleet: per tenant, which products and device groups exist with which settings and
/// deployment, where devices belong, and what happens to claimed devices that are in no group. Read it with
/// <see cref="Parse"/> (the JSON format is described in docs/functions.md); compare it with the fleet with
/// <see cref="DriftDetector"/>.
/// </summary>
public sealed class DesiredStatePolicy
{
    internal DesiredStatePolicy(IReadOnlyList<TenantPolicy> tenants, string json, IReadOnlyList<DeviceSetPolicy>? deviceSets = null)
    {
        Tenants = tenants;
        DeviceSets = deviceSets ?? [];
        Json = json;
        Sha256 = Convert.ToHexStringLower(SHA256.HashData(Encoding.UTF8.GetBytes(json)));
    }

    /// <summary>The IoT Central and IoTConnect device sets (<c>deviceSets</c>), each naming its cloud and connection.</summary>
    public IReadOnlyList<DeviceSetPolicy> DeviceSets { get; }

    /// <summary>The Sphere tenants the policy governs, in the order written.</summary>
    public IReadOnlyList<TenantPolicy> Tenants { get; }

    /// <summary>The JSON the policy was read from (kept so a sweep can store exactly what it ran against).</summary>
    public string Json { get; }

    /// <summary>SHA-256 of <see cref="Json"/> (lower-case hex), to tell policy versions apart in reports.</summary>
    public string Sha256 { get; }

    /// <summary>Reads a policy.</summary>
    /// <exception cref="PolicyFormatException">The JSON is malformed or breaks a rule; every problem is listed with its path.</exception>
    public static DesiredStatePolicy Parse(string json) => PolicyParser.Parse(json);

    /// <summary>Reads a policy, returning the problems instead of throwing.</summary>
    public static bool TryParse(string json, out DesiredStatePolicy? policy, out IReadOnlyList<string> errors)
    {
        try
        {
            policy = PolicyParser.Parse(json);
            errors = [];
            return true;
        }
        catch (PolicyFormatException ex)
        {
            policy = null;
            errors = ex.Errors;
            return false;
        }
    }

    /// <summary>
    /// The tenant policy written for <paramref name="tenantIdOrName"/> (compared case-insensitively with what the
    /// policy's <c>tenant</c> says), or null.
    /// </summary>
    public TenantPolicy? FindTenant(string tenantIdOrName) =>
        Tenants.FirstOrDefault(t => string.Equals(t.Tenant, tenantIdOrName, StringComparison.OrdinalIgnoreCase));

    /// <summary>The tenant policy for a tenant known by both id and name (the policy may use either), or null.</summary>
    public TenantPolicy? FindTenant(string tenantId, string? tenantName) =>
        FindTenant(tenantId) ?? (tenantName is null ? null : FindTenant(tenantName));
}

/// <summary>The desired state of one tenant.</summary>
public sealed class TenantPolicy
{
    internal TenantPolicy(
        string tenant, bool allowCreate, IReadOnlyList<ProductPolicy> products,
        IReadOnlyDictionary<string, GroupPath> devices, UnassignedDeviceRule unassignedDevices)
    {
        Tenant = tenant;
        AllowCreate = allowCreate;
        Products = products;
        Devices = devices;
        UnassignedDevices = unassignedDevices;
    }

    /// <summary>The tenant, by id or name, as written.</summary>
    public string Tenant { get; }

    /// <summary>Whether sweeps and provisioning may create products and device groups the policy names but the tenant lacks.</summary>
    public bool AllowCreate { get; }

    /// <summary>Governed products, in the order written.</summary>
    public IReadOnlyList<ProductPolicy> Products { get; }

    /// <summary>Explicit placements: device id (upper-case) → the group it belongs in.</summary>
    public IReadOnlyDictionary<string, GroupPath> Devices { get; }

    /// <summary>What to do with claimed devices that are in no group and have no explicit placement.</summary>
    public UnassignedDeviceRule UnassignedDevices { get; }

    /// <summary>Every governed device group.</summary>
    public IEnumerable<GroupPolicy> Groups => Products.SelectMany(p => p.DeviceGroups);

    /// <summary>The governed group at <paramref name="path"/>, or null.</summary>
    public GroupPolicy? FindGroup(GroupPath path) => Groups.FirstOrDefault(g => g.Path.Equals(path));

    /// <summary>The group a device belongs in by explicit placement, or null.</summary>
    public GroupPath? PlacementOf(string deviceId) =>
        Devices.TryGetValue(deviceId.ToUpperInvariant(), out var path) ? path : null;
}

/// <summary>A governed product and its device groups.</summary>
/// <param name="Name">Product name.</param>
/// <param name="DeviceGroups">Its governed device groups.</param>
public sealed record ProductPolicy(string Name, IReadOnlyList<GroupPolicy> DeviceGroups);

/// <summary>
/// A governed device group. Null expectations are not checked: a policy states only what it cares about.
/// </summary>
/// <param name="Path">Product and group name.</param>
/// <param name="OsFeedType">Expected OS feed, or null.</param>
/// <param name="UpdatePolicy">Expected update policy, or null.</param>
/// <param name="Deployment">Images (ids or names) the group's current deployment must carry exactly, or null.</param>
public sealed record GroupPolicy(GroupPath Path, OsFeedType? OsFeedType, UpdatePolicy? UpdatePolicy, IReadOnlyList<string>? Deployment);

/// <summary>What happens to claimed devices that are in no device group.</summary>
public enum UnassignedDeviceAction
{
    /// <summary>Report them as drift; remediation leaves them alone.</summary>
    Report,

    /// <summary>Report them, and move them to the rule's target group when remediating.</summary>
    Assign,
}

/// <summary>The rule for claimed devices that are in no device group (and not placed explicitly).</summary>
/// <param name="Action">Report only, or assign to <paramref name="Target"/>.</param>
/// <param name="Target">The group they go to with <see cref="UnassignedDeviceAction.Assign"/>.</param>
public sealed record UnassignedDeviceRule(UnassignedDeviceAction Action, GroupPath? Target)
{
    /// <summary>The default: report unassigned devices.</summary>
    public static UnassignedDeviceRule ReportOnly { get; } = new(UnassignedDeviceAction.Report, null);
}

/// <summary>A policy document could not be read; <see cref="Errors"/> lists every problem with its JSON path.</summary>
public sealed class PolicyFormatException : FormatException
{
    /// <summary>Creates the exception.</summary>
    public PolicyFormatException(IReadOnlyList<string> errors)
        : base("The desired-state policy is invalid: " + string.Join(" ", errors))
    {
        Errors = errors;
    }

    /// <summary>The problems, each starting with the JSON path it concerns (e.g. <c>tenants[0].products[1].name</c>).</summary>
    public IReadOnlyList<string> Errors { get; }
}
