using System.Text.Json.Serialization;
using System.Text.RegularExpressions;
using Fleet.Shared.DesiredState;
using Fleet.Shared.FleetClouds;

namespace Fleet.Functions.Settings;

/// <summary>Whether a compliance sweep only reports drift or also fixes it.</summary>
[JsonConverter(typeof(JsonStringEnumConverter<SweepMode>))]
public enum SweepMode
{
    /// <summary>Report drift only (a dry run).</summary>
    Report,

    /// <summary>Report drift and fix what the policy allows, with bounded fan-out.</summary>
    Remediate,
}

/// <summary>Settings of queue-triggered provisioning (section <c>Provisioning</c>).</summary>
public sealed class ProvisioningOptions
{
    /// <summary>The configuration section.</summary>
    public const string Section = "Provisioning";

    /// <summary>Queue the provisioning trigger reads (<c>Provisioning:Queue</c>).</summary>
    /// <value>Default <c>provisioning-requests</c>; its poison queue is <c>provisioning-requests-poison</c>.</value>
    public string Queue { get; set; } = "provisioning-requests";

    /// <summary>
    /// Tenant (id or name) for requests without <c>tenantId</c> (<c>Provisioning:DefaultTenant</c>). Without it such
    /// requests fail and end in the poison queue.
    /// </summary>
    /// <value>Default none.</value>
    public string? DefaultTenant { get; set; }

    /// <summary>The cloud of requests without <c>cloud</c> (<c>Provisioning:DefaultCloud</c>): <c>sphere</c>, <c>iotcentral</c> or <c>iotconnect</c>.</summary>
    /// <value>Default <see cref="FleetCloud.Sphere"/>.</value>
    public FleetCloud DefaultCloud { get; set; } = FleetCloud.Sphere;
}

/// <summary>Settings of compliance sweeps (section <c>ComplianceSweep</c>).</summary>
public sealed partial class ComplianceSweepOptions
{
    /// <summary>The configuration section.</summary>
    public const string Section = "ComplianceSweep";

    /// <summary>Six-field NCRONTAB schedule of the sweep timer (<c>ComplianceSweep:Schedule</c>).</summary>
    /// <value>Default <c>0 0 2 * * *</c>: nightly at 02:00 (in <c>WEBSITE_TIME_ZONE</c>, UTC by default).</value>
    public string Schedule { get; set; } = "0 0 2 * * *";

    /// <summary>The desired-state policy as inline JSON (<c>ComplianceSweep:Policy</c>); not together with <see cref="PolicyPath"/>.</summary>
    /// <value>Default none.</value>
    public string? Policy { get; set; }

    /// <summary>A file holding the policy, absolute or relative to the app's content root (<c>ComplianceSweep:PolicyPath</c>).</summary>
    /// <value>Default none.</value>
    public string? PolicyPath { get; set; }

    /// <summary>What scheduled sweeps (and HTTP sweeps that do not say) do (<c>ComplianceSweep:Mode</c>).</summary>
    /// <value>Default <see cref="SweepMode.Report"/>.</value>
    public SweepMode Mode { get; set; } = SweepMode.Report;

    /// <summary>Remediation sub-orchestrations running at once per tenant (<c>ComplianceSweep:MaxParallelRemediations</c>), 1–1000.</summary>
    /// <value>Default 32.</value>
    public int MaxParallelRemediations { get; set; } = 32;

    /// <summary>
    /// Devices per page read from the Sphere API (<c>ComplianceSweep:PageSize</c>), 1–1000 (a page's findings travel
    /// through the durable store, whose payloads are limited).
    /// </summary>
    /// <value>Default 500.</value>
    public int PageSize { get; set; } = 500;

    /// <summary>
    /// Pages a tenant sweep handles before it continues as new (<c>ComplianceSweep:ChunkPages</c>), 1–1000; bounds the
    /// orchestration history whatever the fleet size.
    /// </summary>
    /// <value>Default 10.</value>
    public int ChunkPages { get; set; } = 10;

    /// <summary>Blob container of the sweep reports (<c>ComplianceSweep:ReportContainer</c>).</summary>
    /// <value>Default <c>compliance-reports</c>.</value>
    public string ReportContainer { get; set; } = "compliance-reports";

    /// <summary>Whether a container name is valid in Azure Storage (3–63 lowercase letters, digits, single dashes).</summary>
    internal static bool IsValidContainerName(string? name) => name is not null && ContainerPattern().IsMatch(name);

    [GeneratedRegex("^(?=.{3,63}$)[a-z0-9]+(-[a-z0-9]+)*$")]
    private static partial Regex ContainerPattern();
}

/// <summary>Timing and retries of the orchestrations (section <c>Orchestrations</c>).</summary>
public sealed class OrchestrationOptions
{
    /// <summary>The configuration section.</summary>
    public const string Section = "Orchestrations";

    /// <summary>
    /// Durable-timer interval between polls of a Sphere operation (<c>Orchestrations:OperationPollInterval</c>),
    /// 10 ms – 5 min. The first poll is immediate.
    /// </summary>
    /// <value>Default 2 seconds.</value>
    public TimeSpan OperationPollInterval { get; set; } = TimeSpan.FromSeconds(2);

