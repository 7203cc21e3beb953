using DurableTask.Core.Exceptions;
using Microsoft.DurableTask.Client;
using Fleet.Functions.Settings;
using Fleet.Shared.DesiredState;
using Fleet.Shared.FleetClouds;
using Fleet.Shared.IoTCentral;
using Fleet.Shared.IoTConnect;
using Microsoft.Extensions.Logging;
using Microsoft.Extensions.Options;

namespace Fleet.Functions.Provisioning;

/// <summary>A provisioning request that cannot be served with the current settings (e.g. no tenant at all).</summary>
public sealed class InvalidProvisioningRequestException(string message) : Exception(message);

/// <summary>What a start request did.</summary>
/// <param name="InstanceId">The provisioning instance of the device.</param>
/// <param name="Started">False when an unfinished provisioning of the device already existed.</param>
public sealed record ProvisioningStart(string InstanceId, bool Started);

/// <summary>
/// Starts <c>ProvisionDevice</c> with one instance id per device: Sphere <c>provision-{DEVICEID}</c>, the other clouds
/// <c>provision-{cloud}-{connection}-{deviceId}</c>. At most one provisioning per device runs at a time; a finished one
/// is replaced (re-provisioning).
/// </summary>
public sealed class ProvisioningStarter(IOptionsMonitor<ProvisioningOptions> options, ILogger<ProvisioningStarter> logger)
{
    /// <summary>The prefix of provisioning instance ids.</summary>
    public const string InstancePrefix = "provision-";

    /// <summary>The instance id of a Sphere device's provisioning.</summary>
    public static string InstanceIdFor(string deviceId) => InstancePrefix + deviceId.ToUpperInvariant();

    /// <summary>The instance id of a device's provisioning on <paramref name="cloud"/> (the connection is ignored for Sphere).</summary>
    public static string InstanceIdFor(FleetCloud cloud, string connection, string deviceId) =>
        cloud == FleetCloud.Sphere ? InstanceIdFor(deviceId) : $"{InstancePrefix}{FleetCloudJsonConverter.NameOf(cloud)}-{connection.ToLowerInvariant()}-{deviceId}";

    /// <summary>What request validation needs to know: the default cloud.</summary>
    public IDictionary<object, object?> ValidationItems => new Dictionary<object, object?> { [ProvisioningRequest.DefaultCloudKey] = options.CurrentValue.DefaultCloud };

    /// <summary>Schedules the provisioning unless one of the device is Pending, Running or Suspended.</summary>
    /// <exception cref="InvalidProvisioningRequestException">A Sphere request names no tenant and no default is set.</exception>
    public async Task<ProvisioningStart> StartAsync(DurableTaskClient client, ProvisioningRequest request, string source, CancellationToken cancellationToken)
    {
        ArgumentNullException.ThrowIfNull(client);
        ArgumentNullException.ThrowIfNull(request);
        var input = ToInput(request);
        var instanceId = InstanceIdFor(input.Target.Cloud, input.Target.Scope, input.DeviceId);
        try
        {
            await client.ScheduleNewOrchestrationInstanceAsync(
                ProvisionDeviceOrchestration.Name, input, Fleet.Functions.Orchestration.StartOptions.Unique(instanceId), cancellationToken);
            logger.ProvisioningScheduled(input.DeviceId, input.Placement, instanceId, source);
            return new ProvisioningStart(instanceId, true);
        }
        catch (OrchestrationAlreadyExistsException)
        {
            logger.ProvisioningAlreadyRunning(input.DeviceId, instanceId, source);
            return new ProvisioningStart(instanceId, false);
        }
    }

    private ProvisionInput ToInput(ProvisioningRequest request)
    {
        var cloud = request.RequestedCloud ?? options.CurrentValue.DefaultCloud;
        switch (cloud)
        {
            case FleetCloud.IoTCentral:
                return new ProvisionInput(
                    new FleetTarget(cloud, Connection(request, IoTCentralServiceCollectionExtensions.DefaultConnectionName), request.DeviceGroup!.Trim(),
                        request.Template!.Trim(), request.Organization?.Trim()),
                    request.DeviceId!, request.RequestId);
            case FleetCloud.IoTConnect:
                return new ProvisionInput(
                    new FleetTarget(cloud, Connection(request, IoTConnectServiceCollectionExtensions.DefaultConnectionName), request.Entity!.Trim(), request.Template!.Trim()),
                    request.DeviceId!, request.RequestId);
            default:
                var tenant = request.TenantId?.Trim() ?? options.CurrentValue.DefaultTenant?.Trim()
                    ?? throw new InvalidProvisioningRequestException(
                        "The request has no tenantId and Provisioning:DefaultTenant is not set: add one of them.");
                return new ProvisionInput(
                    new FleetTarget(FleetCloud.Sphere, tenant, new GroupPath(request.Product!.Trim(), request.DeviceGroup!.Trim()).ToString()),
                    request.DeviceId!.ToUpperInvariant(), request.RequestId);
        }
    }

    private static string Connection(ProvisioningRequest request, string fallback) => request.Connection?.Trim() ?? fallback;
}
