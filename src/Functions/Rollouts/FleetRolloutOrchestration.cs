using System.Net;
using DurableTask.Core.Exceptions;
using Fleet.Functions.Clouds;
using Fleet.Functions.Http;
using Fleet.Functions.Orchestration;
using Fleet.Functions.Settings;
using Fleet.Functions.Sphere;
using Fleet.Shared.FleetClouds;
using Microsoft.Azure.Functions.Worker;
using Microsoft.Azure.Functions.Worker.Http;
using Microsoft.DurableTask;
using Microsoft.DurableTask.Client;
using Microsoft.Extensions.Logging;
using Microsoft.Extensions.Options;

namespace Fleet.Functions.Rollouts;

/// <summary>
/// <c>RolloutFleetDeployment</c>: a rollout in waves on any fleet cloud, written once against the port. Per wave it
/// resolves the targets, starts one deployment each, watches every device's outcome on durable timers, stops the
/// wave's deployments as soon as its failures pass the gate (no outcome still pending can bring it back), soaks, and
/// halts the rollout or moves on; with <c>retryFailed</c> a passing wave's failed devices get the deployment once more.
/// </summary>
public sealed class FleetRolloutOrchestration(IOptions<OrchestrationOptions> options, ILogger<FleetRolloutOrchestration> logger)
{
    /// <summary>The orchestrator's name.</summary>
    public const string Name = "RolloutFleetDeployment";

    /// <summary>The prefix of its instance ids.</summary>
    public const string InstancePrefix = "fleet-rollout-";

    /// <summary><c>POST /api/fleet-rollouts</c>: 202 with the check-status payload; 409 with it while that id still runs; 400 with the problems.</summary>
    [Function("StartFleetRollout")]
    public async Task<HttpResponseData> StartFleetRollout(
        [HttpTrigger(AuthorizationLevel.Function, "post", Route = "fleet-rollouts")] HttpRequestData request, [DurableClient] DurableTaskClient client)
    {
        var (body, errors) = await HttpJson.ReadAsync<FleetRolloutRequest>(request);
        if (body is null || errors.Count > 0)
        {
            return await HttpJson.BadRequest(request, errors);
        }

        var instanceId = InstancePrefix + (body.Id ?? Guid.NewGuid().ToString("N"));
        var input = body.ToInput(instanceId);
        try
        {
            await client.ScheduleNewOrchestrationInstanceAsync(Name, input, Orchestration.StartOptions.Unique(instanceId), request.FunctionContext.CancellationToken);
        }
        catch (OrchestrationAlreadyExistsException)
        {
            return await HttpJson.WriteAsync(request, HttpStatusCode.Conflict, client.CreateHttpManagementPayload(instanceId, request));
        }

        logger.FleetRolloutScheduled(instanceId, input.Waves[0].Targets[0].Cloud, input.Spec.Version, input.Waves.Count);
        return await client.CreateCheckStatusResponseAsync(request, instanceId);
    }

