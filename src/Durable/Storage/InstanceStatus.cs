namespace Fleet.Durable.Storage;

/// <summary>
/// The status a store keeps for an orchestration instance. The numbers are those of the SDK's
/// <c>InstanceStatus</c> (and of the rows already written), so they map one to one.
/// </summary>
public enum InstanceStatus
{
    /// <summary>Started and not finished.</summary>
    Running = 0,

    /// <summary>Finished with an output.</summary>
    Completed = 1,

    /// <summary>Obsolete in the SDK; never stored (ContinueAsNew stays Running).</summary>
    ContinuedAsNew = 2,

    /// <summary>Finished with an unhandled failure.</summary>
    Failed = 3,

    /// <summary>Obsolete in the SDK; never stored.</summary>
    Canceled = 4,

    /// <summary>Stopped by a terminate request.</summary>
    Terminated = 5,

    /// <summary>Scheduled and not yet started.</summary>
    Pending = 6,

    /// <summary>Suspended; events are held until it is resumed.</summary>
    Suspended = 7,
}

/// <summary>Status helpers.</summary>
public static class InstanceStatusExtensions
{
    /// <summary>Whether the status is final (Completed, Failed or Terminated).</summary>
    public static bool IsTerminal(this InstanceStatus status) =>
        status is InstanceStatus.Completed or InstanceStatus.Failed or InstanceStatus.Terminated or InstanceStatus.Canceled;
}
