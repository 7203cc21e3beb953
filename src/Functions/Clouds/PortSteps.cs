using Fleet.Functions.Orchestration;
using Fleet.Functions.Settings;
using Fleet.Functions.Sphere;
using Fleet.Shared.FleetClouds;
using Microsoft.DurableTask;

namespace Fleet.Functions.Clouds;

/// <summary>What placing a device did.</summary>
/// <param name="Location">The target resolved.</param>
/// <param name="Enrolled">Whether enrolling changed anything (a claim, a created or rewritten device, an acquire).</param>
/// <param name="Moved">Whether placing moved it.</param>
public sealed record PlacementOutcome(FleetLocation Location, bool Enrolled, bool Moved);

/// <summary>
/// The port's steps as an orchestration runs them, whatever the cloud: call the step's activity; while it is pending
/// poll it on durable timers (<c>OperationPollInterval</c>, at most <c>OperationTimeout</c>); run it again when it
/// says so; fail the named step with the cloud's error. Runs on the orchestrator's thread.
/// </summary>
internal sealed class PortSteps(TaskOrchestrationContext context, OrchestrationOptions options, FleetSteps steps)
{
    /// <summary>Told a step's handle while it waits (custom status).</summary>
    public Action<string, string?>? Waiting { get; init; }

    /// <summary>Runs one port step to its end.</summary>
    /// <exception cref="FleetStepFailedException">The cloud refused, or the step did not finish within <c>OperationTimeout</c>.</exception>
    public async Task<FleetStepResult> RunAsync(string step, string activity, object input, FleetTarget target)
    {
        var deadline = context.CurrentUtcDateTime + options.OperationTimeout;
        var result = await context.CallActivityAsync<FleetStepResult>(activity, input, steps.Retry);
        while (result.State is FleetStepState.Pending or FleetStepState.Again && context.CurrentUtcDateTime + options.OperationPollInterval <= deadline)
        {
            Waiting?.Invoke(step, result.Handle);
            await context.CreateTimer(options.OperationPollInterval, CancellationToken.None);
            result = result.State == FleetStepState.Pending
                ? await context.CallActivityAsync<FleetStepResult>(nameof(FleetActivities.FleetPoll), new PollRequest(target, result.Handle!), steps.Retry)
                : await context.CallActivityAsync<FleetStepResult>(activity, input, steps.Retry);
        }

        return result.State switch
        {
            // A polled step's last answer says whether it changed anything (a Sphere claim that met "already claimed" did not).
            FleetStepState.Done => result,
            FleetStepState.Failed => throw new FleetStepFailedException(step, result.Error!.ToAppError()),
            _ => throw new FleetStepFailedException(step, new SphereError(0, SphereError.OperationTimedOut,
                $"Step {step} was still {result.State} ({result.Handle}) after {options.OperationTimeout:g} (Orchestrations:OperationTimeout).",
                OperationId: result.Handle)),
        };
    }

    /// <summary>
    /// Enrolls (unless <paramref name="enroll"/> is false), resolves the target (unless <paramref name="known"/> gives
    /// it), places and (with <paramref name="verify"/>) reads back a device: provisioning, and the fix of a device
    /// outside its placement (<paramref name="seenElsewhere"/>: the sweep has just listed it elsewhere).
    /// </summary>
    public async Task<PlacementOutcome> PlaceDeviceAsync(FleetTarget target, string deviceId, bool enroll, FleetLocation? known = null,
        bool verify = true, Action<string>? stepStarting = null, bool seenElsewhere = false)
    {
        var enrolled = false;
        if (enroll)
        {
            stepStarting?.Invoke("Claim");
            enrolled = (await RunAsync("Claim", nameof(FleetActivities.FleetEnroll), new DeviceStepRequest(target, deviceId), target)).Changed;
        }

        var location = known;
        if (location is null)
        {
            stepStarting?.Invoke("ResolveGroup");
            location = (await RunAsync("ResolveGroup", nameof(FleetActivities.FleetResolveTarget), target, target)).Location!;
        }

        stepStarting?.Invoke("Move");
        var request = new DeviceStepRequest(target, deviceId, location, seenElsewhere);
        var moved = (await RunAsync("Move", nameof(FleetActivities.FleetPlace), request, target)).Changed;
        if (verify)
        {
            stepStarting?.Invoke("Verify");
            await RunAsync("Verify", nameof(FleetActivities.FleetVerify), request, target);
        }

        return new PlacementOutcome(location, enrolled, moved);
    }

    /// <summary>Starts a deployment and waits, on durable timers, until the cloud reports it finished.</summary>
    public async Task<FleetDeploymentProgress> DeployAsync(string step, FleetDeploymentRequest request)
    {
        var started = await context.CallActivityAsync<FleetStepResult>(nameof(FleetActivities.FleetStartDeployment), request, steps.Retry);
        if (started.State == FleetStepState.Failed)
        {
            throw new FleetStepFailedException(step, started.Error!.ToAppError());
        }

        if (started.State == FleetStepState.Done)
        {
            return new FleetDeploymentProgress(request.DeploymentId, true, request.DeviceIds?.Count ?? 0, request.DeviceIds?.Count ?? 0, 0, []);
        }

        return await WatchAsync(step, request.Target, started.Handle!);
    }

    /// <summary>Polls a deployment until finished (bounded by <c>OperationTimeout</c>).</summary>
    public async Task<FleetDeploymentProgress> WatchAsync(string step, FleetTarget target, string handle)
    {
        var deadline = context.CurrentUtcDateTime + options.OperationTimeout;
        var progress = await ReadDeploymentAsync(step, target, handle);
        while (!progress.Finished)
        {
            if (context.CurrentUtcDateTime + options.OperationPollInterval > deadline)
            {
                throw new FleetStepFailedException(step, new SphereError(0, SphereError.OperationTimedOut,
                    $"Deployment {handle} was unfinished after {options.OperationTimeout:g} (Orchestrations:OperationTimeout).", OperationId: handle));
            }

            Waiting?.Invoke(step, handle);
            await context.CreateTimer(options.OperationPollInterval, CancellationToken.None);
            progress = await ReadDeploymentAsync(step, target, handle);
        }

        return progress;
    }

    private async Task<FleetDeploymentProgress> ReadDeploymentAsync(string step, FleetTarget target, string handle)
    {
        var read = await context.CallActivityAsync<PortRead<FleetDeploymentProgress>>(nameof(FleetActivities.FleetGetDeployment),
            new PollRequest(target, handle), steps.Retry);
        return read.Error is { } error ? throw new FleetStepFailedException(step, error.ToAppError()) : read.Value!;
    }
}
