using System.Globalization;
using System.Text;
using Fleet.Functions.Settings;
using Fleet.Functions.Sphere;
using Fleet.Shared.DesiredState;
using Fleet.Shared.FleetClouds;

namespace Fleet.Functions.Compliance;

/// <summary>A finding in the report, with what remediation did about it (null in report mode).</summary>
/// <param name="Drift">The finding.</param>
/// <param name="Remediation">The remediation's outcome, when one ran.</param>
public sealed record ReportedFinding(DriftFinding Drift, RemediationResult? Remediation);

/// <summary>One tenant in the report.</summary>
/// <param name="Tenant">The tenant as the policy writes it.</param>
/// <param name="TenantId">Its id, when resolved.</param>
/// <param name="TenantName">Its name, when resolved.</param>
/// <param name="Error">Why the tenant could not be swept (fully), if so.</param>
/// <param name="Devices">Devices judged.</param>
/// <param name="Groups">Device groups the tenant has.</param>
/// <param name="PolicyErrors">Parts of the policy that could not be checked.</param>
/// <param name="Findings">The drift, groups first, then devices in list order, then unclaimed devices.</param>
public sealed record TenantReport(
    string Tenant, string? TenantId, string? TenantName, SphereError? Error, int Devices, int Groups,
    IReadOnlyList<string> PolicyErrors, IReadOnlyList<ReportedFinding> Findings)
{
    /// <summary>The cloud (Sphere for tenants; a device set's cloud).</summary>
    public FleetCloud Cloud { get; init; }
}

/// <summary>A cloud's share of a sweep.</summary>
/// <param name="Scopes">Sphere tenants or device sets swept.</param>
/// <param name="Errors">Of them, those that could not be swept (fully).</param>
/// <param name="Devices">Devices judged.</param>
/// <param name="Findings">Drift found.</param>
/// <param name="Fixed">Findings fixed.</param>
/// <param name="Failed">Findings whose fix failed.</param>
public sealed record CloudTotals(int Scopes, int Errors, int Devices, int Findings, int Fixed, int Failed);

/// <summary>The totals of a report.</summary>
public sealed record SweepTotals(
    int Tenants, int TenantErrors, int Devices, int Groups, int Findings, IReadOnlyDictionary<DriftKind, int> ByKind,
    int Remediable, int Fixed, int Failed, int PolicyErrors)
{
    /// <summary>The same per cloud (only clouds the policy names).</summary>
    public IReadOnlyDictionary<FleetCloud, CloudTotals> ByCloud { get; init; } = new Dictionary<FleetCloud, CloudTotals>();
}

/// <summary><c>report.json</c>: a sweep's findings per tenant, with remediation outcomes.</summary>
public sealed record SweepReport(
    string SweepId, SweepMode Mode, DateTime StartedAt, DateTime CompletedAt, string PolicySha256, string PolicySource,
    SweepTotals Totals, IReadOnlyList<TenantReport> Tenants);

/// <summary>Builds the report and its readable summary from what the sweep stored.</summary>
internal static class SweepReportBuilder
{
    private const int SummaryLinesPerTenant = 50;

    public static TenantReport Tenant(TenantSweepResult tenant, IReadOnlyList<FindingsRecord> records, IReadOnlyList<RemediationResult> remediations)
    {
        var outcomes = new Dictionary<string, RemediationResult>(StringComparer.Ordinal);
        foreach (var result in remediations)
        {
            outcomes[result.FindingId] = result;
        }

        static int Order(FindingsRecord r) => r.Phase switch { "groups" => 0, "devices" => 1, _ => 2 };
        var ordered = records.OrderBy(Order).ThenBy(r => r.PageIndex ?? 0).ToList();
        var findings = ordered.SelectMany(r => r.Findings)
            .Select(f => new ReportedFinding(f, outcomes.GetValueOrDefault(f.Id)))
            .ToList();
        return new TenantReport(
            tenant.PolicyTenant, tenant.TenantId, tenant.TenantName, tenant.Error, ordered.Sum(r => r.Devices), tenant.Counters.Groups,
            ordered.SelectMany(r => r.PolicyErrors).ToList(), findings) { Cloud = tenant.Cloud };
    }

