using System.Text.Json.Serialization;

namespace Fleet.Simulator.IoTConnect;

/// <summary>Base URLs of the simulated IoTConnect services (each already ends in <c>api/v2/</c>, as discovery gives them).</summary>
/// <param name="Discovery">Root of the discovery service: <c>{Discovery}api/uisdk/solutionkey/{key}/env/{env}</c>.</param>
/// <param name="Auth">The auth service (<c>Auth/basic-token</c>, <c>Auth/login</c>, <c>Auth/refresh-token</c>).</param>
/// <param name="Device">The device service (devices, templates).</param>
/// <param name="User">The user service (entities).</param>
/// <param name="Firmware">The firmware service (firmware, upgrades, OTA updates).</param>
public sealed record IoTConnectBaseUrls(Uri Discovery, Uri Auth, Uri Device, Uri User, Uri Firmware)
{
    /// <summary>The base URLs of the simulator at <paramref name="simulatorBase"/> (e.g. <c>http://127.0.0.1:5080/</c>).</summary>
    public static IoTConnectBaseUrls For(Uri simulatorBase)
    {
        ArgumentNullException.ThrowIfNull(simulatorBase);
        return new IoTConnectBaseUrls(
            new Uri(simulatorBase, IoTConnectRoutes.Prefix + "/discovery/"),
            Service(simulatorBase, "auth"),
            Service(simulatorBase, "device"),
            Service(simulatorBase, "user"),
            Service(simulatorBase, "firmware"));
    }

    internal static Uri Service(Uri simulatorBase, string service) =>
        new(simulatorBase, $"{IoTConnectRoutes.Prefix}/{service}/{IoTConnectRoutes.Version}/");
}

/// <summary>Route templates of the simulated IoTConnect services, as the request counters report them.</summary>
public static class IoTConnectRoutes
{
    /// <summary>Every IoTConnect service lives under this path prefix, one segment per service.</summary>
    public const string Prefix = "iotconnect";

    /// <summary>The version path of every service (<c>api/v2</c>, the Azure-hosted instances' version).</summary>
    public const string Version = "api/v2";

    /// <summary><c>GET</c> of the basic token.</summary>
    public const string BasicToken = Prefix + "/auth/" + Version + "/Auth/basic-token";

    /// <summary><c>POST</c> of a login.</summary>
    public const string Login = Prefix + "/auth/" + Version + "/Auth/login";

    /// <summary><c>POST</c> of a refresh.</summary>
    public const string RefreshToken = Prefix + "/auth/" + Version + "/Auth/refresh-token";

    /// <summary>True for a counted route of the auth or discovery service (not rate-limited).</summary>
    public static bool IsAuthOrDiscovery(string route) =>
        route.StartsWith(Prefix + "/auth/", StringComparison.OrdinalIgnoreCase)
        || route.StartsWith(Prefix + "/discovery/", StringComparison.OrdinalIgnoreCase);

    /// <summary>True for a counted route of the rate-limited services (device, user, firmware).</summary>
    public static bool IsLimitedService(string route) =>
        route.StartsWith(Prefix + "/", StringComparison.OrdinalIgnoreCase) && !IsAuthOrDiscovery(route);
}

/// <summary>The simulated IoTConnect as it is now (<c>GET /_sim/iotconnect</c>).</summary>
/// <param name="BaseUrls">Where its services listen.</param>
/// <param name="Environment">The <c>env</c> discovery accepts.</param>
/// <param name="Solutions">Solutions A ("Contoso") and B ("Fabrikam").</param>
public sealed record IoTConnectDescription(IoTConnectBaseUrls BaseUrls, string Environment, IReadOnlyList<IoTConnectSolutionDescription> Solutions)
{
    /// <summary>Solution A, "Contoso": four fifths of the seeded devices.</summary>
    [JsonIgnore]
    public IoTConnectSolutionDescription Contoso => GetSolution("A");

    /// <summary>Solution B, "Fabrikam": one fifth of the seeded devices.</summary>
    [JsonIgnore]
    public IoTConnectSolutionDescription Fabrikam => GetSolution("B");

    /// <summary>The solution with this key ("A", "B") or name (case-insensitive).</summary>
    public IoTConnectSolutionDescription GetSolution(string keyOrName) =>
        Solutions.FirstOrDefault(s => string.Equals(s.Key, keyOrName, StringComparison.OrdinalIgnoreCase)
                                      || string.Equals(s.Name, keyOrName, StringComparison.OrdinalIgnoreCase))
        ?? throw new KeyNotFoundException($"No IoTConnect solution '{keyOrName}'.");
}

/// <summary>One IoTConnect solution (an Avnet customer account) and what it holds.</summary>
/// <param name="Key">"A" or "B": a stable handle for tests and demos.</param>
/// <param name="Name">Company name.</param>
/// <param name="SolutionKey">The <c>solution-key</c> header value of its logins.</param>
/// <param name="Username">Its user's login name.</param>
/// <param name="Password">Its user's password (derived from the seed; a simulator-only secret).</param>
/// <param name="RootEntityGuid">The company's root entity.</param>
/// <param name="Entities">The entity tree, parents before children.</param>
/// <param name="Templates">Device templates with their firmware and upgrades.</param>
/// <param name="DeviceCount">Devices of the solution.</param>
/// <param name="SampleUniqueIds">The first three device unique ids.</param>
public sealed record IoTConnectSolutionDescription(
    string Key,
    string Name,
    string SolutionKey,
    string Username,
    string Password,
    Guid RootEntityGuid,
    IReadOnlyList<IoTConnectEntityDescription> Entities,
    IReadOnlyList<IoTConnectTemplateDescription> Templates,
    int DeviceCount,
    IReadOnlyList<string> SampleUniqueIds)
{
    /// <summary>The entity with this name (case-insensitive).</summary>
    public IoTConnectEntityDescription GetEntity(string name) =>
        Entities.FirstOrDefault(e => string.Equals(e.Name, name, StringComparison.OrdinalIgnoreCase))
        ?? throw new KeyNotFoundException($"Solution '{Name}' has no entity '{name}'.");

    /// <summary>The template with this code (case-insensitive).</summary>
    public IoTConnectTemplateDescription GetTemplate(string code) =>
        Templates.FirstOrDefault(t => string.Equals(t.Code, code, StringComparison.OrdinalIgnoreCase))
        ?? throw new KeyNotFoundException($"Solution '{Name}' has no template '{code}'.");
}

