using Fleet.Simulator.IoTConnect;
using Microsoft.Extensions.Options;

namespace Fleet.Simulator;

/// <summary>How a throttled (429) response tells the caller when to come back.</summary>
public enum RetryAfterMode
{
    /// <summary><c>Retry-After: &lt;seconds&gt;</c>, a whole number of seconds (at least 1).</summary>
    Seconds = 0,

    /// <summary><c>Retry-After: &lt;HTTP date&gt;</c> (RFC 7231 IMF-fixdate), computed from the simulator clock.</summary>
    HttpDate = 1,

    /// <summary>No <c>Retry-After</c> header: clients must fall back to their own backoff.</summary>
    None = 2,
}

/// <summary>How the simulator reports a conflict on a call that otherwise returns an Operation.</summary>
public enum ConflictReporting
{
    /// <summary>A synchronous <c>409</c> with a <c>PublicApiErrorDetails</c> array (default).</summary>
    Synchronous = 0,

    /// <summary><c>202</c> with an Operation that ends <c>Failed</c> with <c>Error.Code</c> 7 (Conflict).</summary>
    FailedOperation = 1,
}

/// <summary>
/// Settings of a <see cref="SimulatorHost"/>. Every CLI option of <c>Fleet.Simulator</c> has a property here;
/// the defaults below are the in-process defaults (the CLI differs only in <see cref="Port"/> 5080).
/// </summary>
public sealed class SimulatorOptions
{
    /// <summary>Loopback TCP port; 0 (default) picks any free port.</summary>
    public int Port { get; set; }

    /// <summary>Size of the seeded fleet (all tenants plus the unclaimed pool). Default 1000.</summary>
    public int Devices { get; set; } = 1000;

    /// <summary>Seed of the deterministic fleet, ids and random faults. Default 1.</summary>
    public int Seed { get; set; } = 1;

    /// <summary>Sustained requests per second allowed per tenant; 0 (default) means unlimited.</summary>
    public double RateLimit { get; set; }

    /// <summary>Token-bucket capacity per tenant; 0 (default) means the same as <see cref="RateLimit"/> (at least 1).</summary>
    public int Burst { get; set; }

    /// <summary>Fraction (0–1) of API requests answered with an injected 500 or 503. Default 0.</summary>
    public double FaultRate { get; set; }

    /// <summary>Milliseconds added to every API response. Default 0.</summary>
    public int LatencyMs { get; set; }

    /// <summary>Milliseconds from an Operation's creation to Complete/Failed; it is InProgress from half-way. Default 0.</summary>
    public int OperationDelayMs { get; set; }

    /// <summary>Milliseconds from a device meeting its group's current deployment to reporting it installed. Default 0.</summary>
    public int InstallDelayMs { get; set; }

    /// <summary>Fraction (0–1) of devices that never install a deployment (decided per device and deployment from the seed).</summary>
    public double InstallFailureRate { get; set; }

    /// <summary>The secret the managed-identity endpoint requires in <c>X-IDENTITY-HEADER</c>; empty (default) generates a random one.</summary>
    public string IdentityHeader { get; set; } = string.Empty;

    /// <summary>Lifetime of issued access tokens. Default 1 hour.</summary>
    public TimeSpan TokenLifetime { get; set; } = TimeSpan.FromHours(1);

    /// <summary>Page size when a list call gives no <c>maxPageSize</c>. Small by default (20) so paging bugs show.</summary>
    public int DefaultPageSize { get; set; } = 20;

    /// <summary>Largest <c>maxPageSize</c> honoured; larger requests are capped to it. Default 1000.</summary>
    public int MaxPageSize { get; set; } = 1000;

    /// <summary>How 429 responses carry <c>Retry-After</c>. Default <see cref="RetryAfterMode.Seconds"/>.</summary>
    public RetryAfterMode RetryAfter { get; set; } = RetryAfterMode.Seconds;

    /// <summary>How conflicts on Operation-returning calls are reported. Default <see cref="Simulator.ConflictReporting.Synchronous"/>.</summary>
    public ConflictReporting ConflictReporting { get; set; } = ConflictReporting.Synchronous;

    /// <summary>
    /// HMAC-SHA256 key that signs and checks tokens; simulators with the same key accept each other's tokens.
    /// Null (default) uses a random key per host.
    /// </summary>
    public string? SigningKey { get; set; }

    /// <summary>The simulated IoT Central applications (under <c>/iotc/{app}/api/</c>).</summary>
    public IoTCentralSimulatorOptions IoTCentral { get; set; } = new();