    public static SweepReport Build(ReportRequest request, IReadOnlyList<TenantReport> tenants)
    {
        var all = tenants.SelectMany(t => t.Findings).ToList();
        var totals = new SweepTotals(
            tenants.Count,
            tenants.Count(t => t.Error is not null),
            tenants.Sum(t => t.Devices),
            tenants.Sum(t => t.Groups),
            all.Count,
            all.GroupBy(f => f.Drift.Kind).OrderBy(g => g.Key).ToDictionary(g => g.Key, g => g.Count()),
            all.Count(f => f.Drift.Remediable),
            all.Count(f => f.Remediation?.Outcome == RemediationOutcome.Fixed),
            all.Count(f => f.Remediation?.Outcome == RemediationOutcome.Failed),
            tenants.Sum(t => t.PolicyErrors.Count))
        {
            ByCloud = tenants.GroupBy(t => t.Cloud).OrderBy(g => g.Key).ToDictionary(g => g.Key, g => new CloudTotals(
                g.Count(), g.Count(t => t.Error is not null), g.Sum(t => t.Devices), g.Sum(t => t.Findings.Count),
                g.Sum(t => t.Findings.Count(f => f.Remediation?.Outcome == RemediationOutcome.Fixed)),
                g.Sum(t => t.Findings.Count(f => f.Remediation?.Outcome == RemediationOutcome.Failed)))),
        };
        return new SweepReport(request.SweepId, request.Mode, request.StartedAt, request.CompletedAt, request.Plan.PolicySha256,
            request.Plan.PolicySource, totals, tenants);
    }

    public static SweepSummary Summarize(SweepReport report, string container) => new(
        report.SweepId, report.Mode, $"{container}/{ReportStore.ReportBlob(report.SweepId)}", $"{container}/{ReportStore.SummaryBlob(report.SweepId)}",
        report.Totals.Tenants, report.Totals.TenantErrors, report.Totals.Devices, report.Totals.Groups, report.Totals.Findings,
        report.Totals.ByKind, report.Totals.PolicyErrors, report.Totals.Fixed, report.Totals.Failed) { ByCloud = report.Totals.ByCloud };

    public static string Summary(SweepReport report)
    {
        var text = new StringBuilder();
        var t = report.Totals;
        Line(text, $"Compliance sweep {report.SweepId} ({(report.Mode == SweepMode.Report ? "report only (dry run)" : "remediate")})");
        Line(text, $"Started {Time(report.StartedAt)}, finished {Time(report.CompletedAt)}; policy sha256 {report.PolicySha256} (from {report.PolicySource}).");
        Line(text, $"Totals: {t.Tenants} tenant(s), {t.Devices} device(s), {t.Groups} group(s), {t.Findings} finding(s)" +
                   (report.Mode == SweepMode.Remediate ? $", {t.Fixed} fixed, {t.Failed} not fixed" : string.Empty) +
                   (t.TenantErrors > 0 ? $", {t.TenantErrors} tenant(s) not swept" : string.Empty) + ".");
        foreach (var (kind, count) in t.ByKind)
        {
            Line(text, $"  {kind,-24}{count,8}");
        }

        foreach (var (cloud, c) in t.ByCloud)
        {
            Line(text, $"  {FleetCloudJsonConverter.NameOf(cloud),-12}{c.Scopes,4} scope(s), {c.Devices} device(s), {c.Findings} finding(s), {c.Fixed} fixed, {c.Failed} not fixed" +
                       (c.Errors > 0 ? $", {c.Errors} not swept" : string.Empty));
        }

        foreach (var tenant in report.Tenants)
        {
            text.AppendLine();
            var name = tenant.TenantName is null ? tenant.Tenant : $"{tenant.TenantName} ({tenant.TenantId})";
            Line(text, $"{(tenant.Cloud == FleetCloud.Sphere ? "Tenant" : FleetCloudJsonConverter.NameOf(tenant.Cloud) + " device set")} {name}: {tenant.Devices} device(s), {tenant.Groups} group(s), {tenant.Findings.Count} finding(s).");
            if (tenant.Error is { } error)
            {
                Line(text, $"  NOT SWEPT: {error}");
            }

            foreach (var problem in tenant.PolicyErrors)
            {
                Line(text, $"  Policy: {problem}");
            }

            foreach (var finding in tenant.Findings.Take(SummaryLinesPerTenant))
            {
                Line(text, "  " + Describe(finding));
            }

            if (tenant.Findings.Count > SummaryLinesPerTenant)
            {
                Line(text, $"  … and {tenant.Findings.Count - SummaryLinesPerTenant} more (see report.json).");
            }
        }

        return text.ToString();
    }

    private static string Describe(ReportedFinding finding)
    {
        var drift = finding.Drift;
        var subject = drift.DeviceId is { } device ? $"device {device[..Math.Min(16, device.Length)]}…" : drift.Group?.ToString() ?? drift.Id;
        var line = $"{drift.Kind,-22} {subject}: {drift.Current} -> {drift.Expected}";
        var outcome = finding.Remediation switch
        {
            null when !drift.Remediable => $" [not remediable: {drift.Note}]",
            null => string.Empty,
            { Outcome: RemediationOutcome.Fixed } => " [fixed]",
            { } r => $" [{r.Outcome.ToString().ToLowerInvariant()}: {r.ErrorCode} {r.Message}]",
        };
        return line + outcome;
    }

    private static string Time(DateTime time) => time.ToString("yyyy-MM-ddTHH:mm:ssZ", CultureInfo.InvariantCulture);

    private static void Line(StringBuilder text, string line) => text.Append(line).Append('\n');
}
