using System.Globalization;
using System.Text.Json;
using Azure;
using Azure.Core;
using Azure.Core.Pipeline;
using Fleet.Shared.Identity;
using Fleet.Shared.Paging;
using Fleet.Shared.Resilience;
using Microsoft.Extensions.Logging;
using Microsoft.Extensions.Logging.Abstractions;

namespace Fleet.Shared.IoTCentral;

/// <summary>
/// Typed client of one Azure IoT Central application's REST API (data plane <c>2022-07-31</c>). Safe for concurrent
/// use; create one per application and process (the DI extension does). It authenticates with an Entra identity
/// (bearer tokens for <see cref="IoTCentralClientOptions.Scope"/>, cached and refreshed by Azure.Core) or with an
/// IoT Central API token (sent as the whole Authorization header), sends <c>api-version</c> on every call, follows
/// <c>nextLink</c> as given, and sends every attempt through the shared <see cref="ResilientPipeline"/>: a permit
/// from the application's adaptive rate limiter (IoT Central allows 20 requests/s per application and documents no
/// Retry-After), then retries as <see cref="IoTCentralClientOptions.Retry"/> says. Failures surface as
/// <see cref="IoTCentralApiException"/>.
/// </summary>
public partial class IoTCentralClient
{
    private const string RequestIdHeader = "x-ms-request-id";
    private const string ErrorCodeHeader = "x-ms-error-code";

    private readonly ResilientPipeline _pipeline = null!;
    private readonly IoTCentralClientOptions _options = null!;
    private readonly TimeProvider _time = null!;
    private readonly ILogger _logger = null!;
    private readonly Uri _endpoint = null!;
    private readonly string _limiterKey = null!;
    private readonly TokenCredential? _credential;
    private readonly ApiTokenHolder? _apiToken;
    private long _nextExpiryCheckTicks = long.MinValue;

    /// <summary>For mocking.</summary>
    protected IoTCentralClient()
    {
    }

    /// <summary>A client authenticating with an Entra identity.</summary>
    public IoTCentralClient(TokenCredential credential, IoTCentralClientOptions options)
        : this(options, credential, rateLimiters: null, timeProvider: null, loggerFactory: null)
    {
        ArgumentNullException.ThrowIfNull(credential);
    }

    /// <summary>A client authenticating with the API token of <see cref="IoTCentralClientOptions.ApiToken"/> or <see cref="IoTCentralClientOptions.ApiTokenFile"/>.</summary>
    public IoTCentralClient(IoTCentralClientOptions options)
        : this(options, credential: null, rateLimiters: null, timeProvider: null, loggerFactory: null)
    {
    }

    /// <summary>A client with every dependency given.</summary>
    /// <param name="options">Settings; read once. An API token in them wins over <paramref name="credential"/>.</param>
    /// <param name="credential">Entra identity; required when the options carry no API token.</param>
    /// <param name="rateLimiters">Limiters shared with other clients of the process; a private registry when null.</param>
    /// <param name="timeProvider">Clock of retries, limiter pacing, job watching and token expiry.</param>
    /// <param name="loggerFactory">Logs retries, throttling, token expiry and job progress.</param>
    /// <exception cref="InvalidOperationException">The settings name no application, or no usable authentication.</exception>
    public IoTCentralClient(
        IoTCentralClientOptions options,
        TokenCredential? credential,
        RateLimiterRegistry? rateLimiters,
        TimeProvider? timeProvider,
        ILoggerFactory? loggerFactory)
    {
        ArgumentNullException.ThrowIfNull(options);
        _options = options;
        _time = timeProvider ?? TimeProvider.System;
        _logger = (loggerFactory ?? NullLoggerFactory.Instance).CreateLogger<IoTCentralClient>();
        _endpoint = options.ResolveEndpoint()
            ?? throw new InvalidOperationException("The IoT Central settings name no application: set appSubdomain or endpoint.");
        _limiterKey = _endpoint.AbsoluteUri;

        HttpPipelinePolicy auth;
        if (ApiTokenSource.Read(options) is { } token)
        {
            _apiToken = new ApiTokenHolder(token);
            auth = new ApiTokenAuthenticationPolicy(_apiToken);
        }
        else
        {
            _credential = credential ?? throw new InvalidOperationException(
                "The IoT Central client needs an Entra credential or an API token (apiToken or apiTokenFile).");
            ArgumentException.ThrowIfNullOrWhiteSpace(options.Scope);
            auth = new LoopbackAwareBearerTokenPolicy(credential, options.Scope);
        }

        _pipeline = new ResilientPipeline("IoTCentral", auth, options.Retry, options.RateLimiter,
            rateLimiters ?? new RateLimiterRegistry(_time, loggerFactory), _time, options.Transport);
        CheckApiTokenExpiry();
    }

