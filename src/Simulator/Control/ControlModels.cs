using System.Text.Json.Serialization;

namespace Fleet.Simulator;

/// <summary>A Sphere tenant role; Readers may only GET, Contributors and Administrators may also write.</summary>
public enum TenantRole
{
    /// <summary>Read-only access.</summary>
    Reader = 0,

    /// <summary>Read and write access.</summary>
    Contributor = 1,

    /// <summary>Full access.</summary>
    Administrator = 2,
}

/// <summary>Where a device stands with its group's current deployment.</summary>
public enum DeviceInstallState
{
    /// <summary>No deployment has reached the device.</summary>
    None = 0,

    /// <summary>Targeted; the install falls due after the install delay.</summary>
    Pending = 1,

    /// <summary>The deployment's images are installed and an insight event was recorded.</summary>
    Installed = 2,

    /// <summary>The device drew an install failure for this deployment and will never report it installed.</summary>
    Failed = 3,

    /// <summary>The group's UpdatePolicy (1 or 2) keeps application updates off the device.</summary>
    Blocked = 4,
}

/// <summary>A managed identity the simulator's token endpoint can issue tokens for.</summary>
/// <param name="Name">A display name.</param>
/// <param name="PrincipalId">The object id (token claim <c>oid</c>); tenant users are keyed by it.</param>
/// <param name="ClientId">The client (application) id; user-assigned identities are requested by it.</param>
/// <param name="ResourceId">The ARM resource id of a user-assigned identity (<c>mi_res_id</c>); null for system-assigned.</param>
public sealed record ManagedIdentityDescription(string Name, Guid PrincipalId, Guid ClientId, string? ResourceId);

/// <summary>A user of a Sphere tenant and its role.</summary>
public sealed record TenantUserDescription(Guid PrincipalId, string DisplayName, TenantRole Role);

/// <summary>An image uploaded to a tenant.</summary>
public sealed record ImageDescription(Guid Id, string Name, Guid ComponentId);

/// <summary>A device group as the simulator holds it now.</summary>
/// <param name="Id">Device group id.</param>
/// <param name="Name">Device group name.</param>
/// <param name="OsFeedType">0 Retail, 1 RetailEval.</param>
/// <param name="UpdatePolicy">0 UpdateAll, 1 No3rdPartyAppUpdates, 2 NoUpdates.</param>
/// <param name="CurrentDeploymentId">The group's current deployment, if any.</param>
/// <param name="CurrentImageIds">Images of the current deployment.</param>
/// <param name="DeviceCount">Devices assigned to the group.</param>
/// <param name="InstallFailureRate">The group's own install failure rate, or null when the global rate applies.</param>
/// <param name="SampleDeviceIds">Up to three of the group's device ids, in id order.</param>
public sealed record DeviceGroupDescription(
    Guid Id,
    string Name,
    int OsFeedType,
    int UpdatePolicy,
    Guid? CurrentDeploymentId,
    IReadOnlyList<Guid> CurrentImageIds,
    int DeviceCount,
    double? InstallFailureRate,
    IReadOnlyList<string> SampleDeviceIds);

/// <summary>A product and its device groups.</summary>
public sealed record ProductDescription(Guid Id, string Name, int DeviceCount, IReadOnlyList<DeviceGroupDescription> DeviceGroups)
{
    /// <summary>The device group with this name (case-insensitive).</summary>
    public DeviceGroupDescription GetDeviceGroup(string name) =>
        DeviceGroups.FirstOrDefault(g => string.Equals(g.Name, name, StringComparison.OrdinalIgnoreCase))
        ?? throw new KeyNotFoundException($"Product '{Name}' has no device group '{name}'.");
}

/// <summary>A Sphere tenant with its users, products, images and devices.</summary>
/// <param name="Id">Tenant id.</param>
/// <param name="Name">Tenant name.</param>
/// <param name="Key">"A", "B" or "C": a stable handle for tests and demos.</param>
/// <param name="Users">Principals with a role in the tenant.</param>
/// <param name="Products">Products, in creation order.</param>
/// <param name="Images">Uploaded images, in upload order.</param>
/// <param name="ClaimedDeviceCount">Devices claimed by the tenant.</param>
/// <param name="UnassignedDeviceIds">Claimed devices in no device group.</param>
public sealed record TenantDescription(
    Guid Id,
    string Name,
    string Key,
    IReadOnlyList<TenantUserDescription> Users,
    IReadOnlyList<ProductDescription> Products,
    IReadOnlyList<ImageDescription> Images,
    int ClaimedDeviceCount,
    IReadOnlyList<string> UnassignedDeviceIds)
{
    /// <summary>The product with this name (case-insensitive).</summary>
    public ProductDescription GetProduct(string name) =>
        Products.FirstOrDefault(p => string.Equals(p.Name, name, StringComparison.OrdinalIgnoreCase))
        ?? throw new KeyNotFoundException($"Tenant '{Name}' has no product '{name}'.");
}

