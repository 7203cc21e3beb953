using Microsoft.Azure.Functions.Worker;
using Fleet.Shared.DesiredState;
using Fleet.Shared.FleetClouds;
using Fleet.Shared.Sphere;

namespace Fleet.Functions.Sphere;

/// <summary>An operation in a tenant.</summary>
public sealed record OperationRef(string TenantId, string OperationId);

/// <summary>A device group in a tenant.</summary>
public sealed record GroupRef(string TenantId, string DeviceGroupId);

/// <summary>A product and device group looked up by name.</summary>
public sealed record GroupLookup(string TenantId, string Product, string DeviceGroup);

/// <summary>Where a product and group are; null ids are missing.</summary>
public sealed record GroupLocation(string? ProductId, string? DeviceGroupId);

/// <summary>Where an operation stands; <see cref="Failure"/> is set when it ended Failed.</summary>
public sealed record OperationProgress(OperationState State, bool Finished, SphereError? Failure);

/// <summary>A product to create (without the default groups: the policy says which groups exist).</summary>
public sealed record ProductCreateRequest(string TenantId, string Name);

/// <summary>The product create operation, or the fact that the name is taken (by an earlier attempt or a racing caller).</summary>
public sealed record ProductCreation(string? OperationId, bool AlreadyExists);

/// <summary>A device group to create.</summary>
public sealed record GroupCreateRequest(string TenantId, string ProductId, string Name, OsFeedType? OsFeedType, UpdatePolicy? UpdatePolicy);

/// <summary>The created group's id, or the fact that the name is taken.</summary>
public sealed record GroupCreation(string? DeviceGroupId, bool AlreadyExists);

/// <summary>Settings to change on a group; null members stay.</summary>
public sealed record GroupSettingsRequest(string TenantId, string DeviceGroupId, OsFeedType? OsFeedType, UpdatePolicy? UpdatePolicy);

/// <summary>A group's settings and current deployment.</summary>
public sealed record GroupSnapshot(
    string DeviceGroupId, string ProductId, string Name, OsFeedType OsFeedType, UpdatePolicy UpdatePolicy, string? DeploymentId, IReadOnlyList<string> ImageIds);

/// <summary>
/// A deployment to make. <see cref="PreviousDeploymentId"/> is the group's deployment before this step started, so a
/// repeated attempt recognises its own finished deployment instead of making a second one.
/// </summary>
public sealed record DeploymentRequest(string TenantId, string DeviceGroupId, IReadOnlyList<string> ImageIds, string? PreviousDeploymentId);

/// <summary>The deploy operation, or the deployment an earlier attempt already made.</summary>
public sealed record DeploymentStart(string? OperationId, string? ExistingDeploymentId);

/// <summary>A deployment whose installs to count.</summary>
public sealed record HealthRequest(string TenantId, string DeviceGroupId, string DeploymentId);

/// <summary>How many of a group's devices report a deployment installed.</summary>
/// <param name="Devices">Devices in the group.</param>
/// <param name="Installed">Of them, devices with an install event for the deployment.</param>
/// <param name="Share">Installed ÷ devices (1 for an empty group: nothing failed).</param>
public sealed record GroupHealth(int Devices, int Installed, double Share);

/// <summary>
/// Activities that each make one Sphere step, idempotently: they check before they act and treat "already done" as
/// done, because an activity runs at least once. Non-retryable failures come back as <see cref="ApiResult{T}.Error"/>;
/// transient ones are thrown for the orchestration's retry policy.
/// </summary>
public sealed class SphereActivities(SphereClient sphere)
{
    /// <summary>Reads an operation once (orchestrations wait between polls with durable timers).</summary>
    [Function(nameof(GetOperation))]
    public Task<ApiResult<OperationProgress>> GetOperation([ActivityTrigger] OperationRef operation, CancellationToken cancellationToken) =>
        SphereCall.TryAsync(async () =>
        {
            var current = await sphere.GetOperationAsync(operation.TenantId, operation.OperationId, cancellationToken);
            return new OperationProgress(current.State, current.IsFinished,
                current.State == OperationState.Failed ? SphereError.FromOperation(current) : null);
        });

    /// <summary>Finds a product and one of its groups by name.</summary>
    [Function(nameof(FindDeviceGroup))]
    public Task<ApiResult<GroupLocation>> FindDeviceGroup([ActivityTrigger] GroupLookup lookup, CancellationToken cancellationToken) =>
        SphereCall.TryAsync(async () =>
        {
            var (productId, groupId) = await SphereFleetAdapter.FindGroupAsync(sphere, lookup.TenantId, new GroupPath(lookup.Product, lookup.DeviceGroup), cancellationToken);
            return new GroupLocation(productId, groupId);
        });