    /// <summary>The API base the client calls, e.g. <c>https://contoso.azureiotcentral.com/api/</c>.</summary>
    public virtual Uri Endpoint => _endpoint;

    /// <summary>True when the client authenticates with an API token rather than an Entra identity.</summary>
    public virtual bool UsesApiToken => _apiToken is not null;

    /// <summary>Expiry of the API token in use; null for Entra authentication.</summary>
    public virtual DateTimeOffset? ApiTokenExpiresOn => _apiToken?.Current.ExpiresOn;

    // ---- Plumbing ----

    private static string PathOf(params string[] segments)
    {
        var path = string.Empty;
        foreach (var segment in segments)
        {
            ArgumentException.ThrowIfNullOrWhiteSpace(segment, nameof(segments));
            path += (path.Length == 0 ? string.Empty : "/") + Uri.EscapeDataString(segment);
        }

        return path;
    }

    private static Body JsonBody<T>(T value, string contentType = "application/json") =>
        new(BinaryData.FromBytes(JsonSerializer.SerializeToUtf8Bytes(value, IoTCentralJson.Options)), contentType);

    private T Read<T>(Call call, Response response)
    {
        try
        {
            return response.Content.ToObjectFromJson<T>(IoTCentralJson.Options)
                ?? throw new JsonException("The response body was null.");
        }
        catch (JsonException ex)
        {
            throw new IoTCentralApiException(response.Status, null, ex.Message, RequestIdOf(response, null),
                $"IoT Central {call.Method.Method} {call.LogPath(_endpoint)} answered {response.Status} with a body " +
                $"that is not a {typeof(T).Name}: {ex.Message}", ex)
            {
                Method = call.Method.Method,
                Path = call.LogPath(_endpoint),
            };
        }
    }

    private async Task<T> GetAsync<T>(string path, CancellationToken cancellationToken)
    {
        var call = new Call(RequestMethod.Get, path);
        return Read<T>(call, await SendAsync(call, cancellationToken).ConfigureAwait(false));
    }

    private async Task<T> SendForAsync<T>(RequestMethod method, string path, Body? body,
        CancellationToken cancellationToken)
    {
        var call = new Call(method, path, Body: body);
        return Read<T>(call, await SendAsync(call, cancellationToken).ConfigureAwait(false));
    }

    /// <summary>A list that follows <c>nextLink</c> as the service gives it.</summary>
    private ContinuationPageable<T> Pageable<T>(string path, string? query, CancellationToken cancellationToken)
        where T : notnull =>
        new(
            async (nextLink, _, token) =>
            {
                var call = nextLink is null
                    ? new Call(RequestMethod.Get, path, query)
                    : new Call(RequestMethod.Get, path, Absolute: NextLinkUri(nextLink));
                var response = await SendAsync(call, token).ConfigureAwait(false);
                var page = Read<ValueCollection<T>>(call, response);
                return Page<T>.FromValues(page.Value ?? [], page.NextLink, response);
            },
            cancellationToken);

