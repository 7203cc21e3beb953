using Fleet.Shared.DesiredState;
using Fleet.Shared.Sphere;

namespace Fleet.Shared.FleetClouds;

/// <summary>
/// The port on Azure Sphere: a scope is a tenant (id or name). A target is <c>Product/Group</c>, created when the
/// policy allows it; enrolling is a claim, placing a move, both long-running operations polled through their handle;
/// a deployment is a set of images (the spec's version: ids separated by commas) on the group.
/// </summary>
public sealed class SphereFleetAdapter(SphereClient sphere, SphereTenantDirectory tenants) : IFleetCloudAdapter
{
    private const int LargePage = 1000;

    /// <inheritdoc />
    public FleetCloud Cloud => FleetCloud.Sphere;

    /// <inheritdoc />
    public async Task<FleetScope> ResolveScopeAsync(string scope, CancellationToken cancellationToken = default) =>
        await tenants.FindAsync(scope, cancellationToken).ConfigureAwait(false) ?? throw new FleetScopeNotFoundException(scope);

    /// <inheritdoc />
    public async Task<FleetStepResult> ResolveTargetAsync(FleetTarget target, CancellationToken cancellationToken = default)
    {
        ArgumentNullException.ThrowIfNull(target);
        if (!GroupPath.TryParse(target.Group, out var path))
        {
            return FleetStepResult.Failed(new FleetError(400, FleetError.DeviceGroupNotFound, $"'{target.Group}' is not \"Product/Group\"."));
        }

        var (productId, groupId) = await FindGroupAsync(sphere, target.Scope, path, cancellationToken).ConfigureAwait(false);
        if (productId is null)
        {
            if (!target.AllowCreate)
            {
                return FleetStepResult.Failed(new FleetError(404, FleetError.ProductNotFound,
                    $"Product '{path.Product}' does not exist and the policy does not allow creating it (allowCreate)."));
            }

            try
            {
                var operation = await sphere.CreateProductAsync(target.Scope, path.Product, "Created by the fleet automation app.",
                    createDefaultGroups: false, cancellationToken).ConfigureAwait(false);
                return FleetStepResult.Pending(Handle.Again(operation.OperationId));
            }
            catch (SphereApiException ex) when (ex.IsConflict && ex.ErrorCode == "ProductNameAlreadyExists")
            {
                // A racing creator's product appears once its operation completes: look again.
                return new FleetStepResult(FleetStepState.Again);
            }
        }

        if (groupId is null)
        {
            if (!target.AllowCreate)
            {
                return FleetStepResult.Failed(new FleetError(404, FleetError.DeviceGroupNotFound,
                    $"Device group '{path}' does not exist and the policy does not allow creating it (allowCreate)."));
            }

            try
            {
                var created = await sphere.CreateDeviceGroupAsync(target.Scope, new DeviceGroupCreateRequest(productId, path.Group)
                {
                    Description = "Created by the fleet automation app.",
                    OsFeedType = (OsFeedType)(target.OsFeedType ?? (int)OsFeedType.Retail),
                    UpdatePolicy = (UpdatePolicy)(target.UpdatePolicy ?? (int)UpdatePolicy.UpdateAll),
                }, cancellationToken).ConfigureAwait(false);
                groupId = created.Id;
            }
            catch (SphereApiException ex) when (ex.IsConflict && ex.ErrorCode == "DeviceGroupNameAlreadyExists")
            {
                return new FleetStepResult(FleetStepState.Again);
            }
        }

        return FleetStepResult.Done(false) with { Location = new FleetLocation(groupId, productId, null) };
    }

    /// <inheritdoc />
    /// <remarks>
    /// The claim's operation (like a move's) is polled once at once: most finish within the call's round trip, and
    /// pending would cost the orchestration a whole poll interval on a timer before it looks.
    /// </remarks>
    public async Task<FleetStepResult> EnrollAsync(FleetTarget target, string deviceId, CancellationToken cancellationToken = default)
    {
        ArgumentNullException.ThrowIfNull(target);
        string handle;
        try
        {
            var operation = await sphere.ClaimDeviceAsync(target.Scope, deviceId, cancellationToken).ConfigureAwait(false);
            handle = Handle.Claim(operation.OperationId, deviceId);
        }
        catch (SphereApiException ex) when (ex.IsConflict && ex.ErrorCode == "DeviceAlreadyClaimed")
        {
            // Claimed by this tenant already, perhaps by an earlier attempt whose operation is still completing: the
            // device is enrolled once the tenant can read it.
            handle = Handle.Visible(deviceId);
        }

        return await PollAsync(target, handle, cancellationToken).ConfigureAwait(false);
    }

