using Microsoft.Azure.Functions.Worker;
using Microsoft.DurableTask;

namespace DurableApp;

/// <summary>
/// The crash test's orchestration: an activity, a durable timer, a sub-orchestration and an external event, with an
/// output computed from all of them. Every activity run is appended to the file named by DURABLEAPP_RUN_LOG.
/// </summary>
public static class Crash
{
    private static readonly object RunLogLock = new();

    /// <summary>The crash-test orchestration: activity, timer, sub-orchestration, then the "Go" event.</summary>
    [Function(nameof(Mixed))]
    public static async Task<string> Mixed([OrchestrationTrigger] TaskOrchestrationContext context, int n)
    {
        var doubled = await context.CallActivityAsync<int>(nameof(Record), n);
        // Timers of 1–8 s spread the completions over several seconds, so the crash test's kills (at points of
        // completed orchestrations) still land while work is in flight on a fast machine; with one 1 s timer for
        // all, everything after the first restart completed in one burst.
        await context.CreateTimer(context.CurrentUtcDateTime.AddSeconds(1 + (n % 8)), CancellationToken.None);
        var child = await context.CallSubOrchestratorAsync<int>(nameof(MixedChild), doubled);
        var go = await context.WaitForExternalEvent<int>("Go");
        return $"{n}:{doubled}:{child}:{go}";
    }

    /// <summary>The crash test's sub-orchestration: one recorded activity.</summary>
    [Function(nameof(MixedChild))]
    public static Task<int> MixedChild([OrchestrationTrigger] TaskOrchestrationContext context, int value) =>
        context.CallActivityAsync<int>(nameof(Record), value);

    /// <summary>Doubles its input and records that it ran (instance id and input), at least once per call.</summary>
    [Function(nameof(Record))]
    public static int Record([ActivityTrigger] int value, FunctionContext context)
    {
        if (Environment.GetEnvironmentVariable("DURABLEAPP_RUN_LOG") is { Length: > 0 } path)
        {
            var instanceId = context.BindingContext.BindingData.TryGetValue("instanceId", out var id) ? id : "?";
            lock (RunLogLock)
            {
                File.AppendAllText(path, $"{instanceId} {value}\n");
            }
        }

        return value * 2;
    }
}
