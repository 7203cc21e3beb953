using System.Collections.Concurrent;
using Fleet.Shared.IoTConnect;

namespace Fleet.Shared.FleetClouds;

/// <summary>
/// The port on IoTConnect: a scope is a connection (one solution). A target names a template code and an entity
/// path; enrolling creates the device (in the target entity) and acquires it, placing moves it to the entity
/// (<c>PUT Device/{guid}</c>), and a deployment is an OTA update of the template's firmware upgrade of that version.
/// </summary>
public sealed class IoTConnectFleetAdapter(IServiceProvider services, TimeProvider time) : IFleetCloudAdapter
{
    private const string EntityHandle = "entity|";
    private const string NoUpdate = "none";

    // Upgrade guid → version, per connection: a sweep page names upgrades by guid only.
    private static readonly TimeSpan UpgradeCacheLifetime = TimeSpan.FromMinutes(1);
    private readonly ConcurrentDictionary<string, (DateTimeOffset At, IReadOnlyDictionary<Guid, IoTConnectFirmwareUpgrade> Upgrades)> _upgrades = new(StringComparer.Ordinal);

    /// <inheritdoc />
    public FleetCloud Cloud => FleetCloud.IoTConnect;

    /// <inheritdoc />
    public async Task<FleetScope> ResolveScopeAsync(string scope, CancellationToken cancellationToken = default)
    {
        var urls = await Client(scope).GetServiceUrlsAsync(cancellationToken).ConfigureAwait(false);
        return new FleetScope(scope, urls.Device.GetLeftPart(UriPartial.Path));
    }

    /// <inheritdoc />
    public async Task<FleetStepResult> ResolveTargetAsync(FleetTarget target, CancellationToken cancellationToken = default)
    {
        ArgumentNullException.ThrowIfNull(target);
        var client = Client(target.Scope);
        if (string.IsNullOrWhiteSpace(target.Template))
        {
            return FleetStepResult.Failed(new FleetError(400, FleetError.TemplateNotFound, $"The target {target} names no device template."));
        }

        IoTConnectTemplate template;
        try
        {
            template = await client.GetTemplateByCodeAsync(target.Template, cancellationToken).ConfigureAwait(false);
        }
        catch (IoTConnectApiException ex) when (ex.IsNotFound)
        {
            return FleetStepResult.Failed(new FleetError(404, FleetError.TemplateNotFound, $"IoTConnect template '{target.Template}' does not exist.", ex.RequestId));
        }

        var tree = await client.GetEntityTreeAsync(cancellationToken).ConfigureAwait(false);
        if (tree.FindByPath(target.Group) is not { } entity)
        {
            return FleetStepResult.Failed(new FleetError(404, FleetError.DeviceGroupNotFound, $"IoTConnect entity '{target.Group}' does not exist."));
        }

        var id = entity.EntityGuid.ToString();
        return FleetStepResult.Done(false) with { Location = new FleetLocation(id, id, template.TemplateGuid.ToString()) };
    }

    /// <inheritdoc />
    public async Task<FleetStepResult> EnrollAsync(FleetTarget target, string deviceId, CancellationToken cancellationToken = default)
    {
        ArgumentNullException.ThrowIfNull(target);
        var resolved = await ResolveTargetAsync(target, cancellationToken).ConfigureAwait(false);
        if (resolved.Location is not { } location)
        {
            return resolved;
        }

        var client = Client(target.Scope);
        var templateGuid = Guid.Parse(location.TemplateId!);
        var existing = await client.FindDeviceAsync(deviceId, cancellationToken).ConfigureAwait(false);
        if (existing is not null && existing.TemplateGuid != templateGuid)
        {
            return FleetStepResult.Failed(new FleetError(409, FleetError.TemplateMismatch,
                $"IoTConnect device '{deviceId}' exists with template {existing.TemplateName ?? existing.TemplateGuid.ToString()}, not {target.Template}; the automation does not change templates."));
        }

        // An existing device is enrolled where it is (placing moves it): the client's provisioning then only acquires it.
        var entity = existing?.EntityGuid ?? Guid.Parse(location.GroupId);
        var result = await client.ProvisionDeviceAsync(new IoTConnectDeviceCreateRequest(deviceId, deviceId, templateGuid, entity)
        {
            Note = "Provisioned by the fleet automation app.",
        }, acquire: true, cancellationToken).ConfigureAwait(false);
        return FleetStepResult.Done(result.Created || result.Acquired);
    }

    /// <inheritdoc />
    public async Task<FleetStepResult> PlaceAsync(FleetTarget target, FleetLocation location, string deviceId, bool seenElsewhere = false,
        CancellationToken cancellationToken = default)
    {
        ArgumentNullException.ThrowIfNull(target);
        ArgumentNullException.ThrowIfNull(location);
        var client = Client(target.Scope);
        var entity = Guid.Parse(location.GroupId);
        var device = await client.GetDeviceByUniqueIdAsync(deviceId, cancellationToken).ConfigureAwait(false);
        if (device.EntityGuid == entity)
        {
            return FleetStepResult.Done(false);
        }

        await client.UpdateDeviceAsync(device.DeviceGuid, device.DisplayName, entity, cancellationToken: cancellationToken).ConfigureAwait(false);
        return FleetStepResult.Pending($"{EntityHandle}{entity}|{deviceId}");
    }

