namespace Fleet.Shared.Resilience;

/// <summary>
/// How a <see cref="ResilientPipeline"/> retries a request. 429 waits what Retry-After says (or backs off when it
/// says nothing); 408, 5xx and network failures back off exponentially with jitter; other 4xx are never retried.
/// Attempts and the total time of one call (including waits for the rate limiter) are both bounded, because
/// orchestrations retry above this level. Bound from <c>{Connection}__retry__…</c> settings.
/// </summary>
public class CallRetryOptions
{
    /// <summary>Retries after the first attempt (0 turns retries off).</summary>
    /// <value>Default 5.</value>
    public int MaxRetries { get; set; } = 5;

    /// <summary>Median delay before the first retry; it roughly doubles per retry, with jitter.</summary>
    /// <value>Default 1 second.</value>
    public TimeSpan Delay { get; set; } = TimeSpan.FromSeconds(1);

    /// <summary>Longest computed backoff delay (a Retry-After is honoured as given, within <see cref="MaxElapsedTime"/>).</summary>
    /// <value>Default 30 seconds.</value>
    public TimeSpan MaxDelay { get; set; } = TimeSpan.FromSeconds(30);

    /// <summary>
    /// Longest time one call may take, all attempts, waits and rate-limiter queuing included. A Retry-After that
    /// would end beyond it is not waited for: the 429 surfaces at once, with the wait the service asked for.
    /// </summary>
    /// <value>Default 2 minutes.</value>
    public TimeSpan MaxElapsedTime { get; set; } = TimeSpan.FromMinutes(2);

    /// <summary>Longest time one attempt may wait for the response.</summary>
    /// <value>Default 30 seconds.</value>
    public TimeSpan AttemptTimeout { get; set; } = TimeSpan.FromSeconds(30);
}
