using Microsoft.DurableTask;
using Fleet.Functions.Orchestration;
using Fleet.Functions.Settings;
using Fleet.Functions.Clouds;
using Microsoft.Azure.Functions.Worker;
using Microsoft.Extensions.Options;

namespace Fleet.Functions.Provisioning;

/// <summary>
/// <c>ProvisionDevice</c>, on any fleet cloud through the port: enroll the device (Sphere claim, already claimed by
/// this tenant counting as done; IoT Central create/update with template and organization; IoTConnect create and
/// acquire), resolve the target group (Sphere: create it when the policy allows), place the device unless it is there
/// (waiting with durable timers for what takes time), and read it back. The custom status names the step, what is
/// awaited and, on failure, the service's error.
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
        var status = new ProvisionStatus(ProvisionStep.ResolveTenant, input.DeviceId, input.Placement, input.RequestId) { Cloud = input.Target.Cloud };
        void Report(ProvisionStatus next)
        {
            status = next;
            context.SetCustomStatus(status);
        }

        Report(status);
        try
        {
            var planned = await context.CallActivityAsync<PortRead<ProvisioningPlan>>(nameof(ProvisioningActivities.PlanProvisioning), input, steps.Retry);
            var plan = planned.Value ?? throw new FleetStepFailedException(nameof(ProvisionStep.ResolveTenant), planned.Error!.ToAppError());
            status = status with { TenantId = plan.ScopeId };
            var port = new PortSteps(context, options.Value, steps)
            {
                Waiting = (step, handle) =>
                {
                    var waiting = step switch
                    {
                        "Claim" => ProvisionStep.WaitForClaim,
                        "Move" => ProvisionStep.WaitForMove,
                        _ => status.Step,
                    };
                    if (waiting != status.Step || handle != status.OperationId)
                    {
                        Report(status with { Step = waiting, OperationId = handle });
                    }
                },
            };

            var outcome = await port.PlaceDeviceAsync(plan.Target, input.DeviceId, enroll: true, stepStarting: step =>
                Report(status with { Step = Enum.Parse<ProvisionStep>(step), OperationId = null }));
            var groupId = outcome.Location.GroupId;
            Report(status with { Step = ProvisionStep.Done, DeviceGroupId = groupId, OperationId = null });
            logger.ProvisioningCompleted(input.DeviceId, plan.Target.Cloud, plan.ScopeId, input.Placement, outcome.Enrolled, outcome.Moved);
            return new ProvisionResult(input.DeviceId, plan.ScopeId, plan.ScopeName, outcome.Location.ParentId, groupId, input.Placement,
                outcome.Enrolled, outcome.Moved, input.RequestId) { Cloud = plan.Target.Cloud };
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

}
