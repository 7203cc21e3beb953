namespace Fleet.Shared.IoTConnect;

/// <summary>Where one device stands with an OTA update.</summary>
public enum IoTConnectOtaStatus
{
    /// <summary>Not yet sent to the device.</summary>
    Pending = 0,

    /// <summary>Sent; the device has not reported the outcome.</summary>
    Sent = 1,

    /// <summary>The device runs the new firmware.</summary>
    Success = 2,

    /// <summary>The device reported a failure (or the update was marked failed).</summary>
    Failed = 3,

    /// <summary>Not applied (device not acquired, already on the version, or skipped on purpose).</summary>
    Skipped = 4,
}

/// <summary>
/// A firmware upgrade to push: to an entity and its sub-entities (devices of the firmware's template) or to a
/// device list. Build one with <see cref="ToEntity"/> or <see cref="ToDevices"/>.
/// </summary>
public sealed record IoTConnectOtaRequest
{
    private IoTConnectOtaRequest(Guid upgradeGuid, Guid? entityGuid, IReadOnlyList<Guid>? deviceGuids)
    {
        UpgradeGuid = upgradeGuid;
        EntityGuid = entityGuid;
        DeviceGuids = deviceGuids;
    }

    /// <summary>The firmware upgrade to push.</summary>
    public Guid UpgradeGuid { get; }

    /// <summary>The entity targeted (with its sub-entities), or null for a device list.</summary>
    public Guid? EntityGuid { get; }

    /// <summary>The devices targeted, or null for an entity.</summary>
    public IReadOnlyList<Guid>? DeviceGuids { get; }

    /// <summary>Push even to devices that already run it or have it pending (<c>isForceUpdate</c>).</summary>
    public bool IsForceUpdate { get; init; }

    /// <summary>Push a draft upgrade as a trial (device lists only, <c>isTrialDraft</c>).</summary>
    public bool IsTrialDraft { get; init; }

    /// <summary>When devices start receiving it (sent as GMT <c>yyyy-MM-dd HH:mm:ss</c>); null = now.</summary>
    public DateTimeOffset? ScheduledOn { get; init; }

    /// <summary>An update of every device of the firmware's template in the entity and its sub-entities.</summary>
    public static IoTConnectOtaRequest ToEntity(Guid upgradeGuid, Guid entityGuid) => new(upgradeGuid, entityGuid, null);

    /// <summary>An update of the listed devices.</summary>
    public static IoTConnectOtaRequest ToDevices(Guid upgradeGuid, IEnumerable<Guid> deviceGuids)
    {
        ArgumentNullException.ThrowIfNull(deviceGuids);
        Guid[] list = [.. deviceGuids.Distinct()];
        if (list.Length == 0)
        {
            throw new ArgumentException("An OTA update to a device list needs at least one device.", nameof(deviceGuids));
        }

        return new IoTConnectOtaRequest(upgradeGuid, null, list);
    }
}

/// <summary>What <c>POST ota-update</c> answered: the update's id and the devices it reached.</summary>
/// <param name="OtaUpdateGuid">The new update; null when no device was targeted (nothing was created).</param>
/// <param name="DeviceGuids">The devices given an item (devices already on it without force are left out).</param>
public sealed record IoTConnectOtaUpdate(Guid? OtaUpdateGuid, IReadOnlyList<Guid> DeviceGuids);

/// <summary>An OTA update as <c>GET ota-update</c> lists it.</summary>
public sealed record IoTConnectOtaSummary(
    Guid OtaUpdateGuid,
    Guid UpgradeGuid,
    Guid FirmwareGuid,
    string Software,
    bool IsForceUpdate,
    string? EntityName,
    int Success,
    int Pending,
    int Failed,
    int Skipped);

/// <summary>One device's item of an OTA update.</summary>
/// <param name="ItemGuid">The item (<c>otaUpdateItemGuid</c>).</param>
/// <param name="DeviceGuid">The device.</param>
/// <param name="UniqueId">The device's unique id.</param>
/// <param name="Status">Where it stands.</param>
/// <param name="UpdatedAt">When the status last changed.</param>
public sealed record IoTConnectOtaDeviceStatus(Guid ItemGuid, Guid DeviceGuid, string UniqueId, IoTConnectOtaStatus Status, DateTimeOffset? UpdatedAt);

/// <summary>Counts of an OTA update's items per status, read from every item.</summary>
public sealed record IoTConnectOtaProgress(Guid OtaUpdateGuid, int Pending, int Sent, int Success, int Failed, int Skipped)
{
    /// <summary>Items in all.</summary>
    public int Total => Pending + Sent + Success + Failed + Skipped;

    /// <summary>True when no item is pending or sent.</summary>
    public bool IsFinished => Pending + Sent == 0;
}
