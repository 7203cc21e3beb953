namespace Fleet.Simulator.IoTConnect;

internal sealed partial class IoTConnectCloud
{
    private const int TargetEntity = 1;
    private const int TargetDevices = 3;

    /// <summary>
    /// <c>POST ota-update</c>: pushes a firmware upgrade to an entity subtree (target 1, devices of the firmware's
    /// template only) or a device list (target 3). Each device gets an item that is <c>Pending</c>, <c>Sent</c> from
    /// half the OTA delay after the start and <c>Success</c> or <c>Failed</c> at the delay; devices that are not
    /// acquired, or (without isForceUpdate) already run the upgrade, are <c>Skipped</c> at once; without
    /// isForceUpdate a device whose same upgrade is still unfinished is left out.
    /// </summary>
    public IoTConnectReply CreateOta(string solutionKey, CreateOtaRequest request) => With(solutionKey, (s, now) =>
    {
        if (request.FirmwareUpgradeGuid is not { } upgradeGuid || !s.UpgradesByGuid.TryGetValue(upgradeGuid, out var upgrade))
        {
            return IoTConnectReply.BadRequest("firmwareUpgradeGuid", "firmwareUpgradeGuid must name a firmware upgrade of the solution.");
        }

        if (upgrade.Firmware.Deprecated)
        {
            return IoTConnectReply.Conflict("FirmwareDeprecated", $"Firmware '{upgrade.Firmware.Name}' is deprecated.");
        }

        if (request.Target is not (TargetEntity or TargetDevices))
        {
            return IoTConnectReply.BadRequest("target", "target must be 1 (entity and its sub-entities) or 3 (device list).");
        }

        if (!upgrade.Released && !(request.IsTrialDraft && request.Target == TargetDevices))
        {
            return IoTConnectReply.Conflict("FirmwareUpgradeIsDraft", "A draft upgrade can only be pushed to a device list with isTrialDraft.");
        }

        if (!TryParseSchedule(request.ScheduledOn, out var scheduled))
        {
            return IoTConnectReply.BadRequest("scheduledOn", "scheduledOn must be 'yyyy-MM-dd HH:mm:ss' (GMT).");
        }

        List<DeviceRecord> targets;
        if (request.Target == TargetEntity)
        {
            if (request.EntityGuid is not { } entityGuid || !s.EntitiesByGuid.ContainsKey(entityGuid))
            {
                return IoTConnectReply.BadRequest("entityGuid", "entityGuid must name an entity of the solution.");
            }

            var subtree = Subtree(s, entityGuid);
            targets = s.Devices.Where(d => subtree.Contains(d.EntityGuid) && d.TemplateGuid == upgrade.Firmware.TemplateGuid).ToList();
        }
        else
        {
            if (request.DeviceGuids is not { Count: > 0 } guids)
            {
                return IoTConnectReply.BadRequest("deviceGuids", "deviceGuids must list at least one device.");
            }

            if (guids.Where(g => !s.DevicesByGuid.ContainsKey(g)).Select(g => (Guid?)g).FirstOrDefault() is { } unknown)
            {
                return IoTConnectReply.BadRequest("deviceGuids", $"Device '{unknown}' does not exist.");
            }

            targets = guids.Distinct().Select(g => s.DevicesByGuid[g]).ToList();
            if (targets.FirstOrDefault(d => d.TemplateGuid != upgrade.Firmware.TemplateGuid) is { } other)
            {
                return IoTConnectReply.Conflict("DeviceTemplateMismatch", $"Device '{other.UniqueId}' is not of the firmware's device template.");
            }
        }

        if (!request.IsForceUpdate)
        {
            var busy = s.OtaUpdates.Where(o => o.Upgrade == upgrade).SelectMany(o => o.Items).Where(i => !i.IsFinished).Select(i => i.Device).ToHashSet();
            targets.RemoveAll(busy.Contains);
        }

        if (targets.Count == 0)
        {
            return IoTConnectReply.Ok(Array.Empty<OtaCreatedItem>(), 0, "No device to update.");
        }

        var start = scheduled is { } at && at > now ? at : now;
        var ota = new OtaRecord(NewId(), upgrade, request.Target.Value, request.EntityGuid, request.IsForceUpdate, now, start, scheduled);
        s.OtaUpdates.Add(ota);
        s.OtaByGuid[ota.Guid] = ota;
        var delay = TimeSpan.FromMilliseconds(_settings.Current.OtaDelayMs);
        foreach (var device in targets)
        {
            var skip = !device.Acquired || (!request.IsForceUpdate && device.FirmwareUpgradeGuid == upgrade.Guid);
            var item = new OtaItemRecord(NewId(), ota, device, skip ? OtaItemStatus.Skipped : OtaItemStatus.Pending, now);
            ota.Items.Add(item);
            if (!skip)
            {
                Schedule(start + (delay / 2), at => Progress(item, OtaItemStatus.Sent, at));
                Schedule(start + delay, at => Progress(item, Finish(item), at));
            }
        }

        return IoTConnectReply.Ok(ota.Items.Select(i => new OtaCreatedItem(i.Device.Guid, ota.Guid)).ToList(), ota.Items.Count, "OTA update created successfully.");
    });

