using Microsoft.DurableTask;
using Fleet.Functions.Settings;
using Fleet.Functions.Sphere;
using Fleet.Shared.DesiredState;
using Fleet.Shared.Sphere;
using Fleet.Shared.IoTCentral;
using Fleet.Shared.IoTConnect;
using Azure;

namespace Fleet.Functions.Orchestration;

/// <summary>
/// A step of an orchestration failed for a reason retrying will not fix. The orchestration fails with it, so its
/// failure details name the step and carry the service's error code and message; <see cref="Error"/> has them as data.
/// </summary>
public sealed class FleetStepFailedException(string step, SphereError error)
    : Exception($"Step '{step}' failed: {error}")
{
    /// <summary>The step (e.g. <c>Claim</c>, <c>Move</c>, <c>Deploy</c>).</summary>
    public string Step { get; } = step;

    /// <summary>The service's error (or ours, e.g. <see cref="SphereError.OperationTimedOut"/>).</summary>
    public SphereError Error { get; } = error;
}

/// <summary>
/// The building blocks the orchestrators share: activity calls with the transient-failure retry policy, waiting for
/// Sphere operations with durable timers, finding or creating device groups, and deploying. Runs on the orchestrator's
/// thread: every await here is a durable task.
/// </summary>
internal sealed class FleetSteps
{
    private readonly TaskOrchestrationContext _context;
    private readonly OrchestrationOptions _options;

    public FleetSteps(TaskOrchestrationContext context, OrchestrationOptions options)
    {
        _context = context;
        _options = options;
        Retry = TaskOptions.FromRetryPolicy(new RetryPolicy(
            options.RetryMaxAttempts, options.RetryFirstInterval, backoffCoefficient: 2, options.RetryMaxInterval)
        {
            HandleFailure = IsTransient,
        });
    }

    /// <summary>
    /// Retries an activity whose failure outlived the Sphere client's (or Storage client's) own retries: 429s whose
    /// Retry-After exceeded the call budget, 5xx, timeouts, no response. Non-retryable Sphere errors never get here:
    /// activities return them as data.
    /// </summary>
    public TaskOptions Retry { get; }

    /// <summary>Whether a failed activity or sub-orchestration is worth another attempt.</summary>
    public static bool IsTransient(TaskFailureDetails failure) =>
        failure.IsCausedBy<SphereApiException>() || failure.IsCausedBy<IoTCentralApiException>() || failure.IsCausedBy<IoTConnectApiException>()
        || failure.IsCausedBy<RequestFailedException>()
        || failure.IsCausedBy<TimeoutException>() || failure.IsCausedBy<HttpRequestException>() || failure.IsCausedBy<IOException>();

    /// <summary>Calls a Sphere activity; its non-retryable error fails <paramref name="step"/>.</summary>
    /// <exception cref="FleetStepFailedException">The service refused.</exception>
    /// <exception cref="TaskFailedException">A transient failure outlived every retry.</exception>
    public async Task<T> CallAsync<T>(string step, string activity, object input)
    {
        var result = await _context.CallActivityAsync<ApiResult<T>>(activity, input, Retry);
        return result.Error is { } error ? throw new FleetStepFailedException(step, error) : result.Value!;
    }

    /// <summary>Calls a Sphere activity and hands back its error instead of throwing.</summary>
    public Task<ApiResult<T>> TryCallAsync<T>(string activity, object input) =>
        _context.CallActivityAsync<ApiResult<T>>(activity, input, Retry);

    /// <summary>
    /// Polls an operation (at once, then every <c>OperationPollInterval</c> on a durable timer) until it finishes.
    /// A Failed operation fails the step with its error; one still running after <c>OperationTimeout</c> fails it with
    /// <see cref="SphereError.OperationTimedOut"/>.
    /// </summary>
    public async Task WaitForOperationAsync(string step, string tenantId, string operationId)
    {
        var deadline = _context.CurrentUtcDateTime + _options.OperationTimeout;
        var operation = new OperationRef(tenantId, operationId);
        var progress = await CallAsync<OperationProgress>(step, nameof(SphereActivities.GetOperation), operation);
        while (!progress.Finished && BeforeDeadline(deadline))
        {
            await _context.CreateTimer(_options.OperationPollInterval, CancellationToken.None);
            progress = await CallAsync<OperationProgress>(step, nameof(SphereActivities.GetOperation), operation);
        }

        if (!progress.Finished)
        {
            throw new FleetStepFailedException(step, new SphereError(0, SphereError.OperationTimedOut,
                $"Operation {operationId} was still {progress.State} after {_options.OperationTimeout:g} (Orchestrations:OperationTimeout).",
                OperationId: operationId));
        }

        if (progress.Failure is { } failure)
        {
            throw new FleetStepFailedException(step, failure);
        }
    }

