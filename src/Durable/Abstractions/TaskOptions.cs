namespace Fleet.Durable;

/// <summary>Options for an activity or sub-orchestration call: chiefly its retry policy.</summary>
public record TaskOptions
{
    /// <summary>Creates options with an optional retry policy or handler.</summary>
    public TaskOptions(TaskRetryOptions? retry = null) => Retry = retry;

    /// <summary>Copies options.</summary>
    protected TaskOptions(TaskOptions original)
    {
        ArgumentNullException.ThrowIfNull(original);
        Retry = original.Retry;
    }

    /// <summary>How failed attempts are retried; null means no retry.</summary>
    public TaskRetryOptions? Retry { get; init; }

    /// <summary>Options with a declarative retry policy.</summary>
    public static TaskOptions FromRetryPolicy(RetryPolicy policy) => new(policy);

    /// <summary>Options with a retry handler.</summary>
    public static TaskOptions FromRetryHandler(AsyncRetryHandler handler) => new(handler);

    /// <summary>Options with a synchronous retry handler.</summary>
    public static TaskOptions FromRetryHandler(RetryHandler handler) => new(handler);

    /// <summary>Sub-orchestration options carrying these options and the child's instance ID.</summary>
    public SubOrchestrationOptions WithInstanceId(string instanceId) => new(this, instanceId);
}

/// <summary>Options for a sub-orchestration call, adding the child's instance ID.</summary>
public record SubOrchestrationOptions : TaskOptions
{
    /// <summary>Creates sub-orchestration options.</summary>
    public SubOrchestrationOptions(TaskRetryOptions? retry = null, string? instanceId = null)
        : base(retry) => InstanceId = instanceId;

    /// <summary>Wraps task options and adds an instance ID.</summary>
    public SubOrchestrationOptions(TaskOptions options, string? instanceId = null)
        : base(options)
    {
        InstanceId = instanceId ?? (options as SubOrchestrationOptions)?.InstanceId;
    }

    /// <summary>The child's instance ID; when null a deterministic one is generated with <c>NewGuid</c>.</summary>
    public string? InstanceId { get; init; }
}

/// <summary>Options for starting an orchestration from a client.</summary>
/// <param name="InstanceId">The instance ID; a new GUID when null.</param>
/// <param name="StartAt">When the orchestration should start; now when null or in the past.</param>
public record StartOrchestrationOptions(string? InstanceId = null, DateTimeOffset? StartAt = null)
{
    /// <summary>A version string recorded with the instance.</summary>
    public string? Version { get; init; }
}

/// <summary>Options for <see cref="TaskOrchestrationContext.ContinueAsNew(ContinueAsNewOptions)"/>.</summary>
public record ContinueAsNewOptions
{
    /// <summary>The input of the next execution.</summary>
    public object? NewInput { get; init; }

    /// <summary>Whether events received but not yet awaited are carried into the next execution.</summary>
    public bool PreserveUnprocessedEvents { get; init; } = true;

    /// <summary>The version of the next execution, or null to keep the current one.</summary>
    public string? NewVersion { get; init; }
}
