using Fleet.Functions.Orchestration;
using Fleet.Functions.Sphere;
using Fleet.Shared.DesiredState;

namespace Fleet.Functions.Compliance;

/// <summary>How each kind of drift is fixed, with the same idempotent steps provisioning uses.</summary>
internal static class Remediation
{
    /// <exception cref="FleetStepFailedException">The service refused a step.</exception>
    public static async Task FixAsync(FleetSteps steps, string tenantId, DriftFinding finding)
    {
        switch (finding.Kind)
        {
            case DriftKind.UnclaimedDevice:
                await steps.ClaimAsync("Claim", new DeviceRef(tenantId, finding.DeviceId!));
                await MoveAsync(steps, tenantId, finding);
                break;
            case DriftKind.UnassignedDevice:
            case DriftKind.WrongGroup:
                await MoveAsync(steps, tenantId, finding);
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

    private static async Task MoveAsync(FleetSteps steps, string tenantId, DriftFinding finding)
    {
        var groupId = finding.TargetGroupId;
        if (groupId is null)
        {
            // The target was created by this sweep's group remediation after the finding was made.
            var target = finding.Target!;
            var location = await steps.CallAsync<GroupLocation>("Move", nameof(SphereActivities.FindDeviceGroup),
                new GroupLookup(tenantId, target.Product, target.Group));
            groupId = location.DeviceGroupId ?? throw new FleetStepFailedException("Move", new SphereError(404, SphereError.DeviceGroupNotFound,
                $"Device group '{target}' does not exist."));
        }

        var operationId = await steps.CallAsync<string>("Move", nameof(SphereActivities.MoveDevice), new MoveRequest(tenantId, finding.DeviceId!, groupId));
        await steps.WaitForOperationAsync("Move", tenantId, operationId);
    }

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