    /// <summary>Whether one more poll interval still ends before <paramref name="deadline"/> (orchestration time).</summary>
    private bool BeforeDeadline(DateTime deadline) => _context.CurrentUtcDateTime + _options.OperationPollInterval <= deadline;

    /// <summary>
    /// Finds the product and group of <paramref name="path"/>, creating what is missing when
    /// <paramref name="allowCreate"/> (idempotently: a name taken by an earlier attempt or a racing creator is found
    /// again instead of failing).
    /// </summary>
    /// <exception cref="FleetStepFailedException">Missing and not allowed to create, or the service refused.</exception>
    public async Task<GroupLocation> EnsureDeviceGroupAsync(
        string step, string tenantId, GroupPath path, bool allowCreate, OsFeedType? osFeedType, UpdatePolicy? updatePolicy)
    {
        var lookup = new GroupLookup(tenantId, path.Product, path.Group);
        var location = await CallAsync<GroupLocation>(step, nameof(SphereActivities.FindDeviceGroup), lookup);
        if (location.ProductId is null)
        {
            if (!allowCreate)
            {
                throw new FleetStepFailedException(step, new SphereError(404, SphereError.ProductNotFound,
                    $"Product '{path.Product}' does not exist and the policy does not allow creating it (allowCreate)."));
            }

            var creation = await CallAsync<ProductCreation>(step, nameof(SphereActivities.CreateProduct), new ProductCreateRequest(tenantId, path.Product));
            if (creation.OperationId is { } operationId)
            {
                await WaitForOperationAsync(step, tenantId, operationId);
            }

            // A name taken by a racing creator appears once that creator's operation completes.
            location = await PollAsync(step, nameof(SphereActivities.FindDeviceGroup), lookup, (GroupLocation l) => l.ProductId is not null,
                $"product '{path.Product}' to appear");
        }

        if (location.DeviceGroupId is null)
        {
            if (!allowCreate)
            {
                throw new FleetStepFailedException(step, new SphereError(404, SphereError.DeviceGroupNotFound,
                    $"Device group '{path}' does not exist and the policy does not allow creating it (allowCreate)."));
            }

            var created = await CallAsync<GroupCreation>(step, nameof(SphereActivities.CreateDeviceGroup),
                new GroupCreateRequest(tenantId, location.ProductId!, path.Group, osFeedType, updatePolicy));
            location = created.DeviceGroupId is { } groupId
                ? location with { DeviceGroupId = groupId }
                : await CallAsync<GroupLocation>(step, nameof(SphereActivities.FindDeviceGroup), lookup);
            if (location.DeviceGroupId is null)
            {
                throw new FleetStepFailedException(step, new SphereError(0, SphereError.VerificationFailed,
                    $"Device group '{path}' was reported as existing but cannot be found."));
            }
        }

        return location;
    }

    /// <summary>
    /// Deploys <paramref name="imageIds"/> to a group, waits for the operation and returns the new deployment's id
    /// (or the one an earlier attempt of this step made).
    /// </summary>
    public async Task<string> DeployAsync(string step, string tenantId, string deviceGroupId, IReadOnlyList<string> imageIds, string? previousDeploymentId)
    {
        var start = await CallAsync<DeploymentStart>(step, nameof(SphereActivities.CreateDeployment),
            new DeploymentRequest(tenantId, deviceGroupId, imageIds, previousDeploymentId));
        if (start.ExistingDeploymentId is { } existing)
        {
            return existing;
        }

        await WaitForOperationAsync(step, tenantId, start.OperationId!);
        var group = await CallAsync<GroupSnapshot>(step, nameof(SphereActivities.GetDeviceGroup), new GroupRef(tenantId, deviceGroupId));
        if (group.DeploymentId is null || !group.ImageIds.ToHashSet(StringComparer.OrdinalIgnoreCase).SetEquals(imageIds))
        {
            throw new FleetStepFailedException(step, new SphereError(0, SphereError.VerificationFailed,
                $"After the deployment completed, group {deviceGroupId} carries images [{string.Join(", ", group.ImageIds)}], not [{string.Join(", ", imageIds)}]."));
        }

        return group.DeploymentId;
    }

    /// <summary>Calls an activity until its value satisfies <paramref name="done"/>, polling with durable timers within <c>OperationTimeout</c>.</summary>
    public async Task<T> PollAsync<T>(string step, string activity, object input, Func<T, bool> done, string what)
    {
        var deadline = _context.CurrentUtcDateTime + _options.OperationTimeout;
        var value = await CallAsync<T>(step, activity, input);
        while (!done(value) && BeforeDeadline(deadline))
        {
            await _context.CreateTimer(_options.OperationPollInterval, CancellationToken.None);
            value = await CallAsync<T>(step, activity, input);
        }

        return done(value)
            ? value
            : throw new FleetStepFailedException(step, new SphereError(0, SphereError.OperationTimedOut,
                $"Gave up waiting for {what} after {_options.OperationTimeout:g} (Orchestrations:OperationTimeout)."));
    }
}
