using Fleet.Shared.Identity;
using Fleet.Shared.Resilience;
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

        Check(LoopbackAwareBearerTokenPolicy.IsSecureOrLoopback(options.Endpoint),
            "endpoint", "must be an absolute https URI (plain http only for a loopback host such as the simulator)");
        Check(!string.IsNullOrWhiteSpace(options.Scope), "scope", "must not be empty");
        Check(options.PageSize is null or (>= 1 and <= 10_000), "pageSize", "must be between 1 and 10000");
        Check(options.OperationPollInterval >= TimeSpan.FromMilliseconds(10)
                && options.OperationPollInterval <= TimeSpan.FromMinutes(5),
            "operationPollInterval", "must be between 00:00:00.010 and 00:05:00");
        Check(options.OperationTimeout >= options.OperationPollInterval && options.OperationTimeout <= TimeSpan.FromDays(1),
            "operationTimeout", "must be at least operationPollInterval and at most 1.00:00:00");

        CallPolicyValidation.Check(options.Retry, options.RateLimiter, Check);

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
