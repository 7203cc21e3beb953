namespace Fleet.Simulator;

/// <summary>A simulated IoT Central application (<c>GET /_sim/iotc/apps</c>).</summary>
/// <param name="Name">Route name (a real application's subdomain).</param>
/// <param name="DisplayName">Display name.</param>
/// <param name="ApplicationId">Application id (the <c>sr</c> of its API tokens).</param>
/// <param name="ApiPath">Path of its API base below the simulator root, e.g. <c>iotc/contoso/api/</c>.</param>
/// <param name="Devices">Devices it has now.</param>
/// <param name="Templates">Its device template ids.</param>
/// <param name="Organizations">Its organization ids.</param>
/// <param name="DeviceGroups">Its device group ids.</param>
public sealed record IoTCentralAppDescription(
    string Name,
    string DisplayName,
    Guid ApplicationId,
    string ApiPath,
    int Devices,
    IReadOnlyList<string> Templates,
    IReadOnlyList<string> Organizations,
    IReadOnlyList<string> DeviceGroups);

/// <summary>Body of <c>POST /_sim/iotc/apps/{app}/apiTokens</c>: mints an API token directly.</summary>
/// <param name="Id">Token id.</param>
/// <param name="Role">Role id; Administrator when null.</param>
/// <param name="Organization">Organization the role is limited to; null for the whole application.</param>
/// <param name="Expiry">Expiry; the configured lifetime (a year) from now when null.</param>
public sealed record IoTCentralApiTokenRequest(string Id, string? Role = null, string? Organization = null, DateTimeOffset? Expiry = null);

/// <summary>A minted API token, value included.</summary>
/// <param name="Id">Token id.</param>
/// <param name="Token">The <c>SharedAccessSignature …</c> value.</param>
/// <param name="Expiry">Expiry.</param>
public sealed record IoTCentralIssuedApiToken(string Id, string Token, DateTimeOffset Expiry);

/// <summary>Body of <c>PUT /_sim/iotc/apps/{app}/users/{objectId}</c>: makes a principal a user with a role.</summary>
/// <param name="Role">Role id.</param>
/// <param name="Organization">Organization the role is limited to; null for the whole application.</param>
public sealed record IoTCentralUserRequest(string Role, string? Organization = null);

/// <summary>The default IoT Central role ids.</summary>
public static class IoTCentralRoleIds
{
    /// <summary>Administrator: everything, users and API tokens included.</summary>
    public const string Administrator = "ca310b8d-2f4a-44e0-a36e-957c202cd8d4";

    /// <summary>Builder: reads, templates and device groups.</summary>
    public const string Builder = "344138e9-8de4-4497-8c54-5237e96d6aaf";

    /// <summary>Operator: reads, devices and jobs.</summary>
    public const string Operator = "ae2c9854-393b-4f97-8c42-479d70ce626e";
}

/// <summary>Requests an application answered since start or the last counter reset (dropped connections excluded).</summary>
/// <param name="App">Application name.</param>
/// <param name="Total">Requests answered.</param>
/// <param name="Throttled">Of them, answered 429.</param>
/// <param name="ByStatus">Answers per HTTP status.</param>
public sealed record IoTCentralAppCounters(string App, long Total, long Throttled, IReadOnlyDictionary<int, long> ByStatus);
