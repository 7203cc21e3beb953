using System.Text.Json;
using System.Text.Json.Serialization;
using Azure;
using Azure.Core;
using Fleet.Shared.Identity;
using Fleet.Shared.Paging;
using Fleet.Shared.Resilience;
using Microsoft.Extensions.Logging;
using Microsoft.Extensions.Logging.Abstractions;

namespace Fleet.Shared.Sphere;

/// <summary>
/// Typed client of the Azure Sphere public API (v2). Safe for concurrent use; create one per process (the DI
/// extension does). Tokens come from a <see cref="TokenCredential"/> through Azure.Core's bearer-token policy, which
/// caches them and refreshes them before they expire. Every attempt waits for a permit from the tenant's shared
/// <see cref="AdaptiveRateLimiter"/>; failed attempts are retried by a Polly pipeline as
/// <see cref="SphereRetryOptions"/> describes. Failures surface as <see cref="SphereApiException"/>.
/// </summary>
public class SphereClient
{
    private const string ContinuationHeader = "Sphere-Continuation";
    private const string RequestIdHeader = "x-ms-request-id";

    private static readonly JsonSerializerOptions Json = new()
    {
        PropertyNameCaseInsensitive = true,
        DefaultIgnoreCondition = JsonIgnoreCondition.WhenWritingNull,
    };

    private readonly ResilientPipeline _pipeline = null!;
    private readonly SphereClientOptions _options = null!;
    private readonly TimeProvider _time = null!;
    private readonly ILogger _logger = null!;
    private readonly Uri _endpoint = null!;
    private readonly string _limiterPrefix = null!;

    /// <summary>For mocking.</summary>
    protected SphereClient()
    {
    }

    /// <summary>A client of the production endpoint with default settings.</summary>
    public SphereClient(TokenCredential credential)
        : this(credential, new SphereClientOptions())
    {
    }

    /// <summary>A client with its own rate limiters, the system clock and no logging.</summary>
    public SphereClient(TokenCredential credential, SphereClientOptions options)
        : this(credential, options, rateLimiters: null, timeProvider: null, loggerFactory: null)
    {
    }

    /// <summary>A client with every dependency given.</summary>
    /// <param name="credential">Source of bearer tokens.</param>
    /// <param name="options">Settings; read once, later changes have no effect.</param>
    /// <param name="rateLimiters">Limiters shared with other clients of the process; a private registry when null.</param>
    /// <param name="timeProvider">Clock for retry delays, limiter pacing and operation polling.</param>
    /// <param name="loggerFactory">Logs retries, throttling and operation waits.</param>
    public SphereClient(
        TokenCredential credential,
        SphereClientOptions options,
        RateLimiterRegistry? rateLimiters,
        TimeProvider? timeProvider,
        ILoggerFactory? loggerFactory)
    {
        ArgumentNullException.ThrowIfNull(credential);
        ArgumentNullException.ThrowIfNull(options);
        ArgumentNullException.ThrowIfNull(options.Endpoint);
        ArgumentException.ThrowIfNullOrWhiteSpace(options.Scope);
        _options = options;
        _time = timeProvider ?? TimeProvider.System;
        _logger = (loggerFactory ?? NullLoggerFactory.Instance).CreateLogger<SphereClient>();
        var endpoint = options.Endpoint.AbsoluteUri;
        _endpoint = new Uri(endpoint.EndsWith('/') ? endpoint : endpoint + "/");
        _limiterPrefix = _endpoint.GetLeftPart(UriPartial.Authority) + "|";
        _pipeline = new ResilientPipeline("Sphere", new LoopbackAwareBearerTokenPolicy(credential, options.Scope),
            options.Retry, options.RateLimiter, rateLimiters ?? new RateLimiterRegistry(_time, loggerFactory), _time,
            options.Transport);
    }

    /// <summary>Base address the client calls.</summary>
    public virtual Uri Endpoint => _endpoint;

    // ---- Tenants ----

    /// <summary>Tenants the caller is a user of (<c>GET v2/tenants</c>, a bare array).</summary>
    public virtual async Task<IReadOnlyList<Tenant>> GetTenantsAsync(CancellationToken cancellationToken = default)
    {
        var response = await SendAsync(new SphereRequest(RequestMethod.Get, "v2/tenants", null), cancellationToken)
            .ConfigureAwait(false);
        return Read<List<Tenant>>(response);
    }

