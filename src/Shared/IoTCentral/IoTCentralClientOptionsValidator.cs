using System.Text.RegularExpressions;
using Fleet.Shared.Identity;
using Fleet.Shared.Resilience;
using Microsoft.Extensions.Configuration;
using Microsoft.Extensions.Options;

namespace Fleet.Shared.IoTCentral;

/// <summary>
/// Checks the settings of one IoT Central connection at start-up. Each failure names the setting as an operator
/// writes it (<c>IoTCentral__appSubdomain</c>); no failure quotes a secret.
/// </summary>
internal sealed partial class IoTCentralClientOptionsValidator(string connectionName, IConfiguration configuration)
    : IValidateOptions<IoTCentralClientOptions>
{
    public ValidateOptionsResult Validate(string? name, IoTCentralClientOptions options)
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

        var hasSubdomain = !string.IsNullOrWhiteSpace(options.AppSubdomain);
        if (hasSubdomain == (options.Endpoint is not null))
        {
            failures.Add(hasSubdomain
                ? $"Settings '{connectionName}__appSubdomain' and '{connectionName}__endpoint' contradict each other: set one of them."
                : $"Setting '{connectionName}__appSubdomain' (or '{connectionName}__endpoint') is required: the application's subdomain, as in https://<subdomain>.azureiotcentral.com.");
        }

        if (hasSubdomain)
        {
            Check(DnsLabel().IsMatch(options.AppSubdomain!.Trim()), "appSubdomain",
                "must be the application's subdomain (letters, digits and hyphens, e.g. 'contoso-fleet')");
            Check(!string.IsNullOrWhiteSpace(options.BaseDomain) && Uri.CheckHostName(options.BaseDomain.Trim()) == UriHostNameType.Dns,
                "baseDomain", "must be a DNS name such as azureiotcentral.com");
        }

        if (options.Endpoint is not null)
        {
            Check(LoopbackAwareBearerTokenPolicy.IsSecureOrLoopback(options.Endpoint), "endpoint",
                "must be an absolute https URI (plain http only for a loopback host such as the simulator)");
        }

        Check(!string.IsNullOrWhiteSpace(options.ApiVersion), "apiVersion", "must not be empty");
        Check(!string.IsNullOrWhiteSpace(options.Scope), "scope", "must not be empty");
        Check(options.ApiTokenExpiryWarning >= TimeSpan.Zero && options.ApiTokenExpiryWarning <= TimeSpan.FromDays(365),
            "apiTokenExpiryWarning", "must be between 00:00:00 and 365.00:00:00");
        Check(options.PageSize is null or (>= 1 and <= 100), "pageSize", "must be between 1 and 100 (the service's $top limit)");
        Check(options.JobPollInterval >= TimeSpan.FromMilliseconds(10) && options.JobPollInterval <= TimeSpan.FromMinutes(10),
            "jobPollInterval", "must be between 00:00:00.010 and 00:10:00");
        Check(options.JobTimeout >= options.JobPollInterval && options.JobTimeout <= TimeSpan.FromDays(30),
            "jobTimeout", "must be at least jobPollInterval and at most 30.00:00:00");
        Check(options.GroupMembershipPollInterval >= TimeSpan.FromMilliseconds(10)
                && options.GroupMembershipPollInterval <= TimeSpan.FromMinutes(5),
            "groupMembershipPollInterval", "must be between 00:00:00.010 and 00:05:00");
        Check(options.GroupMembershipTimeout >= TimeSpan.Zero && options.GroupMembershipTimeout <= TimeSpan.FromHours(1),
            "groupMembershipTimeout", "must be between 00:00:00 and 01:00:00");
        CallPolicyValidation.Check(options.Retry, options.RateLimiter, Check);
        CheckAuthentication(options, failures);
        return failures.Count == 0 ? ValidateOptionsResult.Success : ValidateOptionsResult.Fail(failures);
    }

    private void CheckAuthentication(IoTCentralClientOptions options, List<string> failures)
    {
        var hasToken = !string.IsNullOrWhiteSpace(options.ApiToken);
        var hasTokenFile = !string.IsNullOrWhiteSpace(options.ApiTokenFile);
        if (hasToken && hasTokenFile)
        {
            failures.Add($"Settings '{connectionName}__apiToken' and '{connectionName}__apiTokenFile' contradict each other: set one of them.");
            return;
        }

        if (hasToken || hasTokenFile)
        {
            if (ConnectionCredentials.HasExplicitIdentity(configuration, connectionName))
            {
                failures.Add($"Setting '{connectionName}__{(hasToken ? "apiToken" : "apiTokenFile")}' contradicts the Entra " +
                             $"identity settings ('{connectionName}__credential', '__clientId', '__clientSecret'): use one kind of authentication.");
                return;
            }

            try
            {
                _ = ApiTokenSource.Read(options, connectionName);
            }
            catch (InvalidOperationException ex)
            {
                failures.Add(ex.Message);
            }

            return;
        }

        try
        {
            _ = ConnectionCredentials.Create(configuration, connectionName);
        }
        catch (InvalidOperationException ex)
        {
            failures.Add(ex.Message);
        }
    }

    [GeneratedRegex("^[A-Za-z0-9](?:[A-Za-z0-9-]{0,61}[A-Za-z0-9])?$")]
    private static partial Regex DnsLabel();
}
