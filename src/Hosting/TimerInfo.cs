namespace Fleet.Hosting;

/// <summary>What a timer-triggered function receives.</summary>
public sealed class TimerInfo
{
    /// <summary>
    /// The schedule status: the previous occurrence (<see cref="ScheduleStatus.Last"/>; default before the first one),
    /// the occurrence being run (<see cref="ScheduleStatus.Next"/>) and when the status was last written. Persisted
    /// only when the trigger's <c>UseMonitor</c> applies.
    /// </summary>
    public ScheduleStatus? ScheduleStatus { get; set; }

    /// <summary>
    /// True when this invocation catches up an occurrence that was missed while no host ran the schedule (only known
    /// when the schedule is monitored).
    /// </summary>
    public bool IsPastDue { get; set; }
}

/// <summary>A timer's schedule status, as stored in <c>azure-webjobs-hosts/timers/{hostId}/{function}/status</c>.</summary>
public sealed class ScheduleStatus
{
    /// <summary>The last occurrence that ran (UTC); <c>default</c> before the first.</summary>
    public DateTime Last { get; set; }

    /// <summary>The next occurrence due (UTC).</summary>
    public DateTime Next { get; set; }

    /// <summary>When this status was written (UTC).</summary>
    public DateTime LastUpdated { get; set; }
}
