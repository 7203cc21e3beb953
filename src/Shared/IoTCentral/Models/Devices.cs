using System.Text.Json;
using System.Text.Json.Serialization;

namespace Fleet.Shared.IoTCentral;

/// <summary>
/// An IoT Central device (<c>Device</c> of the 2022-07-31 data plane). <see cref="Template"/> is the device-template
/// assignment (a DTMI); <see cref="Organizations"/> holds at most one organization id (the service supports one).
/// </summary>
public sealed record IoTCentralDevice
{
    /// <summary>Device id (read-only on the wire; the path names it on PUT).</summary>
    public string? Id { get; init; }

    /// <summary>Version of the device record; sent back on PUT, a stale one is answered 412.</summary>
    [JsonPropertyName("etag")]
    public string? ETag { get; init; }

    /// <summary>Name shown in the application.</summary>
    public string? DisplayName { get; init; }

    /// <summary>The device template (a DTMI such as <c>dtmi:contoso:thermostat;1</c>); null when unassigned.</summary>
    public string? Template { get; init; }

    /// <summary>Whether the device may connect.</summary>
    public bool? Enabled { get; init; }

    /// <summary>Whether the device has provisioned through DPS (read-only).</summary>
    public bool? Provisioned { get; init; }

    /// <summary>Whether IoT Central simulates the device.</summary>
    public bool? Simulated { get; init; }

    /// <summary>The organization the device belongs to (one entry), or null for the application root.</summary>
    public IReadOnlyList<string>? Organizations { get; init; }
}

/// <summary>A merge patch of a device (<c>PATCH /devices/{id}</c>); null members are left unchanged.</summary>
public sealed record IoTCentralDevicePatch
{
    /// <summary>New display name.</summary>
    public string? DisplayName { get; init; }

    /// <summary>New template assignment (a DTMI).</summary>
    public string? Template { get; init; }

    /// <summary>Enables or disables the device.</summary>
    public bool? Enabled { get; init; }

    /// <summary>The organization to move the device to (one entry).</summary>
    public IReadOnlyList<string>? Organizations { get; init; }

    /// <summary>When set, the patch applies only if the device still has this etag (else 412).</summary>
    [JsonPropertyName("etag")]
    public string? ETag { get; init; }
}

/// <summary>A device template (<c>DeviceTemplate</c>): its DTMI, types and capability model.</summary>
public sealed record IoTCentralDeviceTemplate
{
    /// <summary>The template's DTMI.</summary>
    [JsonPropertyName("@id")]
    public string? Id { get; init; }

    /// <summary>The template's types, e.g. <c>ModelDefinition</c>, <c>DeviceModel</c>.</summary>
    [JsonPropertyName("@type")]
    public IReadOnlyList<string>? Types { get; init; }

    /// <summary>Version of the template record.</summary>
    [JsonPropertyName("etag")]
    public string? ETag { get; init; }

    /// <summary>Name shown in the application.</summary>
    public string? DisplayName { get; init; }

    /// <summary>Description.</summary>
    public string? Description { get; init; }

    /// <summary>The DTDL capability model, as the service returned it.</summary>
    public JsonElement? CapabilityModel { get; init; }
}

/// <summary>
/// A device group (<c>DeviceGroup</c>). Membership comes only from <see cref="Filter"/> (an IoT Central query) and
/// the group's organizations; there is no add-device operation.
/// </summary>
public sealed record IoTCentralDeviceGroup
{
    /// <summary>Group id.</summary>
    public string? Id { get; init; }

    /// <summary>Name shown in the application.</summary>
    public string? DisplayName { get; init; }

    /// <summary>The query that selects members, e.g. <c>SELECT * FROM devices WHERE $template = "dtmi:…"</c>.</summary>
    public string? Filter { get; init; }

    /// <summary>Description.</summary>
    public string? Description { get; init; }

    /// <summary>Version of the group record.</summary>
    [JsonPropertyName("etag")]
    public string? ETag { get; init; }

    /// <summary>Organizations the group is scoped to.</summary>
    public IReadOnlyList<string>? Organizations { get; init; }
}

/// <summary>An organization of the application's hierarchy.</summary>
/// <param name="Id">Organization id.</param>
/// <param name="DisplayName">Name shown in the application.</param>
/// <param name="Parent">Parent organization id; null for a child of the root.</param>
public sealed record IoTCentralOrganization(string Id, string? DisplayName, string? Parent);

/// <summary>A role assignment of a user or API token.</summary>
/// <param name="Role">Role id (e.g. the Administrator role's GUID).</param>
/// <param name="Organization">Organization the role applies to; null for the whole application.</param>
public sealed record IoTCentralRoleAssignment(string Role, string? Organization = null);

/// <summary>
/// A user of the application, discriminated by <see cref="Type"/>: <c>email</c> (with <see cref="Email"/>),
/// <c>servicePrincipal</c> or <c>adGroup</c> (with <see cref="TenantId"/> and <see cref="ObjectId"/>).
/// </summary>
public sealed record IoTCentralUser
{
    /// <summary>User id.</summary>
    public string? Id { get; init; }

