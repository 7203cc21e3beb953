using System.Globalization;
using Azure;
using Azure.Core;

namespace Fleet.Shared.IoTConnect;

public partial class IoTConnectClient
{
    // ---- firmware ----

    /// <summary>Firmware of the solution (without their upgrades), every page.</summary>
    public virtual AsyncPageable<IoTConnectFirmware> GetFirmwareListAsync(CancellationToken cancellationToken = default) =>
        Pageable<IoTConnectShapes.Firmware, IoTConnectFirmware>("firmware", "Firmware", string.Empty, "a firmware list", f => f.ToModel(), cancellationToken);

    /// <summary>The firmware with this name (with its upgrades), or null when there is none (the service answers 204).</summary>
    public virtual async Task<IoTConnectFirmware?> FindFirmwareAsync(string name, CancellationToken cancellationToken = default)
    {
        ArgumentException.ThrowIfNullOrWhiteSpace(name);
        var (items, _) = IoTConnectEnvelope.ReadList<IoTConnectShapes.Firmware>(
            await SendAsync("firmware", RequestMethod.Get, $"Firmware?Name={Uri.EscapeDataString(name)}", null, cancellationToken).ConfigureAwait(false),
            "a firmware list");
        var match = items.FirstOrDefault(f => string.Equals(f.Name, name, StringComparison.OrdinalIgnoreCase));
        return match is null ? null : await GetFirmwareAsync(match.Guid, cancellationToken).ConfigureAwait(false);
    }

    /// <summary>One firmware with its upgrades.</summary>
    public virtual async Task<IoTConnectFirmware> GetFirmwareAsync(Guid firmwareGuid, CancellationToken cancellationToken = default) =>
        IoTConnectEnvelope.ReadOne<IoTConnectShapes.Firmware>(
            await SendAsync("firmware", RequestMethod.Get, $"Firmware/{firmwareGuid}", null, cancellationToken).ConfigureAwait(false), "a firmware").ToModel();

    /// <summary>Creates a firmware and its first (draft) upgrade (409 <c>TemplateAlreadyAttachedWithFirmware</c>: one per template).</summary>
    public virtual async Task<IoTConnectFirmwareCreated> CreateFirmwareAsync(IoTConnectFirmwareCreateRequest request,
        CancellationToken cancellationToken = default)
    {
        ArgumentNullException.ThrowIfNull(request);
        var body = new
        {
            DeviceTemplateGuid = request.TemplateGuid,
            FirmwareName = request.Name,
            request.Hardware,
            request.Software,
            FirmwareDescription = request.Description,
            FirmwareUpgradeDescription = request.UpgradeDescription,
        };
        var created = IoTConnectEnvelope.ReadOne<IoTConnectShapes.FirmwareCreated>(
            await SendAsync("firmware", RequestMethod.Post, "Firmware", body, cancellationToken).ConfigureAwait(false), "a firmware creation answer");
        return new IoTConnectFirmwareCreated(created.NewId, created.FirmwareUpgradeGuid);
    }

    // ---- upgrades ----

    /// <summary>Firmware upgrades (of one firmware, or all), every page.</summary>
    public virtual AsyncPageable<IoTConnectFirmwareUpgrade> GetFirmwareUpgradesAsync(Guid? firmwareGuid = null, CancellationToken cancellationToken = default) =>
        Pageable<IoTConnectShapes.Upgrade, IoTConnectFirmwareUpgrade>("firmware", "firmware-upgrade",
            firmwareGuid is { } f ? $"&firmwareGuid={f}" : string.Empty, "an upgrade list", u => u.ToModel(firmwareGuid), cancellationToken);

    /// <summary>One firmware upgrade.</summary>
    public virtual async Task<IoTConnectFirmwareUpgrade> GetFirmwareUpgradeAsync(Guid upgradeGuid, CancellationToken cancellationToken = default) =>
        IoTConnectEnvelope.ReadOne<IoTConnectShapes.Upgrade>(
            await SendAsync("firmware", RequestMethod.Get, $"firmware-upgrade/{upgradeGuid}", null, cancellationToken).ConfigureAwait(false),
            "a firmware upgrade").ToModel();

    /// <summary>Adds a version (a draft) to a firmware; returns the upgrade's guid.</summary>
    public virtual async Task<Guid> CreateFirmwareUpgradeAsync(Guid firmwareGuid, string software, string? description = null,
        CancellationToken cancellationToken = default)
    {
        ArgumentException.ThrowIfNullOrWhiteSpace(software);
        return IoTConnectEnvelope.ReadOne<IoTConnectShapes.UpgradeCreated>(
            await SendAsync("firmware", RequestMethod.Post, "firmware-upgrade", new { firmwareGuid, software, description }, cancellationToken)
                .ConfigureAwait(false),
            "an upgrade creation answer").NewId;
    }

    /// <summary>Releases a draft upgrade (409 when it already is).</summary>
    public virtual Task PublishFirmwareUpgradeAsync(Guid upgradeGuid, CancellationToken cancellationToken = default) =>
        SendAsync("firmware", RequestMethod.Put, $"firmware-upgrade/{upgradeGuid}/publish", null, cancellationToken);

    // ---- OTA updates ----

