using System.Text.Json.Serialization;

namespace Fleet.Simulator;

/// <summary>
/// Start-up settings of the simulated IoT Central applications (<c>contoso</c> and <c>fabrikam</c>, served under
/// <c>/iotc/{app}/api/…</c>). The run-time subset can be changed through <c>PATCH /_sim/iotc/settings</c>.
/// </summary>
public sealed class IoTCentralSimulatorOptions
{
    /// <summary>Devices seeded in each application. Default 100.</summary>
    public int Devices { get; set; } = 100;

    /// <summary>Sustained requests per second per application; 0 means unlimited. Default 20, the documented limit.</summary>
    public double RateLimit { get; set; } = 20;

    /// <summary>Token-bucket capacity per application; 0 (default) means the same as <see cref="RateLimit"/> (at least 1).</summary>
    public int Burst { get; set; }

    /// <summary>How 429s carry Retry-After. Default <see cref="RetryAfterMode.None"/>: IoT Central documents none.</summary>
    public RetryAfterMode RetryAfter { get; set; } = RetryAfterMode.None;

    /// <summary>Fraction (0–1) of API requests answered with an injected 500 or 503. Default 0.</summary>
    public double FaultRate { get; set; }

    /// <summary>Fraction (0–1) of API requests whose connection is dropped without an answer. Default 0.</summary>
    public double DropRate { get; set; }

    /// <summary>Fraction (0–1) of devices on which a job fails (drawn per job and device from the seed). Default 0.</summary>
    public double JobDeviceFailureRate { get; set; }

    /// <summary>Milliseconds from a job's creation until it starts running (it is <c>pending</c> until then). Default 500.</summary>
    public int JobStartDelayMs { get; set; } = 500;

    /// <summary>Milliseconds each batch of a job runs; its devices finish together at its end. Default 1000.</summary>
    public int JobBatchDurationMs { get; set; } = 1000;

    /// <summary>Lifetime of API tokens created without an expiry. Default 365 days.</summary>
    public TimeSpan ApiTokenLifetime { get; set; } = TimeSpan.FromDays(365);

    internal IoTCentralSimulatorOptions Clone() => (IoTCentralSimulatorOptions)MemberwiseClone();

    /// <summary>Adds a failure naming each invalid setting.</summary>
    internal void Validate(List<string> failures)
    {
        const string Prefix = nameof(SimulatorOptions.IoTCentral) + ".";
        if (Devices is < 0 or > 1_000_000)
        {
            failures.Add($"{Prefix}{nameof(Devices)} must be between 0 and 1000000 (was {Devices}).");
        }

        if (!double.IsFinite(RateLimit) || RateLimit < 0)
        {
            failures.Add($"{Prefix}{nameof(RateLimit)} must be zero (unlimited) or a positive number (was {RateLimit}).");
        }

        if (Burst < 0)
        {
            failures.Add($"{Prefix}{nameof(Burst)} must not be negative (was {Burst}).");
        }

        if (!Enum.IsDefined(RetryAfter))
        {
            failures.Add($"{Prefix}{nameof(RetryAfter)} must be Seconds, HttpDate or None (was {(int)RetryAfter}).");
        }

        foreach (var (name, value) in new[] { (nameof(FaultRate), FaultRate), (nameof(DropRate), DropRate), (nameof(JobDeviceFailureRate), JobDeviceFailureRate) })
        {
            if (!double.IsFinite(value) || value < 0 || value > 1)
            {
                failures.Add($"{Prefix}{name} must be between 0 and 1 (was {value}).");
            }
        }

        if (JobStartDelayMs < 0 || JobBatchDurationMs < 0)
        {
            failures.Add($"{Prefix}{nameof(JobStartDelayMs)} and {nameof(JobBatchDurationMs)} must not be negative.");
        }

        if (ApiTokenLifetime <= TimeSpan.Zero)
        {
            failures.Add($"{Prefix}{nameof(ApiTokenLifetime)} must be positive (was {ApiTokenLifetime}).");
        }
    }
}

