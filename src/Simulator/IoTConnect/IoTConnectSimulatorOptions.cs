namespace Fleet.Simulator.IoTConnect;

/// <summary>How the simulated IoTConnect answers a request over its solution's rate limit (nothing public says).</summary>
public enum IoTConnectThrottleResponse
{
    /// <summary><c>429 Too Many Requests</c> (default).</summary>
    TooManyRequests = 0,

    /// <summary><c>503 Service Unavailable</c>, as a gateway in front of a service might answer.</summary>
    ServiceUnavailable = 1,
}

/// <summary>
/// Settings of the simulated Avnet IoTConnect services (<see cref="SimulatorOptions.IoTConnect"/>). The fleet seed,
/// <see cref="SimulatorOptions.Devices"/>, <see cref="SimulatorOptions.FaultRate"/> and
/// <see cref="SimulatorOptions.LatencyMs"/> are shared with the Sphere API; the rest is IoTConnect's own.
/// </summary>
public sealed class IoTConnectSimulatorOptions
{
    /// <summary>Sustained requests per second per solution (device, user and firmware services together); 0 (default) = unlimited.</summary>
    public double RateLimit { get; set; }

    /// <summary>Token-bucket capacity per solution; 0 (default) = the rate (at least 1).</summary>
    public int Burst { get; set; }

    /// <summary>Status of a throttled answer. Default <see cref="IoTConnectThrottleResponse.TooManyRequests"/>.</summary>
    public IoTConnectThrottleResponse ThrottleResponse { get; set; }

    /// <summary>Whether and how throttled answers carry <c>Retry-After</c>. Default <see cref="RetryAfterMode.None"/> (nothing public promises one).</summary>
    public RetryAfterMode RetryAfter { get; set; } = RetryAfterMode.None;

    /// <summary>Lifetime of access tokens (<c>expires_in</c>). Default 24 hours, as Avnet's README says.</summary>
    public TimeSpan AccessTokenLifetime { get; set; } = TimeSpan.FromHours(24);

    /// <summary>Lifetime of refresh tokens. Default 7 days.</summary>
    public TimeSpan RefreshTokenLifetime { get; set; } = TimeSpan.FromDays(7);

    /// <summary>Milliseconds from an OTA update's start to each device's final status; <c>Sent</c> from half-way. Default 0.</summary>
    public int OtaDelayMs { get; set; }

    /// <summary>Fraction (0–1) of targeted devices whose OTA update ends <c>Failed</c> (a stable draw per device and update). Default 0.</summary>
    public double OtaFailureRate { get; set; }

    /// <summary>Fraction (0–1) of requests to the IoTConnect services whose connection is dropped without an answer. Default 0.</summary>
    public double DropRate { get; set; }

    /// <summary>Page size of list calls that send no <c>pageSize</c>. Default 10.</summary>
    public int DefaultPageSize { get; set; } = 10;

    /// <summary>Largest <c>pageSize</c> honoured; larger values are capped to it. Default 1000.</summary>
    public int MaxPageSize { get; set; } = 1000;

    /// <summary>A copy, so a running host never sees later edits of the caller's instance.</summary>
    internal IoTConnectSimulatorOptions Clone() => (IoTConnectSimulatorOptions)MemberwiseClone();

    /// <summary>Adds a failure naming each invalid setting (prefixed <c>IoTConnect.</c>) to <paramref name="failures"/>.</summary>
    internal void Validate(List<string> failures)
    {
        const string Prefix = "IoTConnect.";
        if (!double.IsFinite(RateLimit) || RateLimit < 0)
        {
            failures.Add($"{Prefix}{nameof(RateLimit)} must be zero (unlimited) or a positive number (was {RateLimit}).");
        }

        if (Burst < 0)
        {
            failures.Add($"{Prefix}{nameof(Burst)} must not be negative (was {Burst}).");
        }

        if (!Enum.IsDefined(ThrottleResponse))
        {
            failures.Add($"{Prefix}{nameof(ThrottleResponse)} must be TooManyRequests or ServiceUnavailable (was {(int)ThrottleResponse}).");
        }

        if (!Enum.IsDefined(RetryAfter))
        {
            failures.Add($"{Prefix}{nameof(RetryAfter)} must be Seconds, HttpDate or None (was {(int)RetryAfter}).");
        }

        if (AccessTokenLifetime <= TimeSpan.Zero)
        {
            failures.Add($"{Prefix}{nameof(AccessTokenLifetime)} must be positive (was {AccessTokenLifetime}).");
        }

        if (RefreshTokenLifetime <= TimeSpan.Zero)
        {
            failures.Add($"{Prefix}{nameof(RefreshTokenLifetime)} must be positive (was {RefreshTokenLifetime}).");
        }

        if (OtaDelayMs < 0)
        {
            failures.Add($"{Prefix}{nameof(OtaDelayMs)} must not be negative (was {OtaDelayMs}).");
        }

        foreach (var (name, value) in new[] { (nameof(OtaFailureRate), OtaFailureRate), (nameof(DropRate), DropRate) })
        {
            if (!double.IsFinite(value) || value < 0 || value > 1)
            {
                failures.Add($"{Prefix}{name} must be between 0 and 1 (was {value}).");
            }
        }

        if (MaxPageSize < 1)
        {
            failures.Add($"{Prefix}{nameof(MaxPageSize)} must be at least 1 (was {MaxPageSize}).");
        }

        if (DefaultPageSize < 1 || DefaultPageSize > MaxPageSize)
        {
            failures.Add($"{Prefix}{nameof(DefaultPageSize)} must be between 1 and {nameof(MaxPageSize)} ({MaxPageSize}) (was {DefaultPageSize}).");
        }
    }
}
