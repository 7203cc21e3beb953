namespace Fleet.Durable.Runtime;

/// <summary>Something orchestrator code asked for, identified by its sequence ID.</summary>
internal abstract record OrchestratorAction(int Id)
{
    public abstract string Describe();
}

internal sealed record ScheduleTaskAction(int Id, string Name, string? Input) : OrchestratorAction(Id)
{
    public override string Describe() => $"CallActivity #{Id} '{Name}'";
}

internal sealed record CreateTimerAction(int Id, DateTime FireAt) : OrchestratorAction(Id)
{
    public override string Describe() => $"CreateTimer #{Id} (fire at {FireAt:O})";
}

internal sealed record CreateSubOrchestrationAction(int Id, string Name, string InstanceId, string? Input, string? Version) : OrchestratorAction(Id)
{
    public override string Describe() => $"CallSubOrchestrator #{Id} '{Name}' (instance '{InstanceId}')";
}

internal sealed record SendEventAction(int Id, string TargetInstanceId, string EventName, string? Input) : OrchestratorAction(Id)
{
    public override string Describe() => $"SendEvent #{Id} '{EventName}' to '{TargetInstanceId}'";
}