    /// <inheritdoc />
    public async Task<FleetStepResult> PollAsync(FleetTarget target, string handle, CancellationToken cancellationToken = default)
    {
        ArgumentNullException.ThrowIfNull(target);
        ArgumentNullException.ThrowIfNull(handle);
        if (!handle.StartsWith(EntityHandle, StringComparison.Ordinal) || handle[EntityHandle.Length..].Split('|') is not [var entity, var deviceId])
        {
            throw new ArgumentException($"'{handle}' is not a handle of the IoTConnect adapter.", nameof(handle));
        }

        // The move is read back: the entity a device list reports is what the next sweep will judge.
        var device = await Client(target.Scope).GetDeviceByUniqueIdAsync(deviceId, cancellationToken).ConfigureAwait(false);
        return device.EntityGuid == Guid.Parse(entity) ? FleetStepResult.Done(true) : FleetStepResult.Pending(handle);
    }

    /// <inheritdoc />
    public async Task<FleetStepResult> VerifyAsync(FleetTarget target, FleetLocation location, string deviceId, CancellationToken cancellationToken = default)
    {
        ArgumentNullException.ThrowIfNull(target);
        ArgumentNullException.ThrowIfNull(location);
        var device = await Client(target.Scope).FindDeviceAsync(deviceId, cancellationToken).ConfigureAwait(false);
        if (device is not null && device.IsAcquired && IsPlaced(ToFleet(device, null), location))
        {
            return FleetStepResult.Done(false);
        }

        return FleetStepResult.Failed(new FleetError(0, FleetError.VerificationFailed, device is null
            ? $"IoTConnect device '{deviceId}' does not exist."
            : $"IoTConnect device '{deviceId}' is in entity {device.EntityGuid} with template {device.TemplateGuid}, acquired {device.IsAcquired}; expected entity {location.GroupId}, template {location.TemplateId}, acquired."));
    }

    /// <inheritdoc />
    public async Task<FleetDevice?> GetDeviceAsync(FleetTarget target, string deviceId, CancellationToken cancellationToken = default)
    {
        ArgumentNullException.ThrowIfNull(target);
        var device = await Client(target.Scope).FindDeviceAsync(deviceId, cancellationToken).ConfigureAwait(false);
        return device is null ? null : ToFleet(device, await VersionAsync(target.Scope, device.FirmwareUpgradeGuid, cancellationToken).ConfigureAwait(false));
    }

    /// <inheritdoc />
    public async Task<FleetDevicePage> GetDevicesAsync(FleetTarget scope, string? continuation, int pageSize, FleetDeploymentSpec? versionOf,
        CancellationToken cancellationToken = default)
    {
        ArgumentNullException.ThrowIfNull(scope);
        return await FleetConnections.PageAsync(Client(scope.Scope).GetDevicesAsync(null, cancellationToken), continuation, pageSize, async device =>
            ToFleet(device, versionOf is null ? null : await VersionAsync(scope.Scope, device.FirmwareUpgradeGuid, cancellationToken).ConfigureAwait(false)))
            .ConfigureAwait(false);
    }

    /// <inheritdoc />
    public bool IsPlaced(FleetDevice device, FleetLocation location)
    {
        ArgumentNullException.ThrowIfNull(device);
        ArgumentNullException.ThrowIfNull(location);
        return string.Equals(device.GroupId, location.GroupId, StringComparison.OrdinalIgnoreCase)
               && string.Equals(device.TemplateId, location.TemplateId, StringComparison.OrdinalIgnoreCase);
    }