    /// <summary>One tenant.</summary>
    public virtual Task<Tenant> GetTenantAsync(string tenantId, CancellationToken cancellationToken = default) =>
        GetAsync<Tenant>(tenantId, TenantPath(tenantId), cancellationToken);

    // ---- Products ----

    /// <summary>Products of a tenant, every page.</summary>
    public virtual AsyncPageable<Product> GetProductsAsync(string tenantId,
        CancellationToken cancellationToken = default) =>
        Pageable<Product>(tenantId, TenantPath(tenantId, "products"), cancellationToken);

    /// <summary>Starts creating a product; with <paramref name="createDefaultGroups"/> it gets the five default groups.</summary>
    public virtual Task<SphereOperation> CreateProductAsync(string tenantId, string name, string? description = null,
        bool createDefaultGroups = true, CancellationToken cancellationToken = default)
    {
        ArgumentException.ThrowIfNullOrWhiteSpace(name);
        var body = new { Name = name, Description = description, CreateDefaultGroups = createDefaultGroups };
        return OperationAsync(tenantId, RequestMethod.Post, TenantPath(tenantId, "products"), JsonBody(body),
            cancellationToken);
    }

    /// <summary>One product.</summary>
    public virtual Task<Product> GetProductAsync(string tenantId, string productId,
        CancellationToken cancellationToken = default) =>
        GetAsync<Product>(tenantId, TenantPath(tenantId, "products", productId), cancellationToken);

    /// <summary>Changes a product's name or description.</summary>
    public virtual async Task<Product> UpdateProductAsync(string tenantId, string productId, ProductPatch patch,
        CancellationToken cancellationToken = default)
    {
        ArgumentNullException.ThrowIfNull(patch);
        var response = await SendAsync(
            new SphereRequest(RequestMethod.Patch, TenantPath(tenantId, "products", productId), tenantId,
                JsonBody(patch)),
            cancellationToken).ConfigureAwait(false);
        return Read<Product>(response);
    }

    /// <summary>Starts deleting a product.</summary>
    public virtual Task<SphereOperation> DeleteProductAsync(string tenantId, string productId,
        CancellationToken cancellationToken = default) =>
        OperationAsync(tenantId, RequestMethod.Delete, TenantPath(tenantId, "products", productId), null,
            cancellationToken);

    /// <summary>Device groups of a product, every page.</summary>
    public virtual AsyncPageable<DeviceGroup> GetProductDeviceGroupsAsync(string tenantId, string productId,
        CancellationToken cancellationToken = default) =>
        Pageable<DeviceGroup>(tenantId, TenantPath(tenantId, "products", productId, "deviceGroups"),
            cancellationToken);

    /// <summary>Devices of a product, every page.</summary>
    public virtual AsyncPageable<Device> GetProductDevicesAsync(string tenantId, string productId,
        CancellationToken cancellationToken = default) =>
        Pageable<Device>(tenantId, TenantPath(tenantId, "products", productId, "devices"), cancellationToken);

    // ---- Device groups ----

    /// <summary>Device groups of a tenant, every page.</summary>
    public virtual AsyncPageable<DeviceGroup> GetDeviceGroupsAsync(string tenantId,
        CancellationToken cancellationToken = default) =>
        Pageable<DeviceGroup>(tenantId, TenantPath(tenantId, "devicegroups"), cancellationToken);

    /// <summary>Creates a device group (synchronously: the service answers with the group).</summary>
    public virtual async Task<DeviceGroup> CreateDeviceGroupAsync(string tenantId, DeviceGroupCreateRequest request,
        CancellationToken cancellationToken = default)
    {
        ArgumentNullException.ThrowIfNull(request);
        var response = await SendAsync(
            new SphereRequest(RequestMethod.Post, TenantPath(tenantId, "devicegroups"), tenantId, JsonBody(request)),
            cancellationToken).ConfigureAwait(false);
        return Read<DeviceGroup>(response);
    }

    /// <summary>One device group, with its current deployment.</summary>
    public virtual Task<DeviceGroup> GetDeviceGroupAsync(string tenantId, string deviceGroupId,
        CancellationToken cancellationToken = default) =>
        GetAsync<DeviceGroup>(tenantId, TenantPath(tenantId, "devicegroups", deviceGroupId), cancellationToken);

    /// <summary>Changes a device group.</summary>
    public virtual async Task<DeviceGroup> UpdateDeviceGroupAsync(string tenantId, string deviceGroupId,
        DeviceGroupPatch patch, CancellationToken cancellationToken = default)
    {
        ArgumentNullException.ThrowIfNull(patch);
        var response = await SendAsync(
            new SphereRequest(RequestMethod.Patch, TenantPath(tenantId, "devicegroups", deviceGroupId), tenantId,
                JsonBody(patch)),
            cancellationToken).ConfigureAwait(false);
        return Read<DeviceGroup>(response);
    }