/// <summary>An entity (IoTConnect's device group).</summary>
public sealed record IoTConnectEntityDescription(Guid EntityGuid, string Name, Guid? ParentEntityGuid, int DeviceCount);

/// <summary>A device template with its firmware (one per template) and the firmware's upgrades.</summary>
public sealed record IoTConnectTemplateDescription(
    Guid TemplateGuid,
    string Code,
    string Name,
    Guid? FirmwareGuid,
    string? FirmwareName,
    IReadOnlyList<IoTConnectUpgradeDescription> Upgrades)
{
    /// <summary>The upgrade with this software version.</summary>
    public IoTConnectUpgradeDescription GetUpgrade(string software) =>
        Upgrades.FirstOrDefault(u => string.Equals(u.Software, software, StringComparison.OrdinalIgnoreCase))
        ?? throw new KeyNotFoundException($"Template '{Code}' has no firmware upgrade '{software}'.");
}

/// <summary>A firmware upgrade (version) and whether it is released or a draft.</summary>
public sealed record IoTConnectUpgradeDescription(Guid UpgradeGuid, string Software, bool Released);

/// <summary>What the simulator knows about one IoTConnect device (<c>GET /_sim/iotconnect/devices/{uniqueId}</c>).</summary>
public sealed record IoTConnectDeviceView(
    Guid DeviceGuid,
    string UniqueId,
    string SolutionKey,
    Guid TemplateGuid,
    Guid EntityGuid,
    bool Acquired,
    Guid? FirmwareUpgradeGuid,
    string? FirmwareVersion);

/// <summary>The IoTConnect run-time settings (<c>GET /_sim/iotconnect/settings</c>); see <see cref="IoTConnectSimulatorOptions"/>.</summary>
public sealed record IoTConnectSettings(
    double RateLimit,
    int Burst,
    IoTConnectThrottleResponse ThrottleResponse,
    RetryAfterMode RetryAfter,
    TimeSpan AccessTokenLifetime,
    TimeSpan RefreshTokenLifetime,
    int OtaDelayMs,
    double OtaFailureRate,
    double DropRate,
    int DefaultPageSize,
    int MaxPageSize)
{
    internal static IoTConnectSettings From(IoTConnectSimulatorOptions o) => new(
        o.RateLimit, o.Burst, o.ThrottleResponse, o.RetryAfter, o.AccessTokenLifetime, o.RefreshTokenLifetime,
        o.OtaDelayMs, o.OtaFailureRate, o.DropRate, o.DefaultPageSize, o.MaxPageSize);

    /// <summary>Bucket capacity in force: <see cref="Burst"/>, or the rate (at least 1) when Burst is 0.</summary>
    [JsonIgnore]
    public int EffectiveBurst => Burst > 0 ? Burst : Math.Max(1, (int)Math.Ceiling(RateLimit));
}

/// <summary>A partial update of <see cref="IoTConnectSettings"/>; null members are left as they are.</summary>
public sealed record IoTConnectSettingsUpdate
{
    /// <summary>Requests per second per solution; 0 = unlimited.</summary>
    public double? RateLimit { get; init; }

    /// <summary>Token-bucket capacity per solution; 0 = the rate.</summary>
    public int? Burst { get; init; }

    /// <summary>Status of throttled answers.</summary>
    public IoTConnectThrottleResponse? ThrottleResponse { get; init; }

    /// <summary>Retry-After on throttled answers.</summary>
    public RetryAfterMode? RetryAfter { get; init; }

    /// <summary>Lifetime of access tokens issued from now on.</summary>
    public TimeSpan? AccessTokenLifetime { get; init; }

    /// <summary>Lifetime of refresh tokens issued from now on.</summary>
    public TimeSpan? RefreshTokenLifetime { get; init; }

    /// <summary>OTA delay of updates created from now on.</summary>
    public int? OtaDelayMs { get; init; }

    /// <summary>OTA failure rate applied when an item's final status falls due.</summary>
    public double? OtaFailureRate { get; init; }

    /// <summary>Fraction of dropped connections.</summary>
    public double? DropRate { get; init; }

    /// <summary>Default page size.</summary>
    public int? DefaultPageSize { get; init; }

    /// <summary>Largest honoured page size.</summary>
    public int? MaxPageSize { get; init; }
}

/// <summary>Body of the token control calls: which solution's tokens (null or omitted = every solution).</summary>
/// <param name="Solution">Solution key ("A", "B") or name.</param>
public sealed record IoTConnectTokenScope(string? Solution = null);

/// <summary>Answer of the token control calls.</summary>
/// <param name="Affected">How many tokens were expired or revoked.</param>
public sealed record IoTConnectTokenActionResult(int Affected);
