using System.Globalization;
using System.Text.Json;
using System.Text.Json.Nodes;
using Fleet.Shared.IoTCentral;

namespace Fleet.Shared.FleetClouds;

/// <summary>
/// The port on IoT Central: a scope is a connection (one application). Enrolling writes the device with its template
/// and organization (<c>PUT /devices/{id}</c>, only when it differs); device groups are filter-based, so placing a
/// device is waiting until the target group lists it; a deployment is a job on the group setting a writable property.
/// </summary>
public sealed class IoTCentralFleetAdapter(IServiceProvider services) : IFleetCloudAdapter
{
    private const string ListingHandle = "listing|";

    /// <inheritdoc />
    public FleetCloud Cloud => FleetCloud.IoTCentral;

    /// <inheritdoc />
    public Task<FleetScope> ResolveScopeAsync(string scope, CancellationToken cancellationToken = default) =>
        Task.FromResult(new FleetScope(scope, Client(scope).Endpoint.GetLeftPart(UriPartial.Path)));

    /// <inheritdoc />
    public async Task<FleetStepResult> ResolveTargetAsync(FleetTarget target, CancellationToken cancellationToken = default)
    {
        ArgumentNullException.ThrowIfNull(target);
        var client = Client(target.Scope);
        if (string.IsNullOrWhiteSpace(target.Template))
        {
            return FleetStepResult.Failed(new FleetError(400, FleetError.TemplateNotFound, $"The target {target} names no device template."));
        }

        var group = await ReadOrNull(() => client.GetDeviceGroupAsync(target.Group, cancellationToken)).ConfigureAwait(false);
        if (group is null)
        {
            return FleetStepResult.Failed(new FleetError(404, FleetError.DeviceGroupNotFound, $"IoT Central device group '{target.Group}' does not exist."));
        }

        if (await ReadOrNull(() => client.GetDeviceTemplateAsync(target.Template, cancellationToken)).ConfigureAwait(false) is null)
        {
            return FleetStepResult.Failed(new FleetError(404, FleetError.TemplateNotFound, $"IoT Central device template '{target.Template}' does not exist."));
        }

        if (target.Organization is { } organization
            && await ReadOrNull(() => client.GetOrganizationAsync(organization, cancellationToken)).ConfigureAwait(false) is null)
        {
            return FleetStepResult.Failed(new FleetError(404, "OrganizationNotFound", $"IoT Central organization '{organization}' does not exist."));
        }

        return FleetStepResult.Done(false) with { Location = new FleetLocation(group.Id!, target.Organization, target.Template) };
    }

    /// <inheritdoc />
    public async Task<FleetStepResult> EnrollAsync(FleetTarget target, string deviceId, CancellationToken cancellationToken = default)
    {
        ArgumentNullException.ThrowIfNull(target);
        if (string.IsNullOrWhiteSpace(target.Template))
        {
            return FleetStepResult.Failed(new FleetError(400, FleetError.TemplateNotFound, $"The target {target} names no device template."));
        }

        var (_, change) = await Client(target.Scope).EnsureDeviceAsync(new IoTCentralProvisioningRequest
        {
            DeviceId = deviceId,
            Template = target.Template,
            DeviceGroupId = target.Group,
            Organization = target.Organization,
        }, cancellationToken).ConfigureAwait(false);
        return FleetStepResult.Done(change != ProvisioningChange.Unchanged);
    }

    /// <inheritdoc />
    public async Task<FleetStepResult> PlaceAsync(FleetTarget target, FleetLocation location, string deviceId, bool seenElsewhere = false,
        CancellationToken cancellationToken = default)
    {
        ArgumentNullException.ThrowIfNull(target);
        ArgumentNullException.ThrowIfNull(location);
        return await Client(target.Scope).IsInDeviceGroupAsync(location.GroupId, deviceId, cancellationToken).ConfigureAwait(false)
            ? FleetStepResult.Done(false)
            : FleetStepResult.Pending($"{ListingHandle}{location.GroupId}|{deviceId}", changed: false);
    }

