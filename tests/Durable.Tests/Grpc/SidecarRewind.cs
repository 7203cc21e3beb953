using System.Collections.Concurrent;
using Microsoft.DurableTask;

namespace Fleet.SidecarTests;

/// <summary>Orchestrations for the rewind tests: a counted activity before a flaky one, and a parent of that.</summary>
public static class SidecarRewind
{
    /// <summary>How often the counted activity ran per key (a rewind must not run it again).</summary>
    public static ConcurrentDictionary<string, int> CountedCalls { get; } = new(StringComparer.Ordinal);

    public static void Register(DurableTaskRegistry r)
    {
        r.AddActivityFunc<string, string>("Counted", (_, key) =>
        {
            CountedCalls.AddOrUpdate(key, 1, (_, n) => n + 1);
            return Task.FromResult("counted");
        });

        // No retry policy: the flaky activity's failure fails the orchestration, and only a rewind runs it again.
        r.AddOrchestratorFunc<string, string>("CountedThenFlaky", async (ctx, key) =>
        {
            var first = await ctx.CallActivityAsync<string>("Counted", key);
            var second = await ctx.CallActivityAsync<string>("Flaky", key);
            return $"{first}, {second}";
        });
        r.AddOrchestratorFunc<string, string>("ParentOfFlaky", async (ctx, key) =>
            "parent(" + await ctx.CallSubOrchestratorAsync<string>("CountedThenFlaky", key, new SubOrchestrationOptions { InstanceId = ctx.InstanceId + "-child" }) + ")");
    }
}