    /// <summary>Settings of the simulated Avnet IoTConnect services (the seed, devices, faults and latency above are shared).</summary>
    public IoTConnectSimulatorOptions IoTConnect { get; set; } = new();

    /// <summary>A copy, so a running host never sees later edits of the caller's instance.</summary>
    internal SimulatorOptions Clone()
    {
        var copy = (SimulatorOptions)MemberwiseClone();
        copy.IoTCentral = IoTCentral?.Clone()!;
        copy.IoTConnect = (IoTConnect ?? new IoTConnectSimulatorOptions()).Clone();
        return copy;
    }
}

/// <summary>Checks <see cref="SimulatorOptions"/> at start-up; each failure names the setting.</summary>
public sealed class SimulatorOptionsValidator : IValidateOptions<SimulatorOptions>
{
    /// <summary>The shared instance.</summary>
    public static SimulatorOptionsValidator Instance { get; } = new();

    /// <inheritdoc />
    public ValidateOptionsResult Validate(string? name, SimulatorOptions options)
    {
        var failures = new List<string>();
        if (options.Port is < 0 or > 65535)
        {
            failures.Add($"{nameof(options.Port)} must be between 0 and 65535 (was {options.Port}).");
        }

        if (options.Devices is < 0 or > 1_000_000)
        {
            failures.Add($"{nameof(options.Devices)} must be between 0 and 1000000 (was {options.Devices}).");
        }

        CheckFraction(failures, nameof(options.FaultRate), options.FaultRate);
        CheckFraction(failures, nameof(options.InstallFailureRate), options.InstallFailureRate);
        if (!double.IsFinite(options.RateLimit) || options.RateLimit < 0)
        {
            failures.Add($"{nameof(options.RateLimit)} must be zero (unlimited) or a positive number (was {options.RateLimit}).");
        }

        CheckNonNegative(failures, nameof(options.Burst), options.Burst);
        CheckNonNegative(failures, nameof(options.LatencyMs), options.LatencyMs);
        CheckNonNegative(failures, nameof(options.OperationDelayMs), options.OperationDelayMs);
        CheckNonNegative(failures, nameof(options.InstallDelayMs), options.InstallDelayMs);
        if (options.TokenLifetime <= TimeSpan.Zero)
        {
            failures.Add($"{nameof(options.TokenLifetime)} must be positive (was {options.TokenLifetime}).");
        }

        if (options.MaxPageSize < 1)
        {
            failures.Add($"{nameof(options.MaxPageSize)} must be at least 1 (was {options.MaxPageSize}).");
        }

        if (options.DefaultPageSize < 1 || options.DefaultPageSize > options.MaxPageSize)
        {
            failures.Add($"{nameof(options.DefaultPageSize)} must be between 1 and {nameof(options.MaxPageSize)} ({options.MaxPageSize}) (was {options.DefaultPageSize}).");
        }

        if (!Enum.IsDefined(options.RetryAfter))
        {
            failures.Add($"{nameof(options.RetryAfter)} must be Seconds, HttpDate or None (was {(int)options.RetryAfter}).");
        }

        if (!Enum.IsDefined(options.ConflictReporting))
        {
            failures.Add($"{nameof(options.ConflictReporting)} must be Synchronous or FailedOperation (was {(int)options.ConflictReporting}).");
        }

        if (options.IdentityHeader is null || options.IdentityHeader.Any(char.IsControl))
        {
            failures.Add($"{nameof(options.IdentityHeader)} must be a header-safe string without control characters.");
        }

        if (options.SigningKey is { Length: < 16 })
        {
            failures.Add($"{nameof(options.SigningKey)} must be at least 16 characters when set.");
        }

        if (options.IoTCentral is null)
        {
            failures.Add($"{nameof(options.IoTCentral)} must not be null.");
        }
        else
        {
            options.IoTCentral.Validate(failures);
        }

        if (options.IoTConnect is null)
        {
            failures.Add($"{nameof(options.IoTConnect)} must not be null.");
        }
        else
        {
            options.IoTConnect.Validate(failures);
        }

        return failures.Count == 0 ? ValidateOptionsResult.Success : ValidateOptionsResult.Fail(failures);
    }

    private static void CheckFraction(List<string> failures, string name, double value)
    {
        if (!double.IsFinite(value) || value < 0 || value > 1)
        {
            failures.Add($"{name} must be between 0 and 1 (was {value}).");
        }
    }

    private static void CheckNonNegative(List<string> failures, string name, int value)
    {
        if (value < 0)
        {
            failures.Add($"{name} must not be negative (was {value}).");
        }
    }
}
