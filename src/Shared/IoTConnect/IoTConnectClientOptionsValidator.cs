using Fleet.Shared.Configuration;
using Fleet.Shared.Identity;
using Fleet.Shared.Resilience;
using Microsoft.Extensions.Configuration;

namespace Fleet.Shared.IoTConnect;

/// <summary>
/// Checks the settings of one IoTConnect connection at start-up. Each failure names the setting as an operator
/// writes it (<c>IoTConnect__username</c>); no failure repeats a value, so a misplaced secret stays out of logs.
/// </summary>
internal sealed class IoTConnectClientOptionsValidator(string connectionName, IConfiguration configuration)
    : ConnectionOptionsValidator<IoTConnectClientOptions>(connectionName)
{
    private static readonly string[] Environments = ["poc", "prod", "avnet"];
    private static readonly string[] Platforms = ["az", "aws"];

    protected override IEnumerable<string> BindingErrors(IoTConnectClientOptions options) => options.BindingErrors;

    protected override void Validate(IoTConnectClientOptions options, Action<bool, string, string> check, List<string> failures)
    {
        const string UrlRule = "must be an absolute https URI (plain http only for a loopback host such as the simulator)";
        foreach (var (setting, url) in new[] { ("authUrl", options.AuthUrl), ("deviceUrl", options.DeviceUrl), ("userUrl", options.UserUrl), ("firmwareUrl", options.FirmwareUrl) })
        {
            check(url is null || LoopbackAwareBearerTokenPolicy.IsSecureOrLoopback(url), setting, UrlRule);
        }

        if (!options.HasAllServiceUrls)
        {
            check(LoopbackAwareBearerTokenPolicy.IsSecureOrLoopback(options.DiscoveryUrl), "discoveryUrl",
                UrlRule + "; it is needed unless authUrl, deviceUrl, userUrl and firmwareUrl are all set");
            check(Environments.Contains(options.Environment, StringComparer.OrdinalIgnoreCase), "environment", "must be poc, prod or avnet");
            check(Platforms.Contains(options.Platform, StringComparer.OrdinalIgnoreCase), "platform", "must be az or aws");
        }

        check(!string.IsNullOrWhiteSpace(options.Username), "username", "is required");
        CheckSecret(check, options.Password, options.PasswordSecretUri, "password", "passwordSecretUri");
        CheckSecret(check, options.SolutionKey, options.SolutionKeySecretUri, "solutionKey", "solutionKeySecretUri");
        check(!string.IsNullOrWhiteSpace(options.KeyVaultScope), "keyVaultScope", "must not be empty");
        check(options.PageSize is >= 1 and <= 1000, "pageSize", "must be between 1 and 1000");
        check(options.TokenRefreshMargin >= TimeSpan.Zero && options.TokenRefreshMargin <= TimeSpan.FromHours(12),
            "tokenRefreshMargin", "must be between 00:00:00 and 12:00:00");
        CallPolicyValidation.Check(options.Retry, options.RateLimiter, check);

        if (options.PasswordSecretUri is not null || options.SolutionKeySecretUri is not null)
        {
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

    private static void CheckSecret(Action<bool, string, string> check, string? value, Uri? secretUri, string setting, string secretSetting)
    {
        var hasValue = !string.IsNullOrEmpty(value);
        check(hasValue || secretUri is not null, setting, $"or '{secretSetting}' is required");
        check(!(hasValue && secretUri is not null), setting, $"and '{secretSetting}' contradict each other: set one of them");
        check(secretUri is null || KeyVaultSecretReader.IsSecretUri(secretUri), secretSetting,
            "must be a Key Vault secret URI such as https://{vault}.vault.azure.net/secrets/{name}");
    }
}
