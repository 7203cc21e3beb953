using System.Globalization;
using System.Security.Cryptography;
using System.Text;
using Azure;
using Azure.Core;
using Fleet.Shared.Identity;
using Fleet.Shared.Resilience;
using Microsoft.Extensions.Logging;
using Microsoft.Extensions.Logging.Abstractions;

namespace Fleet.Shared.IoTConnect;

/// <summary>
/// Typed client of the Avnet IoTConnect REST API (v2): devices and templates (device service), entities (user
/// service), firmware, upgrades and OTA updates (firmware service). Safe for concurrent use; create one per
/// connection (the DI extension does). One <see cref="IoTConnectAuthenticator"/> session serves every call. Each
/// attempt waits for a permit from the solution's shared <see cref="AdaptiveRateLimiter"/>, which learns the
/// undocumented limit from 429s (and 503s, see <see cref="IoTConnectClientOptions.LearnFromServiceUnavailable"/>);
/// failed attempts are retried as <see cref="CallRetryOptions"/> describes; a 401 renews the session and sends the
/// call once more. Failures surface as <see cref="IoTConnectApiException"/>.
/// </summary>
public partial class IoTConnectClient
{
    private readonly IoTConnectClientOptions _options = null!;
    private readonly IoTConnectCaller _api = null!;
    private readonly IoTConnectServiceLocator _services = null!;
    private readonly IoTConnectCredentialSource _credentials = null!;

    /// <summary>For mocking.</summary>
    protected IoTConnectClient()
    {
    }

    /// <summary>A client with its own rate limiters, the system clock, no logging and no Key Vault references.</summary>
    public IoTConnectClient(IoTConnectClientOptions options)
        : this(options, secretCredential: null, rateLimiters: null, timeProvider: null, loggerFactory: null)
    {
    }

    /// <summary>A client with every dependency given.</summary>
    /// <param name="options">Settings; read once, later changes have no effect.</param>
    /// <param name="secretCredential">Identity that reads Key Vault secret references; required when a <c>…SecretUri</c> is set.</param>
    /// <param name="rateLimiters">Limiters shared with other clients of the process; a private registry when null.</param>
    /// <param name="timeProvider">Clock of retry delays, limiter pacing and token expiry.</param>
    /// <param name="loggerFactory">Logs logins, retries and throttling (never secrets).</param>
    /// <param name="connectionName">The settings section, named in errors about missing credentials.</param>
    public IoTConnectClient(IoTConnectClientOptions options, TokenCredential? secretCredential, RateLimiterRegistry? rateLimiters,
        TimeProvider? timeProvider, ILoggerFactory? loggerFactory, string connectionName = IoTConnectServiceCollectionExtensions.DefaultConnectionName)
    {
        ArgumentNullException.ThrowIfNull(options);
        ArgumentException.ThrowIfNullOrWhiteSpace(options.Username, nameof(options) + ".Username");
        if (!options.HasAllServiceUrls)
        {
            ArgumentNullException.ThrowIfNull(options.DiscoveryUrl, nameof(options) + ".DiscoveryUrl");
        }

        if ((options.PasswordSecretUri is not null && options.Password is null) || (options.SolutionKeySecretUri is not null && options.SolutionKey is null))
        {
            ArgumentNullException.ThrowIfNull(secretCredential);
        }

        _options = options;
        var time = timeProvider ?? TimeProvider.System;
        var logger = (loggerFactory ?? NullLoggerFactory.Instance).CreateLogger<IoTConnectClient>();
        var registry = rateLimiters ?? new RateLimiterRegistry(time, loggerFactory);
        var redactor = new SecretRedactor();
        redactor.Add(options.Password);
        redactor.Add(options.SolutionKey);
        var throttles = options.LearnFromServiceUnavailable ? new HashSet<int> { 429, 503 } : new HashSet<int> { 429 };

        var authPipeline = new ResilientPipeline("IoTConnect.Auth", null, options.Retry, options.RateLimiter, registry, time, options.Transport)
        {
            ThrottleStatuses = throttles,
        };
        var authCaller = new IoTConnectCaller(authPipeline, options.Retry, logger, redactor);
        var keyVault = secretCredential is null
            ? null
            : new KeyVaultSecretReader(new ResilientPipeline("KeyVault", new LoopbackAwareBearerTokenPolicy(secretCredential, options.KeyVaultScope),
                options.Retry, options.RateLimiter, registry, time, options.Transport));
        _credentials = new IoTConnectCredentialSource(options, connectionName, keyVault, redactor, logger);
        _services = new IoTConnectServiceLocator(options, authCaller, _credentials, logger);
        Authenticator = new IoTConnectAuthenticator(authCaller, _services, _credentials, redactor, time, options.TokenRefreshMargin, logger);
        var apiPipeline = new ResilientPipeline("IoTConnect", new IoTConnectBearerPolicy(Authenticator), options.Retry, options.RateLimiter,
            registry, time, options.Transport)
        {
            ThrottleStatuses = throttles,
        };
        _api = new IoTConnectCaller(apiPipeline, options.Retry, logger, redactor);
    }

