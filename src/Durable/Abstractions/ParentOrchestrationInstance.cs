namespace Fleet.Durable;

/// <summary>Identifies the orchestration that started a sub-orchestration.</summary>
/// <param name="Name">The parent's orchestrator name.</param>
/// <param name="InstanceId">The parent's instance ID.</param>
public sealed record ParentOrchestrationInstance(TaskName Name, string InstanceId);