    /// <summary>Starts deleting a device group.</summary>
    public virtual Task<SphereOperation> DeleteDeviceGroupAsync(string tenantId, string deviceGroupId,
        CancellationToken cancellationToken = default) =>
        OperationAsync(tenantId, RequestMethod.Delete, TenantPath(tenantId, "devicegroups", deviceGroupId), null,
            cancellationToken);

    /// <summary>Devices of a device group, every page.</summary>
    public virtual AsyncPageable<Device> GetDeviceGroupDevicesAsync(string tenantId, string deviceGroupId,
        CancellationToken cancellationToken = default) =>
        Pageable<Device>(tenantId, TenantPath(tenantId, "devicegroups", deviceGroupId, "devices"),
            cancellationToken);

    // ---- Devices ----

    /// <summary>Devices claimed into a tenant, every page.</summary>
    public virtual AsyncPageable<Device> GetDevicesAsync(string tenantId,
        CancellationToken cancellationToken = default) =>
        Pageable<Device>(tenantId, TenantPath(tenantId, "devices"), cancellationToken);

    /// <summary>One device.</summary>
    public virtual Task<Device> GetDeviceAsync(string tenantId, string deviceId,
        CancellationToken cancellationToken = default) =>
        GetAsync<Device>(tenantId, TenantPath(tenantId, "devices", deviceId), cancellationToken);

    /// <summary>Starts claiming a device into the tenant (one-time and irreversible).</summary>
    public virtual Task<SphereOperation> ClaimDeviceAsync(string tenantId, string deviceId,
        CancellationToken cancellationToken = default) =>
        OperationAsync(tenantId, RequestMethod.Put, TenantPath(tenantId, "devices", deviceId, "claim"), null,
            cancellationToken);

    /// <summary>Starts moving a device to a device group (the body is the bare JSON string of the group id).</summary>
    public virtual Task<SphereOperation> MoveDeviceAsync(string tenantId, string deviceId, string deviceGroupId,
        CancellationToken cancellationToken = default)
    {
        ArgumentException.ThrowIfNullOrWhiteSpace(deviceGroupId);
        return OperationAsync(tenantId, RequestMethod.Put, TenantPath(tenantId, "devices", deviceId, "devicegroup"),
            JsonBody(deviceGroupId), cancellationToken);
    }

    /// <summary>Images the device should have (targeted by its group's deployment; not necessarily installed).</summary>
    public virtual AsyncPageable<ImageMetadata> GetDeviceImagesAsync(string tenantId, string deviceId,
        CancellationToken cancellationToken = default) =>
        Pageable<ImageMetadata>(tenantId, TenantPath(tenantId, "devices", deviceId, "images"), cancellationToken);

    /// <summary>Device events (e.g. finished application updates), every page.</summary>
    public virtual AsyncPageable<DeviceInsight> GetDeviceInsightsAsync(string tenantId,
        CancellationToken cancellationToken = default) =>
        Pageable<DeviceInsight>(tenantId, TenantPath(tenantId, "getDeviceInsights"), cancellationToken);

    // ---- Deployments and images ----

    /// <summary>Starts deploying images to a device group (the body is a bare JSON array of image ids).</summary>
    public virtual Task<SphereOperation> CreateDeploymentAsync(string tenantId, string deviceGroupId,
        IEnumerable<string> imageIds, CancellationToken cancellationToken = default)
    {
        ArgumentNullException.ThrowIfNull(imageIds);
        string[] ids = [.. imageIds];
        return OperationAsync(tenantId, RequestMethod.Post,
            TenantPath(tenantId, "devicegroups", deviceGroupId, "deployments"), JsonBody(ids), cancellationToken);
    }

    /// <summary>Deployments of a device group, every page.</summary>
    public virtual AsyncPageable<Deployment> GetDeploymentsAsync(string tenantId, string deviceGroupId,
        CancellationToken cancellationToken = default) =>
        Pageable<Deployment>(tenantId, TenantPath(tenantId, "devicegroups", deviceGroupId, "deployments"),
            cancellationToken);