    /// <summary>
    /// Pushes a firmware upgrade to an entity (and its sub-entities) or a device list. The answer lists the devices
    /// given an item; with none (nothing matched, or all already had it pending), no update is created.
    /// </summary>
    public virtual async Task<IoTConnectOtaUpdate> CreateOtaUpdateAsync(IoTConnectOtaRequest request, CancellationToken cancellationToken = default)
    {
        ArgumentNullException.ThrowIfNull(request);
        var body = new
        {
            FirmwareUpgradeGuid = request.UpgradeGuid,
            Target = request.EntityGuid is null ? 3 : 1,
            request.EntityGuid,
            request.DeviceGuids,
            request.IsForceUpdate,
            request.IsTrialDraft,
            ScheduledOn = request.ScheduledOn?.UtcDateTime.ToString("yyyy-MM-dd HH:mm:ss", CultureInfo.InvariantCulture),
        };
        var (items, _) = IoTConnectEnvelope.ReadList<IoTConnectShapes.OtaCreated>(
            await SendAsync("firmware", RequestMethod.Post, "ota-update", body, cancellationToken).ConfigureAwait(false), "an OTA creation answer");
        return new IoTConnectOtaUpdate(items.Count > 0 ? items[0].OtaUpdateGuid : null, [.. items.Select(i => i.DeviceGuid)]);
    }

    /// <summary>OTA updates of the solution with their per-status counts, every page.</summary>
    public virtual AsyncPageable<IoTConnectOtaSummary> GetOtaUpdatesAsync(CancellationToken cancellationToken = default) =>
        Pageable<IoTConnectShapes.OtaListItem, IoTConnectOtaSummary>("firmware", "ota-update", string.Empty, "an OTA list", o => o.ToModel(), cancellationToken);

    /// <summary>The devices of one OTA update and where each stands (optionally only those of one status), every page.</summary>
    public virtual AsyncPageable<IoTConnectOtaDeviceStatus> GetOtaUpdateDevicesAsync(Guid otaUpdateGuid, IoTConnectOtaStatus? status = null,
        CancellationToken cancellationToken = default) =>
        Pageable<IoTConnectShapes.OtaDevice, IoTConnectOtaDeviceStatus>("firmware", $"ota-update/{otaUpdateGuid}",
            status is { } s ? $"&status={s}" : string.Empty, "an OTA device list", d => d.ToModel(), cancellationToken);

    /// <summary>Counts of an OTA update's items per status, from every item.</summary>
    public virtual async Task<IoTConnectOtaProgress> GetOtaProgressAsync(Guid otaUpdateGuid, CancellationToken cancellationToken = default)
    {
        var counts = new int[5];
        await foreach (var item in GetOtaUpdateDevicesAsync(otaUpdateGuid, cancellationToken: cancellationToken).ConfigureAwait(false))
        {
            counts[(int)item.Status]++;
        }

        return new IoTConnectOtaProgress(otaUpdateGuid, counts[0], counts[1], counts[2], counts[3], counts[4]);
    }

    /// <summary>
    /// Marks one device's unfinished item <see cref="IoTConnectOtaStatus.Skipped"/> or <see cref="IoTConnectOtaStatus.Failed"/>
    /// (<c>PUT ota-update/device/{device}/otaupdateitem/{item}/status/{status}</c>; 409 when it already ended).
    /// </summary>
    public virtual Task SetOtaItemStatusAsync(Guid deviceGuid, Guid itemGuid, IoTConnectOtaStatus status, CancellationToken cancellationToken = default)
    {
        if (status is not (IoTConnectOtaStatus.Skipped or IoTConnectOtaStatus.Failed))
        {
            throw new ArgumentOutOfRangeException(nameof(status), status, "Only Skipped or Failed can be set.");
        }

        return SendAsync("firmware", RequestMethod.Put, $"ota-update/device/{deviceGuid}/otaupdateitem/{itemGuid}/status/{status}", null, cancellationToken);
    }

    /// <summary>
    /// Stops an OTA update where it has not finished: every item still Pending or Sent is marked Skipped (IoTConnect
    /// publishes no cancel; this is the one lever public code shows). Items that end meanwhile are left as they
    /// ended. Returns how many items were skipped.
    /// </summary>
    public virtual async Task<int> CancelOtaUpdateAsync(Guid otaUpdateGuid, CancellationToken cancellationToken = default)
    {
        var skipped = 0;
        foreach (var status in new[] { IoTConnectOtaStatus.Pending, IoTConnectOtaStatus.Sent })
        {
            var items = new List<IoTConnectOtaDeviceStatus>();
            await foreach (var item in GetOtaUpdateDevicesAsync(otaUpdateGuid, status, cancellationToken).ConfigureAwait(false))
            {
                items.Add(item);
            }

            foreach (var item in items)
            {
                try
                {
                    await SetOtaItemStatusAsync(item.DeviceGuid, item.ItemGuid, IoTConnectOtaStatus.Skipped, cancellationToken).ConfigureAwait(false);
                    skipped++;
                }
                catch (IoTConnectApiException ex) when (ex.IsConflict)
                {
                    // It ended (succeeded or failed) between the listing and the change: nothing left to stop.
                }
            }
        }

        return skipped;
    }
}