/// <summary>The simulated fleet as it is now (right after start or reset: the seeded fleet).</summary>
/// <param name="Seed">The seed the fleet was generated from.</param>
/// <param name="DeviceCount">Devices in the fleet, claimed or not.</param>
/// <param name="IdentityTenantId">The Entra tenant id (<c>tid</c>) of issued tokens.</param>
/// <param name="SystemAssignedIdentity">The identity issued when no client id is asked for.</param>
/// <param name="UserAssignedIdentities">Identities issued by client id, object id or resource id.</param>
/// <param name="Tenants">Tenants A ("Contoso Fleet"), B ("Fabrikam Fleet") and C ("Northwind Lab").</param>
/// <param name="UnclaimedDeviceIds">Devices no tenant has claimed; any tenant may claim them.</param>
public sealed record FleetDescription(
    int Seed,
    int DeviceCount,
    Guid IdentityTenantId,
    ManagedIdentityDescription SystemAssignedIdentity,
    IReadOnlyList<ManagedIdentityDescription> UserAssignedIdentities,
    IReadOnlyList<TenantDescription> Tenants,
    IReadOnlyList<string> UnclaimedDeviceIds)
{
    /// <summary>Tenant A, "Contoso Fleet": both seeded identities are Contributors, the auditor identity a Reader.</summary>
    [JsonIgnore]
    public TenantDescription Contoso => GetTenant("A");

    /// <summary>Tenant B, "Fabrikam Fleet": both seeded identities are Contributors.</summary>
    [JsonIgnore]
    public TenantDescription Fabrikam => GetTenant("B");

    /// <summary>Tenant C, "Northwind Lab": none of the issuable identities is a user (every call is 403).</summary>
    [JsonIgnore]
    public TenantDescription Northwind => GetTenant("C");

    /// <summary>The tenant with this key ("A", "B", "C") or name (case-insensitive).</summary>
    public TenantDescription GetTenant(string keyOrName) =>
        Tenants.FirstOrDefault(t => string.Equals(t.Key, keyOrName, StringComparison.OrdinalIgnoreCase)
                                    || string.Equals(t.Name, keyOrName, StringComparison.OrdinalIgnoreCase))
        ?? throw new KeyNotFoundException($"No tenant '{keyOrName}'.");

    /// <summary>The seeded user-assigned identity with this name.</summary>
    public ManagedIdentityDescription GetUserAssignedIdentity(string name) =>
        UserAssignedIdentities.FirstOrDefault(i => string.Equals(i.Name, name, StringComparison.OrdinalIgnoreCase))
        ?? throw new KeyNotFoundException($"No user-assigned identity '{name}'.");
}

/// <summary>What the simulator knows about one device (<c>GET /_sim/devices/{deviceId}</c>).</summary>
/// <param name="DeviceId">The device id (128 upper-case hex characters).</param>
/// <param name="Claimed">Whether a tenant has claimed it.</param>
/// <param name="TenantId">The claiming tenant.</param>
/// <param name="ProductId">The product of its device group.</param>
/// <param name="DeviceGroupId">Its device group.</param>
/// <param name="TargetedDeploymentId">The group's current deployment (what <c>devices/{id}/images</c> lists).</param>
/// <param name="TargetedImageIds">Images of that deployment.</param>
/// <param name="InstallState">Where the device stands with the deployment it last met.</param>
/// <param name="InstalledDeploymentId">The last deployment it installed.</param>
/// <param name="InstalledImageIds">Images of that deployment.</param>
/// <param name="InstalledAtUtc">When it reported them installed.</param>
public sealed record DeviceView(
    string DeviceId,
    bool Claimed,
    Guid? TenantId,
    Guid? ProductId,
    Guid? DeviceGroupId,
    Guid? TargetedDeploymentId,
    IReadOnlyList<Guid> TargetedImageIds,
    DeviceInstallState InstallState,
    Guid? InstalledDeploymentId,
    IReadOnlyList<Guid> InstalledImageIds,
    DateTime? InstalledAtUtc);

