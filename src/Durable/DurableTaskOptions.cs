using System.Text.RegularExpressions;
using Microsoft.Extensions.Options;

namespace Fleet.Durable;

/// <summary>
/// Settings of the sidecar backend and its stores (configuration section <c>DurableTask</c>; the function host maps
/// host.json <c>extensions.durableTask</c> onto these). Validated at start-up; an invalid value stops start-up with a
/// message naming the setting.
/// </summary>
public sealed class DurableTaskOptions
{
    /// <summary>The configuration section name.</summary>
    public const string SectionName = "DurableTask";

    /// <summary>
    /// The task hub: several hubs can share one database without seeing each other's instances or work.
    /// Letters, digits, '-' and '_', 1–64 characters. Default <c>default</c>.
    /// </summary>
    public string HubName { get; set; } = "default";

    /// <summary>Activities the PostgreSQL store claims for this host at a time. Default 10 × processor count.</summary>
    public int MaxConcurrentActivities { get; set; } = 10 * Environment.ProcessorCount;

    /// <summary>Orchestration episodes the PostgreSQL store claims for this host at a time (waiting instances do not count). Default 10 × processor count.</summary>
    public int MaxConcurrentOrchestrations { get; set; } = 10 * Environment.ProcessorCount;

    /// <summary>How long a work item stays locked without renewal before another worker may take it. Default 2 minutes.</summary>
    public TimeSpan LockTimeout { get; set; } = TimeSpan.FromMinutes(2);

    /// <summary>
    /// Attempts at a message (an orchestration message, an activity or entity work item) that keeps failing to be
    /// processed, or whose worker keeps dying, before the instance fails (or the activity call or entity operations
    /// fail) as poisoned. Default 10.
    /// </summary>
    public int MessageAttemptLimit { get; set; } = 10;

    /// <summary>How often stores poll for work they were not notified of (fallback only). Default 1 second.</summary>
    public TimeSpan PollingInterval { get; set; } = TimeSpan.FromSeconds(1);
}

/// <summary>Checks <see cref="DurableTaskOptions"/> at start-up.</summary>
internal sealed partial class DurableTaskOptionsValidator : IValidateOptions<DurableTaskOptions>
{
    public ValidateOptionsResult Validate(string? name, DurableTaskOptions options)
    {
        var errors = new List<string>();
        if (string.IsNullOrEmpty(options.HubName) || !HubNamePattern().IsMatch(options.HubName))
        {
            errors.Add($"DurableTask:HubName '{options.HubName}' is invalid: use 1-64 letters, digits, '-' or '_'.");
        }

        Range(errors, "MaxConcurrentActivities", options.MaxConcurrentActivities, 1, 10_000);
        Range(errors, "MaxConcurrentOrchestrations", options.MaxConcurrentOrchestrations, 1, 10_000);
        Range(errors, "MessageAttemptLimit", options.MessageAttemptLimit, 1, 1000);
        if (options.LockTimeout < TimeSpan.FromSeconds(1) || options.LockTimeout > TimeSpan.FromDays(1))
        {
            errors.Add($"DurableTask:LockTimeout {options.LockTimeout} is out of range: use 1 second to 1 day.");
        }

        if (options.PollingInterval < TimeSpan.FromMilliseconds(10) || options.PollingInterval > TimeSpan.FromMinutes(5))
        {
            errors.Add($"DurableTask:PollingInterval {options.PollingInterval} is out of range: use 10 ms to 5 minutes.");
        }

        return errors.Count == 0 ? ValidateOptionsResult.Success : ValidateOptionsResult.Fail(errors);
    }

    private static void Range(List<string> errors, string setting, int value, int min, int max)
    {
        if (value < min || value > max)
        {
            errors.Add($"DurableTask:{setting} {value} is out of range: use {min} to {max}.");
        }
    }

    [GeneratedRegex("^[A-Za-z0-9_-]{1,64}$")]
    private static partial Regex HubNamePattern();
}