    /// <summary>The connection's session (shared by every call of this client).</summary>
    public virtual IoTConnectAuthenticator Authenticator { get; } = null!;

    /// <summary>The base URLs the client calls (discovered on first use when not all are configured).</summary>
    public virtual Task<IoTConnectServiceUrls> GetServiceUrlsAsync(CancellationToken cancellationToken = default) =>
        _services.GetAsync(cancellationToken);

    /// <summary>
    /// The name of the rate limiter (in the shared <see cref="RateLimiterRegistry"/>) that paces this client's calls:
    /// one per solution, named by a hash of the solution key, never the key itself.
    /// </summary>
    public virtual async Task<string> GetRateLimiterKeyAsync(CancellationToken cancellationToken = default)
    {
        var credentials = await _credentials.GetAsync(cancellationToken).ConfigureAwait(false);
        var hash = SHA256.HashData(Encoding.UTF8.GetBytes(credentials.SolutionKey));
        return "IoTConnect|solution-" + Convert.ToHexStringLower(hash.AsSpan(0, 6));
    }

    // ---- devices ----

    /// <summary>Devices of the solution (or of one entity, and filtered), every page, ordered as the service orders them.</summary>
    public virtual AsyncPageable<IoTConnectDevice> GetDevicesAsync(IoTConnectDeviceQuery? query = null, CancellationToken cancellationToken = default)
    {
        query ??= new IoTConnectDeviceQuery();
        var path = query.EntityGuid is { } entity ? $"entity/{entity}/device" : "Device";
        var filters = Query(("UniqueId", query.UniqueId), ("TemplateName", query.TemplateName), ("EntityName", query.EntityName),
            ("Acquired", query.Acquired switch { true => "acquired", false => "released", null => null }));
        return Pageable<IoTConnectShapes.Device, IoTConnectDevice>("device", path, filters, "a device list", d => d.ToModel(), cancellationToken);
    }

    /// <summary>One device by its guid.</summary>
    public virtual async Task<IoTConnectDevice> GetDeviceAsync(Guid deviceGuid, CancellationToken cancellationToken = default) =>
        IoTConnectEnvelope.ReadOne<IoTConnectShapes.Device>(
            await SendAsync("device", RequestMethod.Get, $"Device/{deviceGuid}", null, cancellationToken).ConfigureAwait(false), "a device").ToModel();

    /// <summary>One device by its unique id.</summary>
    public virtual async Task<IoTConnectDevice> GetDeviceByUniqueIdAsync(string uniqueId, CancellationToken cancellationToken = default)
    {
        ArgumentException.ThrowIfNullOrWhiteSpace(uniqueId);
        return IoTConnectEnvelope.ReadOne<IoTConnectShapes.Device>(
            await SendAsync("device", RequestMethod.Get, $"Device/uniqueId/{Uri.EscapeDataString(uniqueId)}", null, cancellationToken).ConfigureAwait(false),
            "a device").ToModel();
    }