    /// <summary>
    /// A nextLink must point into the same application: following one elsewhere would hand the caller's token to
    /// another host.
    /// </summary>
    private Uri NextLinkUri(string nextLink)
    {
        if (!Uri.TryCreate(nextLink, UriKind.Absolute, out var uri)
            || !string.Equals(uri.GetLeftPart(UriPartial.Authority), _endpoint.GetLeftPart(UriPartial.Authority),
                StringComparison.OrdinalIgnoreCase))
        {
            throw new IoTCentralApiException(0, "InvalidNextLink", "The nextLink is not an absolute URL of this application.",
                null, $"IoT Central answered a nextLink outside {_endpoint.GetLeftPart(UriPartial.Authority)}; " +
                "the client does not follow it (it would send the caller's token elsewhere).");
        }

        return uri;
    }

    /// <summary>Sends one request through limiter, retries and pipeline; returns a 2xx response or throws.</summary>
    private async Task<Response> SendAsync(Call call, CancellationToken cancellationToken)
    {
        CheckApiTokenExpiry();
        var result = await _pipeline.SendAsync(_limiterKey, r => Prepare(r, call), notice => OnRetry(call, notice),
            cancellationToken).ConfigureAwait(false);
        var method = call.Method.Method;
        var path = call.LogPath(_endpoint);
        if (result.Response is { } response)
        {
            if (result.IsSuccess)
            {
                return response;
            }

            var failure = Failure(call, response, result.RetryAfter);
            if (result.Attempts > 1 && failure.IsTransient)
            {
                _logger.RetriesExhausted(method, path, result.Attempts, result.Elapsed, Describe(failure));
            }

            _logger.RequestFailed(method, path, failure.Status, failure.ErrorCode, failure.RequestId);
            if (failure.IsForbidden && _credential is not null && !call.IsDiagnosis)
            {
                throw await DiagnoseForbiddenAsync(call, failure, cancellationToken).ConfigureAwait(false);
            }

            throw failure;
        }

        var exception = result.Exception!;
        if (exception is OperationCanceledException && cancellationToken.IsCancellationRequested)
        {
            throw new OperationCanceledException("The IoT Central call was cancelled.", exception, cancellationToken);
        }

        if (result.TimeBudgetSpent)
        {
            var last = result.LastFailure is { } lastResponse
                ? Failure(call, lastResponse, result.LastFailureRetryAfter)
                : null;
            var reason = last is null ? "no response" : Describe(last);
            _logger.RetriesExhausted(method, path, result.Attempts, result.Elapsed, reason);
            throw new IoTCentralApiException(last?.Status ?? 0, last?.ErrorCode, last?.ErrorMessage, last?.RequestId,
                $"IoT Central {method} {path} gave up after {result.Attempts} attempt(s) in {result.Elapsed:g}, the " +
                $"limit set by Retry.MaxElapsedTime ({_options.Retry.MaxElapsedTime:g}); last outcome: {reason}.",
                exception)
            {
                Method = method,
                Path = path,
                RetryAfter = last?.RetryAfter,
            };
        }

        if (result.Attempts > 1)
        {
            _logger.RetriesExhausted(method, path, result.Attempts, result.Elapsed, exception.GetType().Name);
        }

        throw new IoTCentralApiException(0, null, exception.Message, null,
            $"IoT Central {method} {path} got no response after {result.Attempts} attempt(s): {exception.Message}",
            exception)
        {
            Method = method,
            Path = path,
        };
    }

    private void Prepare(Request request, Call call)
    {
        request.Method = call.Method;
        request.Uri.Reset(call.Absolute is { } absolute ? WithApiVersion(absolute) : RequestUri(call));
        request.Headers.Add(HttpHeader.Names.Accept, "application/json");
        if (call.IfMatch is { } etag)
        {
            request.Headers.Add(HttpHeader.Names.IfMatch, etag);
        }

        ResilientPipeline.SetContent(request, call.Body?.Data, call.Body?.ContentType);
    }

    private Uri RequestUri(Call call)
    {
        var query = "api-version=" + Uri.EscapeDataString(_options.ApiVersion);
        return new Uri(_endpoint, call.Path + "?" + (call.Query is { Length: > 0 } extra ? extra + "&" : string.Empty) + query);
    }

