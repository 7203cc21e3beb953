using System.Text.Json.Nodes;

namespace Fleet.Simulator.IoTCentral;

/// <summary>The three default IoT Central roles (their well-known ids) and what each may do here.</summary>
internal static class IoTCentralRoles
{
    public const string Administrator = IoTCentralRoleIds.Administrator;
    public const string Builder = IoTCentralRoleIds.Builder;
    public const string Operator = IoTCentralRoleIds.Operator;

    public static readonly IReadOnlyDictionary<string, string> Names = new Dictionary<string, string>(StringComparer.Ordinal)
    {
        [Administrator] = "Administrator",
        [Builder] = "Builder",
        [Operator] = "Operator",
    };

    /// <summary>Whether a role may do <paramref name="permission"/>.</summary>
    public static bool Allows(string role, Permission permission) => role switch
    {
        Administrator => true,
        Builder => permission is Permission.Read or Permission.ManageTemplates,
        Operator => permission is Permission.Read or Permission.ManageDevices or Permission.ManageJobs,
        _ => false,
    };
}

/// <summary>What a call needs, checked against the caller's roles.</summary>
internal enum Permission
{
    Read,
    ManageDevices,
    ManageJobs,
    ManageTemplates,
    ManageAccess,
}

internal sealed record RoleAssignment(string Role, string? Organization);

internal sealed class IoTCentralDeviceEntity(string id)
{
    public string Id { get; } = id;

    public string DisplayName { get; set; } = id;

    public string? Template { get; set; }

    public bool Enabled { get; set; } = true;

    public bool Provisioned { get; set; }

    public bool Simulated { get; set; }

    public string? Organization { get; set; }

    public long Revision { get; set; } = 1;

    public JsonObject Properties { get; set; } = [];
}

internal sealed record IoTCentralTemplateEntity(string Id, string DisplayName, string Description, JsonObject CapabilityModel);

internal sealed record IoTCentralGroupEntity(string Id, string DisplayName, string Filter, string? Description, string? Organization);

internal sealed record IoTCentralOrganizationEntity(string Id, string DisplayName, string? Parent);

internal sealed record IoTCentralUserEntity(string Id, string Type, Guid ObjectId, IReadOnlyList<RoleAssignment> Roles);

internal sealed record IoTCentralTokenEntity(string Id, DateTimeOffset Expiry, IReadOnlyList<RoleAssignment> Roles);

/// <summary>One job and where it is: its devices in batch order, their outcomes and the batch clock.</summary>
internal sealed class IoTCentralJobEntity
{
    public required string Id { get; init; }

    public required string Group { get; init; }

    public string? DisplayName { get; init; }

    public string? Description { get; init; }

    public JsonNode? Batch { get; init; }

    public JsonNode? CancellationThreshold { get; init; }

    public required JsonArray Data { get; init; }

    public string? Organization { get; init; }

    public required IReadOnlyList<string> Devices { get; init; }

    public required int BatchSize { get; init; }

    public required double FailureRate { get; init; }

    public required DateTimeOffset Created { get; init; }

    public required DateTimeOffset StartsAt { get; init; }

    public long Sequence { get; init; }

    public string Status { get; set; } = "pending";

    public DateTimeOffset? Start { get; set; }

    public DateTimeOffset? End { get; set; }

    /// <summary>Devices [0, Done) have an outcome; the running batch is [Done, Done + BatchSize).</summary>
    public int Done { get; set; }

    public DateTimeOffset? BatchEndsAt { get; set; }

    /// <summary>While stopped: how much of the running batch was left when it stopped.</summary>
    public TimeSpan? Remaining { get; set; }

    /// <summary>While stopped before starting: the status to resume to.</summary>
    public bool StoppedBeforeStart { get; set; }

    public Dictionary<string, string> Outcomes { get; } = new(StringComparer.Ordinal);

    public int Failed { get; set; }

    public bool IsActive => Status is "pending" or "running";
}