    /// <summary>Creates a device with its template and entity (409 <c>UniqueIdAlreadyExists</c> when the unique id is taken).</summary>
    public virtual async Task<IoTConnectDeviceCreated> CreateDeviceAsync(IoTConnectDeviceCreateRequest request, CancellationToken cancellationToken = default)
    {
        ArgumentNullException.ThrowIfNull(request);
        var body = new { request.UniqueId, request.DisplayName, DeviceTemplateGuid = request.TemplateGuid, request.EntityGuid, request.Note };
        var created = IoTConnectEnvelope.ReadOne<IoTConnectShapes.DeviceCreated>(
            await SendAsync("device", RequestMethod.Post, "Device", body, cancellationToken).ConfigureAwait(false), "a device creation answer");
        return new IoTConnectDeviceCreated(created.NewId, created.EntityGuid ?? request.EntityGuid, created.UniqueId ?? request.UniqueId);
    }

    /// <summary>Changes a device's display name, entity and note (the fields the service lets change).</summary>
    public virtual Task UpdateDeviceAsync(Guid deviceGuid, string displayName, Guid entityGuid, string? note = null,
        CancellationToken cancellationToken = default)
    {
        ArgumentException.ThrowIfNullOrWhiteSpace(displayName);
        return SendAsync("device", RequestMethod.Put, $"Device/{deviceGuid}", new { displayName, entityGuid, note }, cancellationToken);
    }

    /// <summary>Registers the device on the underlying hub (409 <c>DeviceAlreadyAcquired</c>, <c>DeviceInactive</c>…).</summary>
    public virtual Task AcquireDeviceAsync(string uniqueId, CancellationToken cancellationToken = default)
    {
        ArgumentException.ThrowIfNullOrWhiteSpace(uniqueId);
        return SendAsync("device", RequestMethod.Put, $"Device/{Uri.EscapeDataString(uniqueId)}/acquire", null, cancellationToken);
    }

    /// <summary>Removes the device from the underlying hub (409 <c>DeviceAlreadyReleased</c>…).</summary>
    public virtual Task ReleaseDeviceAsync(string uniqueId, CancellationToken cancellationToken = default)
    {
        ArgumentException.ThrowIfNullOrWhiteSpace(uniqueId);
        return SendAsync("device", RequestMethod.Put, $"Device/{Uri.EscapeDataString(uniqueId)}/release", null, cancellationToken);
    }

    // ---- templates ----

    /// <summary>Device templates, every page.</summary>
    public virtual AsyncPageable<IoTConnectTemplate> GetTemplatesAsync(CancellationToken cancellationToken = default) =>
        Pageable<IoTConnectShapes.Template, IoTConnectTemplate>("device", "device-template", string.Empty, "a template list", t => t.ToModel(), cancellationToken);

    /// <summary>One device template by guid.</summary>
    public virtual async Task<IoTConnectTemplate> GetTemplateAsync(Guid templateGuid, CancellationToken cancellationToken = default) =>
        IoTConnectEnvelope.ReadOne<IoTConnectShapes.Template>(
            await SendAsync("device", RequestMethod.Get, $"device-template/{templateGuid}", null, cancellationToken).ConfigureAwait(false), "a template").ToModel();

    /// <summary>One device template by its code.</summary>
    public virtual async Task<IoTConnectTemplate> GetTemplateByCodeAsync(string code, CancellationToken cancellationToken = default)
    {
        ArgumentException.ThrowIfNullOrWhiteSpace(code);
        return IoTConnectEnvelope.ReadOne<IoTConnectShapes.Template>(
            await SendAsync("device", RequestMethod.Get, $"device-template/template-code/{Uri.EscapeDataString(code)}", null, cancellationToken).ConfigureAwait(false),
            "a template").ToModel();
    }

    // ---- entities ----

    /// <summary>Entities of the solution, every page.</summary>
    public virtual AsyncPageable<IoTConnectEntity> GetEntitiesAsync(CancellationToken cancellationToken = default) =>
        Pageable<IoTConnectShapes.Entity, IoTConnectEntity>("user", "Entity", string.Empty, "an entity list", e => e.ToModel(), cancellationToken);

