using Microsoft.DurableTask.Client;
using Fleet.Functions.Settings;
using Fleet.Shared.FleetClouds;
using Microsoft.Extensions.Logging;

namespace Fleet.Functions;

/// <summary>The app's log events (Functions range 5000–5999): 5000s provisioning, 5100s sweeps, 5200s rollouts, 5300s IoT Central tokens, 5400s the limiters' memory.</summary>
internal static partial class Log
{
    [LoggerMessage(EventId = 5000, EventName = "ProvisioningScheduled", Level = LogLevel.Information,
        Message = "Provisioning of device {DeviceId} into {Placement} scheduled as {InstanceId} (from {Source}).")]
    public static partial void ProvisioningScheduled(this ILogger logger, string deviceId, string placement, string instanceId, string source);

    [LoggerMessage(EventId = 5001, EventName = "ProvisioningAlreadyRunning", Level = LogLevel.Information,
        Message = "Provisioning of device {DeviceId} is already under way as {InstanceId}; the request from {Source} starts nothing new.")]
    public static partial void ProvisioningAlreadyRunning(this ILogger logger, string deviceId, string instanceId, string source);

    [LoggerMessage(EventId = 5004, EventName = "ProvisioningMessageRejected", Level = LogLevel.Warning,
        Message = "Provisioning message {MessageId} is not a valid request and goes to the rejected queue: {Reason}")]
    public static partial void ProvisioningMessageRejected(this ILogger logger, string messageId, string reason);

    [LoggerMessage(EventId = 5002, EventName = "ProvisioningCompleted", Level = LogLevel.Information,
        Message = "Device {DeviceId} provisioned on {Cloud} in {TenantId} into {Placement} (enrolled now: {Claimed}, moved: {Moved}).")]
    public static partial void ProvisioningCompleted(this ILogger logger, string deviceId, FleetCloud cloud, string tenantId, string placement, bool claimed, bool moved);

    [LoggerMessage(EventId = 5003, EventName = "ProvisioningFailed", Level = LogLevel.Warning,
        Message = "Provisioning of device {DeviceId} failed at step {Step}: {ErrorCode} {ErrorMessage}")]
    public static partial void ProvisioningFailed(this ILogger logger, string deviceId, string step, string? errorCode, string errorMessage);

    [LoggerMessage(EventId = 5100, EventName = "SweepScheduled", Level = LogLevel.Information,
        Message = "Compliance sweep {InstanceId} scheduled in {Mode} mode (from {Source}).")]
    public static partial void SweepScheduled(this ILogger logger, string instanceId, SweepMode mode, string source);

    [LoggerMessage(EventId = 5101, EventName = "SweepAlreadyRunning", Level = LogLevel.Information,
        Message = "Compliance sweep {InstanceId} is still {Status}; the sweep requested by {Source} is skipped.")]
    public static partial void SweepAlreadyRunning(this ILogger logger, string instanceId, OrchestrationRuntimeStatus status, string source);

    [LoggerMessage(EventId = 5102, EventName = "SweepWithoutPolicy", Level = LogLevel.Warning,
        Message = "The scheduled sweep is skipped: {Reason}")]
    public static partial void SweepWithoutPolicy(this ILogger logger, string reason);

    [LoggerMessage(EventId = 5103, EventName = "SweepCompleted", Level = LogLevel.Information,
        Message = "Compliance sweep {InstanceId} finished: {Devices} devices in {Tenants} tenants, {Findings} drift findings, {Fixed} fixed, {Failed} not fixed, {TenantErrors} tenants failed; report at {ReportPath}.")]
    public static partial void SweepCompleted(this ILogger logger, string instanceId, int devices, int tenants, int findings, int @fixed, int failed, int tenantErrors, string reportPath);

    [LoggerMessage(EventId = 5104, EventName = "TenantSweepFailed", Level = LogLevel.Warning,
        Message = "Compliance sweep {InstanceId} could not sweep tenant {Tenant}: {Error}")]
    public static partial void TenantSweepFailed(this ILogger logger, string instanceId, string tenant, string error);

    [LoggerMessage(EventId = 5105, EventName = "RemediationFailed", Level = LogLevel.Warning,
        Message = "Compliance sweep {InstanceId} could not fix {FindingId} in tenant {TenantId}: {Error}")]
    public static partial void RemediationFailed(this ILogger logger, string instanceId, string findingId, string tenantId, string error);

    [LoggerMessage(EventId = 5106, EventName = "TenantSweepProgress", Level = LogLevel.Information,
        Message = "Compliance sweep {InstanceId}, tenant {TenantId}: {Phase} done through page {Pages}; {Devices} devices, {Findings} findings, {Fixed} fixed, {Failed} not fixed.")]
    public static partial void TenantSweepProgress(this ILogger logger, string instanceId, string tenantId, string phase, int pages, int devices, int findings, int @fixed, int failed);

