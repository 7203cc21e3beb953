using System.Net;
using System.Text.Json;
using Fleet.Simulator.Control;

namespace Fleet.Simulator;

/// <summary>A control-API call failed; <see cref="Status"/> is its HTTP status.</summary>
public sealed class SimulatorControlException(HttpStatusCode status, string message) : Exception(message)
{
    /// <summary>The HTTP status the control API answered.</summary>
    public HttpStatusCode Status { get; } = status;
}

/// <summary>Typed client of the simulator's <c>/_sim/</c> control API.</summary>
public partial class SimulatorControlClient : IDisposable
{
    private readonly HttpClient _http;
    private readonly bool _ownsClient;

    /// <summary>A client of the simulator at <paramref name="baseAddress"/> (e.g. <c>http://127.0.0.1:5080/</c>).</summary>
    public SimulatorControlClient(Uri baseAddress)
        : this(new HttpClient { BaseAddress = baseAddress, Timeout = TimeSpan.FromSeconds(60) }, ownsClient: true)
    {
    }

    /// <summary>A client over <paramref name="httpClient"/>, whose BaseAddress must be the simulator's root.</summary>
    public SimulatorControlClient(HttpClient httpClient)
        : this(httpClient, ownsClient: false)
    {
    }

    /// <summary>For mocking.</summary>
    protected SimulatorControlClient()
    {
        _http = null!;
    }

    private SimulatorControlClient(HttpClient httpClient, bool ownsClient)
    {
        ArgumentNullException.ThrowIfNull(httpClient.BaseAddress, nameof(httpClient) + ".BaseAddress");
        _http = httpClient;
        _ownsClient = ownsClient;
    }

    /// <summary>The fleet as it is now: tenants, identities, products, groups, images, unclaimed devices.</summary>
    public virtual Task<FleetDescription> GetFleetAsync(CancellationToken cancellationToken = default) =>
        GetAsync<FleetDescription>("_sim/fleet", cancellationToken);

    /// <summary>Everything known about one device.</summary>
    public virtual Task<DeviceView> GetDeviceAsync(string deviceId, CancellationToken cancellationToken = default) =>
        GetAsync<DeviceView>($"_sim/devices/{Uri.EscapeDataString(deviceId)}", cancellationToken);

    /// <summary>Exact request counters since start or the last counter reset.</summary>
    public virtual Task<CounterSnapshot> GetCountersAsync(CancellationToken cancellationToken = default) =>
        GetAsync<CounterSnapshot>("_sim/counters", cancellationToken);

    /// <summary>Zeroes the counters.</summary>
    public virtual Task ResetCountersAsync(CancellationToken cancellationToken = default) =>
        SendAsync(HttpMethod.Post, "_sim/counters/reset", null, cancellationToken);

    /// <summary>Back to the seeded fleet and the start-up settings; counters, buckets and injections cleared.</summary>
    public virtual Task ResetAsync(CancellationToken cancellationToken = default) =>
        SendAsync(HttpMethod.Post, "_sim/reset", null, cancellationToken);

    /// <summary>The run-time settings.</summary>
    public virtual Task<SimulatorSettings> GetSettingsAsync(CancellationToken cancellationToken = default) =>
        GetAsync<SimulatorSettings>("_sim/settings", cancellationToken);

    /// <summary>Changes the given settings; returns all settings after the change.</summary>
    public virtual async Task<SimulatorSettings> UpdateSettingsAsync(SimulatorSettingsUpdate update, CancellationToken cancellationToken = default)
    {
        using var response = await SendCoreAsync(HttpMethod.Patch, "_sim/settings", update, cancellationToken);
        return (await response.Content.ReadFromJsonAsync<SimulatorSettings>(ControlJson.Options, cancellationToken))!;
    }

    /// <summary>Sets the injected fault rate (0–1) and, when given, the added latency.</summary>
    public virtual Task<SimulatorSettings> SetFaultsAsync(double faultRate, int? latencyMs = null, CancellationToken cancellationToken = default) =>
        UpdateSettingsAsync(new SimulatorSettingsUpdate { FaultRate = faultRate, LatencyMs = latencyMs }, cancellationToken);

    /// <summary>Sets the per-tenant rate (requests/s, 0 = unlimited), burst (0 = the rate) and, when given, the Retry-After mode.</summary>
    public virtual Task<SimulatorSettings> SetLimitsAsync(double rateLimit, int burst = 0, RetryAfterMode? retryAfter = null, CancellationToken cancellationToken = default) =>
        UpdateSettingsAsync(new SimulatorSettingsUpdate { RateLimit = rateLimit, Burst = burst, RetryAfter = retryAfter }, cancellationToken);

    /// <summary>Sets the operation and/or install delays (null leaves one as it is).</summary>
    public virtual Task<SimulatorSettings> SetDelaysAsync(int? operationDelayMs, int? installDelayMs = null, CancellationToken cancellationToken = default) =>
        UpdateSettingsAsync(new SimulatorSettingsUpdate { OperationDelayMs = operationDelayMs, InstallDelayMs = installDelayMs }, cancellationToken);