/// <summary>How far a device group's devices have installed its current deployment.</summary>
/// <param name="DeviceGroupId">The device group.</param>
/// <param name="CurrentDeploymentId">Its current deployment, if any.</param>
/// <param name="DeviceCount">Devices in the group.</param>
/// <param name="Installed">Devices that report the current deployment installed.</param>
/// <param name="Pending">Devices whose install has not fallen due yet.</param>
/// <param name="Failed">Devices that drew an install failure.</param>
/// <param name="Blocked">Devices held back by the group's UpdatePolicy.</param>
/// <param name="InstallFailureRate">The rate in force for the group (its own, or the global one).</param>
public sealed record GroupInstallStatus(
    Guid DeviceGroupId,
    Guid? CurrentDeploymentId,
    int DeviceCount,
    int Installed,
    int Pending,
    int Failed,
    int Blocked,
    double InstallFailureRate)
{
    /// <summary>Share (0–1) of the group's devices that report the current deployment installed.</summary>
    public double InstalledShare => DeviceCount == 0 ? 0 : (double)Installed / DeviceCount;
}

/// <summary>The simulator's run-time settings (<c>GET /_sim/settings</c>).</summary>
public sealed record SimulatorSettings(
    double FaultRate,
    int LatencyMs,
    double RateLimit,
    int Burst,
    RetryAfterMode RetryAfter,
    int OperationDelayMs,
    int InstallDelayMs,
    double InstallFailureRate,
    int DefaultPageSize,
    int MaxPageSize,
    TimeSpan TokenLifetime,
    ConflictReporting ConflictReporting)
{
    internal static SimulatorSettings From(SimulatorOptions o) => new(
        o.FaultRate, o.LatencyMs, o.RateLimit, o.Burst, o.RetryAfter, o.OperationDelayMs, o.InstallDelayMs,
        o.InstallFailureRate, o.DefaultPageSize, o.MaxPageSize, o.TokenLifetime, o.ConflictReporting);

    /// <summary>Bucket capacity in force: <see cref="Burst"/>, or the rate (at least 1) when Burst is 0.</summary>
    [JsonIgnore]
    public int EffectiveBurst => Burst > 0 ? Burst : Math.Max(1, (int)Math.Ceiling(RateLimit));
}

/// <summary>A partial update of <see cref="SimulatorSettings"/>; null members are left as they are.</summary>
public sealed record SimulatorSettingsUpdate
{
    /// <summary>Fraction (0–1) of API requests answered 500/503.</summary>
    public double? FaultRate { get; init; }

    /// <summary>Milliseconds added to every API response.</summary>
    public int? LatencyMs { get; init; }

    /// <summary>Requests per second per tenant; 0 = unlimited.</summary>
    public double? RateLimit { get; init; }

    /// <summary>Token-bucket capacity per tenant; 0 = same as the rate.</summary>
    public int? Burst { get; init; }

    /// <summary>How 429s carry Retry-After.</summary>
    public RetryAfterMode? RetryAfter { get; init; }

    /// <summary>Milliseconds from an Operation's creation to its end (applies to new operations).</summary>
    public int? OperationDelayMs { get; init; }

    /// <summary>Milliseconds from targeting to installed (applies to installs scheduled from now on).</summary>
    public int? InstallDelayMs { get; init; }

    /// <summary>Global fraction (0–1) of devices that never install (groups with their own rate keep it).</summary>
    public double? InstallFailureRate { get; init; }

    /// <summary>Default page size of list calls.</summary>
    public int? DefaultPageSize { get; init; }

    /// <summary>Largest honoured maxPageSize.</summary>
    public int? MaxPageSize { get; init; }

    /// <summary>Lifetime of tokens issued from now on.</summary>
    public TimeSpan? TokenLifetime { get; init; }

    /// <summary>How conflicts on Operation-returning calls are reported.</summary>
    public ConflictReporting? ConflictReporting { get; init; }
}

