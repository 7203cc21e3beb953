namespace Fleet.Shared.Resilience;

/// <summary>
/// Start-up checks of the retry and rate-limiter settings every cloud connection has
/// (<c>{Connection}__retry__…</c>, <c>{Connection}__rateLimiter__…</c>), shared by the clients' validators.
/// </summary>
internal static class CallPolicyValidation
{
    /// <summary>Reports each bad setting through <paramref name="check"/> (ok, setting name after the prefix, rule).</summary>
    public static void Check(CallRetryOptions retry, AdaptiveRateLimiterOptions limiter, Action<bool, string, string> check)
    {
        ArgumentNullException.ThrowIfNull(retry);
        ArgumentNullException.ThrowIfNull(limiter);
        ArgumentNullException.ThrowIfNull(check);
        check(retry.MaxRetries is >= 0 and <= 20, "retry__maxRetries", "must be between 0 and 20");
        check(retry.Delay >= TimeSpan.Zero && retry.Delay <= TimeSpan.FromMinutes(5), "retry__delay",
            "must be between 00:00:00 and 00:05:00");
        check(retry.MaxDelay >= retry.Delay && retry.MaxDelay <= TimeSpan.FromHours(1), "retry__maxDelay",
            "must be at least retry__delay and at most 01:00:00");
        check(retry.MaxElapsedTime >= TimeSpan.FromSeconds(1) && retry.MaxElapsedTime <= TimeSpan.FromDays(1),
            "retry__maxElapsedTime", "must be between 00:00:01 and 1.00:00:00");
        check(retry.AttemptTimeout >= TimeSpan.FromMilliseconds(100) && retry.AttemptTimeout <= TimeSpan.FromMinutes(10),
            "retry__attemptTimeout", "must be between 00:00:00.100 and 00:10:00");

        check(limiter.MinRate > 0, "rateLimiter__minRate", "must be greater than 0");
        check(limiter.MaxRate >= limiter.MinRate, "rateLimiter__maxRate", "must be at least rateLimiter__minRate");
        check(limiter.InitialRate >= limiter.MinRate && limiter.InitialRate <= limiter.MaxRate,
            "rateLimiter__initialRate", "must be between rateLimiter__minRate and rateLimiter__maxRate");
        check(limiter.SlowStartGrowth is >= 1 and <= 100, "rateLimiter__slowStartGrowth", "must be between 1 and 100");
        check(limiter.ProbeGrowth is >= 0 and <= 1, "rateLimiter__probeGrowth", "must be between 0 and 1");
        check(limiter.BackoffMargin is >= 0 and < 1, "rateLimiter__backoffMargin", "must be at least 0 and below 1");
        check(limiter.Burst >= 0, "rateLimiter__burst", "must not be negative");
    }
}