    [LoggerMessage(EventId = 5200, EventName = "RolloutScheduled", Level = LogLevel.Information,
        Message = "Rollout {InstanceId} of {ImageCount} image(s) in {WaveCount} wave(s) scheduled for tenant {Tenant}.")]
    public static partial void RolloutScheduled(this ILogger logger, string instanceId, int imageCount, int waveCount, string tenant);

    [LoggerMessage(EventId = 5201, EventName = "RolloutWaveDeploying", Level = LogLevel.Information,
        Message = "Rollout {InstanceId}: wave {Wave} deploying to {Groups}.")]
    public static partial void RolloutWaveDeploying(this ILogger logger, string instanceId, int wave, string groups);

    [LoggerMessage(EventId = 5202, EventName = "RolloutWaveMeasured", Level = LogLevel.Information,
        Message = "Rollout {InstanceId}: wave {Wave} health {Health} (threshold {Threshold}): {Decision}.")]
    public static partial void RolloutWaveMeasured(this ILogger logger, string instanceId, int wave, double health, double threshold, string decision);

    [LoggerMessage(EventId = 5203, EventName = "RolloutFinished", Level = LogLevel.Information,
        Message = "Rollout {InstanceId} finished: {Outcome} after wave {Wave}.")]
    public static partial void RolloutFinished(this ILogger logger, string instanceId, Fleet.Functions.Rollouts.RolloutOutcome outcome, int wave);

    [LoggerMessage(EventId = 5204, EventName = "RolloutAwaitingApproval", Level = LogLevel.Information,
        Message = "Rollout {InstanceId} waits up to {Timeout} for the 'approve' event before wave {Wave}.")]
    public static partial void RolloutAwaitingApproval(this ILogger logger, string instanceId, TimeSpan timeout, int wave);

    [LoggerMessage(EventId = 5205, EventName = "RolloutFailed", Level = LogLevel.Warning,
        Message = "Rollout {InstanceId} failed during {InFlight}: {ErrorCode} {ErrorMessage}")]
    public static partial void RolloutFailed(this ILogger logger, string instanceId, string inFlight, string? errorCode, string errorMessage);

    [LoggerMessage(EventId = 5300, EventName = "IoTCentralApiTokenRotatedByOperator", Level = LogLevel.Warning,
        Message = "IoT Central connection {Connection}: API token {PreviousTokenId} rotated to {NewTokenId} (expires {Expiry}); stored in {StoredIn}. Other hosts on the old token keep it until they restart or it is deleted.")]
    public static partial void IoTCentralApiTokenRotatedByOperator(this ILogger logger, string connection, string previousTokenId, string? newTokenId, DateTimeOffset? expiry, string? storedIn);

    [LoggerMessage(EventId = 5210, EventName = "FleetRolloutScheduled", Level = LogLevel.Information,
        Message = "Fleet rollout {InstanceId} of version {Version} on {Cloud} in {WaveCount} wave(s) scheduled.")]
    public static partial void FleetRolloutScheduled(this ILogger logger, string instanceId, FleetCloud cloud, string version, int waveCount);

    [LoggerMessage(EventId = 5211, EventName = "FleetRolloutWaveMeasured", Level = LogLevel.Information,
        Message = "Fleet rollout {InstanceId}: wave {Wave} failure rate {FailureRate} (gate {MaxFailureRate}), passed: {Passed}.")]
    public static partial void FleetRolloutWaveMeasured(this ILogger logger, string instanceId, int wave, double failureRate, double maxFailureRate, bool passed);

    [LoggerMessage(EventId = 5400, EventName = "LearnedRatesLoaded", Level = LogLevel.Information,
        Message = "Rate limiters: {Count} remembered rates loaded ({Stale} older than LearnedRates:MaxAge {MaxAge} left out); those limiters start at the rate their service accepted.")]
    public static partial void LearnedRatesLoaded(this ILogger logger, int count, int stale, TimeSpan maxAge);

    [LoggerMessage(EventId = 5401, EventName = "LearnedRatesSaved", Level = LogLevel.Debug,
        Message = "Rate limiters: {Count} learned rates remembered.")]
    public static partial void LearnedRatesSaved(this ILogger logger, int count);

    [LoggerMessage(EventId = 5402, EventName = "LearnedRatesUnavailable", Level = LogLevel.Warning,
        Message = "Rate limiters: the remembered rates could not be {Action} (blob {Blob}): {ErrorType}: {Reason}. The limiters learn their rates as without the memory.")]
    public static partial void LearnedRatesUnavailable(this ILogger logger, string action, string blob, string errorType, string reason);
}