    /// <summary>Runs the rollout; its output is the last status (outcome and every wave measured).</summary>
    /// <exception cref="FleetStepFailedException">A target could not be resolved or a deployment was refused.</exception>
    [Function(Name)]
    public async Task<FleetRolloutStatus> RolloutFleetDeployment([OrchestrationTrigger] TaskOrchestrationContext context)
    {
        var input = context.GetInput<FleetRolloutInput>() ?? throw new InvalidOperationException("RolloutFleetDeployment needs an input.");
        var log = context.CreateReplaySafeLogger<FleetRolloutOrchestration>();
        var steps = new FleetSteps(context, options.Value);
        var port = new PortSteps(context, options.Value, steps);
        var results = new List<FleetWaveResult>();
        for (var w = 0; w < input.Waves.Count; w++)
        {
            var wave = input.Waves[w];
            context.SetCustomStatus(new FleetRolloutStatus("Deploying", w, results, null));
            var started = new List<(FleetTarget Target, FleetLocation Location, string Handle)>();
            for (var t = 0; t < wave.Targets.Count; t++)
            {
                var target = wave.Targets[t];
                var location = (await port.RunAsync("ResolveGroup", nameof(FleetActivities.FleetResolveTarget), target, target)).Location!;
                var start = await context.CallActivityAsync<FleetStepResult>(nameof(FleetActivities.FleetStartDeployment),
                    new FleetDeploymentRequest(target, location, input.Spec, $"{input.RolloutId}-w{w}-t{t}"), steps.Retry);
                if (start.State == FleetStepState.Failed)
                {
                    throw new FleetStepFailedException("Deploy", start.Error!.ToAppError());
                }

                started.Add((target, location, start.Handle!));
            }

            context.SetCustomStatus(new FleetRolloutStatus("Watching", w, results, null));
            var progress = await WatchWaveAsync(context, steps, started.Select(s => (s.Target, s.Handle)).ToList(), wave.MaxFailureRate);
            if (wave.Soak > TimeSpan.Zero && Passes(progress, wave.MaxFailureRate))
            {
                context.SetCustomStatus(new FleetRolloutStatus("Soaking", w, results, null));
                await context.CreateTimer(wave.Soak, CancellationToken.None);
                progress = await ReadAllAsync(context, steps, started.Select(s => (s.Target, s.Handle)).ToList());
            }

            var passed = Passes(progress, wave.MaxFailureRate);
            var failedIds = progress.SelectMany(p => p.FailedDeviceIds).ToList();
            var retried = 0;
            if (passed && input.RetryFailed && failedIds.Count > 0)
            {
                // The failed devices of each target get the deployment once more, named so the cloud narrows it to them.
                for (var s = 0; s < started.Count; s++)
                {
                    var ids = progress[s].FailedDeviceIds;
                    if (ids.Count > 0)
                    {
                        await port.DeployAsync("Retry", new FleetDeploymentRequest(started[s].Target, started[s].Location, input.Spec, $"{input.RolloutId}-w{w}-t{s}-retry", ids));
                        retried += ids.Count;
                    }
                }
            }

            var devices = progress.Sum(p => p.Devices);
            var failed = progress.Sum(p => p.Failed);
            var result = new FleetWaveResult(w, [.. progress.Select(p => p.DeploymentId)], devices, progress.Sum(p => p.Succeeded), failed,
                devices == 0 ? 0 : (double)failed / devices, passed, failedIds, retried);
            results.Add(result);
            log.FleetRolloutWaveMeasured(context.InstanceId, w, result.FailureRate, wave.MaxFailureRate, passed);
            if (!passed)
            {
                var halted = new FleetRolloutStatus("Halted", w, results, FleetRolloutOutcome.Halted);
                context.SetCustomStatus(halted);
                return halted;
            }
        }

        var completed = new FleetRolloutStatus("Completed", input.Waves.Count - 1, results, FleetRolloutOutcome.Completed);
        context.SetCustomStatus(completed);
        return completed;
    }

    private static bool Passes(IReadOnlyList<FleetDeploymentProgress> progress, double maxFailureRate)
    {
        var devices = progress.Sum(p => p.Devices);
        return devices == 0 || (double)progress.Sum(p => p.Failed) / devices <= maxFailureRate;
    }

    /// <summary>
    /// Polls the wave's deployments until all finished; once the failures alone pass the gate, stops the unfinished
    /// ones (health gate) and returns.
    /// </summary>
    private async Task<List<FleetDeploymentProgress>> WatchWaveAsync(
        TaskOrchestrationContext context, FleetSteps steps, List<(FleetTarget Target, string Handle)> deployments, double maxFailureRate)
    {
        var deadline = context.CurrentUtcDateTime + options.Value.OperationTimeout;
        var progress = await ReadAllAsync(context, steps, deployments);
        while (progress.Any(p => !p.Finished) && Passes(progress, maxFailureRate))
        {
            if (context.CurrentUtcDateTime + options.Value.OperationPollInterval > deadline)
            {
                throw new FleetStepFailedException("Watch", new SphereError(0, SphereError.OperationTimedOut,
                    $"The wave's deployments were unfinished after {options.Value.OperationTimeout:g} (Orchestrations:OperationTimeout)."));
            }

            await context.CreateTimer(options.Value.OperationPollInterval, CancellationToken.None);
            progress = await ReadAllAsync(context, steps, deployments);
        }

        for (var i = 0; i < progress.Count; i++)
        {
            if (!progress[i].Finished)
            {
                await context.CallActivityAsync<PortRead<bool>>(nameof(FleetActivities.FleetStopDeployment),
                    new PollRequest(deployments[i].Target, deployments[i].Handle), steps.Retry);
            }
        }

        return progress;
    }

    private static async Task<List<FleetDeploymentProgress>> ReadAllAsync(
        TaskOrchestrationContext context, FleetSteps steps, List<(FleetTarget Target, string Handle)> deployments)
    {
        var reads = await Task.WhenAll(deployments.Select(d => context.CallActivityAsync<PortRead<FleetDeploymentProgress>>(
            nameof(FleetActivities.FleetGetDeployment), new PollRequest(d.Target, d.Handle), steps.Retry)));
        return [.. reads.Select(r => r.Value ?? throw new FleetStepFailedException("Watch", r.Error!.ToAppError()))];
    }
}
