using System.Text.RegularExpressions;
using Fleet.Shared.Configuration;
using Fleet.Shared.Identity;
using Fleet.Shared.Resilience;
using Microsoft.Extensions.Configuration;

namespace Fleet.Shared.IoTCentral;

/// <summary>
/// Checks the settings of one IoT Central connection at start-up. Each failure names the setting as an operator
/// writes it (<c>IoTCentral__appSubdomain</c>); no failure quotes a secret.
/// </summary>
internal sealed partial class IoTCentralClientOptionsValidator(string connectionName, IConfiguration configuration)
    : ConnectionOptionsValidator<IoTCentralClientOptions>(connectionName)
{
    protected override IEnumerable<string> BindingErrors(IoTCentralClientOptions options) => options.BindingErrors;

    protected override void Validate(IoTCentralClientOptions options, Action<bool, string, string> check, List<string> failures)
    {
        var hasSubdomain = !string.IsNullOrWhiteSpace(options.AppSubdomain);
        if (hasSubdomain == (options.Endpoint is not null))
        {
            failures.Add(hasSubdomain
                ? $"Settings '{ConnectionName}__appSubdomain' and '{ConnectionName}__endpoint' contradict each other: set one of them."
                : $"Setting '{ConnectionName}__appSubdomain' (or '{ConnectionName}__endpoint') is required: the application's subdomain, as in https://<subdomain>.azureiotcentral.com.");
        }

        if (hasSubdomain)
        {
            check(DnsLabel().IsMatch(options.AppSubdomain!.Trim()), "appSubdomain",
                "must be the application's subdomain (letters, digits and hyphens, e.g. 'contoso-fleet')");
            check(!string.IsNullOrWhiteSpace(options.BaseDomain) && Uri.CheckHostName(options.BaseDomain.Trim()) == UriHostNameType.Dns,
                "baseDomain", "must be a DNS name such as azureiotcentral.com");
        }

        if (options.Endpoint is not null)
        {
            check(LoopbackAwareBearerTokenPolicy.IsSecureOrLoopback(options.Endpoint), "endpoint",
                "must be an absolute https URI (plain http only for a loopback host such as the simulator)");
        }

        check(!string.IsNullOrWhiteSpace(options.ApiVersion), "apiVersion", "must not be empty");
        check(!string.IsNullOrWhiteSpace(options.Scope), "scope", "must not be empty");
        check(options.ApiTokenExpiryWarning >= TimeSpan.Zero && options.ApiTokenExpiryWarning <= TimeSpan.FromDays(365),
            "apiTokenExpiryWarning", "must be between 00:00:00 and 365.00:00:00");
        check(options.PageSize is null or (>= 1 and <= 100), "pageSize", "must be between 1 and 100 (the service's $top limit)");
        check(options.JobPollInterval >= TimeSpan.FromMilliseconds(10) && options.JobPollInterval <= TimeSpan.FromMinutes(10),
            "jobPollInterval", "must be between 00:00:00.010 and 00:10:00");
        check(options.JobTimeout >= options.JobPollInterval && options.JobTimeout <= TimeSpan.FromDays(30),
            "jobTimeout", "must be at least jobPollInterval and at most 30.00:00:00");
        check(options.GroupMembershipPollInterval >= TimeSpan.FromMilliseconds(10)
                && options.GroupMembershipPollInterval <= TimeSpan.FromMinutes(5),
            "groupMembershipPollInterval", "must be between 00:00:00.010 and 00:05:00");
        check(options.GroupMembershipTimeout >= TimeSpan.Zero && options.GroupMembershipTimeout <= TimeSpan.FromHours(1),
            "groupMembershipTimeout", "must be between 00:00:00 and 01:00:00");
        CallPolicyValidation.Check(options.Retry, options.RateLimiter, check);
        CheckAuthentication(options, failures);
    }

    private void CheckAuthentication(IoTCentralClientOptions options, List<string> failures)
    {
        var hasToken = !string.IsNullOrWhiteSpace(options.ApiToken);
        var hasTokenFile = !string.IsNullOrWhiteSpace(options.ApiTokenFile);
        if (hasToken && hasTokenFile)
        {
            failures.Add($"Settings '{ConnectionName}__apiToken' and '{ConnectionName}__apiTokenFile' contradict each other: set one of them.");
            return;
        }

        if (hasToken || hasTokenFile)
        {
            if (ConnectionCredentials.HasExplicitIdentity(configuration, ConnectionName))
            {
                failures.Add($"Setting '{ConnectionName}__{(hasToken ? "apiToken" : "apiTokenFile")}' contradicts the Entra " +
                             $"identity settings ('{ConnectionName}__credential', '__clientId', '__clientSecret'): use one kind of authentication.");
                return;
            }

            try
            {
                _ = ApiTokenSource.Read(options, ConnectionName);
            }
            catch (InvalidOperationException ex)
            {
                failures.Add(ex.Message);
            }

            return;
        }

        try
        {
            _ = ConnectionCredentials.Create(configuration, ConnectionName);
        }
        catch (InvalidOperationException ex)
        {
            failures.Add(ex.Message);
        }
    }

    [GeneratedRegex("^[A-Za-z0-9](?:[A-Za-z0-9-]{0,61}[A-Za-z0-9])?$")]
    private static partial Regex DnsLabel();
}
