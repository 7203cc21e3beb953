using Azure.Core.Pipeline;
using Fleet.Shared.Resilience;

namespace Fleet.Shared.Sphere;

/// <summary>
/// Settings of a <see cref="SphereClient"/>. Bound from the configuration section named after the connection
/// (default <c>Sphere</c>): <c>Sphere__endpoint</c>, <c>Sphere__scope</c>, <c>Sphere__retry__maxRetries</c>,
/// <c>Sphere__rateLimiter__initialRate</c>… The identity settings of the same section (<c>credential</c>,
/// <c>clientId</c>, <c>tenantId</c>, <c>clientSecret</c>) are read by
/// <see cref="Identity.ConnectionCredentials"/>, not by this type.
/// </summary>
public sealed class SphereClientOptions
{
    /// <summary>The production endpoint of the Azure Sphere public API.</summary>
    public static readonly Uri DefaultEndpoint = new("https://prod.core.sphere.azure.net/");

    /// <summary>Token scope that managed identities and service principals use for the Sphere API.</summary>
    public const string DefaultScope = "https://firstparty.sphere.azure.net/api/.default";

    /// <summary>Base address of the API (paths <c>v2/…</c> are resolved against it).</summary>
    /// <value>Default <see cref="DefaultEndpoint"/>. Plain http is accepted only for a loopback host.</value>
    public Uri Endpoint { get; set; } = DefaultEndpoint;

    /// <summary>Scope of the bearer tokens.</summary>
    /// <value>Default <see cref="DefaultScope"/>.</value>
    public string Scope { get; set; } = DefaultScope;

    /// <summary><c>maxPageSize</c> sent with list calls; null lets the service choose.</summary>
    /// <value>Default null.</value>
    public int? PageSize { get; set; }

    /// <summary>Time between polls of an operation while waiting for it.</summary>
    /// <value>Default 1 second.</value>
    public TimeSpan OperationPollInterval { get; set; } = TimeSpan.FromSeconds(1);

    /// <summary>How long a wait for an operation may last before it gives up with a <see cref="TimeoutException"/>.</summary>
    /// <value>Default 10 minutes.</value>
    public TimeSpan OperationTimeout { get; set; } = TimeSpan.FromMinutes(10);

    /// <summary>Retries of failed requests.</summary>
    public SphereRetryOptions Retry { get; set; } = new();

    /// <summary>The adaptive per-tenant rate limiter.</summary>
    public AdaptiveRateLimiterOptions RateLimiter { get; set; } = new();

    /// <summary>HTTP transport; null uses Azure.Core's shared <see cref="HttpClientTransport"/>. Not bound from settings.</summary>
    public HttpPipelineTransport? Transport { get; set; }

    /// <summary>Settings the configuration binder could not read; reported by start-up validation.</summary>
    internal List<string> BindingErrors { get; } = [];
}

/// <summary>
/// How a Sphere request is retried: the shared <see cref="CallRetryOptions"/> (429 waits what Retry-After says; 408,
/// 5xx and network failures back off; other 4xx are never retried; attempts and total time bounded). A 429 whose
/// Retry-After ends beyond <see cref="CallRetryOptions.MaxElapsedTime"/> surfaces at once, with
/// <see cref="SphereApiException.RetryAfter"/>.
/// </summary>
public sealed class SphereRetryOptions : CallRetryOptions;