    /// <inheritdoc />
    public async Task<FleetStepResult> PlaceAsync(FleetTarget target, FleetLocation location, string deviceId, bool seenElsewhere = false,
        CancellationToken cancellationToken = default)
    {
        ArgumentNullException.ThrowIfNull(target);
        ArgumentNullException.ThrowIfNull(location);
        if (!seenElsewhere)
        {
            var device = await sphere.GetDeviceAsync(target.Scope, deviceId, cancellationToken).ConfigureAwait(false);
            if (string.Equals(device.DeviceGroupId, location.GroupId, StringComparison.OrdinalIgnoreCase))
            {
                return FleetStepResult.Done(false);
            }
        }

        var operation = await sphere.MoveDeviceAsync(target.Scope, deviceId, location.GroupId, cancellationToken).ConfigureAwait(false);
        return await PollAsync(target, Handle.Operation(operation.OperationId), cancellationToken).ConfigureAwait(false);
    }

    /// <inheritdoc />
    public async Task<FleetStepResult> PollAsync(FleetTarget target, string handle, CancellationToken cancellationToken = default)
    {
        ArgumentNullException.ThrowIfNull(target);
        var (kind, operationId, deviceId) = Handle.Read(handle);
        if (kind == Handle.VisibleKind)
        {
            return await IsVisibleAsync(target.Scope, deviceId!, cancellationToken).ConfigureAwait(false)
                ? FleetStepResult.Done(false)
                : FleetStepResult.Pending(handle, changed: false);
        }

        var operation = await sphere.GetOperationAsync(target.Scope, operationId!, cancellationToken).ConfigureAwait(false);
        if (!operation.IsFinished)
        {
            return FleetStepResult.Pending(handle);
        }

        if (operation.State == OperationState.Failed)
        {
            var error = Refusal(SphereApiException.FromFailedOperation(operation))!;

            // With conflicts reported as failed operations, "already claimed by this tenant" looks like any other
            // conflict: the device's visibility in the tenant tells them apart.
            if (kind == Handle.ClaimKind && error.ErrorCode == nameof(OperationErrorCode.Conflict)
                && await IsVisibleAsync(target.Scope, deviceId!, cancellationToken).ConfigureAwait(false))
            {
                return FleetStepResult.Done(false);
            }

            return FleetStepResult.Failed(error);
        }

        return kind == Handle.AgainKind ? new FleetStepResult(FleetStepState.Again) : FleetStepResult.Done(true);
    }

    /// <inheritdoc />
    public async Task<FleetStepResult> VerifyAsync(FleetTarget target, FleetLocation location, string deviceId, CancellationToken cancellationToken = default)
    {
        ArgumentNullException.ThrowIfNull(target);
        ArgumentNullException.ThrowIfNull(location);
        var device = await sphere.GetDeviceAsync(target.Scope, deviceId, cancellationToken).ConfigureAwait(false);
        return string.Equals(device.DeviceGroupId, location.GroupId, StringComparison.OrdinalIgnoreCase)
            ? FleetStepResult.Done(false)
            : FleetStepResult.Failed(new FleetError(0, FleetError.VerificationFailed,
                $"The device is in group {device.DeviceGroupId ?? "(none)"}, not {location.GroupId}."));
    }

    /// <inheritdoc />
    public async Task<FleetDevice?> GetDeviceAsync(FleetTarget target, string deviceId, CancellationToken cancellationToken = default)
    {
        ArgumentNullException.ThrowIfNull(target);
        try
        {
            var device = await sphere.GetDeviceAsync(target.Scope, deviceId, cancellationToken).ConfigureAwait(false);
            return new FleetDevice(device.DeviceId, device.DeviceGroupId, device.ProductId, null);
        }
        catch (SphereApiException ex) when (ex.IsNotFound)
        {
            return null;
        }
    }

    /// <inheritdoc />
    public async Task<FleetDevicePage> GetDevicesAsync(FleetTarget scope, string? continuation, int pageSize, FleetDeploymentSpec? versionOf,
        CancellationToken cancellationToken = default)
    {
        ArgumentNullException.ThrowIfNull(scope);
        return await FleetConnections.PageAsync(sphere.GetDevicesAsync(scope.Scope, cancellationToken), continuation, pageSize,
            d => Task.FromResult(new FleetDevice(d.DeviceId, d.DeviceGroupId, d.ProductId, null))).ConfigureAwait(false);
    }