    /// <summary>Starts uploading an image package (sent as application/octet-stream).</summary>
    public virtual Task<SphereOperation> UploadImageAsync(string tenantId, BinaryData imagePackage,
        CancellationToken cancellationToken = default)
    {
        ArgumentNullException.ThrowIfNull(imagePackage);
        return OperationAsync(tenantId, RequestMethod.Post, TenantPath(tenantId, "images"),
            new Body(imagePackage, "application/octet-stream"), cancellationToken);
    }

    /// <summary>Images of a tenant, every page.</summary>
    public virtual AsyncPageable<ImageMetadata> GetImagesAsync(string tenantId,
        CancellationToken cancellationToken = default) =>
        Pageable<ImageMetadata>(tenantId, TenantPath(tenantId, "images"), cancellationToken);

    /// <summary>Metadata of one image.</summary>
    public virtual Task<ImageMetadata> GetImageMetadataAsync(string tenantId, string imageId,
        CancellationToken cancellationToken = default) =>
        GetAsync<ImageMetadata>(tenantId, TenantPath(tenantId, "images", imageId, "metadata"), cancellationToken);

    // ---- Operations ----

    /// <summary>The current state of an operation.</summary>
    public virtual async Task<SphereOperation> GetOperationAsync(string tenantId, string operationId,
        CancellationToken cancellationToken = default)
    {
        var operation = await GetAsync<SphereOperation>(tenantId, TenantPath(tenantId, "operations", operationId),
            cancellationToken).ConfigureAwait(false);
        return operation.TenantId is null ? operation with { TenantId = tenantId } : operation;
    }

    /// <summary>
    /// Polls an operation every <see cref="SphereClientOptions.OperationPollInterval"/> until it finishes and returns
    /// its final state. With <paramref name="ensureSuccess"/>, a Failed operation throws
    /// <see cref="SphereApiException"/> carrying its error code and message (CompleteWithErrors is returned).
    /// </summary>
    /// <exception cref="TimeoutException">Still unfinished after <see cref="SphereClientOptions.OperationTimeout"/>.</exception>
    public virtual Task<SphereOperation> WaitForOperationAsync(SphereOperation operation, bool ensureSuccess = true,
        CancellationToken cancellationToken = default)
    {
        ArgumentNullException.ThrowIfNull(operation);
        if (operation.TenantId is null)
        {
            throw new ArgumentException("The operation names no tenant; use the overload that takes one.",
                nameof(operation));
        }

        return WaitForOperationCoreAsync(operation.TenantId, operation, ensureSuccess, cancellationToken);
    }

    /// <summary>Like <see cref="WaitForOperationAsync(SphereOperation, bool, CancellationToken)"/>, from ids.</summary>
    public virtual async Task<SphereOperation> WaitForOperationAsync(string tenantId, string operationId,
        bool ensureSuccess = true, CancellationToken cancellationToken = default)
    {
        var operation = await GetOperationAsync(tenantId, operationId, cancellationToken).ConfigureAwait(false);
        return await WaitForOperationCoreAsync(tenantId, operation, ensureSuccess, cancellationToken)
            .ConfigureAwait(false);
    }

    private async Task<SphereOperation> WaitForOperationCoreAsync(string tenantId, SphereOperation operation,
        bool ensureSuccess, CancellationToken cancellationToken)
    {
        var started = _time.GetTimestamp();
        var current = operation;
        while (!current.IsFinished)
        {
            var elapsed = _time.GetElapsedTime(started);
            if (elapsed + _options.OperationPollInterval > _options.OperationTimeout)
            {
                _logger.OperationWaitTimedOut(current.OperationId, current.OperationType, tenantId, current.State,
                    elapsed);
                throw new TimeoutException(
                    $"Sphere operation {current.OperationId} ({current.OperationType}) was still {current.State} " +
                    $"after {elapsed:g}; OperationTimeout is {_options.OperationTimeout:g}.");
            }

            _logger.OperationWaiting(current.OperationId, current.OperationType, tenantId, current.State);
            await Task.Delay(_options.OperationPollInterval, _time, cancellationToken).ConfigureAwait(false);
            current = await GetOperationAsync(tenantId, current.OperationId, cancellationToken).ConfigureAwait(false);
        }

        var waited = _time.GetElapsedTime(started);
        _logger.OperationFinished(current.OperationId, current.OperationType, tenantId, current.State, waited);
        if (ensureSuccess && current.State == OperationState.Failed)
        {
            throw SphereApiException.FromFailedOperation(current);
        }

        return current;
    }

    // ---- Plumbing ----

