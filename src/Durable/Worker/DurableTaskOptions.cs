using System.Text.RegularExpressions;
using Microsoft.Extensions.Options;

namespace Fleet.Durable;

/// <summary>
/// Settings of the durable task runtime (configuration section <c>DurableTask</c>; the function host maps host.json
/// <c>extensions.durableTask</c> onto these). Validated at start-up; an invalid value stops start-up with a message
/// naming the setting.
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

    /// <summary>Activities run at the same time by this worker. Default 10 × processor count.</summary>
    public int MaxConcurrentActivities { get; set; } = 10 * Environment.ProcessorCount;

    /// <summary>Orchestration episodes in flight at the same time (waiting instances do not count). Default 10 × processor count.</summary>
    public int MaxConcurrentOrchestrations { get; set; } = 10 * Environment.ProcessorCount;

    /// <summary>How long a work item stays locked without renewal before another worker may take it. Default 2 minutes.</summary>
    public TimeSpan LockTimeout { get; set; } = TimeSpan.FromMinutes(2);

    /// <summary>Largest serialized input, output, event payload or custom status, in UTF-8 bytes. Default 1 MiB.</summary>
    public int MaxPayloadBytes { get; set; } = 1024 * 1024;

    /// <summary>
    /// Attempts at a runtime message (an orchestration message or activity work item) that keeps failing to be
    /// processed, or is interrupted by process crashes, before the instance fails (or the activity call fails) with a
    /// <see cref="PoisonMessageException"/>. Default 10.
    /// </summary>
    public int MessageAttemptLimit { get; set; } = 10;

    /// <summary>Orchestration executors kept in memory between episodes (LRU); 0 replays every episode. Default 10,000.</summary>
    public int CacheSize { get; set; } = 10_000;

    /// <summary>How often stores poll for work they were not notified of (fallback only). Default 1 second.</summary>
    public TimeSpan PollingInterval { get; set; } = TimeSpan.FromSeconds(1);

    /// <summary>How inputs, outputs and events are serialized. Default System.Text.Json with web defaults.</summary>
    public DataConverter DataConverter { get; set; } = JsonDataConverter.Default;
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
        Range(errors, "MaxPayloadBytes", options.MaxPayloadBytes, 1024, 64 * 1024 * 1024);
        Range(errors, "MessageAttemptLimit", options.MessageAttemptLimit, 1, 1000);
        Range(errors, "CacheSize", options.CacheSize, 0, 10_000_000);
        if (options.LockTimeout < TimeSpan.FromSeconds(1) || options.LockTimeout > TimeSpan.FromDays(1))
        {
            errors.Add($"DurableTask:LockTimeout {options.LockTimeout} is out of range: use 1 second to 1 day.");
        }

        if (options.PollingInterval < TimeSpan.FromMilliseconds(10) || options.PollingInterval > TimeSpan.FromMinutes(5))
        {
            errors.Add($"DurableTask:PollingInterval {options.PollingInterval} is out of range: use 10 ms to 5 minutes.");
        }

        if (options.DataConverter is null)
        {
            errors.Add("DurableTask:DataConverter must be set.");
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
