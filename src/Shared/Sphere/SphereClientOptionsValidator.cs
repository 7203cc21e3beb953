using Fleet.Shared.Configuration;
using Fleet.Shared.Identity;
using Fleet.Shared.Resilience;
using Microsoft.Extensions.Configuration;

namespace Fleet.Shared.Sphere;

/// <summary>
/// Checks the settings of one Sphere connection at start-up. Each failure names the setting the way an operator
/// writes it in app settings or local.settings.json (<c>Sphere__retry__maxRetries</c>).
/// </summary>
internal sealed class SphereClientOptionsValidator(string connectionName, IConfiguration configuration)
    : ConnectionOptionsValidator<SphereClientOptions>(connectionName)
{
    protected override IEnumerable<string> BindingErrors(SphereClientOptions options) => options.BindingErrors;

    protected override void Validate(SphereClientOptions options, Action<bool, string, string> check, List<string> failures)
    {
        check(LoopbackAwareBearerTokenPolicy.IsSecureOrLoopback(options.Endpoint),
            "endpoint", "must be an absolute https URI (plain http only for a loopback host such as the simulator)");
        check(!string.IsNullOrWhiteSpace(options.Scope), "scope", "must not be empty");
        check(options.PageSize is null or (>= 1 and <= 10_000), "pageSize", "must be between 1 and 10000");
        check(options.OperationPollInterval >= TimeSpan.FromMilliseconds(10)
                && options.OperationPollInterval <= TimeSpan.FromMinutes(5),
            "operationPollInterval", "must be between 00:00:00.010 and 00:05:00");
        check(options.OperationTimeout >= options.OperationPollInterval && options.OperationTimeout <= TimeSpan.FromDays(1),
            "operationTimeout", "must be at least operationPollInterval and at most 1.00:00:00");

        CallPolicyValidation.Check(options.Retry, options.RateLimiter, check);

        try
        {
            _ = ConnectionCredentials.Create(configuration, ConnectionName);
        }
        catch (InvalidOperationException ex)
        {
            failures.Add(ex.Message);
        }
    }
}
