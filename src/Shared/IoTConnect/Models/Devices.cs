namespace Fleet.Shared.IoTConnect;

/// <summary>An IoTConnect device as the device service reports it.</summary>
/// <param name="DeviceGuid">The service's id of the device (<c>guid</c>).</param>
/// <param name="UniqueId">The device's own id (<c>uniqueId</c>), unique in the solution.</param>
/// <param name="DisplayName">Display name.</param>
/// <param name="TemplateGuid">Its device template.</param>
/// <param name="TemplateName">The template's name, when the service gave it.</param>
/// <param name="EntityGuid">Its entity (IoTConnect's device group).</param>
/// <param name="EntityName">The entity's name, when the service gave it.</param>
/// <param name="IsAcquired">Registered on the underlying hub (<c>IsAcquired</c> in lists, <c>isAcquired</c> 0/1 in single reads).</param>
/// <param name="IsActive">Active (an inactive device is released and cannot be acquired).</param>
/// <param name="IsConnected">Currently connected to the hub.</param>
/// <param name="FirmwareUpgradeGuid">The firmware upgrade the device runs (<c>firmwareupgradeGuid</c>), when known.</param>
/// <param name="LastActivity">Its last activity (<c>lastactivityDate</c>).</param>
public sealed record IoTConnectDevice(
    Guid DeviceGuid,
    string UniqueId,
    string DisplayName,
    Guid TemplateGuid,
    string? TemplateName,
    Guid EntityGuid,
    string? EntityName,
    bool IsAcquired,
    bool IsActive,
    bool IsConnected,
    Guid? FirmwareUpgradeGuid,
    DateTimeOffset? LastActivity);

/// <summary>A device to create: its unique id, display name, template and entity are required by the service.</summary>
/// <param name="UniqueId">1–64 letters, digits, '-' or '_'; unique in the solution.</param>
/// <param name="DisplayName">Display name (at most 100 characters).</param>
/// <param name="TemplateGuid">Device template.</param>
/// <param name="EntityGuid">Entity to place it in.</param>
public sealed record IoTConnectDeviceCreateRequest(string UniqueId, string DisplayName, Guid TemplateGuid, Guid EntityGuid)
{
    /// <summary>Optional note.</summary>
    public string? Note { get; init; }
}

/// <summary>What <c>POST Device</c> answered.</summary>
public sealed record IoTConnectDeviceCreated(Guid DeviceGuid, Guid EntityGuid, string UniqueId);

/// <summary>How <see cref="IoTConnectClient.ProvisionDeviceAsync"/> ended: the verified device and what this call changed.</summary>
/// <param name="Device">The device as read back after provisioning.</param>
/// <param name="Created">False when a device with the unique id already existed with the same template and entity.</param>
/// <param name="Acquired">True when this call acquired the device (false when it already was, or acquiring was not asked for).</param>
public sealed record IoTConnectProvisionResult(IoTConnectDevice Device, bool Created, bool Acquired);

/// <summary>Filters of a device list; null members do not filter.</summary>
public sealed record IoTConnectDeviceQuery
{
    /// <summary>Devices of this entity only (<c>GET entity/{guid}/device</c>); sub-entities are not included.</summary>
    public Guid? EntityGuid { get; init; }

    /// <summary>Devices whose unique id contains this text.</summary>
    public string? UniqueId { get; init; }

    /// <summary>Devices of the template with this name.</summary>
    public string? TemplateName { get; init; }

    /// <summary>Devices of an entity with this name.</summary>
    public string? EntityName { get; init; }

    /// <summary>True: acquired devices only; false: released devices only.</summary>
    public bool? Acquired { get; init; }
}

/// <summary>A device template.</summary>
/// <param name="TemplateGuid">Its id.</param>
/// <param name="Code">Template code (unique in the solution).</param>
/// <param name="Name">Template name.</param>
/// <param name="AuthType">Authentication type (1 key, 2 CA certificate, 3 self-signed, 4 TPM, …).</param>
public sealed record IoTConnectTemplate(Guid TemplateGuid, string Code, string Name, int AuthType);
