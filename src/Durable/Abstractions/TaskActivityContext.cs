namespace Fleet.Durable;

/// <summary>What an activity knows about its invocation.</summary>
public abstract class TaskActivityContext
{
    /// <summary>The activity's registered name.</summary>
    public abstract TaskName Name { get; }

    /// <summary>The instance ID of the orchestration that scheduled the activity.</summary>
    public abstract string InstanceId { get; }
}
