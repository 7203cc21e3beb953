namespace Fleet.Simulator.IoTConnect;

// The simulated IoTConnect's mutable model. Guarded by IoTConnectCloud's lock; never handed out of it.

/// <summary>A customer account: its login, entity tree, templates, devices, firmware and OTA updates.</summary>
internal sealed class SolutionState(string key, string name, string solutionKey, string username, string password)
{
    public string Key { get; } = key;

    public string Name { get; } = name;

    public string SolutionKey { get; } = solutionKey;

    public string Username { get; } = username;

    public string Password { get; } = password;

    public Guid RootEntityGuid { get; set; }

    /// <summary>Entities in creation order (parents first).</summary>
    public List<EntityRecord> Entities { get; } = [];

    public Dictionary<Guid, EntityRecord> EntitiesByGuid { get; } = [];

    public List<TemplateRecord> Templates { get; } = [];

    public Dictionary<Guid, TemplateRecord> TemplatesByGuid { get; } = [];

    /// <summary>Devices sorted by unique id (ordinal, case-insensitive): list order and offset paging follow it.</summary>
    public List<DeviceRecord> Devices { get; } = [];

    public Dictionary<Guid, DeviceRecord> DevicesByGuid { get; } = [];

    public Dictionary<string, DeviceRecord> DevicesByUniqueId { get; } = new(StringComparer.OrdinalIgnoreCase);

    public List<FirmwareRecord> Firmware { get; } = [];

    public Dictionary<Guid, UpgradeRecord> UpgradesByGuid { get; } = [];

    /// <summary>OTA updates in creation order.</summary>
    public List<OtaRecord> OtaUpdates { get; } = [];

    public Dictionary<Guid, OtaRecord> OtaByGuid { get; } = [];
}

internal sealed class EntityRecord(Guid guid, string name, Guid? parentGuid, string? description, DateTime created)
{
    public Guid Guid { get; } = guid;

    public string Name { get; set; } = name;

    public Guid? ParentGuid { get; } = parentGuid;

    public string? Description { get; set; } = description;

    public DateTime Created { get; } = created;

    public DateTime Updated { get; set; } = created;
}

internal sealed class TemplateRecord(Guid guid, string code, string name, int authType, DateTime created)
{
    public Guid Guid { get; } = guid;

    public string Code { get; } = code;

    public string Name { get; } = name;

    /// <summary>1 key, 2 CA certificate, 3 self-signed certificate, 4 TPM (TPM devices cannot be acquired by API).</summary>
    public int AuthType { get; } = authType;

    public DateTime Created { get; } = created;
}

internal sealed class DeviceRecord(Guid guid, string uniqueId, Guid templateGuid, Guid entityGuid, DateTime created)
{
    public Guid Guid { get; } = guid;

    public string UniqueId { get; } = uniqueId;

    public string DisplayName { get; set; } = uniqueId;

    public Guid TemplateGuid { get; } = templateGuid;

    public Guid EntityGuid { get; set; } = entityGuid;

    public bool Acquired { get; set; }

    public bool Connected { get; set; }

    public bool Active { get; set; } = true;

    public string? Note { get; set; }

    public Guid? FirmwareUpgradeGuid { get; set; }

    public DateTime Created { get; } = created;

    public DateTime Updated { get; set; } = created;

    public DateTime? LastActivity { get; set; }
}

internal sealed class FirmwareRecord(Guid guid, string name, string hardware, Guid templateGuid, string? description, DateTime created)
{
    public Guid Guid { get; } = guid;

    public string Name { get; } = name;

    public string Hardware { get; } = hardware;

    public Guid TemplateGuid { get; } = templateGuid;

    public string? Description { get; } = description;

    public DateTime Created { get; } = created;

    public bool Deprecated { get; set; }

    /// <summary>Upgrades in creation order.</summary>
    public List<UpgradeRecord> Upgrades { get; } = [];
}

internal sealed class UpgradeRecord(Guid guid, FirmwareRecord firmware, string software, string? description, DateTime created)
{
    public Guid Guid { get; } = guid;

    public FirmwareRecord Firmware { get; } = firmware;

    public string Software { get; } = software;

    public string? Description { get; } = description;

    public DateTime Created { get; } = created;

    public bool Released { get; set; }

    public DateTime Updated { get; set; } = created;
}

/// <summary>Per-device OTA states (NETSDK's UpdateOTAStatusModel names).</summary>
internal enum OtaItemStatus
{
    Pending,
    Sent,
    Success,
    Failed,
    Skipped,
}

internal sealed class OtaRecord(Guid guid, UpgradeRecord upgrade, int target, Guid? entityGuid, bool force, DateTime created, DateTime start, DateTime? scheduledOn)
{
    public Guid Guid { get; } = guid;

    public UpgradeRecord Upgrade { get; } = upgrade;

    /// <summary>1 entity (and sub-entities), 3 device list.</summary>
    public int Target { get; } = target;

    public Guid? EntityGuid { get; } = entityGuid;

    public bool Force { get; } = force;

    public DateTime Created { get; } = created;

    /// <summary>When devices start receiving it: creation, or the schedule if later.</summary>
    public DateTime Start { get; } = start;

    public DateTime? ScheduledOn { get; } = scheduledOn;

    public List<OtaItemRecord> Items { get; } = [];
}

internal sealed class OtaItemRecord(Guid itemGuid, OtaRecord ota, DeviceRecord device, OtaItemStatus status, DateTime updated)
{
    public Guid ItemGuid { get; } = itemGuid;

    public OtaRecord Ota { get; } = ota;

    public DeviceRecord Device { get; } = device;

    public OtaItemStatus Status { get; set; } = status;

    public DateTime Updated { get; set; } = updated;

    public bool IsFinished => Status is OtaItemStatus.Success or OtaItemStatus.Failed or OtaItemStatus.Skipped;
}
