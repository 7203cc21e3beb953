namespace Fleet.Shared.FleetClouds;

/// <summary>
/// The cloud-neutral port the fleet automations are written against: enroll a device, place it, read and verify its
/// placement, list devices page by page, start and watch a deployment. One adapter per cloud over its typed client.
/// Steps are idempotent (an activity runs at least once) and never wait long: what takes time comes back
/// <see cref="FleetStepState.Pending"/> with a handle for <see cref="PollAsync"/>, so orchestrations wait on durable
/// timers. A refusal is thrown as the client's exception; <see cref="Refusal"/> turns it into data, and anything it
/// does not recognise is transient (retry).
/// </summary>
public interface IFleetCloudAdapter
{
    /// <summary>The cloud.</summary>
    FleetCloud Cloud { get; }

    /// <summary>The scope's id and display name (Sphere: the tenant by id or name; else the connection and the application/solution it points at).</summary>
    Task<FleetScope> ResolveScopeAsync(string scope, CancellationToken cancellationToken = default);

    /// <summary>Finds (Sphere: creates when allowed) the target's group, template and parent; done with <see cref="FleetStepResult.Location"/>.</summary>
    Task<FleetStepResult> ResolveTargetAsync(FleetTarget target, CancellationToken cancellationToken = default);

    /// <summary>
    /// Makes the device belong to the scope, before its group is resolved (a claimed device whose group is missing
    /// stays claimed): Sphere claim; IoT Central create/update with the target's template and organization;
    /// IoTConnect create in the target entity and acquire.
    /// </summary>
    Task<FleetStepResult> EnrollAsync(FleetTarget target, string deviceId, CancellationToken cancellationToken = default);

    /// <summary>Puts the device in the target group: Sphere move; IoT Central wait for the filter-based group to list it; IoTConnect move to the entity.</summary>
    /// <param name="target">The target.</param>
    /// <param name="location">The target's resolved group.</param>
    /// <param name="deviceId">The device.</param>
    /// <param name="seenElsewhere">
    /// The caller has just read the device outside <paramref name="location"/> (a sweep's finding), so an adapter that
    /// reads the device only to skip a needless move may move at once (Sphere: a move to the group it is in is harmless).
    /// </param>
    /// <param name="cancellationToken">Cancels the call.</param>
    Task<FleetStepResult> PlaceAsync(FleetTarget target, FleetLocation location, string deviceId, bool seenElsewhere = false,
        CancellationToken cancellationToken = default);

    /// <summary>Polls what a step left <see cref="FleetStepState.Pending"/>.</summary>
    Task<FleetStepResult> PollAsync(FleetTarget target, string handle, CancellationToken cancellationToken = default);

    /// <summary>Reads the device back: done when it is where <paramref name="location"/> says, else failed with <see cref="FleetError.VerificationFailed"/>.</summary>
    Task<FleetStepResult> VerifyAsync(FleetTarget target, FleetLocation location, string deviceId, CancellationToken cancellationToken = default);

    /// <summary>The device, or null when the scope has no such device.</summary>
    Task<FleetDevice?> GetDeviceAsync(FleetTarget target, string deviceId, CancellationToken cancellationToken = default);

    /// <summary>One page of the scope's devices; with <paramref name="versionOf"/>, each device's version of that deployment.</summary>
    Task<FleetDevicePage> GetDevicesAsync(FleetTarget scope, string? continuation, int pageSize, FleetDeploymentSpec? versionOf,
        CancellationToken cancellationToken = default);

    /// <summary>Whether a listed device is at the location (placement drift is "not").</summary>
    bool IsPlaced(FleetDevice device, FleetLocation location);

    /// <summary>Starts a deployment (IoT Central job on the group; IoTConnect OTA update); pending on its handle. Repeating it finds the one started.</summary>
    Task<FleetStepResult> StartDeploymentAsync(FleetDeploymentRequest request, CancellationToken cancellationToken = default);

    /// <summary>A deployment's progress and per-device outcome.</summary>
    Task<FleetDeploymentProgress> GetDeploymentAsync(FleetTarget target, string handle, CancellationToken cancellationToken = default);

    /// <summary>Stops a deployment that failed its health gate (IoT Central stops the job; IoTConnect skips unfinished items).</summary>
    Task StopDeploymentAsync(FleetTarget target, string handle, CancellationToken cancellationToken = default);

    /// <summary>The cloud's refusal in <paramref name="exception"/> as data, or null when it is transient (or not the cloud's).</summary>
    FleetError? Refusal(Exception exception);
}

/// <summary>A resolved scope.</summary>
/// <param name="Id">Sphere tenant id; else the connection name.</param>
/// <param name="Name">Sphere tenant name; else the application or solution it reaches.</param>
public sealed record FleetScope(string Id, string Name);