    private static string TenantPath(string tenantId, params string[] segments)
    {
        ArgumentException.ThrowIfNullOrWhiteSpace(tenantId);
        var path = "v2/tenants/" + Uri.EscapeDataString(tenantId);
        foreach (var segment in segments)
        {
            ArgumentException.ThrowIfNullOrWhiteSpace(segment, nameof(segments));
            path += "/" + Uri.EscapeDataString(segment);
        }

        return path;
    }

    private static Body JsonBody<T>(T value) =>
        new(BinaryData.FromBytes(JsonSerializer.SerializeToUtf8Bytes(value, Json)), "application/json");

    private static T Read<T>(SphereResponse response)
    {
        try
        {
            return response.Content.ToObjectFromJson<T>(Json)
                ?? throw new JsonException("The response body was null.");
        }
        catch (JsonException ex)
        {
            throw new SphereApiException(response.Status, null, "Unreadable response", ex.Message, response.RequestId,
                $"Sphere answered {response.Status} with a body that is not a {typeof(T).Name}: {ex.Message}", ex);
        }
    }

    private async Task<T> GetAsync<T>(string tenantId, string path, CancellationToken cancellationToken)
    {
        var response = await SendAsync(new SphereRequest(RequestMethod.Get, path, tenantId), cancellationToken)
            .ConfigureAwait(false);
        return Read<T>(response);
    }

    private async Task<SphereOperation> OperationAsync(string tenantId, RequestMethod method, string path, Body? body,
        CancellationToken cancellationToken)
    {
        var response = await SendAsync(new SphereRequest(method, path, tenantId, body), cancellationToken)
            .ConfigureAwait(false);
        var operation = Read<SphereOperation>(response);
        return operation.TenantId is null ? operation with { TenantId = tenantId } : operation;
    }

    private ContinuationPageable<T> Pageable<T>(string tenantId, string path, CancellationToken cancellationToken)
        where T : notnull =>
        new(
            async (continuation, pageSize, token) =>
            {
                var size = pageSize ?? _options.PageSize;
                var fullPath = size is { } n ? $"{path}?maxPageSize={n}" : path;
                var response = await SendAsync(
                    new SphereRequest(RequestMethod.Get, fullPath, tenantId, Continuation: continuation), token)
                    .ConfigureAwait(false);
                var page = Read<ItemCollection<T>>(response);
                return Page<T>.FromValues(page.Items ?? [], page.ContinuationToken, response.Raw);
            },
            cancellationToken);

    /// <summary>Sends one request through limiter, retries and pipeline; returns a 2xx response or throws.</summary>
    private async Task<SphereResponse> SendAsync(SphereRequest request, CancellationToken cancellationToken)
    {
        var result = await _pipeline.SendAsync(_limiterPrefix + (request.TenantId ?? string.Empty),
            r => Prepare(r, request), notice => OnRetry(request, notice), cancellationToken).ConfigureAwait(false);

        var method = request.Method.Method;
        var logPath = LogPath(request.Path);
        if (result.Response is { } raw)
        {
            var response = ToResponse(raw, result.RetryAfter);
            if (result.IsSuccess)
            {
                return response;
            }

            var failure = Failure(request, response);
            if (result.Attempts > 1 && failure.IsTransient)
            {
                _logger.RetriesExhausted(method, logPath, result.Attempts, result.Elapsed, Describe(failure));
            }

            _logger.RequestFailed(method, logPath, failure.Status, failure.ErrorCode, failure.RequestId);
            throw failure;
        }

        var exception = result.Exception!;
        if (exception is OperationCanceledException && cancellationToken.IsCancellationRequested)
        {
            throw new OperationCanceledException("The Sphere call was cancelled.", exception, cancellationToken);
        }

        var elapsed = result.Elapsed;
        if (result.TimeBudgetSpent)
        {
            // The call's time budget ran out: report the last failure the service gave, if any.
            var last = result.LastFailure is { } lastRaw
                ? Failure(request, ToResponse(lastRaw, result.LastFailureRetryAfter))
                : null;
            var reason = last is null ? "no response" : Describe(last);
            _logger.RetriesExhausted(method, logPath, result.Attempts, elapsed, reason);
            throw new SphereApiException(
                last?.Status ?? 0, last?.ErrorCode, last?.Title, last?.Detail, last?.RequestId,
                $"Sphere {method} {logPath} gave up after {result.Attempts} attempt(s) in {elapsed:g}, the limit " +
                $"set by Retry.MaxElapsedTime ({_options.Retry.MaxElapsedTime:g}); last outcome: {reason}.",
                exception)
            {
                Method = method,
                Path = logPath,
                RetryAfter = last?.RetryAfter,
                Errors = last?.Errors ?? [],
            };
        }

        if (result.Attempts > 1)
        {
            _logger.RetriesExhausted(method, logPath, result.Attempts, elapsed, exception.GetType().Name);
        }

        throw new SphereApiException(0, null, "No response", exception.Message, null,
            $"Sphere {method} {logPath} got no response after {result.Attempts} attempt(s): {exception.Message}",
            exception)
        {
            Method = method,
            Path = logPath,
        };
    }

