using Microsoft.Azure.Functions.Worker;
using Microsoft.DurableTask;

namespace DurableApp;

/// <summary>
/// Functions that hold their worker busy the first time they run for a key, so a test can kill the worker in the
/// middle of an episode or an activity: the first run writes the worker's process id to DURABLEAPP_MARKERS/{key} and
/// waits; a later run (in the restarted worker) finds the marker and completes.
/// </summary>
public static class Holding
{
    /// <summary>Blocks its first episode (the worker is meant to die there), then calls SayHello once.</summary>
    [Function(nameof(HoldingOrchestrator))]
    public static async Task<string> HoldingOrchestrator([OrchestrationTrigger] TaskOrchestrationContext context, string key)
    {
        // Deliberately not replay-safe: the hold happens only in the episode the test kills.
        HoldFirstTime("episode-" + key, block: true);
        return await context.CallActivityAsync<string>(nameof(HelloCities.SayHello), key);
    }

    /// <summary>Calls HoldOnce and returns its answer.</summary>
    [Function(nameof(ActivityHolder))]
    public static Task<string> ActivityHolder([OrchestrationTrigger] TaskOrchestrationContext context, string key) =>
        context.CallActivityAsync<string>(nameof(HoldOnce), key);

    /// <summary>Holds the worker on its first run for a key; later runs answer which run they were.</summary>
    [Function(nameof(HoldOnce))]
    public static async Task<string> HoldOnce([ActivityTrigger] string key)
    {
        if (HoldFirstTime("activity-" + key, block: false))
        {
            await Task.Delay(TimeSpan.FromMinutes(5));
        }

        return $"{key} done by {Environment.ProcessId}";
    }

    [System.Diagnostics.CodeAnalysis.SuppressMessage("Durable", "DURABLE0003", Justification = "The test kills the worker while this blocks; the next episode skips it.")]
    [System.Diagnostics.CodeAnalysis.SuppressMessage("Durable", "DURABLE0006", Justification = "The marker folder comes from the test; it is the same in every episode.")]
    private static bool HoldFirstTime(string name, bool block)
    {
        if (Environment.GetEnvironmentVariable("DURABLEAPP_MARKERS") is not { Length: > 0 } folder)
        {
            return false;
        }

        Directory.CreateDirectory(folder);
        var marker = Path.Combine(folder, name);
        if (File.Exists(marker))
        {
            return false;
        }

        File.WriteAllText(marker + ".tmp", Environment.ProcessId.ToString(System.Globalization.CultureInfo.InvariantCulture));
        File.Move(marker + ".tmp", marker);
        if (block)
        {
            Thread.Sleep(TimeSpan.FromMinutes(5));
        }

        return true;
    }
}
