using Fleet.Functions.Sphere;
using Fleet.Shared.FleetClouds;
using Microsoft.Azure.Functions.Worker;

namespace Fleet.Functions.Clouds;

/// <summary>A step on one device.</summary>
/// <param name="Target">The device's target.</param>
/// <param name="DeviceId">The device.</param>
/// <param name="Location">The target's resolved group (placing and verifying).</param>
/// <param name="SeenElsewhere">The sweep has just listed the device outside <paramref name="Location"/> (see <see cref="IFleetCloudAdapter.PlaceAsync"/>).</param>
public sealed record DeviceStepRequest(FleetTarget Target, string DeviceId, FleetLocation? Location = null, bool SeenElsewhere = false);

/// <summary>A poll of what a step left pending.</summary>
public sealed record PollRequest(FleetTarget Target, string Handle);

/// <summary>A read's answer: the value, or the cloud's refusal.</summary>
public sealed record PortRead<T>(T? Value, FleetError? Error);

/// <summary>
/// The port as activities: each calls one adapter method (chosen by the target's cloud) once. Refusals come back as
/// data (<see cref="FleetStepResult.Error"/>, <see cref="PortRead{T}.Error"/>); transient failures, which outlived
/// the client's own retries, are thrown for the orchestration's retry policy.
/// </summary>
public sealed class FleetActivities(FleetCloudAdapters adapters)
{
    /// <summary>Finds (Sphere: creates, when allowed) the target's group.</summary>
    [Function(nameof(FleetResolveTarget))]
    public Task<FleetStepResult> FleetResolveTarget([ActivityTrigger] FleetTarget target, CancellationToken cancellationToken) =>
        StepAsync(target, a => a.ResolveTargetAsync(target, cancellationToken));

    /// <summary>Enrolls a device (claim / create / create and acquire).</summary>
    [Function(nameof(FleetEnroll))]
    public Task<FleetStepResult> FleetEnroll([ActivityTrigger] DeviceStepRequest request, CancellationToken cancellationToken) =>
        StepAsync(request.Target, a => a.EnrollAsync(request.Target, request.DeviceId, cancellationToken));

    /// <summary>Places a device in its resolved target.</summary>
    [Function(nameof(FleetPlace))]
    public Task<FleetStepResult> FleetPlace([ActivityTrigger] DeviceStepRequest request, CancellationToken cancellationToken) =>
        StepAsync(request.Target, a => a.PlaceAsync(request.Target, request.Location!, request.DeviceId, request.SeenElsewhere, cancellationToken));

    /// <summary>Reads a device back against its resolved target.</summary>
    [Function(nameof(FleetVerify))]
    public Task<FleetStepResult> FleetVerify([ActivityTrigger] DeviceStepRequest request, CancellationToken cancellationToken) =>
        StepAsync(request.Target, a => a.VerifyAsync(request.Target, request.Location!, request.DeviceId, cancellationToken));

    /// <summary>Polls a pending step once (orchestrations wait between polls on durable timers).</summary>
    [Function(nameof(FleetPoll))]
    public Task<FleetStepResult> FleetPoll([ActivityTrigger] PollRequest request, CancellationToken cancellationToken) =>
        StepAsync(request.Target, a => a.PollAsync(request.Target, request.Handle, cancellationToken));

    /// <summary>Starts a deployment (or finds the one a repeated attempt started).</summary>
    [Function(nameof(FleetStartDeployment))]
    public Task<FleetStepResult> FleetStartDeployment([ActivityTrigger] FleetDeploymentRequest request, CancellationToken cancellationToken) =>
        StepAsync(request.Target, a => a.StartDeploymentAsync(request, cancellationToken));

    /// <summary>Reads a deployment's progress and health.</summary>
    [Function(nameof(FleetGetDeployment))]
    public Task<PortRead<FleetDeploymentProgress>> FleetGetDeployment([ActivityTrigger] PollRequest request, CancellationToken cancellationToken) =>
        ReadAsync(request.Target, a => a.GetDeploymentAsync(request.Target, request.Handle, cancellationToken));

    /// <summary>Stops a deployment that failed its health gate.</summary>
    [Function(nameof(FleetStopDeployment))]
    public Task<PortRead<bool>> FleetStopDeployment([ActivityTrigger] PollRequest request, CancellationToken cancellationToken) =>
        ReadAsync(request.Target, async a =>
        {
            await a.StopDeploymentAsync(request.Target, request.Handle, cancellationToken).ConfigureAwait(false);
            return true;
        });

    /// <summary>Resolves the scope (Sphere tenant by id or name; a connection that must be configured).</summary>
    [Function(nameof(FleetResolveScope))]
    public Task<PortRead<FleetScope>> FleetResolveScope([ActivityTrigger] FleetTarget target, CancellationToken cancellationToken) =>
        ReadAsync(target, a => a.ResolveScopeAsync(target.Scope, cancellationToken));

    /// <summary>Runs a read against the target's adapter; a refusal becomes the result's error.</summary>
    internal async Task<PortRead<T>> ReadAsync<T>(FleetTarget target, Func<IFleetCloudAdapter, Task<T>> read)
    {
        ArgumentNullException.ThrowIfNull(target);
        var adapter = adapters.Get(target.Cloud);
        try
        {
            return new PortRead<T>(await read(adapter).ConfigureAwait(false), null);
        }
        catch (Exception ex) when (adapter.Refusal(ex) is { } error)
        {
            return new PortRead<T>(default, error);
        }
    }

    private async Task<FleetStepResult> StepAsync(FleetTarget target, Func<IFleetCloudAdapter, Task<FleetStepResult>> step)
    {
        var read = await ReadAsync(target, step).ConfigureAwait(false);
        return read.Error is { } error ? FleetStepResult.Failed(error) : read.Value!;
    }
}

/// <summary>Between the port's errors and the app's error record.</summary>
internal static class FleetErrors
{
    public static SphereError ToAppError(this FleetError error) => new(error.Status, error.ErrorCode, error.Message, error.RequestId, error.OperationId);
}
