using Fleet.Functions.Clouds;
using Fleet.Functions.Orchestration;
using Fleet.Functions.Sphere;
using Fleet.Shared.DesiredState;
using Fleet.Shared.FleetClouds;

namespace Fleet.Functions.Compliance;

/// <summary>
/// How each kind of drift is fixed. Device placement and versions go through the port, whatever the cloud (the
/// same steps provisioning takes); the group kinds exist only in Sphere's model and use its group steps.
/// </summary>
internal static class Remediation
{
    /// <exception cref="FleetStepFailedException">The service refused a step.</exception>
    public static async Task FixAsync(FleetSteps steps, PortSteps port, RemediationRequest request, DriftFinding finding)
    {
        var tenantId = request.TenantId;
        switch (finding.Kind)
        {
            case DriftKind.UnclaimedDevice:
                await port.PlaceDeviceAsync(PlacementOf(tenantId, finding), finding.DeviceId!, enroll: true, Known(finding), verify: false);
                break;
            case DriftKind.UnassignedDevice:
            case DriftKind.WrongGroup:
                // A device-set finding re-enrolls first: on IoT Central the organization is a field of the device.
                await port.PlaceDeviceAsync(PlacementOf(tenantId, finding), finding.DeviceId!, enroll: finding.Placement is not null, Known(finding),
                    verify: finding.Placement is not null, seenElsewhere: true);
                break;
            case DriftKind.WrongVersion:
                await port.DeployAsync("Deploy", new FleetDeploymentRequest(finding.Placement!, finding.Location!, finding.ExpectedDeployment!,
                    $"{request.SweepId}-{finding.DeviceId}", [finding.DeviceId!]));
                break;
            case DriftKind.GroupMissing:
                var created = await steps.EnsureDeviceGroupAsync("Create", tenantId, finding.Group!, allowCreate: true,
                    finding.ExpectedOsFeedType, finding.ExpectedUpdatePolicy);
                if (finding.ExpectedImageIds is { } images)
                {
                    await DeployAsync(steps, tenantId, created.DeviceGroupId!, images);
                }

                break;
            case DriftKind.GroupSettingsDiffer:
                await steps.CallAsync<GroupSnapshot>("Patch", nameof(SphereActivities.UpdateDeviceGroupSettings),
                    new GroupSettingsRequest(tenantId, finding.DeviceGroupId!, finding.ExpectedOsFeedType, finding.ExpectedUpdatePolicy));
                break;
            case DriftKind.GroupMissingDeployment:
            case DriftKind.GroupWrongDeployment:
                await DeployAsync(steps, tenantId, finding.DeviceGroupId!, finding.ExpectedImageIds!);
                break;
            default:
                throw new ArgumentOutOfRangeException(nameof(finding), finding.Kind, "Unknown drift kind.");
        }
    }

    /// <summary>Where the finding's device belongs: a device set's placement, or a Sphere tenant's <c>Product/Group</c>.</summary>
    private static FleetTarget PlacementOf(string tenantId, DriftFinding finding) =>
        finding.Placement ?? new FleetTarget(FleetCloud.Sphere, tenantId, finding.Target!.ToString());

    /// <summary>
    /// The target's ids when the sweep knew them (a Sphere group created by this sweep's group remediation after the
    /// finding was made has none: it is looked up).
    /// </summary>
    private static FleetLocation? Known(DriftFinding finding) =>
        finding.Location ?? (finding.TargetGroupId is { } groupId ? new FleetLocation(groupId, null, null) : null);

    private static async Task DeployAsync(FleetSteps steps, string tenantId, string groupId, IReadOnlyList<string> images)
    {
        var group = await steps.CallAsync<GroupSnapshot>("Deploy", nameof(SphereActivities.GetDeviceGroup), new GroupRef(tenantId, groupId));
        if (group.DeploymentId is not null && group.ImageIds.ToHashSet(StringComparer.OrdinalIgnoreCase).SetEquals(images))
        {
            return;
        }

        await steps.DeployAsync("Deploy", tenantId, groupId, images, group.DeploymentId);
    }
}
