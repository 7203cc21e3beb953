using System.ComponentModel.DataAnnotations;
using System.Text.Json.Serialization;
using System.Text.RegularExpressions;
using Fleet.Shared.FleetClouds;
using Fleet.Shared.IoTCentral;
using Fleet.Shared.IoTConnect;

namespace Fleet.Functions.Rollouts;

/// <summary>
/// <c>POST /api/fleet-rollouts</c>: a staged rollout of one version on any fleet cloud, through the port. Each wave
/// deploys to its targets (IoT Central: a job setting the property on the device group; IoTConnect: an OTA update of
/// the firmware upgrade to the entity; Sphere: the images, comma-separated, on the group), watches every device's
/// outcome, and halts the rollout when the wave's failure rate passes its <c>maxFailureRate</c>.
/// </summary>
public sealed partial class FleetRolloutRequest : IValidatableObject
{
    /// <summary>Letters, digits, <c>-</c>, <c>_</c>: the instance becomes <c>fleet-rollout-{id}</c>.</summary>
    public string? Id { get; init; }

    /// <summary><c>sphere</c>, <c>iotcentral</c> or <c>iotconnect</c>.</summary>
    [Required(ErrorMessage = "cloud is required.")]
    public string? Cloud { get; init; }

    /// <summary>Sphere tenant (id or name), or the connection of the application/solution (default: the cloud's default section).</summary>
    public string? Scope { get; init; }

    /// <summary>What to deploy: the IoT Central property value, the IoTConnect upgrade version, or Sphere image ids separated by commas.</summary>
    [Required(ErrorMessage = "version is required.")]
    public string? Version { get; init; }

    /// <summary>IoT Central: the writable property (default <c>firmwareVersion</c>).</summary>
    public string? Property { get; init; }

    /// <summary>The waves, in order.</summary>
    [Required(ErrorMessage = "waves is required.")]
    public IReadOnlyList<FleetWaveRequest?>? Waves { get; init; }

    /// <summary>Deploy once more to a wave's failed devices (when the wave passed its gate).</summary>
    public bool RetryFailed { get; init; }

    /// <summary>The cloud asked for.</summary>
    [JsonIgnore]
    public FleetCloud? RequestedCloud => FleetCloudJsonConverter.TryParse(Cloud, out var cloud) ? cloud : null;

    /// <inheritdoc />
    public IEnumerable<ValidationResult> Validate(ValidationContext validationContext)
    {
        if (Id is not null && !IdPattern().IsMatch(Id))
        {
            yield return new ValidationResult("id must be 1-64 letters, digits, '-' and '_'.", [nameof(Id)]);
        }

        if (Cloud is not null && RequestedCloud is null)
        {
            yield return new ValidationResult("cloud must be sphere, iotcentral or iotconnect.", [nameof(Cloud)]);
        }

        if (Waves is { Count: 0 } || Waves?.Count > 20)
        {
            yield return new ValidationResult("waves must list 1-20 waves.", [nameof(Waves)]);
        }

        for (var i = 0; i < (Waves?.Count ?? 0); i++)
        {
            var wave = Waves![i];
            if (wave?.Targets is not { Count: > 0 } targets)
            {
                yield return new ValidationResult($"waves[{i}].targets must list at least one target.", [nameof(Waves)]);
                continue;
            }

            if (wave.MaxFailureRate is < 0 or > 1)
            {
                yield return new ValidationResult($"waves[{i}].maxFailureRate must be between 0 and 1.", [nameof(Waves)]);
            }

            if (wave.Soak is { } soak && (soak < TimeSpan.Zero || soak > TimeSpan.FromDays(7)))
            {
                yield return new ValidationResult($"waves[{i}].soak must be between 00:00:00 and 7.00:00:00.", [nameof(Waves)]);
            }

            for (var t = 0; t < targets.Count; t++)
            {
                if (string.IsNullOrWhiteSpace(targets[t]?.Group)
                    || (RequestedCloud is FleetCloud.IoTCentral or FleetCloud.IoTConnect && string.IsNullOrWhiteSpace(targets[t]!.Template)))
                {
                    yield return new ValidationResult(
                        $"waves[{i}].targets[{t}] needs a group (Sphere Product/Group, IoT Central device group, IoTConnect entity) and, off Sphere, a template.",
                        [nameof(Waves)]);
                }
            }
        }
    }

