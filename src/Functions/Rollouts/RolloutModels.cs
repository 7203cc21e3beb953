using System.ComponentModel.DataAnnotations;
using System.Text.Json.Serialization;
using System.Text.RegularExpressions;
using Fleet.Shared.DesiredState;

namespace Fleet.Functions.Rollouts;

/// <summary>The body of <c>POST /api/rollouts</c>.</summary>
public sealed partial class RolloutRequest : IValidatableObject
{
    /// <summary>Optional id: the instance is <c>rollout-{id}</c> (letters, digits, '-', '_'); a new one when absent.</summary>
    public string? Id { get; init; }

    /// <summary>Tenant id or name.</summary>
    [Required(ErrorMessage = "tenant is required.")]
    public string? Tenant { get; init; }

    /// <summary>The image ids to deploy (one per component).</summary>
    [Required(ErrorMessage = "images is required.")]
    public List<string>? Images { get; init; }

    /// <summary>The waves, in order.</summary>
    [Required(ErrorMessage = "waves is required.")]
    public List<RolloutWaveRequest>? Waves { get; init; }

    /// <summary>Whether a halted wave's groups get their previous deployment back.</summary>
    public bool RollbackOnFailure { get; init; }

    /// <summary>Whether an approval is needed between waves, and how long to wait for it.</summary>
    public RolloutApprovalRequest? Approval { get; init; }

    /// <summary>The orchestration input this request describes (after validation).</summary>
    public RolloutInput ToInput() => new(
        Tenant!.Trim(),
        [.. Images!.Select(i => i.Trim())],
        [.. Waves!.Select(w => new RolloutWave([.. w.DeviceGroups!.Select(g => g.Trim())], w.Soak ?? RolloutWaveRequest.DefaultSoak,
            w.HealthThreshold ?? RolloutWaveRequest.DefaultHealthThreshold))],
        RollbackOnFailure,
        Approval?.Required ?? false,
        Approval?.Timeout ?? RolloutApprovalRequest.DefaultTimeout);

    /// <inheritdoc />
    public IEnumerable<ValidationResult> Validate(ValidationContext validationContext)
    {
        if (Id is not null && !IdPattern().IsMatch(Id))
        {
            yield return new ValidationResult("id must be 1-100 letters, digits, '-' or '_'.", [nameof(Id)]);
        }

        if (Tenant is not null && string.IsNullOrWhiteSpace(Tenant))
        {
            yield return new ValidationResult("tenant must not be blank.", [nameof(Tenant)]);
        }

        if (Images is { } images && (images.Count == 0 || images.Any(string.IsNullOrWhiteSpace)
                                     || images.Distinct(StringComparer.OrdinalIgnoreCase).Count() != images.Count))
        {
            yield return new ValidationResult("images must list one or more distinct image ids.", [nameof(Images)]);
        }

        if (Waves is { Count: 0 })
        {
            yield return new ValidationResult("waves must list at least one wave.", [nameof(Waves)]);
        }

        for (var i = 0; i < (Waves?.Count ?? 0); i++)
        {
            foreach (var problem in Waves![i]?.Problems() ?? ["must be an object"])
            {
                yield return new ValidationResult($"waves[{i}]: {problem}.", [nameof(Waves)]);
            }
        }

        if (Approval?.Timeout is { } timeout && (timeout < TimeSpan.FromSeconds(1) || timeout > TimeSpan.FromDays(30)))
        {
            yield return new ValidationResult("approval.timeout must be between 00:00:01 and 30.00:00:00.", [nameof(Approval)]);
        }
    }

    [GeneratedRegex("^[A-Za-z0-9_-]{1,100}$")]
    private static partial Regex IdPattern();
}

/// <summary>One wave of a <see cref="RolloutRequest"/>.</summary>
public sealed class RolloutWaveRequest
{
    /// <summary>Soak time when a wave gives none.</summary>
    public static readonly TimeSpan DefaultSoak = TimeSpan.FromMinutes(5);

    /// <summary>Health threshold when a wave gives none.</summary>
    public const double DefaultHealthThreshold = 0.95;

    /// <summary>The wave's device groups: <c>"Product/Group"</c> or device group ids.</summary>
    public List<string>? DeviceGroups { get; init; }

    /// <summary>How long to wait after deploying before measuring health (0 – 7 days; default 5 minutes).</summary>
    public TimeSpan? Soak { get; init; }