    /// <summary>How long an orchestration waits for one Sphere operation before failing the step (<c>Orchestrations:OperationTimeout</c>).</summary>
    /// <value>Default 10 minutes.</value>
    public TimeSpan OperationTimeout { get; set; } = TimeSpan.FromMinutes(10);

    /// <summary>
    /// Attempts of an activity whose transient failure outlived the Sphere client's own retries
    /// (<c>Orchestrations:RetryMaxAttempts</c>), 1–20. Non-retryable failures (4xx) are never retried.
    /// </summary>
    /// <value>Default 4.</value>
    public int RetryMaxAttempts { get; set; } = 4;

    /// <summary>Durable delay before the second attempt; doubles per attempt (<c>Orchestrations:RetryFirstInterval</c>).</summary>
    /// <value>Default 5 seconds.</value>
    public TimeSpan RetryFirstInterval { get; set; } = TimeSpan.FromSeconds(5);

    /// <summary>Longest delay between attempts (<c>Orchestrations:RetryMaxInterval</c>).</summary>
    /// <value>Default 1 minute.</value>
    public TimeSpan RetryMaxInterval { get; set; } = TimeSpan.FromMinutes(1);
}

/// <summary>Memory of the rates the clients' limiters learn, across worker processes (section <c>LearnedRates</c>).</summary>
public sealed class LearnedRateOptions
{
    /// <summary>The configuration section.</summary>
    public const string Section = "LearnedRates";

    /// <summary>The blob container of the memory, in the app's storage (<c>AzureWebJobsStorage</c>).</summary>
    public const string Container = "fleet-state";

    /// <summary>The memory's blob.</summary>
    public const string Blob = "learned-rates.json";

    /// <summary>
    /// Whether learned rates are kept in the app's storage, so a restarted worker starts each limiter at the rate its
    /// service accepted (<c>LearnedRates:Remember</c>).
    /// </summary>
    /// <value>Default <c>true</c>.</value>
    public bool Remember { get; set; } = true;

    /// <summary>How old a remembered rate may be and still be used (<c>LearnedRates:MaxAge</c>), 1 minute – 90 days.</summary>
    /// <value>Default 7 days.</value>
    public TimeSpan MaxAge { get; set; } = TimeSpan.FromDays(7);
}

/// <summary>The app's defaults, as the lowest-precedence configuration source (the triggers' <c>%Setting%</c>s need them).</summary>
internal static class SettingDefaults
{
    /// <summary>The setting that holds the SQLite file of the durable store (named by host.json).</summary>
    public const string DurableStore = "DurableStore";

    public static IReadOnlyDictionary<string, string?> Values { get; } = new Dictionary<string, string?>
    {
        [$"{ProvisioningOptions.Section}:{nameof(ProvisioningOptions.Queue)}"] = new ProvisioningOptions().Queue,
        [$"{ComplianceSweepOptions.Section}:{nameof(ComplianceSweepOptions.Schedule)}"] = new ComplianceSweepOptions().Schedule,
        [DurableStore] = "data/durabletask.db",
    };
}

/// <summary>Reads the configured policy (inline or from a file) and checks it.</summary>
internal static class PolicySetting
{
    public const string InlineKey = $"{ComplianceSweepOptions.Section}:{nameof(ComplianceSweepOptions.Policy)}";
    public const string PathKey = $"{ComplianceSweepOptions.Section}:{nameof(ComplianceSweepOptions.PolicyPath)}";

    /// <summary>The policy JSON and the setting it came from, or null when no policy is configured.</summary>
    /// <exception cref="InvalidOperationException">Both settings are set, or the file cannot be read; the message names the setting.</exception>
    public static (string Json, string Source)? ReadJson(ComplianceSweepOptions options, string contentRoot)
    {
        var inline = string.IsNullOrWhiteSpace(options.Policy) ? null : options.Policy;
        var path = string.IsNullOrWhiteSpace(options.PolicyPath) ? null : options.PolicyPath.Trim();
        if (inline is not null && path is not null)
        {
            throw new InvalidOperationException($"Settings '{InlineKey}' and '{PathKey}' are both set: keep one of them.");
        }

        if (inline is not null)
        {
            return (inline, InlineKey);
        }

        if (path is null)
        {
            return null;
        }

        var full = Path.IsPathRooted(path) ? path : Path.Combine(contentRoot, path);
        try
        {
            return (File.ReadAllText(full), PathKey);
        }
        catch (Exception ex) when (ex is IOException or UnauthorizedAccessException)
        {
            throw new InvalidOperationException($"Setting '{PathKey}' names the policy file '{full}', which cannot be read: {ex.Message}", ex);
        }
    }

    /// <summary>Parses what <see cref="ReadJson"/> read.</summary>
    /// <exception cref="InvalidOperationException">The policy is invalid; the message names the setting and every problem.</exception>
    public static DesiredStatePolicy Parse(string json, string source)
    {
        try
        {
            return DesiredStatePolicy.Parse(json);
        }
        catch (PolicyFormatException ex)
        {
            throw new InvalidOperationException($"Setting '{source}' holds an invalid policy: {string.Join(" ", ex.Errors)}", ex);
        }
    }
}