    /// <inheritdoc />
    public bool IsPlaced(FleetDevice device, FleetLocation location)
    {
        ArgumentNullException.ThrowIfNull(device);
        ArgumentNullException.ThrowIfNull(location);
        return string.Equals(device.GroupId, location.GroupId, StringComparison.OrdinalIgnoreCase);
    }

    /// <inheritdoc />
    public async Task<FleetStepResult> StartDeploymentAsync(FleetDeploymentRequest request, CancellationToken cancellationToken = default)
    {
        ArgumentNullException.ThrowIfNull(request);
        var images = ImageIds(request.Spec);
        var group = await sphere.GetDeviceGroupAsync(request.Target.Scope, request.Location.GroupId, cancellationToken).ConfigureAwait(false);
        if (group.CurrentDeployment is { } current && current.DeployedImages.ToHashSet(StringComparer.OrdinalIgnoreCase).SetEquals(images))
        {
            return FleetStepResult.Pending(Handle.Deployed(request.Location.GroupId, current.Id), changed: false);
        }

        var operation = await sphere.CreateDeploymentAsync(request.Target.Scope, request.Location.GroupId, images, cancellationToken).ConfigureAwait(false);
        return FleetStepResult.Pending(Handle.Deployment(request.Location.GroupId, operation.OperationId));
    }

    /// <inheritdoc />
    /// <remarks>Sphere reports installs only as device insights: a device counts as succeeded once it has an AppUpdate event naming the deployment; nothing reports a failure, so <c>Failed</c> is the devices without one.</remarks>
    public async Task<FleetDeploymentProgress> GetDeploymentAsync(FleetTarget target, string handle, CancellationToken cancellationToken = default)
    {
        ArgumentNullException.ThrowIfNull(target);
        var (kind, groupId, id) = Handle.Read(handle);
        var deploymentId = id!;
        if (kind == Handle.DeploymentKind)
        {
            var operation = await sphere.GetOperationAsync(target.Scope, id!, cancellationToken).ConfigureAwait(false);
            if (operation.State == OperationState.Failed)
            {
                throw SphereApiException.FromFailedOperation(operation);
            }

            if (!operation.IsFinished)
            {
                return new FleetDeploymentProgress(handle, false, 0, 0, 0, []);
            }

            var group = await sphere.GetDeviceGroupAsync(target.Scope, groupId!, cancellationToken).ConfigureAwait(false);
            deploymentId = group.CurrentDeployment?.Id ?? throw new InvalidOperationException(
                $"Deployment operation {id} completed but group {groupId} has no current deployment.");
        }

        var (devices, installed) = await MeasureInstallsAsync(sphere, target.Scope, groupId!, deploymentId, cancellationToken).ConfigureAwait(false);
        return new FleetDeploymentProgress(deploymentId, true, devices, installed, devices - installed, []);
    }

    /// <inheritdoc />
    /// <remarks>A Sphere deployment cannot be stopped; a halted rollout redeploys the previous images instead.</remarks>
    public Task StopDeploymentAsync(FleetTarget target, string handle, CancellationToken cancellationToken = default) => Task.CompletedTask;

    /// <inheritdoc />
    public FleetError? Refusal(Exception exception) => exception switch
    {
        SphereApiException { IsTransient: false } ex => new FleetError(ex.Status, ex.ErrorCode, ex.Detail ?? ex.Title ?? ex.Message, ex.RequestId, ex.OperationId),
        FleetScopeNotFoundException ex => new FleetError(404, FleetScopeNotFoundException.ErrorCode, ex.Message),
        _ => FleetConnections.NotConfigured(exception),
    };

