namespace Fleet.Simulator.IoTConnect;

// Request bodies of the simulated IoTConnect, read case-insensitively (clients send camelCase; Avnet's library sends
// a few PascalCase members such as FirmwareDescription). Members a test needs to leave out are nullable.

internal sealed record LoginRequest(string? Username, string? Password);

/// <summary>The wire name is all lower case (<c>refreshtoken</c>); case-insensitive reading maps it here.</summary>
internal sealed record RefreshRequest(string? RefreshToken);

internal sealed record CreateDeviceRequest(string? UniqueId, Guid? DeviceTemplateGuid, string? DisplayName, Guid? EntityGuid, string? Note);

internal sealed record UpdateDeviceRequest(string? DisplayName, Guid? EntityGuid, string? Note);

internal sealed record CreateEntityRequest(string? Name, Guid? ParentEntityGuid, string? Description);

internal sealed record CreateFirmwareRequest(
    Guid? DeviceTemplateGuid,
    string? FirmwareName,
    string? Hardware,
    string? Software,
    string? FirmwareDescription,
    string? FirmwareUpgradeDescription);

internal sealed record CreateUpgradeRequest(Guid? FirmwareGuid, string? Software, string? Description);

internal sealed record CreateOtaRequest(
    Guid? FirmwareUpgradeGuid,
    int? Target,
    Guid? EntityGuid,
    IReadOnlyList<Guid>? DeviceGuids,
    bool IsForceUpdate,
    bool IsTrialDraft,
    string? ScheduledOn);

/// <summary>Filters of <c>GET Device</c> (query names as the reference lists them, matched case-insensitively).</summary>
internal sealed record DeviceFilter(string? UniqueId, string? TemplateName, string? EntityName, string? Acquired, Guid? EntityGuid);

/// <summary>A page by number (1-based) and size.</summary>
internal readonly record struct PageSpec(int Number, int Size)
{
    public IEnumerable<T> Apply<T>(IEnumerable<T> items) => items.Skip((int)Math.Min(int.MaxValue, (long)(Number - 1) * Size)).Take(Size);
}
