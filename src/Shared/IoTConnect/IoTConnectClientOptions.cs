using Azure.Core.Pipeline;
using Fleet.Shared.Resilience;

namespace Fleet.Shared.IoTConnect;

/// <summary>
/// Settings of an <see cref="IoTConnectClient"/>, bound from the configuration section named after the connection
/// (default <c>IoTConnect</c>): <c>IoTConnect__username</c>, <c>IoTConnect__deviceUrl</c>,
/// <c>IoTConnect__retry__maxRetries</c>… Base URLs of the four services are either configured or discovered; the
/// password and solution key come from settings or from Key Vault secrets read with the connection's identity
/// (<c>credential</c>, <c>clientId</c>… as <see cref="Identity.ConnectionCredentials"/> reads them).
/// </summary>
public sealed class IoTConnectClientOptions
{
    /// <summary>Avnet's discovery service.</summary>
    public static readonly Uri DefaultDiscoveryUrl = new("https://discovery.iotconnect.io/");

    /// <summary>Root of the discovery service, used when any service URL below is not configured.</summary>
    /// <value>Default <see cref="DefaultDiscoveryUrl"/>.</value>
    public Uri? DiscoveryUrl { get; set; } = DefaultDiscoveryUrl;

    /// <summary>Discovery environment: <c>poc</c>, <c>prod</c> or <c>avnet</c>.</summary>
    /// <value>Default <c>prod</c>.</value>
    public string Environment { get; set; } = "prod";

    /// <summary>Discovery platform: <c>az</c> (API v2) or <c>aws</c> (API v2.1).</summary>
    /// <value>Default <c>az</c>.</value>
    public string Platform { get; set; } = "az";

    /// <summary>Base URL of the auth service including its version path (e.g. <c>https://avnetauth.iotconnect.io/api/v2/</c>); discovered when null.</summary>
    public Uri? AuthUrl { get; set; }

    /// <summary>Base URL of the device service (devices, templates); discovered when null.</summary>
    public Uri? DeviceUrl { get; set; }

    /// <summary>Base URL of the user service (entities); discovered when null.</summary>
    public Uri? UserUrl { get; set; }

    /// <summary>Base URL of the firmware service (firmware, upgrades, OTA updates); discovered when null.</summary>
    public Uri? FirmwareUrl { get; set; }

    /// <summary>Login name of the solution's user.</summary>
    public string? Username { get; set; }

    /// <summary>The user's password. Prefer <see cref="PasswordSecretUri"/> outside development.</summary>
    public string? Password { get; set; }

    /// <summary>A Key Vault secret holding the password (<c>https://{vault}.vault.azure.net/secrets/{name}[/{version}]</c>).</summary>
    public Uri? PasswordSecretUri { get; set; }

    /// <summary>The solution key (the <c>solution-key</c> header of logins; Avnet support issues it).</summary>
    public string? SolutionKey { get; set; }

    /// <summary>A Key Vault secret holding the solution key.</summary>
    public Uri? SolutionKeySecretUri { get; set; }

    /// <summary>Scope of the tokens that read Key Vault secrets.</summary>
    /// <value>Default <c>https://vault.azure.net/.default</c>.</value>
    public string KeyVaultScope { get; set; } = "https://vault.azure.net/.default";

    /// <summary><c>pageSize</c> of list calls.</summary>
    /// <value>Default 100.</value>
    public int PageSize { get; set; } = 100;

    /// <summary>
    /// How long before an access token expires it is refreshed (at most half its lifetime). Calls keep using the old
    /// token while one refresh runs.
    /// </summary>
    /// <value>Default 5 minutes.</value>
    public TimeSpan TokenRefreshMargin { get; set; } = TimeSpan.FromMinutes(5);

    /// <summary>
    /// Whether a 503 counts as throttling for the rate limiter, as a 429 does. IoTConnect documents no throttling,
    /// so the client learns its limit from both (a 503 is retried either way).
    /// </summary>
    /// <value>Default true.</value>
    public bool LearnFromServiceUnavailable { get; set; } = true;

    /// <summary>Retries of failed requests (the shared policy: Retry-After honoured, backoff, bounded attempts and time).</summary>
    public CallRetryOptions Retry { get; set; } = new();

    /// <summary>The adaptive rate limiter shared by every call of one solution.</summary>
    public AdaptiveRateLimiterOptions RateLimiter { get; set; } = new();

    /// <summary>HTTP transport; null uses Azure.Core's shared one. Not bound from settings.</summary>
    public HttpPipelineTransport? Transport { get; set; }

    /// <summary>Settings the configuration binder could not read; reported by start-up validation.</summary>
    internal List<string> BindingErrors { get; } = [];

    /// <summary>True when all four service URLs are configured, so discovery is not needed.</summary>
    internal bool HasAllServiceUrls => AuthUrl is not null && DeviceUrl is not null && UserUrl is not null && FirmwareUrl is not null;
}
