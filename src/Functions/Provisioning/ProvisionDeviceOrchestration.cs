using Microsoft.DurableTask;
using Fleet.Functions.Orchestration;
using Fleet.Functions.Settings;
using Fleet.Functions.Sphere;
using Microsoft.Azure.Functions.Worker;
using Microsoft.Extensions.Options;

namespace Fleet.Functions.Provisioning;

/// <summary>
/// <c>ProvisionDevice</c>: claim the device (already claimed by this tenant counts as done), wait for the operation
/// with durable timers, find or create the product and device group, move the device unless it is there, and read
/// it back. The custom status names the step, the operation in flight and, on failure, the service's error.
/// </summary>
public sealed class ProvisionDeviceOrchestration(IOptions<OrchestrationOptions> options)
{
    /// <summary>The orchestrator's name.</summary>
    public const string Name = "ProvisionDevice";

    /// <summary>Runs one provisioning; its output is the device's final placement.</summary>
    /// <exception cref="FleetStepFailedException">A step failed for a reason retrying does not fix (e.g. <c>DeviceClaimedByAnotherTenant</c>).</exception>
    [Function(Name)]
    public async Task<ProvisionResult> ProvisionDevice([OrchestrationTrigger] TaskOrchestrationContext context)
    {
        var input = context.GetInput<ProvisionInput>() ?? throw new InvalidOperationException("ProvisionDevice needs an input.");
        var logger = context.CreateReplaySafeLogger<ProvisionDeviceOrchestration>();
        var steps = new FleetSteps(context, options.Value);
        var status = new ProvisionStatus(ProvisionStep.ResolveTenant, input.DeviceId, input.Placement.ToString(), input.RequestId);
        void Report(ProvisionStatus next)
        {
            status = next;
            context.SetCustomStatus(status);
        }

        Report(status);
        try
        {
            var plan = await steps.CallAsync<ProvisioningPlan>(nameof(ProvisionStep.ResolveTenant), nameof(ProvisioningActivities.PlanProvisioning), input);
            var tenantId = plan.TenantId;
            var device = new DeviceRef(tenantId, input.DeviceId);

            Report(status with { Step = ProvisionStep.Claim, TenantId = tenantId });
            var claimed = await steps.ClaimAsync(nameof(ProvisionStep.Claim), device, operationId => Report(status with { Step = ProvisionStep.WaitForClaim, OperationId = operationId }));

            Report(status with { Step = ProvisionStep.ResolveGroup, OperationId = null });
            var location = await steps.EnsureDeviceGroupAsync(
                nameof(ProvisionStep.ResolveGroup), tenantId, input.Placement, plan.AllowCreate, plan.OsFeedType, plan.UpdatePolicy);
            var groupId = location.DeviceGroupId!;

            Report(status with { Step = ProvisionStep.Move, DeviceGroupId = groupId });
            var placement = await steps.WaitForDeviceAsync(nameof(ProvisionStep.Move), tenantId, input.DeviceId);
            var moved = false;
            if (!SameId(placement.DeviceGroupId, groupId))
            {
                var operationId = await steps.CallAsync<string>(nameof(ProvisionStep.Move), nameof(SphereActivities.MoveDevice),
                    new MoveRequest(tenantId, input.DeviceId, groupId));
                Report(status with { Step = ProvisionStep.WaitForMove, OperationId = operationId });
                await steps.WaitForOperationAsync(nameof(ProvisionStep.Move), tenantId, operationId);
                moved = true;
            }

            Report(status with { Step = ProvisionStep.Verify, OperationId = null });
            var final = await steps.CallAsync<DevicePlacement>(nameof(ProvisionStep.Verify), nameof(SphereActivities.GetDevicePlacement), device);
            if (!SameId(final.DeviceGroupId, groupId))
            {
                throw new FleetStepFailedException(nameof(ProvisionStep.Verify), new SphereError(0, SphereError.VerificationFailed,
                    $"The device is in group {final.DeviceGroupId ?? "(none)"}, not {groupId}."));
            }

            Report(status with { Step = ProvisionStep.Done });
            logger.ProvisioningCompleted(input.DeviceId, tenantId, input.Placement, claimed, moved);
            return new ProvisionResult(input.DeviceId, tenantId, plan.TenantName, location.ProductId!, groupId, input.Placement.ToString(), claimed, moved, input.RequestId);
        }
        catch (FleetStepFailedException ex)
        {
            Report(status with
            {
                Step = ProvisionStep.Failed, FailedStep = ex.Step, ErrorCode = ex.Error.ErrorCode, ErrorMessage = ex.Error.Message,
                ErrorStatus = ex.Error.Status == 0 ? null : ex.Error.Status, OperationId = ex.Error.OperationId ?? status.OperationId,
            });
            logger.ProvisioningFailed(input.DeviceId, ex.Step, ex.Error.ErrorCode, ex.Error.Message);
            throw;
        }
        catch (TaskFailedException ex)
        {
            // A transient failure outlived every retry: name the step and the last error.
            var failure = ex.FailureDetails;
            Report(status with { Step = ProvisionStep.Failed, FailedStep = status.Step.ToString(), ErrorCode = failure.ErrorType, ErrorMessage = failure.ErrorMessage });
            logger.ProvisioningFailed(input.DeviceId, status.Step.ToString(), failure.ErrorType, failure.ErrorMessage);
            throw;
        }
    }

    private static bool SameId(string? a, string? b) => string.Equals(a, b, StringComparison.OrdinalIgnoreCase);
}