    /// <summary>Sets the global install failure rate (groups with their own rate keep it).</summary>
    public virtual Task<SimulatorSettings> SetInstallFailureRateAsync(double rate, CancellationToken cancellationToken = default) =>
        UpdateSettingsAsync(new SimulatorSettingsUpdate { InstallFailureRate = rate }, cancellationToken);

    /// <summary>Sets a device group's own install failure rate, or clears it with null.</summary>
    public virtual Task SetGroupInstallFailureRateAsync(Guid deviceGroupId, double? rate, CancellationToken cancellationToken = default) =>
        SendAsync(HttpMethod.Put, $"_sim/devicegroups/{deviceGroupId}/install-failure-rate", new GroupFailureRateRequest(rate), cancellationToken);

    /// <summary>How far a device group's devices have installed its current deployment.</summary>
    public virtual Task<GroupInstallStatus> GetGroupInstallStatusAsync(Guid deviceGroupId, CancellationToken cancellationToken = default) =>
        GetAsync<GroupInstallStatus>($"_sim/devicegroups/{deviceGroupId}/install-status", cancellationToken);

    /// <summary>Makes a principal a user of a tenant with a role (or changes its role).</summary>
    public virtual Task SetTenantUserAsync(Guid tenantId, Guid principalId, TenantRole role, string? displayName = null, CancellationToken cancellationToken = default) =>
        SendAsync(HttpMethod.Put, $"_sim/tenants/{tenantId}/users/{principalId}", new TenantUserRequest(role, displayName), cancellationToken);

    /// <summary>Removes a principal from a tenant's users (its calls then get 403).</summary>
    public virtual Task RemoveTenantUserAsync(Guid tenantId, Guid principalId, CancellationToken cancellationToken = default) =>
        SendAsync(HttpMethod.Delete, $"_sim/tenants/{tenantId}/users/{principalId}", null, cancellationToken);

    /// <summary>Makes the next operations end Failed (or CompleteWithErrors).</summary>
    public virtual Task FailNextOperationsAsync(OperationFailureInjection injection, CancellationToken cancellationToken = default) =>
        SendAsync(HttpMethod.Post, "_sim/operations/failures", injection, cancellationToken);

    /// <summary>Mints a token directly (another principal, audience or lifetime), bypassing the managed-identity endpoint.</summary>
    public virtual async Task<IssuedToken> IssueTokenAsync(TokenRequest request, CancellationToken cancellationToken = default)
    {
        using var response = await SendCoreAsync(HttpMethod.Post, "_sim/tokens", request, cancellationToken);
        return (await response.Content.ReadFromJsonAsync<IssuedToken>(ControlJson.Options, cancellationToken))!;
    }

    /// <inheritdoc />
    public void Dispose()
    {
        if (_ownsClient)
        {
            _http.Dispose();
        }

        GC.SuppressFinalize(this);
    }

    private async Task<T> GetAsync<T>(string path, CancellationToken cancellationToken)
    {
        using var response = await SendCoreAsync(HttpMethod.Get, path, null, cancellationToken);
        return (await response.Content.ReadFromJsonAsync<T>(ControlJson.Options, cancellationToken))!;
    }

    private async Task SendAsync(HttpMethod method, string path, object? body, CancellationToken cancellationToken)
    {
        using var response = await SendCoreAsync(method, path, body, cancellationToken);
    }

    private async Task<HttpResponseMessage> SendCoreAsync(HttpMethod method, string path, object? body, CancellationToken cancellationToken)
    {
        using var request = new HttpRequestMessage(method, path);
        if (body is not null)
        {
            request.Content = JsonContent.Create(body, body.GetType(), options: ControlJson.Options);
        }

        var response = await _http.SendAsync(request, cancellationToken);
        if (response.IsSuccessStatusCode)
        {
            return response;
        }

        using (response)
        {
            string message;
            try
            {
                message = (await response.Content.ReadFromJsonAsync<ControlError>(ControlJson.Options, cancellationToken))?.Error
                          ?? response.ReasonPhrase ?? "control API error";
            }
            catch (JsonException)
            {
                message = response.ReasonPhrase ?? "control API error";
            }

            throw new SimulatorControlException(response.StatusCode, $"{method} /{path} failed with {(int)response.StatusCode}: {message}");
        }
    }
}

/// <summary>Builds image packages the simulator reads metadata from (name, component, image id, type).</summary>
public static class SimulatedImagePackage
{
    /// <summary>
    /// A package with a <c>SIMIMG1</c> header. Upload it to <c>v2/tenants/{t}/images</c> as application/octet-stream;
    /// without <paramref name="imageId"/>, the image id is derived from the bytes and the tenant.
    /// </summary>
    /// <param name="name">Image name.</param>
    /// <param name="componentId">Component (application) id; a deployment may hold one image per component.</param>
    /// <param name="imageId">A fixed image id, or null to derive one.</param>
    /// <param name="description">Optional description.</param>
    /// <param name="imageType">The Sphere ImageType; 10 (Applications) by default.</param>
    public static byte[] Create(string name, Guid componentId, Guid? imageId = null, string? description = null, int imageType = 10) =>
        Model.ImagePackage.Build(name, componentId, imageId, description, imageType);
}