    /// <inheritdoc />
    public async Task<FleetStepResult> PollAsync(FleetTarget target, string handle, CancellationToken cancellationToken = default)
    {
        ArgumentNullException.ThrowIfNull(target);
        ArgumentNullException.ThrowIfNull(handle);
        if (!handle.StartsWith(ListingHandle, StringComparison.Ordinal) || handle[ListingHandle.Length..].Split('|') is not [var group, var device])
        {
            throw new ArgumentException($"'{handle}' is not a handle of the IoT Central adapter.", nameof(handle));
        }

        return await Client(target.Scope).IsInDeviceGroupAsync(group, device, cancellationToken).ConfigureAwait(false)
            ? FleetStepResult.Done(false)
            : FleetStepResult.Pending(handle, changed: false);
    }

    /// <inheritdoc />
    public async Task<FleetStepResult> VerifyAsync(FleetTarget target, FleetLocation location, string deviceId, CancellationToken cancellationToken = default)
    {
        ArgumentNullException.ThrowIfNull(location);
        var device = await GetDeviceAsync(target, deviceId, cancellationToken).ConfigureAwait(false);
        if (device is null || !IsPlaced(device, location))
        {
            return FleetStepResult.Failed(new FleetError(0, FleetError.VerificationFailed,
                device is null
                    ? $"IoT Central device '{deviceId}' does not exist."
                    : $"IoT Central device '{deviceId}' has template {device.TemplateId}, organization {device.ParentId ?? "(none)"}; expected {location.TemplateId}, {location.ParentId ?? "(none)"}."));
        }

        return await Client(target.Scope).IsInDeviceGroupAsync(location.GroupId, deviceId, cancellationToken).ConfigureAwait(false)
            ? FleetStepResult.Done(false)
            : FleetStepResult.Failed(new FleetError(0, FleetError.VerificationFailed,
                $"IoT Central device group '{location.GroupId}' does not list device '{deviceId}'; check the group's filter."));
    }

    /// <inheritdoc />
    public async Task<FleetDevice?> GetDeviceAsync(FleetTarget target, string deviceId, CancellationToken cancellationToken = default)
    {
        ArgumentNullException.ThrowIfNull(target);
        var client = Client(target.Scope);
        var device = await ReadOrNull(() => client.GetDeviceAsync(deviceId, cancellationToken)).ConfigureAwait(false);
        return device is null ? null : ToFleet(device, null);
    }

    /// <inheritdoc />
    public async Task<FleetDevicePage> GetDevicesAsync(FleetTarget scope, string? continuation, int pageSize, FleetDeploymentSpec? versionOf,
        CancellationToken cancellationToken = default)
    {
        ArgumentNullException.ThrowIfNull(scope);
        var client = Client(scope.Scope);
        return await FleetConnections.PageAsync(client.GetDevicesAsync(cancellationToken: cancellationToken), continuation, pageSize, async device =>
        {
            var version = versionOf is null
                ? null
                : ReadProperty(await client.GetDevicePropertiesAsync(device.Id!, cancellationToken).ConfigureAwait(false),
                    versionOf.Property ?? FleetDeploymentSpec.DefaultProperty);
            return ToFleet(device, version);
        }).ConfigureAwait(false);
    }

    /// <inheritdoc />
    public bool IsPlaced(FleetDevice device, FleetLocation location)
    {
        ArgumentNullException.ThrowIfNull(device);
        ArgumentNullException.ThrowIfNull(location);
        return string.Equals(device.TemplateId, location.TemplateId, StringComparison.Ordinal)
               && string.Equals(device.ParentId, location.ParentId, StringComparison.Ordinal);
    }

    /// <inheritdoc />
    public async Task<FleetStepResult> StartDeploymentAsync(FleetDeploymentRequest request, CancellationToken cancellationToken = default)
    {
        ArgumentNullException.ThrowIfNull(request);
        var property = request.Spec.Property ?? FleetDeploymentSpec.DefaultProperty;
        if (request.DeviceIds is { Count: > 0 } devices)
        {
            // Named devices (a sweep's remediation) get the property directly: jobs only target whole groups.
            foreach (var device in devices)
            {
                await Client(request.Target.Scope).UpdateDevicePropertiesAsync(device,
                    new Dictionary<string, JsonNode?> { [property] = JsonValue.Create(request.Spec.Version) }, cancellationToken).ConfigureAwait(false);
            }

            return FleetStepResult.Done(true);
        }

        var jobId = JobId(request.DeploymentId);

        // A repeated PUT of the same job id answers the job as it is, so a retried start makes no second job.
        var job = await Client(request.Target.Scope).CreateJobAsync(jobId, new IoTCentralJob
        {
            DisplayName = $"Fleet deployment {request.DeploymentId}",
            Group = request.Location.GroupId,
            Data = [IoTCentralJobData.Property(request.Location.TemplateId!, property, JsonValue.Create(request.Spec.Version))],
        }, cancellationToken).ConfigureAwait(false);
        return FleetStepResult.Pending(job.Id ?? jobId);
    }