/// <summary>Makes the next <see cref="Count"/> operations (optionally of one type) end Failed, without side effects.</summary>
/// <param name="Count">How many operations to fail.</param>
/// <param name="OperationType">Only operations of this Sphere OperationType (e.g. 5 DeployToDeviceGroup); null = any.</param>
/// <param name="ErrorCode">The Sphere Error.Code to report (0 OperationFailed … 8 NotFound).</param>
/// <param name="Message">Error.Message to report; a default naming the injection when null.</param>
/// <param name="CompleteWithErrors">End in State 4 (CompleteWithErrors) instead of 3 (Failed); side effects still apply.</param>
public sealed record OperationFailureInjection(int Count, int? OperationType = null, int ErrorCode = 0, string? Message = null, bool CompleteWithErrors = false);

/// <summary>A request count for one endpoint (method + route template) and status code.</summary>
public sealed record EndpointCounter(string Method, string Route, int Status, long Count);

/// <summary>Request counts for one Sphere tenant.</summary>
public sealed record TenantCounter(Guid TenantId, long Total, long Throttled);

/// <summary>Exact request counters since start or the last counter reset.</summary>
/// <param name="SinceUtc">When counting started (simulator clock).</param>
/// <param name="Total">Every counted request (API and token endpoint; the control API is not counted).</param>
/// <param name="Throttled">Requests answered 429.</param>
/// <param name="ByStatus">Requests per status code.</param>
/// <param name="Endpoints">Requests per endpoint and status code.</param>
/// <param name="Tenants">Requests per Sphere tenant (calls under <c>v2/tenants/{tenantId}/…</c>).</param>
public sealed record CounterSnapshot(
    DateTimeOffset SinceUtc,
    long Total,
    long Throttled,
    IReadOnlyDictionary<int, long> ByStatus,
    IReadOnlyList<EndpointCounter> Endpoints,
    IReadOnlyList<TenantCounter> Tenants)
{
    /// <summary>Requests to a route template (e.g. <c>v2/tenants/{tenantId}/devices</c>), optionally of one method and status.</summary>
    public long CountFor(string route, int? status = null, string? method = null) =>
        Endpoints.Where(e => string.Equals(e.Route, route.TrimStart('/'), StringComparison.OrdinalIgnoreCase)
                             && (status is null || e.Status == status)
                             && (method is null || string.Equals(e.Method, method, StringComparison.OrdinalIgnoreCase)))
            .Sum(e => e.Count);

    /// <summary>Requests answered with this status.</summary>
    public long CountStatus(int status) => ByStatus.TryGetValue(status, out var n) ? n : 0;

    /// <summary>Requests to the managed-identity token endpoint.</summary>
    [JsonIgnore]
    public long TokenRequests => CountFor(SimulatorRoutes.Token);
}

/// <summary>Route templates of the simulator, as counters report them.</summary>
public static class SimulatorRoutes
{
    /// <summary>The managed-identity token endpoint.</summary>
    public const string Token = "msi/token";
}

/// <summary>An error of the control API.</summary>
/// <param name="Error">What went wrong.</param>
public sealed record ControlError(string Error);

/// <summary>Body of <c>PUT /_sim/devicegroups/{id}/install-failure-rate</c>.</summary>
/// <param name="Rate">The group's own failure rate (0–1), or null to fall back to the global rate.</param>
public sealed record GroupFailureRateRequest(double? Rate);

/// <summary>Body of <c>PUT /_sim/tenants/{tenantId}/users/{principalId}</c>.</summary>
/// <param name="Role">The role to give.</param>
/// <param name="DisplayName">A display name; kept or derived when null.</param>
public sealed record TenantUserRequest(TenantRole Role, string? DisplayName = null);

/// <summary>Body of <c>POST /_sim/tokens</c>: mint a token directly, e.g. for another audience or an expired one.</summary>
/// <param name="PrincipalId">The <c>oid</c>; the system-assigned identity when null.</param>
/// <param name="ClientId">The <c>appid</c>.</param>
/// <param name="Audience">The <c>aud</c>; the Sphere API audience when null.</param>
/// <param name="LifetimeSeconds">Lifetime (negative for an already expired token); the configured lifetime when null.</param>
public sealed record TokenRequest(Guid? PrincipalId = null, Guid? ClientId = null, string? Audience = null, int? LifetimeSeconds = null);

/// <summary>A token minted by the control API.</summary>
/// <param name="AccessToken">The bearer token.</param>
/// <param name="ExpiresOn">Its expiry (simulator clock).</param>
public sealed record IssuedToken(string AccessToken, DateTimeOffset ExpiresOn);