    /// <summary>A nextLink is followed as given; only one that lacks <c>api-version</c> gets it added.</summary>
    private Uri WithApiVersion(Uri nextLink)
    {
        var query = nextLink.Query.TrimStart('?');
        foreach (var pair in query.Split('&', StringSplitOptions.RemoveEmptyEntries))
        {
            if (pair.StartsWith("api-version=", StringComparison.OrdinalIgnoreCase))
            {
                return nextLink;
            }
        }

        var builder = new UriBuilder(nextLink)
        {
            Query = (query.Length > 0 ? query + "&" : string.Empty) + "api-version=" + Uri.EscapeDataString(_options.ApiVersion),
        };
        return builder.Uri;
    }

    private void OnRetry(Call call, RetryNotice notice)
    {
        var method = call.Method.Method;
        var path = call.LogPath(_endpoint);
        if (notice.Response is { } response)
        {
            if (response.Status == 429)
            {
                _logger.RequestThrottled(method, path, _endpoint.AbsoluteUri, notice.Retry, notice.Delay);
                return;
            }

            _logger.RequestRetrying(method, path, Describe(Failure(call, response, notice.RetryAfter)), notice.Retry,
                notice.Delay);
            return;
        }

        _logger.RequestRetrying(method, path, notice.Exception?.GetType().Name ?? "unknown", notice.Retry, notice.Delay);
    }

    private static string Describe(IoTCentralApiException failure) =>
        failure.ErrorCode is null ? failure.Status.ToString(CultureInfo.InvariantCulture)
            : $"{failure.Status} {failure.ErrorCode}";

    private static string? RequestIdOf(Response response, ErrorBody? error) =>
        error?.RequestId ?? (response.Headers.TryGetValue(RequestIdHeader, out var id) ? id : null);

    private IoTCentralApiException Failure(Call call, Response response, TimeSpan? retryAfter)
    {
        var error = ParseError(response.Content);
        var code = error?.Code ?? (response.Headers.TryGetValue(ErrorCodeHeader, out var header) ? header : null);
        var requestId = RequestIdOf(response, error);
        var method = call.Method.Method;
        var path = call.LogPath(_endpoint);
        var text = error?.Message ?? "no error details";
        var hint = response.Status == 412
            ? " The etag sent no longer matches the resource: read it again and repeat the change."
            : string.Empty;
        var message = $"IoT Central {method} {path} failed with {response.Status}" +
            (code is null ? string.Empty : $" {code}") + $": {text}" +
            (requestId is null ? "." : $" (request id {requestId}).") + hint;
        return new IoTCentralApiException(response.Status, code, error?.Message, requestId, message)
        {
            Method = method,
            Path = path,
            RetryAfter = retryAfter,
        };
    }

    private static ErrorBody? ParseError(BinaryData content)
    {
        try
        {
            var span = content.ToMemory().Span.TrimStart(" \t\r\n"u8);
            return span.IsEmpty || span[0] != (byte)'{'
                ? null
                : content.ToObjectFromJson<ErrorEnvelope>(IoTCentralJson.Options)?.Error;
        }
        catch (JsonException)
        {
            // A body that is not the documented error shape still fails the call; only the details are lost.
            return null;
        }
    }

    private sealed record Body(BinaryData Data, string ContentType);

    /// <summary>One logical request: a path below the API base (or a nextLink), its extra query and body.</summary>
    private readonly record struct Call(
        RequestMethod Method,
        string Path,
        string? Query = null,
        Uri? Absolute = null,
        Body? Body = null,
        string? IfMatch = null,
        bool IsDiagnosis = false)
    {
        public string LogPath(Uri endpoint)
        {
            if (Absolute is null)
            {
                return Path;
            }

            var relative = Absolute.AbsolutePath;
            return relative.StartsWith(endpoint.AbsolutePath, StringComparison.OrdinalIgnoreCase)
                ? relative[endpoint.AbsolutePath.Length..]
                : relative;
        }
    }
}
