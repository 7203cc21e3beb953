using System.Globalization;
using Microsoft.DurableTask;
using Fleet.Functions.Orchestration;
using Fleet.Functions.Settings;
using Fleet.Functions.Sphere;
using Microsoft.Azure.Functions.Worker;
using Microsoft.Extensions.Logging;
using Microsoft.Extensions.Options;

namespace Fleet.Functions.Rollouts;

/// <summary>
/// <c>RolloutDeployment</c>: deploys images to device groups wave by wave. Per wave it records each group's current
/// deployment, says in its status what it is about to deploy where, creates the deployments, soaks (durable timer),
/// measures health (the share of each group's devices reporting the deployment installed) and proceeds, or halts and
/// optionally rolls the wave's groups back to their previous deployment. Between waves it can wait for an
/// <c>approve</c> event, with a timeout.
/// </summary>
public sealed class RolloutDeploymentOrchestration(IOptions<OrchestrationOptions> options)
{
    /// <summary>The orchestrator's name.</summary>
    public const string Name = "RolloutDeployment";

    /// <summary>The event that lets the next wave start.</summary>
    public const string ApproveEvent = "approve";

    /// <summary>Runs a rollout; halting is an outcome, not a failure. A refused step fails it with the service's error.</summary>
    [Function(Name)]
    public async Task<RolloutResult> RolloutDeployment([OrchestrationTrigger] TaskOrchestrationContext context)
    {
        var input = context.GetInput<RolloutInput>() ?? throw new InvalidOperationException("RolloutDeployment needs an input.");
        var run = new Rollout(context, new FleetSteps(context, options.Value), input);
        return await run.RunAsync();
    }

    private sealed class Rollout(TaskOrchestrationContext context, FleetSteps steps, RolloutInput input)
    {
        private readonly RolloutStatus _status = new()
        {
            Images = input.Images,
            Waves = input.Waves.Select((w, i) => new WaveProgress
            {
                Wave = i + 1,
                HealthThreshold = w.HealthThreshold,
                Soak = w.Soak,
                Groups = w.DeviceGroups.Select(g => new GroupProgress { Group = g }).ToList(),
            }).ToList(),
        };

        private string _tenantId = string.Empty;

        public async Task<RolloutResult> RunAsync()
        {
            Publish();
            try
            {
                await ResolveAsync();
                for (var i = 0; i < input.Waves.Count; i++)
                {
                    var wave = _status.Waves[i];
                    _status.CurrentWave = wave.Wave;
                    if (i > 0 && input.ApprovalRequired && await ApproveAsync(wave) is { } stopped)
                    {
                        return stopped;
                    }

                    await DeployWaveAsync(wave);
                    await SoakAsync(wave, input.Waves[i].Soak);
                    if (await MeasureAsync(wave) is { } halted)
                    {
                        return halted;
                    }
                }

                return Finish(RolloutOutcome.Completed, RolloutState.Completed, $"All {input.Waves.Count} wave(s) passed their health threshold.");
            }
            catch (FleetStepFailedException ex)
            {
                Fail(ex.Error.ErrorCode, $"{ex.Step}: {ex.Error.Message}");
                throw;
            }
            catch (TaskFailedException ex)
            {
                Fail(ex.FailureDetails.ErrorType, ex.FailureDetails.ErrorMessage);
                throw;
            }
        }

        private async Task ResolveAsync()
        {
            var references = input.Waves.SelectMany(w => w.DeviceGroups).Distinct(StringComparer.OrdinalIgnoreCase).ToList();
            var targets = await steps.CallAsync<RolloutTargets>("Resolve", nameof(RolloutActivities.ResolveRolloutTargets),
                new RolloutTargetsRequest(input.Tenant, references));
            _tenantId = targets.TenantId;
            _status.TenantId = targets.TenantId;
            foreach (var group in _status.Waves.SelectMany(w => w.Groups))
            {
                var resolved = targets.Groups.First(g => string.Equals(g.Reference, group.Group, StringComparison.OrdinalIgnoreCase));
                group.DeviceGroupId = resolved.DeviceGroupId;
                group.Path = resolved.Path;
            }

            Publish();
        }

