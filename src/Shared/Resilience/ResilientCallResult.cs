using Azure;

namespace Fleet.Shared.Resilience;

/// <summary>
/// How a call through a <see cref="ResilientPipeline"/> ended. Either <see cref="Response"/> is set (the last
/// attempt's response, whatever its status: success, a non-retried 4xx, or a transient failure after the retries ran
/// out) or <see cref="Exception"/> is (no response: a network failure, the attempt timeout, or the call's time
/// budget). Clients turn it into their own result or exception type.
/// </summary>
public sealed class ResilientCallResult
{
    internal ResilientCallResult(Response? response, TimeSpan? retryAfter, Exception? exception, Response? lastFailure,
        TimeSpan? lastFailureRetryAfter, int attempts, TimeSpan elapsed)
    {
        Response = response;
        RetryAfter = retryAfter;
        Exception = exception;
        LastFailure = lastFailure;
        LastFailureRetryAfter = lastFailureRetryAfter;
        Attempts = attempts;
        Elapsed = elapsed;
    }

    /// <summary>The final response (its content is buffered), or null when none arrived.</summary>
    public Response? Response { get; }

    /// <summary>The wait <see cref="Response"/> asked for (<c>Retry-After</c>, <c>retry-after-ms</c>), when it said.</summary>
    public TimeSpan? RetryAfter { get; }

    /// <summary>Why no final response arrived; null when <see cref="Response"/> is set.</summary>
    public Exception? Exception { get; }

    /// <summary>True when the call gave up because <see cref="CallRetryOptions.MaxElapsedTime"/> was spent.</summary>
    public bool TimeBudgetSpent => Exception is Polly.Timeout.TimeoutRejectedException;

    /// <summary>
    /// The response of the last attempt that was retried, when the last retry followed a response rather than a
    /// network failure: what the service said before the time budget ran out.
    /// </summary>
    public Response? LastFailure { get; }

    /// <summary>The wait <see cref="LastFailure"/> asked for, when it said.</summary>
    public TimeSpan? LastFailureRetryAfter { get; }

    /// <summary>Attempts made, the first included.</summary>
    public int Attempts { get; }

    /// <summary>Time the whole call took, waits for the rate limiter and between retries included.</summary>
    public TimeSpan Elapsed { get; }

    /// <summary>True when the final response has a 2xx status.</summary>
    public bool IsSuccess => Response is { Status: >= 200 and < 300 };
}

/// <summary>One retry about to happen: what failed and how long the pipeline waits before the next attempt.</summary>
/// <param name="Retry">1 for the first retry.</param>
/// <param name="Delay">Wait before the retry (a Retry-After as given, or the computed backoff).</param>
/// <param name="Response">The failed attempt's response; null after a network failure.</param>
/// <param name="RetryAfter">The wait <paramref name="Response"/> asked for, when it said.</param>
/// <param name="Exception">The failed attempt's exception when no response arrived.</param>
public readonly record struct RetryNotice(int Retry, TimeSpan Delay, Response? Response, TimeSpan? RetryAfter,
    Exception? Exception);
