namespace Fleet.Durable;

/// <summary>What an activity knows about its invocation.</summary>
public abstract class TaskActivityContext
{
    /// <summary>The activity's registered name.</summary>
    public abstract TaskName Name { get; }

    /// <summary>The instance ID of the orchestration that scheduled the activity.</summary>
    public abstract string InstanceId { get; }

    /// <summary>
    /// Cancelled when the worker is stopping and its graceful-shutdown period runs out while the activity still runs;
    /// an activity that stops on it is handed back and runs again later (it is not recorded as failed). An addition to
    /// the Microsoft.DurableTask surface, which passes activities no token; <see cref="CancellationToken.None"/> when
    /// the context does not come from a worker.
    /// </summary>
    public virtual CancellationToken CancellationToken => CancellationToken.None;
}
