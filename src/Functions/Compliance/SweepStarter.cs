using System.Globalization;
using Microsoft.DurableTask;
using Microsoft.DurableTask.Client;
using Fleet.Functions.Settings;
using Fleet.Shared.DesiredState;
using Microsoft.Extensions.Logging;
using Microsoft.Extensions.Options;

namespace Fleet.Functions.Compliance;

/// <summary>No usable policy: none is configured (or the configured one cannot be read) and the request brought none.</summary>
public sealed class NoPolicyException(string message, Exception? innerException = null) : Exception(message, innerException);

/// <summary>What a sweep start request did.</summary>
/// <param name="InstanceId">The started sweep, or the one still running.</param>
/// <param name="Started">False when a sweep was already running (nothing new started).</param>
public sealed record SweepStart(string InstanceId, bool Started);

/// <summary>
/// Starts compliance sweeps (instance ids <c>sweep-{yyyyMMdd-HHmmss}-{8 hex}</c>, also their report prefix), at most
/// one at a time: while a <c>ComplianceSweep</c> instance is Pending, Running or Suspended, starts are skipped.
/// </summary>
public sealed class SweepStarter(
    IOptionsMonitor<ComplianceSweepOptions> options, PolicyProvider policies, TimeProvider time, ILogger<SweepStarter> logger)
{
    /// <summary>The prefix of sweep instance ids.</summary>
    public const string InstancePrefix = "sweep-";

    private static readonly OrchestrationRuntimeStatus[] Unfinished =
        [OrchestrationRuntimeStatus.Pending, OrchestrationRuntimeStatus.Running, OrchestrationRuntimeStatus.Suspended];

    /// <summary>Starts a sweep unless one is running.</summary>
    /// <exception cref="NoPolicyException">Neither the settings nor the request hold a policy.</exception>
    public async Task<SweepStart> StartAsync(DurableTaskClient client, SweepRequest? request, string source, CancellationToken cancellationToken)
    {
        ArgumentNullException.ThrowIfNull(client);
        if (await FindRunningAsync(client, cancellationToken) is { } running)
        {
            logger.SweepAlreadyRunning(running.InstanceId, running.RuntimeStatus, source);
            return new SweepStart(running.InstanceId, false);
        }

        var settings = options.CurrentValue;
        var policyJson = request?.Policy?.GetRawText();
        if (policyJson is null && ConfiguredPolicy() is null)
        {
            throw new NoPolicyException(
                "No desired-state policy is configured (ComplianceSweep:Policy or ComplianceSweep:PolicyPath) and the request has none.");
        }

        var mode = request?.RequestedMode ?? settings.Mode;
        var input = new SweepInput(mode, policyJson, request?.PageSize ?? settings.PageSize,
            request?.MaxParallelRemediations ?? settings.MaxParallelRemediations, settings.ChunkPages, source);
        var instanceId = InstancePrefix + time.GetUtcNow().ToString("yyyyMMdd-HHmmss", CultureInfo.InvariantCulture) + "-"
            + Guid.NewGuid().ToString("N")[..8];
        await client.ScheduleNewOrchestrationInstanceAsync(
            ComplianceSweepOrchestration.Name, input, new StartOrchestrationOptions(instanceId), cancellationToken);
        logger.SweepScheduled(instanceId, mode, source);
        return new SweepStart(instanceId, true);
    }

    private DesiredStatePolicy? ConfiguredPolicy()
    {
        try
        {
            return policies.Current();
        }
        catch (InvalidOperationException ex)
        {
            throw new NoPolicyException(ex.Message, ex);
        }
    }

    /// <summary>The scheduled sweep: skipped (with a log line) when no policy is configured or a sweep is running.</summary>
    public async Task StartScheduledAsync(DurableTaskClient client, bool pastDue, CancellationToken cancellationToken)
    {
        try
        {
            await StartAsync(client, null, pastDue ? "schedule (past due)" : "schedule", cancellationToken);
        }
        catch (NoPolicyException ex)
        {
            logger.SweepWithoutPolicy(ex.Message);
        }
    }

    /// <summary>The unfinished sweep, if any (tenant sweeps share the id prefix; only <c>ComplianceSweep</c> counts).</summary>
    public static async Task<OrchestrationMetadata?> FindRunningAsync(DurableTaskClient client, CancellationToken cancellationToken)
    {
        ArgumentNullException.ThrowIfNull(client);
        var query = new OrchestrationQuery(Statuses: Unfinished, InstanceIdPrefix: InstancePrefix, PageSize: 100);
        await foreach (var instance in client.GetAllInstancesAsync(query).WithCancellation(cancellationToken))
        {
            if (string.Equals(instance.Name, ComplianceSweepOrchestration.Name, StringComparison.Ordinal))
            {
                return instance;
            }
        }

        return null;
    }
}