    /// <summary>The share (0–1) of each group's devices that must report the images installed (default 0.95).</summary>
    public double? HealthThreshold { get; init; }

    internal IEnumerable<string> Problems()
    {
        if (DeviceGroups is not { Count: > 0 } groups)
        {
            yield return "deviceGroups must list one or more groups";
        }
        else if (groups.Any(g => !GroupPath.TryParse(g, out _) && !Guid.TryParse(g, out _)))
        {
            yield return "each device group is \"Product/Group\" or a device group id";
        }

        if (Soak is { } soak && (soak < TimeSpan.Zero || soak > TimeSpan.FromDays(7)))
        {
            yield return "soak must be between 00:00:00 and 7.00:00:00";
        }

        if (HealthThreshold is { } threshold && (double.IsNaN(threshold) || threshold < 0 || threshold > 1))
        {
            yield return "healthThreshold must be between 0 and 1";
        }
    }
}

/// <summary>The approval gate of a <see cref="RolloutRequest"/>.</summary>
public sealed class RolloutApprovalRequest
{
    /// <summary>How long a wave waits for approval when no timeout is given.</summary>
    public static readonly TimeSpan DefaultTimeout = TimeSpan.FromDays(1);

    /// <summary>Whether each wave after the first waits for the <c>approve</c> event.</summary>
    public bool Required { get; init; }

    /// <summary>How long to wait (1 s – 30 days; default 1 day); then the rollout stops.</summary>
    public TimeSpan? Timeout { get; init; }
}

/// <summary>The input of <c>RolloutDeployment</c>.</summary>
public sealed record RolloutInput(
    string Tenant, IReadOnlyList<string> Images, IReadOnlyList<RolloutWave> Waves, bool RollbackOnFailure, bool ApprovalRequired, TimeSpan ApprovalTimeout);

/// <summary>A wave of a rollout.</summary>
/// <param name="DeviceGroups">Device groups, as <c>"Product/Group"</c> or ids.</param>
/// <param name="Soak">Wait after deploying, before measuring.</param>
/// <param name="HealthThreshold">Minimum installed share per group.</param>
public sealed record RolloutWave(IReadOnlyList<string> DeviceGroups, TimeSpan Soak, double HealthThreshold);

/// <summary>The payload of the <c>approve</c> event; an empty body approves.</summary>
/// <param name="Approved">False rejects (the rollout stops); true or absent approves.</param>
/// <param name="By">Who decided.</param>
/// <param name="Comment">Why.</param>
public sealed record ApprovalDecision(bool? Approved, string? By, string? Comment);

/// <summary>Input of <c>ResolveRolloutTargets</c>.</summary>
public sealed record RolloutTargetsRequest(string Tenant, IReadOnlyList<string> DeviceGroups);

/// <summary>A device group of a rollout, resolved.</summary>
/// <param name="Reference">As the request named it.</param>
/// <param name="DeviceGroupId">Its id.</param>
/// <param name="Path">Its product and group name.</param>
public sealed record ResolvedGroup(string Reference, string DeviceGroupId, string Path);

/// <summary>Output of <c>ResolveRolloutTargets</c>.</summary>
public sealed record RolloutTargets(string TenantId, string TenantName, IReadOnlyList<ResolvedGroup> Groups);

/// <summary>Where a rollout is.</summary>
[JsonConverter(typeof(JsonStringEnumConverter<RolloutState>))]
public enum RolloutState
{
    /// <summary>Resolving the tenant and groups.</summary>
    Starting,

    /// <summary>Creating a wave's deployments.</summary>
    Deploying,

    /// <summary>Waiting the wave's soak time.</summary>
    Soaking,

    /// <summary>Counting installs.</summary>
    Measuring,

    /// <summary>Waiting for the <c>approve</c> event.</summary>
    AwaitingApproval,

    /// <summary>Giving a halted wave's groups their previous deployment back.</summary>
    RollingBack,

    /// <summary>Every wave passed.</summary>
    Completed,

    /// <summary>A wave's health was below its threshold; later waves were not deployed.</summary>
    Halted,

    /// <summary>No approval arrived in time; later waves were not deployed.</summary>
    ApprovalTimedOut,

    /// <summary>The approval event rejected the next wave.</summary>
    Rejected,

    /// <summary>A step failed (see the error); <see cref="RolloutStatus.InFlight"/> says what was under way.</summary>
    Failed,
}