        /// <summary>Waits for approval before a wave; returns the result when the rollout stops here.</summary>
        private async Task<RolloutResult?> ApproveAsync(WaveProgress wave)
        {
            _status.State = RolloutState.AwaitingApproval;
            wave.State = "AwaitingApproval";
            _status.Decision = $"Waiting up to {input.ApprovalTimeout:g} for the '{ApproveEvent}' event before wave {wave.Wave}.";
            Publish();
            context.CreateReplaySafeLogger<RolloutDeploymentOrchestration>().RolloutAwaitingApproval(context.InstanceId, input.ApprovalTimeout, wave.Wave);
            ApprovalDecision? decision;
            try
            {
                decision = await context.WaitForExternalEvent<ApprovalDecision?>(ApproveEvent, input.ApprovalTimeout);
            }
            catch (TaskCanceledException)
            {
                wave.State = "NotStarted";
                return Finish(RolloutOutcome.ApprovalTimedOut, RolloutState.ApprovalTimedOut,
                    $"No approval for wave {wave.Wave} within {input.ApprovalTimeout:g}; waves {wave.Wave}-{input.Waves.Count} were not deployed.");
            }

            var by = decision?.By is { } who ? $" by {who}" : string.Empty;
            if (decision?.Approved == false)
            {
                wave.State = "NotStarted";
                return Finish(RolloutOutcome.Rejected, RolloutState.Rejected,
                    $"Wave {wave.Wave} was rejected{by}{(decision.Comment is { } c ? $": {c}" : string.Empty)}; waves {wave.Wave}-{input.Waves.Count} were not deployed.");
            }

            wave.Approval = $"Approved{by}{(decision?.Comment is { } comment ? $": {comment}" : string.Empty)}.";
            _status.Decision = $"Wave {wave.Wave} approved{by}.";
            return null;
        }

        private async Task DeployWaveAsync(WaveProgress wave)
        {
            // What each group has now: the rollback target, and what an interrupted rollout leaves to explain.
            var snapshots = await Task.WhenAll(wave.Groups.Select(g =>
                steps.CallAsync<GroupSnapshot>("Deploy", nameof(SphereActivities.GetDeviceGroup), new GroupRef(_tenantId, g.DeviceGroupId!))));
            for (var i = 0; i < wave.Groups.Count; i++)
            {
                wave.Groups[i].PreviousDeploymentId = snapshots[i].DeploymentId;
                wave.Groups[i].PreviousImageIds = snapshots[i].ImageIds;
                wave.Groups[i].State = "Deploying";
            }

            _status.State = RolloutState.Deploying;
            wave.State = "Deploying";
            _status.InFlight = $"Wave {wave.Wave}: creating deployments of images [{string.Join(", ", input.Images)}] on " +
                string.Join("; ", wave.Groups.Select(g => $"{g.Path} (previous deployment {g.PreviousDeploymentId ?? "none"})")) +
                ". Until this finishes, each of these groups carries either its previous deployment or the new one.";
            Publish();
            var logger = context.CreateReplaySafeLogger<RolloutDeploymentOrchestration>();
            if (logger.IsEnabled(LogLevel.Information))
            {
                logger.RolloutWaveDeploying(context.InstanceId, wave.Wave, string.Join(", ", wave.Groups.Select(g => g.Path)));
            }

            await Task.WhenAll(wave.Groups.Select(async g =>
            {
                g.DeploymentId = await steps.DeployAsync("Deploy", _tenantId, g.DeviceGroupId!, input.Images, g.PreviousDeploymentId);
                g.State = "Deployed";
            }));
            _status.InFlight = null;
            Publish();
        }

        private async Task SoakAsync(WaveProgress wave, TimeSpan soak)
        {
            _status.State = RolloutState.Soaking;
            wave.State = "Soaking";
            wave.SoakUntil = context.CurrentUtcDateTime + soak;
            Publish();
            if (soak > TimeSpan.Zero)
            {
                await context.CreateTimer(soak, CancellationToken.None);
            }
        }