    /// <inheritdoc />
    public async Task<FleetDeploymentProgress> GetDeploymentAsync(FleetTarget target, string handle, CancellationToken cancellationToken = default)
    {
        ArgumentNullException.ThrowIfNull(target);
        var client = Client(target.Scope);
        var job = await client.GetJobAsync(handle, cancellationToken).ConfigureAwait(false);
        var finished = job.IsFinished || job.Status == IoTCentralJobStatus.Stopped;
        var progress = job.Progress ?? new IoTCentralJobProgress(0, 0, 0, 0);
        var failedIds = new List<string>();
        if (finished && progress.Failed > 0)
        {
            await foreach (var device in client.GetJobDevicesAsync(handle, cancellationToken).ConfigureAwait(false))
            {
                if (device.Status == IoTCentralJobDeviceStatus.Failed && failedIds.Count < 100)
                {
                    failedIds.Add(device.Id);
                }
            }
        }

        return new FleetDeploymentProgress(handle, finished, progress.Total, progress.Completed, progress.Failed, failedIds);
    }

    /// <inheritdoc />
    public async Task StopDeploymentAsync(FleetTarget target, string handle, CancellationToken cancellationToken = default)
    {
        ArgumentNullException.ThrowIfNull(target);
        try
        {
            await Client(target.Scope).StopJobAsync(handle, cancellationToken).ConfigureAwait(false);
        }
        catch (IoTCentralApiException ex) when (ex.IsBadRequest)
        {
            // The job finished meanwhile: there is nothing left to stop.
        }
    }

    /// <inheritdoc />
    public FleetError? Refusal(Exception exception) => exception switch
    {
        IoTCentralApiException { IsTransient: false } ex => new FleetError(ex.Status, ex.ErrorCode, ex.ErrorMessage ?? ex.Message, ex.RequestId),
        _ => FleetConnections.NotConfigured(exception),
    };

    /// <summary>An IoT Central job id from ours: letters, digits, dashes and underscores (what job ids allow), at most 64.</summary>
    internal static string JobId(string deploymentId)
    {
        var chars = deploymentId.Select(c => char.IsAsciiLetterOrDigit(c) || c is '-' or '_' ? char.ToLowerInvariant(c) : '-').ToArray();
        var id = new string(chars);
        return id.Length <= 64 ? id : id[..64];
    }

    private static FleetDevice ToFleet(IoTCentralDevice device, string? version) =>
        new(device.Id!, null, device.Organizations is { Count: > 0 } orgs ? orgs[0] : null, device.Template, version);

    private static string? ReadProperty(JsonElement properties, string name)
    {
        if (properties.ValueKind != JsonValueKind.Object || !properties.TryGetProperty(name, out var value))
        {
            return null;
        }

        return value.ValueKind switch
        {
            JsonValueKind.String => value.GetString(),
            JsonValueKind.Number => value.GetRawText(),
            JsonValueKind.True or JsonValueKind.False => value.GetBoolean().ToString(CultureInfo.InvariantCulture),
            _ => value.GetRawText(),
        };
    }

    private static async Task<T?> ReadOrNull<T>(Func<Task<T>> read)
        where T : class
    {
        try
        {
            return await read().ConfigureAwait(false);
        }
        catch (IoTCentralApiException ex) when (ex.IsNotFound)
        {
            return null;
        }
    }

    private IoTCentralClient Client(string connection) => FleetConnections.Client<IoTCentralClient>(services, FleetCloud.IoTCentral, connection);
}
