using Microsoft.DurableTask;

namespace Fleet.Functions.Orchestration;

/// <summary>How the app's starters name and deduplicate the instances they start.</summary>
internal static class StartOptions
{
    /// <summary>Statuses in which an instance id stays taken: starting it again throws OrchestrationAlreadyExistsException.</summary>
    private static readonly IReadOnlyList<string> Unfinished = ["Pending", "Running", "Suspended"];

    /// <summary>
    /// Starts <paramref name="instanceId"/> unless an instance of that id is still unfinished; a finished one is replaced.
    /// Said explicitly rather than left to the backend's default, which differs between backends.
    /// </summary>
    public static StartOrchestrationOptions Unique(string instanceId) => new(instanceId) { DedupeStatuses = Unfinished };
}