    /// <summary>The solution's entity tree, in one call (<c>GET Entity/lookup</c>).</summary>
    public virtual async Task<IoTConnectEntityTree> GetEntityTreeAsync(CancellationToken cancellationToken = default)
    {
        var (items, _) = IoTConnectEnvelope.ReadList<IoTConnectShapes.Entity>(
            await SendAsync("user", RequestMethod.Get, "Entity/lookup", null, cancellationToken).ConfigureAwait(false), "an entity lookup");
        return new IoTConnectEntityTree(items.Select(e => e.ToModel()));
    }

    /// <summary>One entity.</summary>
    public virtual async Task<IoTConnectEntity> GetEntityAsync(Guid entityGuid, CancellationToken cancellationToken = default) =>
        IoTConnectEnvelope.ReadOne<IoTConnectShapes.Entity>(
            await SendAsync("user", RequestMethod.Get, $"Entity/{entityGuid}", null, cancellationToken).ConfigureAwait(false), "an entity").ToModel();

    /// <summary>Creates an entity under <paramref name="parentEntityGuid"/>; returns its guid (409 <c>EntityNameAlreadyExists</c> for a taken name).</summary>
    public virtual async Task<Guid> CreateEntityAsync(string name, Guid parentEntityGuid, string? description = null,
        CancellationToken cancellationToken = default)
    {
        ArgumentException.ThrowIfNullOrWhiteSpace(name);
        return IoTConnectEnvelope.ReadOne<IoTConnectShapes.EntityCreated>(
            await SendAsync("user", RequestMethod.Post, "Entity", new { name, parentEntityGuid, description }, cancellationToken).ConfigureAwait(false),
            "an entity creation answer").EntityGuid;
    }

    // ---- plumbing ----

    /// <summary>Sends one call to a service; a 401 renews the session and sends it once more.</summary>
    private async Task<Response> SendAsync(string service, RequestMethod method, string path, object? body, CancellationToken cancellationToken)
    {
        var urls = await _services.GetAsync(cancellationToken).ConfigureAwait(false);
        var limiterKey = await GetRateLimiterKeyAsync(cancellationToken).ConfigureAwait(false);
        var baseUrl = service switch
        {
            "device" => urls.Device,
            "user" => urls.User,
            "firmware" => urls.Firmware,
            _ => throw new ArgumentOutOfRangeException(nameof(service), service, "Not an IoTConnect data service."),
        };
        var call = new IoTConnectCall(service, method, baseUrl, path, body is null ? null : BinaryData.FromObjectAsJson(body, IoTConnectEnvelope.Json));
        try
        {
            return await _api.SendAsync(limiterKey, call, cancellationToken).ConfigureAwait(false);
        }
        catch (IoTConnectApiException ex) when (ex.IsUnauthorized && ex.Service == service)
        {
            // The bearer policy has dropped the refused token, so this attempt goes out with a renewed session.
            return await _api.SendAsync(limiterKey, call, cancellationToken).ConfigureAwait(false);
        }
    }

    private AsyncPageable<T> Pageable<TWire, T>(string service, string path, string filters, string what, Func<TWire, T> map,
        CancellationToken cancellationToken)
        where T : notnull =>
        IoTConnectPaging.Create(async (number, size, token) =>
        {
            var query = string.Create(CultureInfo.InvariantCulture, $"pageNumber={number}&pageSize={size}") + filters;
            var response = await SendAsync(service, RequestMethod.Get, $"{path}?{query}", null, token).ConfigureAwait(false);
            var (items, count) = IoTConnectEnvelope.ReadList<TWire>(response, what);
            return new IoTConnectPage<T>([.. items.Select(map)], count, response);
        }, _options.PageSize, cancellationToken);

    private static string Query(params (string Name, string? Value)[] parameters) =>
        string.Concat(parameters.Where(p => !string.IsNullOrEmpty(p.Value)).Select(p => $"&{p.Name}={Uri.EscapeDataString(p.Value!)}"));
}