    /// <summary>Starts creating a product; a taken name (an earlier attempt, or a racing creator) is reported, not failed.</summary>
    [Function(nameof(CreateProduct))]
    public Task<ApiResult<ProductCreation>> CreateProduct([ActivityTrigger] ProductCreateRequest request, CancellationToken cancellationToken) =>
        SphereCall.TryAsync(async () =>
        {
            try
            {
                var operation = await sphere.CreateProductAsync(request.TenantId, request.Name, "Created by the fleet automation app.",
                    createDefaultGroups: false, cancellationToken);
                return new ProductCreation(operation.OperationId, false);
            }
            catch (SphereApiException ex) when (ex.IsConflict && ex.ErrorCode == "ProductNameAlreadyExists")
            {
                return new ProductCreation(null, true);
            }
        });

    /// <summary>Creates a device group; a taken name is reported, not failed.</summary>
    [Function(nameof(CreateDeviceGroup))]
    public Task<ApiResult<GroupCreation>> CreateDeviceGroup([ActivityTrigger] GroupCreateRequest request, CancellationToken cancellationToken) =>
        SphereCall.TryAsync(async () =>
        {
            try
            {
                var created = await sphere.CreateDeviceGroupAsync(request.TenantId, new DeviceGroupCreateRequest(request.ProductId, request.Name)
                {
                    Description = "Created by the fleet automation app.",
                    OsFeedType = request.OsFeedType ?? OsFeedType.Retail,
                    UpdatePolicy = request.UpdatePolicy ?? UpdatePolicy.UpdateAll,
                }, cancellationToken);
                return new GroupCreation(created.Id, false);
            }
            catch (SphereApiException ex) when (ex.IsConflict && ex.ErrorCode == "DeviceGroupNameAlreadyExists")
            {
                return new GroupCreation(null, true);
            }
        });

    /// <summary>Changes a group's OS feed and/or update policy (a PATCH: repeating it is harmless).</summary>
    [Function(nameof(UpdateDeviceGroupSettings))]
    public Task<ApiResult<GroupSnapshot>> UpdateDeviceGroupSettings([ActivityTrigger] GroupSettingsRequest request, CancellationToken cancellationToken) =>
        SphereCall.TryAsync(async () => Snapshot(await sphere.UpdateDeviceGroupAsync(request.TenantId, request.DeviceGroupId,
            new DeviceGroupPatch { OsFeedType = request.OsFeedType, UpdatePolicy = request.UpdatePolicy }, cancellationToken)));

    /// <summary>Reads a group's settings and current deployment.</summary>
    [Function(nameof(GetDeviceGroup))]
    public Task<ApiResult<GroupSnapshot>> GetDeviceGroup([ActivityTrigger] GroupRef group, CancellationToken cancellationToken) =>
        SphereCall.TryAsync(async () => Snapshot(await sphere.GetDeviceGroupAsync(group.TenantId, group.DeviceGroupId, cancellationToken)));

    /// <summary>
    /// Starts a deployment unless the group already carries exactly these images in a deployment newer than the one it
    /// had when the step began (an earlier attempt's).
    /// </summary>
    [Function(nameof(CreateDeployment))]
    public Task<ApiResult<DeploymentStart>> CreateDeployment([ActivityTrigger] DeploymentRequest request, CancellationToken cancellationToken) =>
        SphereCall.TryAsync(async () =>
        {
            var group = await sphere.GetDeviceGroupAsync(request.TenantId, request.DeviceGroupId, cancellationToken);
            if (group.CurrentDeployment is { } current
                && !string.Equals(current.Id, request.PreviousDeploymentId, StringComparison.OrdinalIgnoreCase)
                && current.DeployedImages.ToHashSet(StringComparer.OrdinalIgnoreCase).SetEquals(request.ImageIds))
            {
                return new DeploymentStart(null, current.Id);
            }

            var operation = await sphere.CreateDeploymentAsync(request.TenantId, request.DeviceGroupId, request.ImageIds, cancellationToken);
            return new DeploymentStart(operation.OperationId, null);
        });

    /// <summary>
    /// Counts the group's devices that report the deployment installed: device insights of category AppUpdate whose
    /// description names the deployment (the only place the API reports installs).
    /// </summary>
    [Function(nameof(MeasureDeploymentHealth))]
    public Task<ApiResult<GroupHealth>> MeasureDeploymentHealth([ActivityTrigger] HealthRequest request, CancellationToken cancellationToken) =>
        SphereCall.TryAsync(async () =>
        {
            var (devices, installed) = await SphereFleetAdapter.MeasureInstallsAsync(sphere, request.TenantId, request.DeviceGroupId, request.DeploymentId, cancellationToken);
            return devices == 0 ? new GroupHealth(0, 0, 1) : new GroupHealth(devices, installed, (double)installed / devices);
        });

    private static GroupSnapshot Snapshot(DeviceGroup group) => new(
        group.Id, group.ProductId, group.Name, group.OsFeedType, group.UpdatePolicy, group.CurrentDeployment?.Id,
        group.CurrentDeployment?.DeployedImages ?? []);
}
