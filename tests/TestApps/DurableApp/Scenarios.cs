using System.Collections.Concurrent;
using Microsoft.Azure.Functions.Worker;
using Microsoft.DurableTask;

namespace DurableApp;

/// <summary>The orchestration shapes the host's Durable path is checked with, each small and with a known output.</summary>
public static class Scenarios
{
    private static readonly ConcurrentDictionary<string, int> FlakyAttempts = new();

    /// <summary>n → n + 3 through three sequential activities.</summary>
    [Function(nameof(Chain))]
    public static async Task<int> Chain([OrchestrationTrigger] TaskOrchestrationContext context, int start)
    {
        var value = start;
        for (var i = 0; i < 3; i++)
        {
            value = await context.CallActivityAsync<int>(nameof(AddOne), value);
        }

        return value;
    }

    /// <summary>value + 1.</summary>
    [Function(nameof(AddOne))]
    public static int AddOne([ActivityTrigger] int value) => value + 1;

    /// <summary>Sum of squares 1..count, all activities scheduled at once.</summary>
    [Function(nameof(FanOut))]
    public static async Task<int> FanOut([OrchestrationTrigger] TaskOrchestrationContext context, int count)
    {
        var tasks = Enumerable.Range(1, count).Select(i => context.CallActivityAsync<int>(nameof(Square), i)).ToList();
        var results = await Task.WhenAll(tasks);
        return results.Sum();
    }

    /// <summary>value squared.</summary>
    [Function(nameof(Square))]
    public static int Square([ActivityTrigger] int value) => value * value;

    /// <summary>A durable timer of one second, then the time it fired relative to the start.</summary>
    [Function(nameof(TimerThenDone))]
    public static async Task<string> TimerThenDone([OrchestrationTrigger] TaskOrchestrationContext context)
    {
        var start = context.CurrentUtcDateTime;
        await context.CreateTimer(start.AddSeconds(1), CancellationToken.None);
        return context.CurrentUtcDateTime >= start.AddSeconds(1) ? "fired" : "early";
    }

    /// <summary>Waits for the external event "Approval" and echoes its payload.</summary>
    [Function(nameof(WaitForApproval))]
    public static async Task<string> WaitForApproval([OrchestrationTrigger] TaskOrchestrationContext context)
    {
        var approver = await context.WaitForExternalEvent<string>("Approval");
        return $"approved by {approver}";
    }

    /// <summary>Runs Chain as a sub-orchestration.</summary>
    [Function(nameof(Parent))]
    public static Task<int> Parent([OrchestrationTrigger] TaskOrchestrationContext context, int start) =>
        context.CallSubOrchestratorAsync<int>(nameof(Chain), start);

    /// <summary>Runs Failing as a sub-orchestration and reports the failure it saw.</summary>
    [Function(nameof(ParentOfFailing))]
    public static async Task<string> ParentOfFailing([OrchestrationTrigger] TaskOrchestrationContext context)
    {
        try
        {
            await context.CallSubOrchestratorAsync<string>(nameof(Failing));
            return "no failure";
        }
        catch (TaskFailedException ex)
        {
            return $"{ex.FailureDetails.ErrorType}|{ex.FailureDetails.ErrorMessage}";
        }
    }

    /// <summary>Always fails.</summary>
    [Function(nameof(Failing))]
    public static Task<string> Failing([OrchestrationTrigger] TaskOrchestrationContext context) =>
        throw new InvalidOperationException("boom from Failing");

    /// <summary>Calls an activity that throws, without catching: the instance fails with the activity's error.</summary>
    [Function(nameof(ActivityFails))]
    public static Task<string> ActivityFails([OrchestrationTrigger] TaskOrchestrationContext context) =>
        context.CallActivityAsync<string>(nameof(Explode), "kaboom");

    /// <summary>Calls an activity that throws and reports the failure details it saw.</summary>
    [Function(nameof(CatchActivityFailure))]
    public static async Task<string> CatchActivityFailure([OrchestrationTrigger] TaskOrchestrationContext context)
    {
        try
        {
            await context.CallActivityAsync<string>(nameof(Explode), "caught");
            return "no failure";
        }
        catch (TaskFailedException ex)
        {
            return $"{ex.FailureDetails.ErrorType}|{ex.FailureDetails.ErrorMessage}";
        }
    }

    /// <summary>Always throws ArgumentException("activity says {message}").</summary>
    [Function(nameof(Explode))]
    public static string Explode([ActivityTrigger] string message) => throw new ArgumentException($"activity says {message}");

    /// <summary>ContinueAsNew down to zero, then "done after N generations".</summary>
    [Function(nameof(Countdown))]
    public static Task<string> Countdown([OrchestrationTrigger] TaskOrchestrationContext context, int remaining)
    {
        if (remaining > 0)
        {
            context.ContinueAsNew(remaining - 1);
            return Task.FromResult(string.Empty);
        }

        return Task.FromResult("done");
    }

    /// <summary>An activity that fails twice per key before succeeding, called with a retry policy.</summary>
    [Function(nameof(Retrying))]
    public static Task<string> Retrying([OrchestrationTrigger] TaskOrchestrationContext context) =>
        context.CallActivityAsync<string>(
            nameof(Flaky), context.InstanceId, TaskOptions.FromRetryPolicy(new RetryPolicy(4, TimeSpan.FromMilliseconds(200))));

    /// <summary>Fails with TimeoutException on the first two attempts per key.</summary>
    [Function(nameof(Flaky))]
    public static string Flaky([ActivityTrigger] string key)
    {
        var attempt = FlakyAttempts.AddOrUpdate(key, 1, (_, n) => n + 1);
        if (attempt < 3)
        {
            throw new TimeoutException($"attempt {attempt} of {key} timed out");
        }

        return $"succeeded on attempt {attempt}";
    }

    /// <summary>One activity without a retry policy that fails on its first attempt: the instance fails, and a rewind completes it.</summary>
    [Function(nameof(FailsUntilRewound))]
    public static Task<string> FailsUntilRewound([OrchestrationTrigger] TaskOrchestrationContext context) =>
        context.CallActivityAsync<string>(nameof(FailsFirstTime), context.InstanceId);

    /// <summary>Fails with InvalidOperationException on the first attempt per key.</summary>
    [Function(nameof(FailsFirstTime))]
    public static string FailsFirstTime([ActivityTrigger] string key)
    {
        var attempt = FlakyAttempts.AddOrUpdate(key, 1, (_, n) => n + 1);
        return attempt == 1 ? throw new InvalidOperationException($"first attempt of {key} fails") : $"succeeded on attempt {attempt}";
    }
}