    /// <summary><c>email</c>, <c>servicePrincipal</c> or <c>adGroup</c>.</summary>
    public string? Type { get; init; }

    /// <summary>E-mail address of an <c>email</c> user.</summary>
    public string? Email { get; init; }

    /// <summary>Entra tenant of a service principal or group.</summary>
    public string? TenantId { get; init; }

    /// <summary>Entra object id of a service principal or group.</summary>
    public string? ObjectId { get; init; }

    /// <summary>The user's roles (at least one).</summary>
    public IReadOnlyList<IoTCentralRoleAssignment>? Roles { get; init; }
}

/// <summary>
/// An IoT Central API token. <see cref="Token"/> (the <c>SharedAccessSignature …</c> value) is present only in the
/// answer to its creation, never in later reads; it is a secret: store it, never log it. <see cref="ToString"/>
/// leaves it out.
/// </summary>
public sealed class IoTCentralApiToken
{
    /// <summary>Token id (the <c>skn</c> of the token value).</summary>
    public string? Id { get; init; }

    /// <summary>The secret value, only right after creation.</summary>
    public string? Token { get; init; }

    /// <summary>When the token stops working.</summary>
    public DateTimeOffset? Expiry { get; init; }

    /// <summary>The token's roles.</summary>
    public IReadOnlyList<IoTCentralRoleAssignment>? Roles { get; init; }

    /// <summary>Id and expiry only: the secret value never appears.</summary>
    public override string ToString() => $"API token {Id} (expires {Expiry:O})";
}

/// <summary>What <see cref="IoTCentralClient.RotateApiTokenAsync"/> did.</summary>
/// <param name="NewToken">The new token, value included (a secret).</param>
/// <param name="PreviousTokenId">The token the client used before.</param>
/// <param name="StoredIn">The file the new value was written to (<c>apiTokenFile</c>), or null when none is configured.</param>
/// <param name="PreviousTokenDeleted">Whether the previous token was deleted from the application.</param>
public sealed record IoTCentralApiTokenRotation(
    IoTCentralApiToken NewToken, string PreviousTokenId, string? StoredIn, bool PreviousTokenDeleted)
{
    /// <summary>Ids and file only: the secret value never appears.</summary>
    public override string ToString() =>
        $"Rotated API token {PreviousTokenId} to {NewToken.Id} (expires {NewToken.Expiry:O}); stored in {StoredIn ?? "(nowhere)"}";
}

/// <summary>The outcome of <see cref="IoTCentralClient.ProvisionDeviceAsync"/>.</summary>
/// <param name="Device">The device as the application has it now.</param>
/// <param name="Change">Whether the device was created, updated or already as asked.</param>
/// <param name="ListedInGroup">Whether the target device group lists the device (its filter matches it).</param>
/// <param name="DeviceGroup">The target device group, with the filter that decides membership.</param>
public sealed record IoTCentralProvisioningResult(
    IoTCentralDevice Device, ProvisioningChange Change, bool ListedInGroup, IoTCentralDeviceGroup DeviceGroup);

/// <summary>What provisioning had to change.</summary>
public enum ProvisioningChange
{
    /// <summary>The device already had the template, organization and enabled state asked for.</summary>
    Unchanged = 0,

    /// <summary>The device did not exist and was created.</summary>
    Created = 1,

    /// <summary>The device existed and was updated.</summary>
    Updated = 2,
}

/// <summary>What provisioning asks of a device.</summary>
public sealed record IoTCentralProvisioningRequest
{
    /// <summary>Device id.</summary>
    public required string DeviceId { get; init; }

    /// <summary>Device template (a DTMI).</summary>
    public required string Template { get; init; }

    /// <summary>The device group that must list the device afterwards.</summary>
    public required string DeviceGroupId { get; init; }

    /// <summary>The organization; null leaves the device at the application root.</summary>
    public string? Organization { get; init; }

    /// <summary>Display name; null keeps an existing one (a new device gets its id).</summary>
    public string? DisplayName { get; init; }

    /// <summary>Whether the device may connect. Default true.</summary>
    public bool Enabled { get; init; } = true;
}

internal sealed record ValueCollection<T>(List<T>? Value, string? NextLink);

internal sealed record ApiTokenRequest(IReadOnlyList<IoTCentralRoleAssignment> Roles, DateTimeOffset? Expiry);

internal sealed record ErrorEnvelope(ErrorBody? Error);

internal sealed record ErrorBody(string? Code, string? Message, string? RequestId, string? Time);

internal static class IoTCentralJson
{
    public static JsonSerializerOptions Options { get; } = new()
    {
        PropertyNamingPolicy = JsonNamingPolicy.CamelCase,
        PropertyNameCaseInsensitive = true,
        DefaultIgnoreCondition = JsonIgnoreCondition.WhenWritingNull,
    };
}
