using Microsoft.DurableTask;

namespace Fleet.Durable.TestWorker;

/// <summary>
/// Deterministic orchestrations whose outputs can be checked from their inputs alone, so a test can kill and
/// restart workers at any point and still verify every result. The shapes cover activities, a durable timer, a
/// fan-out/fan-in and a sub-orchestration.
/// </summary>
public static class TestOrchestrations
{
    /// <summary>The main orchestrator: input n (int), output <see cref="ExpectedOutput"/>.</summary>
    public const string Chain = "CrashChain";

    /// <summary>The child orchestrator.</summary>
    public const string Child = "CrashChild";

    /// <summary>Adds its two inputs.</summary>
    public const string Add = "Add";

    /// <summary>An orchestrator whose activity crashes the process every time (poison test).</summary>
    public const string Poison = "PoisonCrash";

    /// <summary>Crashes the process with <see cref="Environment.FailFast(string)"/>.</summary>
    public const string KillProcess = "KillProcess";

    /// <summary>An orchestrator whose own code crashes the process every time it runs (poison test).</summary>
    public const string PoisonOrchestrator = "PoisonOrchestrator";

    /// <summary>The output <see cref="Chain"/> produces for input <paramref name="n"/>.</summary>
    public static string ExpectedOutput(int n) => $"{n}:{(6 * n) + 32}";

    /// <summary>Registers the orchestrators and activities.</summary>
    public static void Register(DurableTaskRegistry registry, TimeSpan timerDelay)
    {
        ArgumentNullException.ThrowIfNull(registry);
        registry.AddOrchestratorFunc<int, string>(Chain, async (context, n) =>
        {
            var first = await context.CallActivityAsync<int>(Add, new[] { n, 1 });
            // Timers spread over 0-90% of the delay, so that instances finish throughout a run rather than together.
            await context.CreateTimer(timerDelay * (n % 10) / 10, CancellationToken.None);
            var fan = await Task.WhenAll(Enumerable.Range(0, 3).Select(i => context.CallActivityAsync<int>(Add, new[] { first, i })));
            var child = await context.CallSubOrchestratorAsync<int>(Child, fan.Sum(), new SubOrchestrationOptions { InstanceId = $"{context.InstanceId}-child" });
            return $"{n}:{child}";
        });
        registry.AddOrchestratorFunc<int, int>(Child, async (context, x) =>
        {
            var sum = await context.CallActivityAsync<int>(Add, new[] { x, 10 });
            return sum * 2;
        });
        registry.AddActivityFunc<int[], int>(Add, async (_, values) =>
        {
            // A little jitter spreads the work so that kills land in every phase.
            await Task.Delay(Random.Shared.Next(0, 4));
            return values.Sum();
        });
        registry.AddOrchestratorFunc<string, string>(Poison, async (context, input) =>
            await context.CallActivityAsync<string>(KillProcess, input));
        registry.AddOrchestratorFunc<string, string>(PoisonOrchestrator, (_, input) =>
        {
            Environment.FailFast($"PoisonOrchestrator crashed the worker on purpose ({input}).");
            return Task.FromResult(input);
        });
        registry.AddActivityFunc<string, string>(KillProcess, (_, input) =>
        {
            Environment.FailFast($"KillProcess activity crashed the worker on purpose ({input}).");
            return input;
        });
    }
}
