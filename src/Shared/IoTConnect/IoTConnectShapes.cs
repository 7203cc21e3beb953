using System.Globalization;
using System.Text.Json;

namespace Fleet.Shared.IoTConnect;

/// <summary>
/// What the client reads off the wire, before mapping to the public models. Names match case-insensitively, which
/// absorbs the service's mixed casing (<c>IsAcquired</c> and <c>isAcquired</c>, <c>lastactivityDate</c>,
/// <c>firmwareupgradeGuid</c>, <c>newid</c>, <c>Upgrades</c>); values whose type varies (acquired as bool or 0/1,
/// isDraft as "Draft"/"Released" or bool, counts as strings) are read leniently.
/// </summary>
internal static class IoTConnectShapes
{
    internal sealed record Device(
        Guid Guid,
        string? UniqueId,
        string? DisplayName,
        Guid DeviceTemplateGuid,
        string? DeviceTemplateName,
        Guid EntityGuid,
        string? EntityName,
        JsonElement IsAcquired,
        bool? IsActive,
        bool? IsConnected,
        Guid? FirmwareUpgradeGuid,
        string? LastActivityDate)
    {
        public IoTConnectDevice ToModel() => new(
            Guid, UniqueId ?? string.Empty, DisplayName ?? UniqueId ?? string.Empty, DeviceTemplateGuid, DeviceTemplateName, EntityGuid, EntityName,
            Flag(IsAcquired), IsActive ?? true, IsConnected ?? false, FirmwareUpgradeGuid, Date(LastActivityDate));
    }

    internal sealed record DeviceCreated(Guid NewId, Guid? EntityGuid, string? UniqueId);

    internal sealed record Template(Guid Guid, string? TemplateCode, string? TemplateName, int? AuthType)
    {
        public IoTConnectTemplate ToModel() => new(Guid, TemplateCode ?? string.Empty, TemplateName ?? TemplateCode ?? string.Empty, AuthType ?? 0);
    }

    internal sealed record Entity(Guid Guid, string? Name, Guid? ParentEntityGuid, string? Description)
    {
        public IoTConnectEntity ToModel() => new(Guid, Name ?? string.Empty, ParentEntityGuid, Description);
    }

    internal sealed record EntityCreated(Guid EntityGuid);

    internal sealed record Firmware(
        Guid Guid,
        string? Name,
        string? Hardware,
        bool? IsDeprecated,
        Guid DeviceTemplateGuid,
        string? DeviceTemplateCode,
        List<Upgrade>? Upgrades)
    {
        public IoTConnectFirmware ToModel() => new(
            Guid, Name ?? string.Empty, Hardware ?? string.Empty, DeviceTemplateGuid, DeviceTemplateCode, IsDeprecated ?? false,
            [.. (Upgrades ?? []).Select(u => u.ToModel(Guid))]);
    }

    internal sealed record Upgrade(Guid Guid, Guid? FirmwareGuid, string? Software, string? Description, JsonElement IsDraft)
    {
        public IoTConnectFirmwareUpgrade ToModel(Guid? firmwareGuid = null) =>
            new(Guid, FirmwareGuid ?? firmwareGuid, Software ?? string.Empty, Description, !IsDraftValue(IsDraft));
    }

    internal sealed record FirmwareCreated(Guid NewId, Guid FirmwareUpgradeGuid);

    internal sealed record UpgradeCreated(Guid NewId);

    internal sealed record OtaCreated(Guid DeviceGuid, Guid OtaUpdateGuid);

    internal sealed record OtaListItem(
        Guid Guid,
        Guid FirmwareUpgradeGuid,
        Guid FirmwareGuid,
        string? Software,
        bool? IsForceUpdate,
        string? EntityName,
        int? Success,
        int? Pending,
        int? Failed,
        int? Skipped)
    {
        public IoTConnectOtaSummary ToModel() => new(
            Guid, FirmwareUpgradeGuid, FirmwareGuid, Software ?? string.Empty, IsForceUpdate ?? false, EntityName,
            Success ?? 0, Pending ?? 0, Failed ?? 0, Skipped ?? 0);
    }

    internal sealed record OtaDevice(Guid OtaUpdateItemGuid, Guid DeviceGuid, string? UniqueId, string? Status, string? UpdatedDate)
    {
        public IoTConnectOtaDeviceStatus ToModel() => new(OtaUpdateItemGuid, DeviceGuid, UniqueId ?? string.Empty, ParseStatus(Status), Date(UpdatedDate));
    }

    /// <summary>An OTA status name, read case-insensitively; anything unknown is kept as Pending (not yet finished).</summary>
    internal static IoTConnectOtaStatus ParseStatus(string? status) =>
        Enum.TryParse<IoTConnectOtaStatus>(status, ignoreCase: true, out var parsed) && Enum.IsDefined(parsed) ? parsed : IoTConnectOtaStatus.Pending;

    private static bool Flag(JsonElement value) => value.ValueKind switch
    {
        JsonValueKind.True => true,
        JsonValueKind.Number => value.TryGetInt32(out var n) && n != 0,
        JsonValueKind.String => value.GetString() is { } s && (s == "1" || s.Equals("true", StringComparison.OrdinalIgnoreCase) || s.Equals("acquired", StringComparison.OrdinalIgnoreCase)),
        _ => false,
    };

    private static bool IsDraftValue(JsonElement value) => value.ValueKind switch
    {
        JsonValueKind.String => string.Equals(value.GetString(), "Draft", StringComparison.OrdinalIgnoreCase),
        JsonValueKind.True => true,
        _ => false,
    };

    private static DateTimeOffset? Date(string? text) =>
        DateTimeOffset.TryParse(text, CultureInfo.InvariantCulture, DateTimeStyles.AssumeUniversal, out var value) ? value : null;
}