    private void Prepare(Request request, SphereRequest call)
    {
        request.Method = call.Method;
        request.Uri.Reset(new Uri(_endpoint, call.Path));
        request.Headers.Add(HttpHeader.Names.Accept, "application/json");
        if (call.Continuation is { } continuation)
        {
            request.Headers.Add(ContinuationHeader, continuation);
        }

        ResilientPipeline.SetContent(request, call.Body?.Data, call.Body?.ContentType);
    }

    private static SphereResponse ToResponse(Response raw, TimeSpan? retryAfter)
    {
        raw.Headers.TryGetValue(RequestIdHeader, out var requestId);
        return new SphereResponse(raw.Status, raw.Content, requestId, retryAfter, raw);
    }

    private void OnRetry(SphereRequest request, RetryNotice notice)
    {
        var method = request.Method.Method;
        var path = LogPath(request.Path);
        if (notice.Response is { } raw)
        {
            if (raw.Status == 429)
            {
                _logger.RequestThrottled(method, path, request.TenantId ?? "-", notice.Retry, notice.Delay);
                return;
            }

            _logger.RequestRetrying(method, path, Describe(Failure(request, ToResponse(raw, notice.RetryAfter))),
                notice.Retry, notice.Delay);
            return;
        }

        _logger.RequestRetrying(method, path, notice.Exception?.GetType().Name ?? "unknown", notice.Retry,
            notice.Delay);
    }

    private static string LogPath(string path)
    {
        var query = path.IndexOf('?', StringComparison.Ordinal);
        return query < 0 ? path : path[..query];
    }

    private static string Describe(SphereApiException failure) =>
        failure.ErrorCode is null ? failure.Status.ToString(System.Globalization.CultureInfo.InvariantCulture)
            : $"{failure.Status} {failure.ErrorCode}";

    private static SphereApiException Failure(SphereRequest request, SphereResponse response)
    {
        var errors = ParseErrors(response.Content);
        var first = errors.Count > 0 ? errors[0] : null;
        var method = request.Method.Method;
        var path = LogPath(request.Path);
        var text = first?.Title is { } title
            ? first.Detail is { } detail ? $"{title}: {detail}" : title
            : first?.Detail ?? "no error details";
        var message = $"Sphere {method} {path} failed with {response.Status}" +
            (first?.ErrorCode is { } code ? $" {code}" : string.Empty) + $": {text}" +
            (response.RequestId is { } id ? $" (request id {id})." : ".");
        return new SphereApiException(response.Status, first?.ErrorCode, first?.Title, first?.Detail,
            response.RequestId, message)
        {
            Method = method,
            Path = path,
            RetryAfter = response.RetryAfter,
            Errors = errors,
        };
    }

    private static IReadOnlyList<ApiErrorDetails> ParseErrors(BinaryData content)
    {
        try
        {
            var span = content.ToMemory().Span.TrimStart(" \t\r\n"u8);
            if (span.IsEmpty)
            {
                return [];
            }

            if (span[0] == (byte)'[')
            {
                return content.ToObjectFromJson<List<ApiErrorDetails>>(Json) ?? [];
            }

            if (span[0] == (byte)'{')
            {
                return content.ToObjectFromJson<ApiErrorDetails>(Json) is { } single ? [single] : [];
            }
        }
        catch (JsonException)
        {
            // A body that is not the documented error shape still fails the call; only the details are lost.
        }

        return [];
    }

    private sealed record ItemCollection<T>(List<T>? Items, string? ContinuationToken);

    private sealed record Body(BinaryData Data, string ContentType);

    private readonly record struct SphereRequest(
        RequestMethod Method,
        string Path,
        string? TenantId,
        Body? Body = null,
        string? Continuation = null);

    private sealed record SphereResponse(
        int Status,
        BinaryData Content,
        string? RequestId,
        TimeSpan? RetryAfter,
        Response Raw);
}