    /// <summary>The orchestration's input.</summary>
    public FleetRolloutInput ToInput(string rolloutId)
    {
        var cloud = RequestedCloud!.Value;
        var scope = Scope?.Trim() ?? cloud switch
        {
            FleetCloud.IoTCentral => IoTCentralServiceCollectionExtensions.DefaultConnectionName,
            FleetCloud.IoTConnect => IoTConnectServiceCollectionExtensions.DefaultConnectionName,
            _ => string.Empty,
        };
        return new FleetRolloutInput(rolloutId, new FleetDeploymentSpec(Version!.Trim(), Property?.Trim()), RetryFailed,
            [.. Waves!.Select(w => new FleetWave(
                [.. w!.Targets!.Select(t => new FleetTarget(cloud, scope, t!.Group!.Trim(), t.Template?.Trim(), t.Organization?.Trim()))],
                w.MaxFailureRate ?? 0.05, w.Soak ?? TimeSpan.Zero))]);
    }

    [GeneratedRegex("^[A-Za-z0-9_-]{1,64}$")]
    private static partial Regex IdPattern();
}

/// <summary>One wave of a <see cref="FleetRolloutRequest"/>.</summary>
public sealed class FleetWaveRequest
{
    /// <summary>Where this wave deploys.</summary>
    public IReadOnlyList<FleetTargetRequest?>? Targets { get; init; }

    /// <summary>Failed ÷ targeted devices above which the rollout halts (0–1; default 0.05).</summary>
    public double? MaxFailureRate { get; init; }

    /// <summary>Wait after the deployments finished before measuring (default none).</summary>
    public TimeSpan? Soak { get; init; }
}

/// <summary>A target of a wave.</summary>
public sealed class FleetTargetRequest
{
    /// <summary>Sphere <c>Product/Group</c>; IoT Central device group id; IoTConnect entity.</summary>
    public string? Group { get; init; }

    /// <summary>IoT Central template id (the job's property target); IoTConnect template code (the firmware's).</summary>
    public string? Template { get; init; }

    /// <summary>IoT Central organization (informational for a job).</summary>
    public string? Organization { get; init; }
}

/// <summary>The input of <c>RolloutFleetDeployment</c>.</summary>
public sealed record FleetRolloutInput(string RolloutId, FleetDeploymentSpec Spec, bool RetryFailed, IReadOnlyList<FleetWave> Waves);

/// <summary>A wave: targets and its gate.</summary>
public sealed record FleetWave(IReadOnlyList<FleetTarget> Targets, double MaxFailureRate, TimeSpan Soak);

/// <summary>How a fleet rollout ended.</summary>
[JsonConverter(typeof(JsonStringEnumConverter<FleetRolloutOutcome>))]
public enum FleetRolloutOutcome
{
    /// <summary>Every wave passed its gate.</summary>
    Completed,

    /// <summary>A wave's failure rate passed its gate; later waves were not deployed.</summary>
    Halted,
}

/// <summary>A wave's measured outcome.</summary>
/// <param name="Wave">Its index (0-based).</param>
/// <param name="Deployments">The cloud's deployment ids (jobs, OTA updates).</param>
/// <param name="Devices">Devices targeted.</param>
/// <param name="Succeeded">Devices that took it.</param>
/// <param name="Failed">Devices that failed.</param>
/// <param name="FailureRate">Failed ÷ devices.</param>
/// <param name="Passed">Whether the rate is within the gate.</param>
/// <param name="FailedDeviceIds">Failed devices (at most 100 per deployment).</param>
/// <param name="Retried">Failed devices deployed to once more (<c>retryFailed</c>).</param>
public sealed record FleetWaveResult(int Wave, IReadOnlyList<string> Deployments, int Devices, int Succeeded, int Failed, double FailureRate, bool Passed,
    IReadOnlyList<string> FailedDeviceIds, int Retried);

/// <summary>Custom status and output of <c>RolloutFleetDeployment</c>.</summary>
/// <param name="State">Deploying, Watching, Soaking, Completed or Halted.</param>
/// <param name="CurrentWave">The wave in progress (or the last).</param>
/// <param name="Waves">The waves measured so far.</param>
/// <param name="Outcome">How it ended, once it has.</param>
public sealed record FleetRolloutStatus(string State, int CurrentWave, IReadOnlyList<FleetWaveResult> Waves, FleetRolloutOutcome? Outcome);