    public IoTConnectReply ListOta(string solutionKey, PageSpec page) => With(solutionKey, (s, _) =>
        IoTConnectReply.Ok(page.Apply(s.OtaUpdates).Select(o => OtaListItemOf(s, o)).ToList(), s.OtaUpdates.Count));

    /// <summary>The devices of one OTA update, optionally of one status (query <c>status</c> or path <c>status/{status}</c>).</summary>
    public IoTConnectReply ListOtaDevices(string solutionKey, Guid otaGuid, string? status, PageSpec page) => With(solutionKey, (s, _) =>
    {
        if (!s.OtaByGuid.TryGetValue(otaGuid, out var ota))
        {
            return IoTConnectReply.NotFound("OtaUpdateNotFound", $"OTA update '{otaGuid}' does not exist.");
        }

        OtaItemStatus? wanted = null;
        if (!string.IsNullOrEmpty(status))
        {
            if (!Enum.TryParse<OtaItemStatus>(status, ignoreCase: true, out var parsed) || !Enum.IsDefined(parsed))
            {
                return IoTConnectReply.BadRequest("status", "status must be Pending, Sent, Success, Failed or Skipped.");
            }

            wanted = parsed;
        }

        var items = ota.Items.Where(i => wanted is null || i.Status == wanted).ToList();
        return IoTConnectReply.Ok(page.Apply(items).Select(i => new OtaDeviceItem(
            i.ItemGuid, IoTConnectWire.Date(i.Updated), i.Device.Guid, i.Device.UniqueId, s.EntitiesByGuid[i.Device.EntityGuid].Name,
            i.Status.ToString())).ToList(), items.Count);
    });

    /// <summary>
    /// <c>PUT ota-update/device/{device}/otaupdateitem/{item}/status/{status}</c> (older .NET SDK path): the only public
    /// lever on a running update, used as its cancel: an unfinished item may be set <c>Skipped</c> or <c>Failed</c>.
    /// </summary>
    public IoTConnectReply SetOtaItemStatus(string solutionKey, string device, Guid itemGuid, string status) => With(solutionKey, (s, now) =>
    {
        var item = s.OtaUpdates.SelectMany(o => o.Items).FirstOrDefault(i => i.ItemGuid == itemGuid);
        if (item is null || !(string.Equals(item.Device.UniqueId, device, StringComparison.OrdinalIgnoreCase)
                              || (Guid.TryParse(device, out var g) && g == item.Device.Guid)))
        {
            return IoTConnectReply.NotFound("OtaUpdateItemNotFound", $"Device '{device}' has no OTA update item '{itemGuid}'.");
        }

        if (!Enum.TryParse<OtaItemStatus>(status, ignoreCase: true, out var next) || next is not (OtaItemStatus.Skipped or OtaItemStatus.Failed))
        {
            return IoTConnectReply.BadRequest("status", "status can only be set to Skipped or Failed.");
        }

        if (item.IsFinished)
        {
            return IoTConnectReply.Conflict("OtaUpdateItemFinished", $"OTA update item '{itemGuid}' already ended {item.Status}.");
        }

        item.Status = next;
        item.Updated = now;
        return IoTConnectReply.Done("OTA update status updated successfully.");
    });

    private OtaItemStatus Finish(OtaItemRecord item) =>
        OtaFails(item.Device.Guid, item.Ota.Guid, _settings.Current.OtaFailureRate) ? OtaItemStatus.Failed : OtaItemStatus.Success;

    private static void Progress(OtaItemRecord item, OtaItemStatus status, DateTime at)
    {
        if (item.IsFinished)
        {
            return;
        }

        item.Status = status;
        item.Updated = at;
        if (status == OtaItemStatus.Success)
        {
            item.Device.FirmwareUpgradeGuid = item.Ota.Upgrade.Guid;
            item.Device.Updated = at;
        }
    }

    private static HashSet<Guid> Subtree(SolutionState s, Guid root)
    {
        var members = new HashSet<Guid> { root };
        // Entities are stored parents first, so one pass collects every descendant.
        foreach (var entity in s.Entities)
        {
            if (entity.ParentGuid is { } parent && members.Contains(parent))
            {
                members.Add(entity.Guid);
            }
        }

        return members;
    }

    private static OtaListItem OtaListItemOf(SolutionState s, OtaRecord o)
    {
        int Count(params OtaItemStatus[] statuses) => o.Items.Count(i => statuses.Contains(i.Status));
        return new OtaListItem(
            o.Guid, o.Upgrade.Guid, o.Upgrade.Firmware.Guid, o.Upgrade.Firmware.Hardware, o.Upgrade.Software, IsRecursive: o.Target == TargetEntity,
            o.ScheduledOn is { } at ? at.ToString("yyyy-MM-dd HH:mm:ss", System.Globalization.CultureInfo.InvariantCulture) : null,
            o.Force, IoTConnectWire.Date(o.Created), CreatedBy, o.EntityGuid is { } e ? s.EntitiesByGuid[e].Name : null,
            Str(Count(OtaItemStatus.Success)), Str(Count(OtaItemStatus.Pending, OtaItemStatus.Sent)), Str(Count(OtaItemStatus.Failed)),
            Str(Count(OtaItemStatus.Skipped)));
    }

    private static string Str(int value) => value.ToString(System.Globalization.CultureInfo.InvariantCulture);
}
