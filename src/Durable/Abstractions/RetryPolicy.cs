namespace Fleet.Durable;

/// <summary>
/// A declarative retry policy for activity and sub-orchestration calls. Waits between attempts are durable timers,
/// so they survive restarts and are visible in history.
/// </summary>
public class RetryPolicy
{
    /// <summary>Creates a retry policy.</summary>
    /// <param name="maxNumberOfAttempts">Total attempts including the first; at least 1.</param>
    /// <param name="firstRetryInterval">Delay before the second attempt; greater than zero.</param>
    /// <param name="backoffCoefficient">Multiplier applied to the delay after each attempt; at least 1.0.</param>
    /// <param name="maxRetryInterval">Longest delay between attempts; 1 hour when null.</param>
    /// <param name="retryTimeout">No attempt starts after this much time from the first; infinite when null.</param>
    /// <exception cref="ArgumentOutOfRangeException">A value is outside the ranges above.</exception>
    public RetryPolicy(
        int maxNumberOfAttempts,
        TimeSpan firstRetryInterval,
        double backoffCoefficient = 1.0,
        TimeSpan? maxRetryInterval = null,
        TimeSpan? retryTimeout = null)
    {
        ArgumentOutOfRangeException.ThrowIfLessThanOrEqual(maxNumberOfAttempts, 0);
        ArgumentOutOfRangeException.ThrowIfLessThanOrEqual(firstRetryInterval, TimeSpan.Zero);
        if (double.IsNaN(backoffCoefficient) || backoffCoefficient < 1.0)
        {
            throw new ArgumentOutOfRangeException(nameof(backoffCoefficient), backoffCoefficient, "The backoff coefficient must be 1.0 or greater.");
        }

        if (maxRetryInterval is { } max && max != Timeout.InfiniteTimeSpan && max < firstRetryInterval)
        {
            throw new ArgumentOutOfRangeException(nameof(maxRetryInterval), max, "The maximum retry interval must not be less than the first retry interval.");
        }

        if (retryTimeout is { } timeout && timeout != Timeout.InfiniteTimeSpan && timeout < firstRetryInterval)
        {
            throw new ArgumentOutOfRangeException(nameof(retryTimeout), timeout, "The retry timeout must not be less than the first retry interval.");
        }

        MaxNumberOfAttempts = maxNumberOfAttempts;
        FirstRetryInterval = firstRetryInterval;
        BackoffCoefficient = backoffCoefficient;
        MaxRetryInterval = maxRetryInterval ?? TimeSpan.FromHours(1);
        RetryTimeout = retryTimeout ?? Timeout.InfiniteTimeSpan;
    }

    /// <summary>Total attempts including the first.</summary>
    public int MaxNumberOfAttempts { get; }

    /// <summary>Delay before the second attempt.</summary>
    public TimeSpan FirstRetryInterval { get; }

    /// <summary>Multiplier applied to the delay after each attempt (1.0 = constant delay).</summary>
    public double BackoffCoefficient { get; }

    /// <summary>Longest delay between attempts (default 1 hour; <see cref="Timeout.InfiniteTimeSpan"/> = no cap).</summary>
    public TimeSpan MaxRetryInterval { get; }

    /// <summary>No attempt starts after this much time from the first (default infinite).</summary>
    public TimeSpan RetryTimeout { get; }

    /// <summary>Decides which failures are retried; by default every failure.</summary>
    public Func<TaskFailureDetails, bool> HandleFailure { get; init; } = static _ => true;

    /// <summary>
    /// The delay before attempt <paramref name="nextAttempt"/> (2 or more), or null when the policy allows no further
    /// attempt given the time already spent.
    /// </summary>
    internal TimeSpan? GetDelayBefore(int nextAttempt, TimeSpan elapsed)
    {
        if (nextAttempt > MaxNumberOfAttempts)
        {
            return null;
        }

        var ticks = FirstRetryInterval.Ticks * Math.Pow(BackoffCoefficient, nextAttempt - 2);
        var delay = ticks >= TimeSpan.MaxValue.Ticks ? TimeSpan.MaxValue : TimeSpan.FromTicks((long)ticks);
        if (MaxRetryInterval != Timeout.InfiniteTimeSpan && delay > MaxRetryInterval)
        {
            delay = MaxRetryInterval;
        }

        if (RetryTimeout != Timeout.InfiniteTimeSpan && elapsed + delay > RetryTimeout)
        {
            return null;
        }

        return delay;
    }
}

/// <summary>Decides after a failed attempt whether to try again; waits it needs go through the context.</summary>
public delegate Task<bool> AsyncRetryHandler(RetryContext retryContext);

/// <summary>Synchronous form of <see cref="AsyncRetryHandler"/>.</summary>
public delegate bool RetryHandler(RetryContext retryContext);

/// <summary>What a retry handler knows about the failed attempt.</summary>
/// <param name="OrchestrationContext">The calling orchestration's context (use it for durable timers).</param>
/// <param name="LastAttemptNumber">The number of the attempt that failed, starting at 1.</param>
/// <param name="LastFailure">Why it failed.</param>
/// <param name="TotalRetryTime">Orchestration time since the first attempt started.</param>
/// <param name="CancellationToken">Unused by the runtime; present for parity with Microsoft.DurableTask.</param>
public sealed record RetryContext(
    TaskOrchestrationContext OrchestrationContext,
    int LastAttemptNumber,
    TaskFailureDetails LastFailure,
    TimeSpan TotalRetryTime,
    CancellationToken CancellationToken);

/// <summary>Either a <see cref="RetryPolicy"/> or a retry handler.</summary>
public sealed class TaskRetryOptions
{
    /// <summary>Retry by a declarative policy.</summary>
    public TaskRetryOptions(RetryPolicy policy) => Policy = policy ?? throw new ArgumentNullException(nameof(policy));

    /// <summary>Retry by a handler.</summary>
    public TaskRetryOptions(AsyncRetryHandler handler) => Handler = handler ?? throw new ArgumentNullException(nameof(handler));

    /// <summary>The declarative policy, if that is what was given.</summary>
    public RetryPolicy? Policy { get; }

    /// <summary>The handler, if that is what was given.</summary>
    public AsyncRetryHandler? Handler { get; }

    /// <summary>Wraps a policy.</summary>
    public static implicit operator TaskRetryOptions(RetryPolicy policy) => FromRetryPolicy(policy);

    /// <summary>Wraps a handler.</summary>
    public static implicit operator TaskRetryOptions(AsyncRetryHandler handler) => FromRetryHandler(handler);

    /// <summary>Wraps a synchronous handler.</summary>
    public static implicit operator TaskRetryOptions(RetryHandler handler) => FromRetryHandler(handler);

    /// <summary>Wraps a policy.</summary>
    public static TaskRetryOptions FromRetryPolicy(RetryPolicy policy) => new(policy);

    /// <summary>Wraps a handler.</summary>
    public static TaskRetryOptions FromRetryHandler(AsyncRetryHandler handler) => new(handler);

    /// <summary>Wraps a synchronous handler.</summary>
    public static TaskRetryOptions FromRetryHandler(RetryHandler handler)
    {
        ArgumentNullException.ThrowIfNull(handler);
        return new(context => Task.FromResult(handler(context)));
    }
}
