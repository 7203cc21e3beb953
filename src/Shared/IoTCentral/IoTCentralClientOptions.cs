using Azure.Core.Pipeline;
using Fleet.Shared.Resilience;

namespace Fleet.Shared.IoTCentral;

/// <summary>
/// Settings of an <see cref="IoTCentralClient"/>, bound from the section named after the connection (default
/// <c>IoTCentral</c>): the application (<c>IoTCentral__appSubdomain</c>, or <c>IoTCentral__endpoint</c> for another
/// base such as the simulator's), its authentication (an API token in <c>IoTCentral__apiToken</c> or
/// <c>IoTCentral__apiTokenFile</c>; otherwise an Entra identity read by <see cref="Identity.ConnectionCredentials"/>
/// from <c>credential</c>, <c>clientId</c>, <c>tenantId</c>, <c>clientSecret</c>), paging, job watching, retries and
/// the adaptive rate limiter.
/// </summary>
public sealed class IoTCentralClientOptions
{
    /// <summary>The data-plane version sent as <c>api-version</c> on every call.</summary>
    public const string DefaultApiVersion = "2022-07-31";

    /// <summary>Token scope of Entra identities for IoT Central.</summary>
    public const string DefaultScope = "https://apps.azureiotcentral.com/.default";

    /// <summary>The domain applications live under.</summary>
    public const string DefaultBaseDomain = "azureiotcentral.com";

    /// <summary>The application's subdomain: the client calls <c>https://{appSubdomain}.{baseDomain}/api/</c>.</summary>
    /// <value>Default null; either this or <see cref="Endpoint"/> is required.</value>
    public string? AppSubdomain { get; set; }

    /// <summary>Domain of <see cref="AppSubdomain"/>.</summary>
    /// <value>Default <see cref="DefaultBaseDomain"/>.</value>
    public string BaseDomain { get; set; } = DefaultBaseDomain;

    /// <summary>
    /// The API base itself, e.g. <c>https://contoso.azureiotcentral.com/api/</c> or the simulator's
    /// <c>http://127.0.0.1:5080/iotc/contoso/api/</c>; overrides <see cref="AppSubdomain"/>. Plain http only for a
    /// loopback host.
    /// </summary>
    /// <value>Default null.</value>
    public Uri? Endpoint { get; set; }

    /// <summary>The <c>api-version</c> query value.</summary>
    /// <value>Default <see cref="DefaultApiVersion"/>.</value>
    public string ApiVersion { get; set; } = DefaultApiVersion;

    /// <summary>Scope of Entra bearer tokens.</summary>
    /// <value>Default <see cref="DefaultScope"/>.</value>
    public string Scope { get; set; } = DefaultScope;

    /// <summary>
    /// An IoT Central API token (<c>SharedAccessSignature sr=…&amp;sig=…&amp;skn=…&amp;se=…</c>), sent as the whole
    /// Authorization header. A secret: use a Key Vault reference in app settings.
    /// </summary>
    /// <value>Default null (Entra authentication).</value>
    public string? ApiToken { get; set; }

    /// <summary>
    /// A file holding the API token; read at start-up and rewritten by <see cref="IoTCentralClient.RotateApiTokenAsync"/>.
    /// An alternative to <see cref="ApiToken"/>.
    /// </summary>
    /// <value>Default null.</value>
    public string? ApiTokenFile { get; set; }

    /// <summary>How long before an API token's expiry the client starts warning (once a day).</summary>
    /// <value>Default 30 days.</value>
    public TimeSpan ApiTokenExpiryWarning { get; set; } = TimeSpan.FromDays(30);

    /// <summary><c>$top</c> of device and template lists (1–100); null lets the service choose (25).</summary>
    /// <value>Default 100.</value>
    public int? PageSize { get; set; } = 100;

    /// <summary>Time between polls of a job being watched.</summary>
    /// <value>Default 5 seconds.</value>
    public TimeSpan JobPollInterval { get; set; } = TimeSpan.FromSeconds(5);

    /// <summary>How long watching a job may last before it gives up with a <see cref="TimeoutException"/>.</summary>
    /// <value>Default 1 day.</value>
    public TimeSpan JobTimeout { get; set; } = TimeSpan.FromDays(1);

    /// <summary>How long provisioning waits for the device group to list a device (filters may lag).</summary>
    /// <value>Default 30 seconds.</value>
    public TimeSpan GroupMembershipTimeout { get; set; } = TimeSpan.FromSeconds(30);

    /// <summary>Time between checks of the group while provisioning waits.</summary>
    /// <value>Default 2 seconds.</value>
    public TimeSpan GroupMembershipPollInterval { get; set; } = TimeSpan.FromSeconds(2);

    /// <summary>Retries of failed requests (429 with or without Retry-After, 408, 5xx, network failures).</summary>
    public CallRetryOptions Retry { get; set; } = new();

    /// <summary>
    /// The adaptive rate limiter of the application. It starts at the documented 20 requests/s per application and
    /// adapts to the 429s the application answers.
    /// </summary>
    public AdaptiveRateLimiterOptions RateLimiter { get; set; } = new() { InitialRate = 20 };

    /// <summary>HTTP transport; null uses Azure.Core's shared one. Not bound from settings.</summary>
    public HttpPipelineTransport? Transport { get; set; }

    /// <summary>Settings the configuration binder could not read; reported by start-up validation.</summary>
    internal List<string> BindingErrors { get; } = [];

    /// <summary>The API base the settings name (always ending in <c>/</c>), or null when they name none.</summary>
    public Uri? ResolveEndpoint()
    {
        if (Endpoint is { } endpoint)
        {
            var text = endpoint.AbsoluteUri;
            return new Uri(text.EndsWith('/') ? text : text + "/");
        }

        return string.IsNullOrWhiteSpace(AppSubdomain) || string.IsNullOrWhiteSpace(BaseDomain)
            ? null
            : new Uri($"https://{AppSubdomain.Trim()}.{BaseDomain.Trim()}/api/");
    }
}