    /// <inheritdoc />
    public async Task<FleetStepResult> StartDeploymentAsync(FleetDeploymentRequest request, CancellationToken cancellationToken = default)
    {
        ArgumentNullException.ThrowIfNull(request);
        var client = Client(request.Target.Scope);
        var templateGuid = Guid.Parse(request.Location.TemplateId!);
        IoTConnectFirmwareUpgrade? upgrade = null;
        await foreach (var firmware in client.GetFirmwareListAsync(cancellationToken).ConfigureAwait(false))
        {
            if (firmware.TemplateGuid == templateGuid)
            {
                var full = await client.GetFirmwareAsync(firmware.FirmwareGuid, cancellationToken).ConfigureAwait(false);
                upgrade = full.Upgrades.FirstOrDefault(u => string.Equals(u.Software, request.Spec.Version, StringComparison.OrdinalIgnoreCase));
                break;
            }
        }

        if (upgrade is null || !upgrade.IsReleased)
        {
            return FleetStepResult.Failed(new FleetError(404, FleetError.VersionNotFound,
                $"Template {request.Target.Template} has no released firmware upgrade '{request.Spec.Version}'."));
        }

        var ota = request.DeviceIds is { Count: > 0 } ids
            ? IoTConnectOtaRequest.ToDevices(upgrade.UpgradeGuid, await DeviceGuidsAsync(client, ids, cancellationToken).ConfigureAwait(false))
            : IoTConnectOtaRequest.ToEntity(upgrade.UpgradeGuid, Guid.Parse(request.Location.GroupId));
        var created = await client.CreateOtaUpdateAsync(ota, cancellationToken).ConfigureAwait(false);
        if (created.OtaUpdateGuid is { } guid)
        {
            return FleetStepResult.Pending(guid.ToString());
        }

        // No device needed it: every target is on the upgrade or has it unfinished (e.g. a repeated start). The
        // newest update of this upgrade with items still open is the one to watch.
        await foreach (var summary in client.GetOtaUpdatesAsync(cancellationToken).ConfigureAwait(false))
        {
            if (summary.UpgradeGuid == upgrade.UpgradeGuid && summary.Pending > 0)
            {
                return FleetStepResult.Pending(summary.OtaUpdateGuid.ToString());
            }
        }

        return FleetStepResult.Pending(NoUpdate, changed: false);
    }

    /// <inheritdoc />
    public async Task<FleetDeploymentProgress> GetDeploymentAsync(FleetTarget target, string handle, CancellationToken cancellationToken = default)
    {
        ArgumentNullException.ThrowIfNull(target);
        if (handle == NoUpdate)
        {
            return new FleetDeploymentProgress(handle, true, 0, 0, 0, []);
        }

        var client = Client(target.Scope);
        var guid = Guid.Parse(handle);
        var progress = await client.GetOtaProgressAsync(guid, cancellationToken).ConfigureAwait(false);
        var failedIds = new List<string>();
        if (progress.IsFinished && progress.Failed > 0)
        {
            await foreach (var item in client.GetOtaUpdateDevicesAsync(guid, IoTConnectOtaStatus.Failed, cancellationToken).ConfigureAwait(false))
            {
                if (failedIds.Count < 100)
                {
                    failedIds.Add(item.UniqueId);
                }
            }
        }

        // Skipped items (not acquired, or already on the upgrade) are not failures.
        return new FleetDeploymentProgress(handle, progress.IsFinished, progress.Total, progress.Success + progress.Skipped, progress.Failed, failedIds);
    }

    /// <inheritdoc />
    public async Task StopDeploymentAsync(FleetTarget target, string handle, CancellationToken cancellationToken = default)
    {
        ArgumentNullException.ThrowIfNull(target);
        if (handle != NoUpdate)
        {
            await Client(target.Scope).CancelOtaUpdateAsync(Guid.Parse(handle), cancellationToken).ConfigureAwait(false);
        }
    }

    /// <inheritdoc />
    public FleetError? Refusal(Exception exception) => exception switch
    {
        IoTConnectApiException { IsTransient: false } ex => new FleetError(ex.Status, ex.ErrorCode, ex.ServiceMessage ?? ex.Message, ex.RequestId),
        _ => FleetConnections.NotConfigured(exception),
    };

    private static FleetDevice ToFleet(IoTConnectDevice device, string? version)
    {
        var entity = device.EntityGuid.ToString();
        return new FleetDevice(device.UniqueId, entity, entity, device.TemplateGuid.ToString(), version) { Handle = device.DeviceGuid.ToString() };
    }

    private static async Task<List<Guid>> DeviceGuidsAsync(IoTConnectClient client, IReadOnlyList<string> uniqueIds, CancellationToken cancellationToken)
    {
        var guids = new List<Guid>(uniqueIds.Count);
        foreach (var id in uniqueIds)
        {
            guids.Add((await client.GetDeviceByUniqueIdAsync(id, cancellationToken).ConfigureAwait(false)).DeviceGuid);
        }

        return guids;
    }

    private async Task<string?> VersionAsync(string connection, Guid? upgradeGuid, CancellationToken cancellationToken)
    {
        if (upgradeGuid is not { } guid)
        {
            return null;
        }

        if (!_upgrades.TryGetValue(connection, out var cached) || time.GetUtcNow() - cached.At > UpgradeCacheLifetime || !cached.Upgrades.ContainsKey(guid))
        {
            var all = new Dictionary<Guid, IoTConnectFirmwareUpgrade>();
            await foreach (var upgrade in Client(connection).GetFirmwareUpgradesAsync(cancellationToken: cancellationToken).ConfigureAwait(false))
            {
                all[upgrade.UpgradeGuid] = upgrade;
            }

            cached = (time.GetUtcNow(), all);
            _upgrades[connection] = cached;
        }

        return cached.Upgrades.TryGetValue(guid, out var found) ? found.Software : null;
    }

    private IoTConnectClient Client(string connection) => FleetConnections.Client<IoTConnectClient>(services, FleetCloud.IoTConnect, connection);
}