/// <summary>A device group's part in a rollout.</summary>
public sealed class GroupProgress
{
    /// <summary>The group as the request named it.</summary>
    public required string Group { get; init; }

    /// <summary>Its id and name, once resolved.</summary>
    public string? DeviceGroupId { get; set; }

    /// <summary>Its product and group name, once resolved.</summary>
    public string? Path { get; set; }

    /// <summary>Pending, Deploying, Deployed, Healthy, Unhealthy, RollingBack, RolledBack or NoPreviousDeployment.</summary>
    public string State { get; set; } = "Pending";

    /// <summary>The deployment the group had before this rollout touched it.</summary>
    public string? PreviousDeploymentId { get; set; }

    /// <summary>That deployment's images.</summary>
    public IReadOnlyList<string>? PreviousImageIds { get; set; }

    /// <summary>The deployment this rollout made.</summary>
    public string? DeploymentId { get; set; }

    /// <summary>Devices in the group when measured.</summary>
    public int? Devices { get; set; }

    /// <summary>Devices reporting the images installed.</summary>
    public int? Installed { get; set; }

    /// <summary>Installed ÷ devices.</summary>
    public double? Health { get; set; }

    /// <summary>The deployment that restored the previous images, after a rollback.</summary>
    public string? RollbackDeploymentId { get; set; }
}

/// <summary>A wave's part in a rollout.</summary>
public sealed class WaveProgress
{
    /// <summary>The wave's number, from 1.</summary>
    public required int Wave { get; init; }

    /// <summary>The wave's threshold.</summary>
    public required double HealthThreshold { get; init; }

    /// <summary>The wave's soak time.</summary>
    public required TimeSpan Soak { get; init; }

    /// <summary>Pending, AwaitingApproval, Deploying, Soaking, Measuring, Passed, Halted or NotStarted.</summary>
    public string State { get; set; } = "Pending";

    /// <summary>When the soak ends.</summary>
    public DateTime? SoakUntil { get; set; }

    /// <summary>What was decided after measuring, and why.</summary>
    public string? Decision { get; set; }

    /// <summary>The approval that let the wave start (who, and why), when approvals are required.</summary>
    public string? Approval { get; set; }

    /// <summary>The wave's groups.</summary>
    public required IReadOnlyList<GroupProgress> Groups { get; init; }
}

/// <summary>
/// The custom status of <c>RolloutDeployment</c>: what was done (per wave and group), what is in flight (set before
/// each deployment request, so a terminated rollout shows which groups may carry which deployment), health and
/// decisions.
/// </summary>
public sealed class RolloutStatus
{
    /// <summary>The tenant, once resolved.</summary>
    public string? TenantId { get; set; }

    /// <summary>The images rolled out.</summary>
    public required IReadOnlyList<string> Images { get; init; }

    /// <summary>Where the rollout is.</summary>
    public RolloutState State { get; set; } = RolloutState.Starting;

    /// <summary>The wave being worked on, from 1 (0 before the first).</summary>
    public int CurrentWave { get; set; }

    /// <summary>The change under way, or null when nothing is.</summary>
    public string? InFlight { get; set; }

    /// <summary>The latest decision.</summary>
    public string? Decision { get; set; }

    /// <summary>Every wave.</summary>
    public required IReadOnlyList<WaveProgress> Waves { get; init; }

    /// <summary>The service's error code, when a step failed.</summary>
    public string? ErrorCode { get; set; }

    /// <summary>The service's message, when a step failed.</summary>
    public string? ErrorMessage { get; set; }
}

/// <summary>How a rollout ended (when it did not fail).</summary>
[JsonConverter(typeof(JsonStringEnumConverter<RolloutOutcome>))]
public enum RolloutOutcome
{
    /// <summary>Every wave passed.</summary>
    Completed,

    /// <summary>A wave was below its health threshold.</summary>
    Halted,

    /// <summary>No approval arrived in time.</summary>
    ApprovalTimedOut,

    /// <summary>The approval event said no.</summary>
    Rejected,
}

/// <summary>The output of <c>RolloutDeployment</c>.</summary>
/// <param name="Outcome">How it ended.</param>
/// <param name="LastWave">The last wave worked on (the halted one, or the one waiting for approval), from 1.</param>
/// <param name="Decision">The final decision, readable.</param>
/// <param name="Waves">Every wave with its groups, health and decision.</param>
public sealed record RolloutResult(RolloutOutcome Outcome, int LastWave, string Decision, IReadOnlyList<WaveProgress> Waves);
