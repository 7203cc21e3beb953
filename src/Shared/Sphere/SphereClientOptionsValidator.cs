using Fleet.Shared.Identity;
using Microsoft.Extensions.Configuration;
using Microsoft.Extensions.Options;

namespace Fleet.Shared.Sphere;

/// <summary>
/// Checks the settings of one Sphere connection at start-up. Each failure names the setting the way an operator
/// writes it in app settings or local.settings.json (<c>Sphere__retry__maxRetries</c>).
/// </summary>
internal sealed class SphereClientOptionsValidator(string connectionName, IConfiguration configuration)
    : IValidateOptions<SphereClientOptions>
{
    public ValidateOptionsResult Validate(string? name, SphereClientOptions options)
    {
        if (!string.Equals(name, connectionName, StringComparison.Ordinal))
        {
            return ValidateOptionsResult.Skip;
        }

        var failures = new List<string>(options.BindingErrors);
        void Check(bool ok, string setting, string rule)
        {
            if (!ok)
            {
                failures.Add($"Setting '{connectionName}__{setting}' {rule}.");
            }
        }

        var endpoint = options.Endpoint;
        Check(endpoint is { IsAbsoluteUri: true }
                && (endpoint.Scheme == Uri.UriSchemeHttps
                    || (endpoint.Scheme == Uri.UriSchemeHttp
                        && LoopbackAwareBearerTokenPolicy.IsLoopbackHost(endpoint.Host))),
            "endpoint", "must be an absolute https URI (plain http only for a loopback host such as the simulator)");
        Check(!string.IsNullOrWhiteSpace(options.Scope), "scope", "must not be empty");
        Check(options.PageSize is null or (>= 1 and <= 10_000), "pageSize", "must be between 1 and 10000");
        Check(options.OperationPollInterval >= TimeSpan.FromMilliseconds(10)
                && options.OperationPollInterval <= TimeSpan.FromMinutes(5),
            "operationPollInterval", "must be between 00:00:00.010 and 00:05:00");
        Check(options.OperationTimeout >= options.OperationPollInterval && options.OperationTimeout <= TimeSpan.FromDays(1),
            "operationTimeout", "must be at least operationPollInterval and at most 1.00:00:00");

        var retry = options.Retry;
        Check(retry.MaxRetries is >= 0 and <= 20, "retry__maxRetries", "must be between 0 and 20");
        Check(retry.Delay >= TimeSpan.Zero && retry.Delay <= TimeSpan.FromMinutes(5), "retry__delay",
            "must be between 00:00:00 and 00:05:00");
        Check(retry.MaxDelay >= retry.Delay && retry.MaxDelay <= TimeSpan.FromHours(1), "retry__maxDelay",
            "must be at least retry__delay and at most 01:00:00");
        Check(retry.MaxElapsedTime >= TimeSpan.FromSeconds(1) && retry.MaxElapsedTime <= TimeSpan.FromDays(1),
            "retry__maxElapsedTime", "must be between 00:00:01 and 1.00:00:00");
        Check(retry.AttemptTimeout >= TimeSpan.FromMilliseconds(100) && retry.AttemptTimeout <= TimeSpan.FromMinutes(10),
            "retry__attemptTimeout", "must be between 00:00:00.100 and 00:10:00");

        var limiter = options.RateLimiter;
        Check(limiter.MinRate > 0, "rateLimiter__minRate", "must be greater than 0");
        Check(limiter.MaxRate >= limiter.MinRate, "rateLimiter__maxRate", "must be at least rateLimiter__minRate");
        Check(limiter.InitialRate >= limiter.MinRate && limiter.InitialRate <= limiter.MaxRate,
            "rateLimiter__initialRate", "must be between rateLimiter__minRate and rateLimiter__maxRate");
        Check(limiter.SlowStartGrowth is >= 1 and <= 100, "rateLimiter__slowStartGrowth", "must be between 1 and 100");
        Check(limiter.ProbeGrowth is >= 0 and <= 1, "rateLimiter__probeGrowth", "must be between 0 and 1");
        Check(limiter.BackoffMargin is >= 0 and < 1, "rateLimiter__backoffMargin", "must be at least 0 and below 1");
        Check(limiter.Burst >= 0, "rateLimiter__burst", "must not be negative");

        try
        {
            _ = ConnectionCredentials.Create(configuration, connectionName);
        }
        catch (InvalidOperationException ex)
        {
            failures.Add(ex.Message);
        }

        return failures.Count == 0 ? ValidateOptionsResult.Success : ValidateOptionsResult.Fail(failures);
    }
}