    /// <summary>
    /// Counts a group's devices and those with a device insight of category AppUpdate whose description names the
    /// deployment (the only place the API reports installs).
    /// </summary>
    public static async Task<(int Devices, int Installed)> MeasureInstallsAsync(SphereClient sphere, string tenantId, string deviceGroupId, string deploymentId,
        CancellationToken cancellationToken)
    {
        ArgumentNullException.ThrowIfNull(sphere);
        var devices = new HashSet<string>(StringComparer.OrdinalIgnoreCase);
        await foreach (var page in sphere.GetDeviceGroupDevicesAsync(tenantId, deviceGroupId, cancellationToken).AsPages(pageSizeHint: LargePage).ConfigureAwait(false))
        {
            devices.UnionWith(page.Values.Select(d => d.DeviceId));
        }

        if (devices.Count == 0)
        {
            return (0, 0);
        }

        var installed = new HashSet<string>(StringComparer.OrdinalIgnoreCase);
        await foreach (var page in sphere.GetDeviceInsightsAsync(tenantId, cancellationToken).AsPages(pageSizeHint: LargePage).ConfigureAwait(false))
        {
            installed.UnionWith(page.Values
                .Where(e => devices.Contains(e.DeviceId)
                            && string.Equals(e.EventCategory, "AppUpdate", StringComparison.OrdinalIgnoreCase)
                            && e.Description?.Contains(deploymentId, StringComparison.OrdinalIgnoreCase) == true)
                .Select(e => e.DeviceId));
        }

        return (devices.Count, installed.Count);
    }

    /// <summary>Finds a product and one of its groups by name (null ids are missing).</summary>
    public static async Task<(string? ProductId, string? DeviceGroupId)> FindGroupAsync(SphereClient sphere, string tenantId, GroupPath path, CancellationToken cancellationToken)
    {
        ArgumentNullException.ThrowIfNull(sphere);
        ArgumentNullException.ThrowIfNull(path);
        string? productId = null;
        await foreach (var page in sphere.GetProductsAsync(tenantId, cancellationToken).AsPages(pageSizeHint: LargePage).ConfigureAwait(false))
        {
            productId ??= page.Values.FirstOrDefault(p => string.Equals(p.Name, path.Product, StringComparison.OrdinalIgnoreCase))?.Id;
        }

        if (productId is null)
        {
            return (null, null);
        }

        string? groupId = null;
        await foreach (var page in sphere.GetProductDeviceGroupsAsync(tenantId, productId, cancellationToken).AsPages(pageSizeHint: LargePage).ConfigureAwait(false))
        {
            groupId ??= page.Values.FirstOrDefault(g => string.Equals(g.Name, path.Group, StringComparison.OrdinalIgnoreCase))?.Id;
        }

        return (productId, groupId);
    }

    private static IReadOnlyList<string> ImageIds(FleetDeploymentSpec spec) =>
        spec.Version.Split(',', StringSplitOptions.TrimEntries | StringSplitOptions.RemoveEmptyEntries);

    private async Task<bool> IsVisibleAsync(string tenantId, string deviceId, CancellationToken cancellationToken)
    {
        try
        {
            await sphere.GetDeviceAsync(tenantId, deviceId, cancellationToken).ConfigureAwait(false);
            return true;
        }
        catch (SphereApiException ex) when (ex.IsNotFound)
        {
            return false;
        }
    }

    /// <summary>The adapter's handles: <c>kind|a|b</c>.</summary>
    private static class Handle
    {
        public const string ClaimKind = "claim";
        public const string VisibleKind = "visible";
        public const string AgainKind = "again";
        public const string OperationKind = "op";
        public const string DeploymentKind = "deploy";
        public const string DeployedKind = "deployed";

        public static string Claim(string operationId, string deviceId) => $"{ClaimKind}|{operationId}|{deviceId}";

        public static string Visible(string deviceId) => $"{VisibleKind}||{deviceId}";

        public static string Again(string operationId) => $"{AgainKind}|{operationId}|";

        public static string Operation(string operationId) => $"{OperationKind}|{operationId}|";

        public static string Deployment(string groupId, string operationOrDeploymentId) => $"{DeploymentKind}|{groupId}|{operationOrDeploymentId}";

        public static string Deployed(string groupId, string deploymentId) => $"{DeployedKind}|{groupId}|{deploymentId}";

        public static (string Kind, string? A, string? B) Read(string handle) =>
            handle?.Split('|') is [var kind, var a, var b]
                ? (kind, a.Length == 0 ? null : a, b.Length == 0 ? null : b)
                : throw new ArgumentException($"'{handle}' is not a handle of the Sphere adapter.", nameof(handle));
    }
}

/// <summary>A Sphere tenant name the identity cannot see.</summary>
public sealed class FleetScopeNotFoundException(string scope)
    : InvalidOperationException($"No tenant named '{scope}' is visible to this identity; give the tenant id, or make the identity a user of the tenant.")
{
    /// <summary>Our error code.</summary>
    public const string ErrorCode = "TenantNotFound";
}
