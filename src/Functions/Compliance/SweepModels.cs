using System.ComponentModel.DataAnnotations;
using System.Text.Json;
using System.Text.Json.Serialization;
using Fleet.Functions.Settings;
using Fleet.Functions.Sphere;
using Fleet.Shared.DesiredState;
using Fleet.Shared.FleetClouds;

namespace Fleet.Functions.Compliance;

/// <summary>The body of <c>POST /api/sweeps</c>; every member is optional.</summary>
public sealed class SweepRequest : IValidatableObject
{
    /// <summary>True: report only. False: remediate. Absent: <c>mode</c>, else <c>ComplianceSweep:Mode</c>.</summary>
    public bool? DryRun { get; init; }

    /// <summary><c>report</c> or <c>remediate</c>; absent: <c>ComplianceSweep:Mode</c> (or what <see cref="DryRun"/> says).</summary>
    public SweepMode? Mode { get; init; }

    /// <summary>A policy for this sweep only (a JSON object in the policy format); absent: the configured policy.</summary>
    public JsonElement? Policy { get; init; }

    /// <summary>Devices per page for this sweep (1–1000); absent: <c>ComplianceSweep:PageSize</c>.</summary>
    [Range(1, 1000, ErrorMessage = "pageSize must be between 1 and 1000.")]
    public int? PageSize { get; init; }

    /// <summary>Remediations at once per tenant for this sweep (1–1000); absent: <c>ComplianceSweep:MaxParallelRemediations</c>.</summary>
    [Range(1, 1000, ErrorMessage = "maxParallelRemediations must be between 1 and 1000.")]
    public int? MaxParallelRemediations { get; init; }

    /// <summary>The mode this request asks for, or null to use the configured one.</summary>
    [JsonIgnore]
    public SweepMode? RequestedMode => Mode ?? DryRun switch
    {
        true => SweepMode.Report,
        false => SweepMode.Remediate,
        null => null,
    };

    /// <inheritdoc />
    public IEnumerable<ValidationResult> Validate(ValidationContext validationContext)
    {
        if (DryRun == true && Mode == SweepMode.Remediate)
        {
            yield return new ValidationResult("dryRun true contradicts mode 'remediate'.", [nameof(DryRun)]);
        }

        if (Policy is { } policy)
        {
            if (policy.ValueKind != JsonValueKind.Object)
            {
                yield return new ValidationResult("policy must be a JSON object in the policy format.", [nameof(Policy)]);
            }
            else if (!DesiredStatePolicy.TryParse(policy.GetRawText(), out _, out var errors))
            {
                foreach (var error in errors)
                {
                    yield return new ValidationResult("policy." + error, [nameof(Policy)]);
                }
            }
        }
    }
}

/// <summary>The input of <c>ComplianceSweep</c>.</summary>
/// <param name="Mode">Report or remediate.</param>
/// <param name="PolicyJson">A policy for this sweep only; null: the configured policy at the time the sweep starts.</param>
/// <param name="PageSize">Devices per page.</param>
/// <param name="MaxParallelRemediations">Remediation sub-orchestrations at once per tenant.</param>
/// <param name="ChunkPages">Pages per execution of a tenant sweep before it continues as new.</param>
/// <param name="Source">What started it (schedule, HTTP).</param>
public sealed record SweepInput(SweepMode Mode, string? PolicyJson, int PageSize, int MaxParallelRemediations, int ChunkPages, string Source);

/// <summary>The policy a sweep runs against (stored with the report) and its tenants.</summary>
/// <param name="PolicySha256">SHA-256 of the policy JSON.</param>
/// <param name="PolicySource">Where the policy came from (the setting, or the request).</param>
/// <param name="Tenants">The policy's tenants, resolved.</param>
public sealed record SweepPlan(string PolicySha256, string PolicySource, IReadOnlyList<SweepTenant> Tenants);

/// <summary>A tenant of the policy, resolved to an id (or the reason it could not be).</summary>
/// <param name="PolicyTenant">The tenant as the policy writes it.</param>
/// <param name="TenantId">Its id, when resolved.</param>
/// <param name="TenantName">Its name, when resolved.</param>
/// <param name="Error">Why it could not be resolved.</param>
public sealed record SweepTenant(string PolicyTenant, string? TenantId, string? TenantName, SphereError? Error)
{
    /// <summary>The cloud (a device set's; Sphere for tenants).</summary>
    public FleetCloud Cloud { get; init; }

    /// <summary>The device set's name, for a device set of the policy (then <see cref="PolicyTenant"/> is the same name).</summary>
    public string? DeviceSet { get; init; }
}

