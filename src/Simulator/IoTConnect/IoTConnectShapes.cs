using System.Text.Json.Serialization;

namespace Fleet.Simulator.IoTConnect;

// Wire shapes of the simulated IoTConnect services, named as the reference (§3.3, §A) shows them: camelCase with
// the service's own oddities kept (PascalCase IsAcquired/IsAllottedDevice and Upgrades, lower-case createdby,
// lastactivityDate, firmwareupgradeGuid, isforceUpdate; OTA counts as strings; isDraft as "Draft"/"Released").

/// <summary>An item of <c>GET Device</c>: acquisition as the PascalCase boolean <c>IsAcquired</c>.</summary>
internal sealed record DeviceListItem(
    Guid Guid,
    string UniqueId,
    string DisplayName,
    bool IsConnected,
    [property: JsonPropertyName("lastactivityDate")] string? LastActivityDate,
    bool IsActive,
    Guid DeviceTemplateGuid,
    string DeviceTemplateName,
    Guid EntityGuid,
    string EntityName,
    [property: JsonPropertyName("IsAcquired")] bool IsAcquired,
    [property: JsonPropertyName("IsAllottedDevice")] bool IsAllottedDevice,
    [property: JsonPropertyName("firmwareupgradeGuid")] Guid? FirmwareUpgradeGuid,
    string DeviceStatus,
    string CreatedDate);

/// <summary>
/// <c>GET Device/{guid}</c> and <c>GET Device/uniqueId/{uniqueId}</c>: acquisition as the camelCase integer
/// <c>isAcquired</c> (0/1), as Avnet's Python library reads it.
/// </summary>
internal sealed record DeviceDetail(
    Guid Guid,
    string UniqueId,
    string DisplayName,
    bool IsConnected,
    [property: JsonPropertyName("lastactivityDate")] string? LastActivityDate,
    bool IsActive,
    Guid DeviceTemplateGuid,
    string DeviceTemplateName,
    string TemplateCode,
    Guid EntityGuid,
    string EntityName,
    int IsAcquired,
    [property: JsonPropertyName("firmwareupgradeGuid")] Guid? FirmwareUpgradeGuid,
    string? Note,
    string CreatedDate,
    string UpdatedDate);

/// <summary>The answer item of <c>POST Device</c> (note the lower-case <c>newid</c>).</summary>
internal sealed record DeviceCreated(
    [property: JsonPropertyName("newid")] Guid NewId,
    Guid EntityGuid,
    string UniqueId);

/// <summary>A device template.</summary>
internal sealed record TemplateItem(
    Guid Guid,
    string TemplateCode,
    string TemplateName,
    bool IsEdgeSupport,
    bool IsIotEdgeEnable,
    int AuthType,
    string? Tag,
    string MessageVersion,
    int DeviceCount,
    string CreatedDate);

/// <summary>An item of <c>GET Entity</c>.</summary>
internal sealed record EntityItem(
    Guid Guid,
    string Name,
    Guid? ParentEntityGuid,
    string? ParentName,
    string? Description,
    string? ChildEntityLabel,
    string CreatedDate,
    string UpdatedDate,
    int DeviceCount);

/// <summary>An item of <c>GET Entity/lookup</c>.</summary>
internal sealed record EntityLookupItem(Guid Guid, string Name, Guid? ParentEntityGuid);

/// <summary>The answer item of <c>POST Entity</c>.</summary>
internal sealed record EntityCreated(Guid EntityGuid);

/// <summary>A firmware; <c>Upgrades</c> only in <c>GET Firmware/{guid}</c>.</summary>
internal sealed record FirmwareItem(
    Guid Guid,
    string Name,
    string Hardware,
    bool IsDeprecated,
    Guid DeviceTemplateGuid,
    string DeviceTemplateCode,
    string DeviceTemplateName,
    int ReleaseCount,
    int DraftCount,
    string? Description,
    string CreatedDate,
    [property: JsonPropertyName("createdby")] string CreatedBy,
    [property: JsonPropertyName("Upgrades")] [property: JsonIgnore(Condition = JsonIgnoreCondition.WhenWritingNull)] IReadOnlyList<UpgradeItem>? Upgrades);

/// <summary>A firmware upgrade (one software version).</summary>
internal sealed record UpgradeItem(
    Guid Guid,
    [property: JsonPropertyName("firmwareguid")] Guid FirmwareGuid,
    string Software,
    string? Description,
    string IsDraft,
    string CreatedDate,
    string CreatedBy,
    IReadOnlyList<object> Urls);

/// <summary>The answer item of <c>POST Firmware</c>.</summary>
internal sealed record FirmwareCreated(Guid NewId, Guid FirmwareUpgradeGuid);

/// <summary>The answer item of <c>POST firmware-upgrade</c>.</summary>
internal sealed record UpgradeCreated(Guid NewId);

/// <summary>One answer item of <c>POST ota-update</c> per targeted device.</summary>
internal sealed record OtaCreatedItem(Guid DeviceGuid, Guid OtaUpdateGuid);

/// <summary>An item of <c>GET ota-update</c> (the per-status counts are strings on this wire).</summary>
internal sealed record OtaListItem(
    Guid Guid,
    Guid FirmwareUpgradeGuid,
    Guid FirmwareGuid,
    string Hardware,
    string Software,
    bool IsRecursive,
    string? ScheduledOn,
    [property: JsonPropertyName("isforceUpdate")] bool IsForceUpdate,
    string CreatedDate,
    string CreatedBy,
    string? EntityName,
    string Success,
    string Pending,
    string Failed,
    string Skipped);

/// <summary>A device of one OTA update (<c>GET ota-update/{guid}</c>).</summary>
internal sealed record OtaDeviceItem(
    Guid OtaUpdateItemGuid,
    string UpdatedDate,
    Guid DeviceGuid,
    string UniqueId,
    string EntityName,
    string Status);