/// <summary>The run-time settings of the simulated IoT Central applications.</summary>
public sealed record IoTCentralSimulatorSettings(
    double RateLimit,
    int Burst,
    RetryAfterMode RetryAfter,
    double FaultRate,
    double DropRate,
    double JobDeviceFailureRate,
    int JobStartDelayMs,
    int JobBatchDurationMs)
{
    internal static IoTCentralSimulatorSettings From(IoTCentralSimulatorOptions o) =>
        new(o.RateLimit, o.Burst, o.RetryAfter, o.FaultRate, o.DropRate, o.JobDeviceFailureRate, o.JobStartDelayMs,
            o.JobBatchDurationMs);

    /// <summary>Bucket capacity in force: <see cref="Burst"/>, or the rate (at least 1) when Burst is 0.</summary>
    [JsonIgnore]
    public int EffectiveBurst => Burst > 0 ? Burst : Math.Max(1, (int)Math.Ceiling(RateLimit));
}

/// <summary>A partial update of <see cref="IoTCentralSimulatorSettings"/>; null members are left as they are.</summary>
public sealed record IoTCentralSimulatorSettingsUpdate
{
    /// <summary>Requests per second per application; 0 = unlimited.</summary>
    public double? RateLimit { get; init; }

    /// <summary>Token-bucket capacity per application; 0 = the rate.</summary>
    public int? Burst { get; init; }

    /// <summary>How 429s carry Retry-After.</summary>
    public RetryAfterMode? RetryAfter { get; init; }

    /// <summary>Fraction of requests answered 500/503.</summary>
    public double? FaultRate { get; init; }

    /// <summary>Fraction of requests whose connection is dropped.</summary>
    public double? DropRate { get; init; }

    /// <summary>Fraction of devices on which a job fails (jobs created from now on).</summary>
    public double? JobDeviceFailureRate { get; init; }

    /// <summary>Milliseconds from creation to running (jobs created from now on).</summary>
    public int? JobStartDelayMs { get; init; }

    /// <summary>Milliseconds per batch (batches started from now on).</summary>
    public int? JobBatchDurationMs { get; init; }
}

/// <summary>The run-time settings, swapped whole so readers never see half an update.</summary>
internal sealed class IoTCentralSettingsStore(IoTCentralSimulatorOptions startOptions)
{
    private readonly object _gate = new();
    private volatile IoTCentralSimulatorSettings _current = IoTCentralSimulatorSettings.From(startOptions);

    public IoTCentralSimulatorOptions StartOptions { get; } = startOptions;

    public IoTCentralSimulatorSettings Current => _current;

    /// <summary>Raised after every change (the throttle rebuilds its buckets).</summary>
    public event Action? Changed;

    public IReadOnlyList<string> Update(IoTCentralSimulatorSettingsUpdate update)
    {
        lock (_gate)
        {
            var c = _current;
            var candidate = StartOptions.Clone();
            candidate.RateLimit = update.RateLimit ?? c.RateLimit;
            candidate.Burst = update.Burst ?? c.Burst;
            candidate.RetryAfter = update.RetryAfter ?? c.RetryAfter;
            candidate.FaultRate = update.FaultRate ?? c.FaultRate;
            candidate.DropRate = update.DropRate ?? c.DropRate;
            candidate.JobDeviceFailureRate = update.JobDeviceFailureRate ?? c.JobDeviceFailureRate;
            candidate.JobStartDelayMs = update.JobStartDelayMs ?? c.JobStartDelayMs;
            candidate.JobBatchDurationMs = update.JobBatchDurationMs ?? c.JobBatchDurationMs;
            var failures = new List<string>();
            candidate.Validate(failures);
            if (failures.Count > 0)
            {
                return failures;
            }

            _current = IoTCentralSimulatorSettings.From(candidate);
        }

        Changed?.Invoke();
        return [];
    }

    public void Reset()
    {
        _current = IoTCentralSimulatorSettings.From(StartOptions);
        Changed?.Invoke();
    }
}
