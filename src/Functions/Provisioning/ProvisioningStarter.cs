using DurableTask.Core.Exceptions;
using Microsoft.DurableTask.Client;
using Fleet.Functions.Settings;
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
/// Starts <c>ProvisionDevice</c> with the instance id <c>provision-{DEVICEID}</c>: at most one provisioning per device
/// runs at a time; a finished one is replaced (re-provisioning).
/// </summary>
public sealed class ProvisioningStarter(IOptionsMonitor<ProvisioningOptions> options, ILogger<ProvisioningStarter> logger)
{
    /// <summary>The prefix of provisioning instance ids.</summary>
    public const string InstancePrefix = "provision-";

    /// <summary>The instance id of a device's provisioning.</summary>
    public static string InstanceIdFor(string deviceId) => InstancePrefix + deviceId.ToUpperInvariant();

    /// <summary>Schedules the provisioning unless one of the device is Pending, Running or Suspended.</summary>
    /// <exception cref="InvalidProvisioningRequestException">The request names no tenant and no default is set.</exception>
    public async Task<ProvisioningStart> StartAsync(DurableTaskClient client, ProvisioningRequest request, string source, CancellationToken cancellationToken)
    {
        ArgumentNullException.ThrowIfNull(client);
        ArgumentNullException.ThrowIfNull(request);
        var tenant = request.TenantId?.Trim() ?? options.CurrentValue.DefaultTenant?.Trim()
            ?? throw new InvalidProvisioningRequestException(
                "The request has no tenantId and Provisioning:DefaultTenant is not set: add one of them.");
        var input = new ProvisionInput(tenant, request.DeviceId!.ToUpperInvariant(), request.Product!.Trim(), request.DeviceGroup!.Trim(), request.RequestId);
        var instanceId = InstanceIdFor(input.DeviceId);
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
}
