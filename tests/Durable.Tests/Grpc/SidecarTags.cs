using Microsoft.DurableTask;

namespace Fleet.SidecarTests;

/// <summary>Orchestrations for the tag tests: a parent that starts a sub-orchestration with tags of its own.</summary>
public static class SidecarTags
{
    /// <summary>The tags the parent gives its child: one overrides a tag of the parent, one is new.</summary>
    public static IReadOnlyDictionary<string, string> ChildTags { get; } = new Dictionary<string, string>(StringComparer.Ordinal)
    {
        ["wave"] = "2",
        ["stage"] = "child",
    };

    public static void Register(DurableTaskRegistry r) =>
        r.AddOrchestratorFunc<string, string>("TaggedParent", async (ctx, input) =>
        {
            var options = new SubOrchestrationOptions { InstanceId = ctx.InstanceId + "-child", Tags = new Dictionary<string, string>(ChildTags, StringComparer.Ordinal) };
            return "parent(" + await ctx.CallSubOrchestratorAsync<string>("Hello", input, options) + ")";
        });
}