/// <summary>Which tenant of which sweep an activity works on.</summary>
/// <param name="SweepId">The sweep's instance id (its report prefix).</param>
/// <param name="TenantId">The tenant.</param>
/// <param name="TenantName">The tenant's name.</param>
/// <param name="PolicyTenant">The tenant as the policy writes it.</param>
public sealed record TenantScope(string SweepId, string TenantId, string TenantName, string PolicyTenant)
{
    /// <summary>The cloud.</summary>
    public FleetCloud Cloud { get; init; }

    /// <summary>The device set swept, or null for a Sphere tenant.</summary>
    public string? DeviceSet { get; init; }
}

/// <summary>Where a tenant sweep is.</summary>
[JsonConverter(typeof(JsonStringEnumConverter<TenantSweepPhase>))]
public enum TenantSweepPhase
{
    /// <summary>Products, groups and deployments.</summary>
    Groups,

    /// <summary>The tenant's devices, page by page.</summary>
    Devices,

    /// <summary>Devices the policy places that the tenant has not claimed.</summary>
    Unclaimed,
}

/// <summary>What a tenant sweep has counted so far (carried across ContinueAsNew; nothing else is).</summary>
public sealed record TenantSweepCounters
{
    /// <summary>Device pages read.</summary>
    public int Pages { get; init; }

    /// <summary>Devices judged.</summary>
    public int Devices { get; init; }

    /// <summary>Device groups the tenant has.</summary>
    public int Groups { get; init; }

    /// <summary>Drift findings.</summary>
    public int Findings { get; init; }

    /// <summary>Findings per kind.</summary>
    public Dictionary<DriftKind, int> ByKind { get; init; } = [];

    /// <summary>Parts of the policy that could not be checked.</summary>
    public int PolicyErrors { get; init; }

    /// <summary>Findings fixed by remediation.</summary>
    public int Fixed { get; init; }

    /// <summary>Findings remediation tried and could not fix.</summary>
    public int Failed { get; init; }

    /// <summary>Adds findings of one phase or page.</summary>
    public TenantSweepCounters AddFindings(IReadOnlyDictionary<DriftKind, int> byKind)
    {
        var merged = new Dictionary<DriftKind, int>(ByKind);
        foreach (var (kind, count) in byKind)
        {
            merged[kind] = merged.GetValueOrDefault(kind) + count;
        }

        return this with { ByKind = merged, Findings = Findings + byKind.Values.Sum() };
    }

    /// <summary>Adds remediation outcomes.</summary>
    public TenantSweepCounters AddRemediations(IReadOnlyCollection<RemediationResult> results) => this with
    {
        Fixed = Fixed + results.Count(r => r.Outcome == RemediationOutcome.Fixed),
        Failed = Failed + results.Count(r => r.Outcome == RemediationOutcome.Failed),
    };
}

/// <summary>The input of one execution of <c>ComplianceSweepTenant</c>: where to resume and what was counted.</summary>
/// <param name="Scope">The sweep and tenant.</param>
/// <param name="Mode">Report or remediate.</param>
/// <param name="PageSize">Devices per page.</param>
/// <param name="MaxParallelRemediations">Remediations at once.</param>
/// <param name="ChunkPages">Pages per execution.</param>
/// <param name="Phase">The phase to run.</param>
/// <param name="Continuation">The device list's continuation token (Devices phase).</param>
/// <param name="PageIndex">The next page's number (Devices phase).</param>
/// <param name="Offset">The next unclaimed finding (Unclaimed phase).</param>
/// <param name="Chunk">The execution's number, naming its remediation record.</param>
/// <param name="Counters">What was counted so far.</param>
/// <param name="PlacedDevices">How many devices the policy places explicitly (no unclaimed phase when none).</param>
public sealed record TenantSweepState(
    TenantScope Scope, SweepMode Mode, int PageSize, int MaxParallelRemediations, int ChunkPages,
    TenantSweepPhase Phase, string? Continuation, int PageIndex, int Offset, int Chunk, TenantSweepCounters Counters, int PlacedDevices = 0)
{
    /// <summary>Whether drift is fixed.</summary>
    [JsonIgnore]
    public bool Remediate => Mode == SweepMode.Remediate;
}

/// <summary>The custom status of a tenant sweep.</summary>
public sealed record TenantSweepStatus(string TenantId, string TenantName, TenantSweepPhase Phase, TenantSweepCounters Counters, int RemediationsRunning)
{
    /// <summary>The cloud swept.</summary>
    public FleetCloud Cloud { get; init; }
}