        /// <summary>Measures each group's health; returns the result when the wave halts the rollout.</summary>
        private async Task<RolloutResult?> MeasureAsync(WaveProgress wave)
        {
            _status.State = RolloutState.Measuring;
            wave.State = "Measuring";
            Publish();
            var health = await Task.WhenAll(wave.Groups.Select(g => steps.CallAsync<GroupHealth>("Measure",
                nameof(SphereActivities.MeasureDeploymentHealth), new HealthRequest(_tenantId, g.DeviceGroupId!, g.DeploymentId!))));
            for (var i = 0; i < wave.Groups.Count; i++)
            {
                var group = wave.Groups[i];
                group.Devices = health[i].Devices;
                group.Installed = health[i].Installed;
                group.Health = health[i].Share;
                group.State = health[i].Share >= wave.HealthThreshold ? "Healthy" : "Unhealthy";
            }

            var unhealthy = wave.Groups.Where(g => g.State == "Unhealthy").ToList();
            var lowest = wave.Groups.Min(g => g.Health ?? 1);
            if (unhealthy.Count == 0)
            {
                wave.State = "Passed";
                wave.Decision = $"Proceed: every group reports at least {Percent(wave.HealthThreshold)} installed (lowest {Percent(lowest)}).";
                _status.Decision = wave.Decision;
                context.CreateReplaySafeLogger<RolloutDeploymentOrchestration>().RolloutWaveMeasured(context.InstanceId, wave.Wave, lowest, wave.HealthThreshold, "proceed");
                Publish();
                return null;
            }

            wave.State = "Halted";
            wave.Decision = "Halt: " + string.Join("; ", unhealthy.Select(g => $"{g.Path} has {g.Installed}/{g.Devices} ({Percent(g.Health ?? 0)}) installed"))
                + $", below {Percent(wave.HealthThreshold)}.";
            context.CreateReplaySafeLogger<RolloutDeploymentOrchestration>().RolloutWaveMeasured(context.InstanceId, wave.Wave, lowest, wave.HealthThreshold, "halt");
            if (input.RollbackOnFailure)
            {
                await RollBackAsync(wave);
            }

            return Finish(RolloutOutcome.Halted, RolloutState.Halted, wave.Decision + (input.RollbackOnFailure
                ? $" Wave {wave.Wave} was rolled back to its previous deployments."
                : " No rollback was asked for: the wave keeps the new deployment."));
        }

        private async Task RollBackAsync(WaveProgress wave)
        {
            _status.State = RolloutState.RollingBack;
            foreach (var group in wave.Groups)
            {
                if (group.PreviousImageIds is not { Count: > 0 } previous)
                {
                    group.State = "NoPreviousDeployment";
                    continue;
                }

                group.State = "RollingBack";
                _status.InFlight = $"Wave {wave.Wave}: rolling {group.Path} back from deployment {group.DeploymentId} to images [{string.Join(", ", previous)}] " +
                    $"(deployment {group.PreviousDeploymentId}). Until this finishes, the group carries either.";
                Publish();
                group.RollbackDeploymentId = await steps.DeployAsync("Rollback", _tenantId, group.DeviceGroupId!, previous, group.DeploymentId);
                group.State = "RolledBack";
            }

            _status.InFlight = null;
            Publish();
        }

        private RolloutResult Finish(RolloutOutcome outcome, RolloutState state, string decision)
        {
            _status.State = state;
            _status.InFlight = null;
            _status.Decision = decision;
            foreach (var wave in _status.Waves.Where(w => w.State == "Pending"))
            {
                wave.State = "NotStarted";
            }

            Publish();
            context.CreateReplaySafeLogger<RolloutDeploymentOrchestration>().RolloutFinished(context.InstanceId, outcome, _status.CurrentWave);
            return new RolloutResult(outcome, _status.CurrentWave, decision, _status.Waves);
        }

        private void Fail(string? errorCode, string message)
        {
            // InFlight stays as it was: it says which change the failure interrupted.
            _status.State = RolloutState.Failed;
            _status.ErrorCode = errorCode;
            _status.ErrorMessage = message;
            Publish();
            context.CreateReplaySafeLogger<RolloutDeploymentOrchestration>().RolloutFailed(context.InstanceId, _status.InFlight ?? "no change", errorCode, message);
        }

        private void Publish() => context.SetCustomStatus(_status);

        private static string Percent(double share) => (share * 100).ToString("0.#", CultureInfo.InvariantCulture) + "%";
    }
}