/// <summary>The output of a tenant sweep.</summary>
/// <param name="PolicyTenant">The tenant as the policy writes it.</param>
/// <param name="TenantId">Its id, when resolved.</param>
/// <param name="TenantName">Its name, when resolved.</param>
/// <param name="Counters">What was counted.</param>
/// <param name="Error">Why the tenant could not be swept (fully), if it could not.</param>
public sealed record TenantSweepResult(string PolicyTenant, string? TenantId, string? TenantName, TenantSweepCounters Counters, SphereError? Error)
{
    /// <summary>The cloud.</summary>
    public FleetCloud Cloud { get; init; }
}

/// <summary>The custom status of a sweep.</summary>
/// <param name="Phase">Preparing, Sweeping, Reporting or Done.</param>
/// <param name="Mode">Report or remediate.</param>
/// <param name="Tenants">Each tenant's sweep instance (its status shows live progress).</param>
/// <param name="Summary">The counts, once reported.</param>
public sealed record SweepStatus(string Phase, SweepMode Mode, IReadOnlyList<string> Tenants, SweepSummary? Summary);

/// <summary>The output of a sweep: counts and where the report is.</summary>
public sealed record SweepSummary(
    string SweepId, SweepMode Mode, string ReportBlob, string SummaryBlob, int Tenants, int TenantErrors, int Devices, int Groups,
    int Findings, IReadOnlyDictionary<DriftKind, int> ByKind, int PolicyErrors, int Fixed, int Failed)
{
    /// <summary>Scopes, devices, findings and fixes per cloud.</summary>
    public IReadOnlyDictionary<FleetCloud, CloudTotals> ByCloud { get; init; } = new Dictionary<FleetCloud, CloudTotals>();
}

/// <summary>A finding to fix.</summary>
public sealed record RemediationRequest(string SweepId, string TenantId, DriftFinding Finding);

/// <summary>How a remediation ended.</summary>
[JsonConverter(typeof(JsonStringEnumConverter<RemediationOutcome>))]
public enum RemediationOutcome
{
    /// <summary>Fixed.</summary>
    Fixed,

    /// <summary>Tried and failed (see the error).</summary>
    Failed,

    /// <summary>Not tried: the finding is not remediable (see its note).</summary>
    Skipped,
}

/// <summary>The output of <c>RemediateDrift</c>.</summary>
/// <param name="FindingId">The finding.</param>
/// <param name="Outcome">Fixed, failed or skipped.</param>
/// <param name="ErrorCode">The service's error code (or ours), when it failed.</param>
/// <param name="Message">Why it failed or was skipped.</param>
public sealed record RemediationResult(string FindingId, RemediationOutcome Outcome, string? ErrorCode = null, string? Message = null);

/// <summary>Input of <c>PrepareSweep</c>.</summary>
public sealed record PrepareSweepRequest(string SweepId, string? PolicyJson);

/// <summary>Input of <c>SweepGroups</c>.</summary>
public sealed record GroupPhaseRequest(TenantScope Scope, bool IncludeItems);

/// <summary>Output of <c>SweepGroups</c>: counts, the remediable findings when asked, and how many devices the policy places.</summary>
public sealed record GroupPhaseResult(
    int Groups, IReadOnlyDictionary<DriftKind, int> ByKind, int PolicyErrors, IReadOnlyList<DriftFinding> Items, int PlacedDevices);

/// <summary>Input of <c>SweepDevicePage</c>.</summary>
public sealed record DevicePageRequest(TenantScope Scope, string? Continuation, int PageIndex, int PageSize, bool IncludeItems);

/// <summary>Output of <c>SweepDevicePage</c>: the next page's token, counts and the remediable findings when asked.</summary>
public sealed record DevicePageResult(string? Next, int Devices, IReadOnlyDictionary<DriftKind, int> ByKind, IReadOnlyList<DriftFinding> Items);

/// <summary>Input of <c>SweepUnclaimed</c>.</summary>
public sealed record UnclaimedRequest(TenantScope Scope, int Offset, int Take, bool IncludeItems);

/// <summary>Output of <c>SweepUnclaimed</c>: the total, a slice of remediable findings when asked, and where the next slice starts.</summary>
public sealed record UnclaimedSlice(int Total, IReadOnlyList<DriftFinding> Items, int? NextOffset);

/// <summary>Input of <c>RecordRemediations</c>.</summary>
public sealed record RemediationBatch(TenantScope Scope, string Name, IReadOnlyList<RemediationResult> Results);

/// <summary>Input of <c>WriteSweepReport</c>.</summary>
public sealed record ReportRequest(
    string SweepId, SweepMode Mode, DateTime StartedAt, DateTime CompletedAt, SweepPlan Plan, IReadOnlyList<TenantSweepResult> Tenants);
