using System.Globalization;
using System.Runtime.ExceptionServices;
using Azure;
using Azure.Core;
using Fleet.Shared.Resilience;
using Microsoft.Extensions.Logging;

namespace Fleet.Shared.IoTConnect;

/// <summary>One IoTConnect request: its service, method, path relative to the service's base URL, body and headers.</summary>
/// <param name="Service">auth, device, user, firmware or discovery (for logs and errors).</param>
/// <param name="Method">HTTP method.</param>
/// <param name="BaseUrl">The service's base URL (ends with '/').</param>
/// <param name="Path">Relative path with query, e.g. <c>Device?pageNumber=1&amp;pageSize=100</c>.</param>
/// <param name="Body">JSON body, if any.</param>
/// <param name="Headers">Extra headers (values may be secrets: they are never logged).</param>
/// <param name="LogPath">What logs and errors show instead of the path (a path that holds a secret).</param>
internal sealed record IoTConnectCall(
    string Service,
    RequestMethod Method,
    Uri BaseUrl,
    string Path,
    BinaryData? Body = null,
    IReadOnlyList<KeyValuePair<string, string>>? Headers = null,
    string? LogPath = null)
{
    public string DisplayPath => LogPath ?? (Path.IndexOf('?', StringComparison.Ordinal) is var q and >= 0 ? Path[..q] : Path);
}

/// <summary>
/// Sends IoTConnect requests through a <see cref="ResilientPipeline"/> (limiter permits, retries, budgets) and turns
/// every failure into an <see cref="IoTConnectApiException"/> with the error body's message and code, logged
/// without secrets. The client and its authenticator each use one.
/// </summary>
internal sealed class IoTConnectCaller(ResilientPipeline pipeline, CallRetryOptions retry, ILogger logger, SecretRedactor redactor)
{
    private static readonly string[] RequestIdHeaders = ["x-request-id", "request-id", "x-ms-request-id"];

    /// <summary>Sends <paramref name="call"/>; returns its 2xx response (content buffered) or throws.</summary>
    public async Task<Response> SendAsync(string limiterKey, IoTConnectCall call, CancellationToken cancellationToken)
    {
        var result = await pipeline.SendAsync(limiterKey, request => Prepare(request, call), notice => OnRetry(call, notice),
            cancellationToken).ConfigureAwait(false);
        var method = call.Method.Method;
        var path = call.DisplayPath;
        if (result.Response is { } response)
        {
            if (result.IsSuccess)
            {
                return response;
            }

            var failure = Failure(call, response, result.RetryAfter);
            if (result.Attempts > 1 && failure.IsTransient)
            {
                logger.RetriesExhausted(method, call.Service, path, result.Attempts, result.Elapsed, Describe(failure));
            }

            logger.RequestFailed(method, call.Service, path, failure.Status, failure.ErrorCode, failure.RequestId);
            throw failure;
        }

        var exception = result.Exception!;
        if (exception is IoTConnectApiException sessionFailure)
        {
            // The bearer policy could not get a token (login refused, auth service down): that is the failure to report.
            ExceptionDispatchInfo.Throw(sessionFailure);
        }

        if (exception is OperationCanceledException && cancellationToken.IsCancellationRequested)
        {
            throw new OperationCanceledException("The IoTConnect call was cancelled.", exception, cancellationToken);
        }

        if (result.TimeBudgetSpent)
        {
            // The call's time budget ran out: report the last failure the service gave, if any.
            var last = result.LastFailure is { } lastResponse ? Failure(call, lastResponse, result.LastFailureRetryAfter) : null;
            var reason = last is null ? "no response" : Describe(last);
            logger.RetriesExhausted(method, call.Service, path, result.Attempts, result.Elapsed, reason);
            throw new IoTConnectApiException(last?.Status ?? 0, last?.ErrorCode, last?.ServiceMessage, last?.RequestId,
                $"IoTConnect {method} {call.Service}/{path} gave up after {result.Attempts} attempt(s) in {result.Elapsed:g}, " +
                $"the limit set by Retry.MaxElapsedTime ({retry.MaxElapsedTime:g}); last outcome: {reason}.", exception)
            {
                Service = call.Service,
                Method = method,
                Path = path,
                RetryAfter = last?.RetryAfter,
                Errors = last?.Errors ?? [],
            };
        }

        if (result.Attempts > 1)
        {
            logger.RetriesExhausted(method, call.Service, path, result.Attempts, result.Elapsed, exception.GetType().Name);
        }

        throw new IoTConnectApiException(0, null, null, null,
            $"IoTConnect {method} {call.Service}/{path} got no response after {result.Attempts} attempt(s): " +
            redactor.Redact(exception.Message), exception)
        {
            Service = call.Service,
            Method = method,
            Path = path,
        };
    }

    private static void Prepare(Request request, IoTConnectCall call)
    {
        request.Method = call.Method;
        request.Uri.Reset(new Uri(call.BaseUrl, call.Path));
        request.Headers.Add(HttpHeader.Names.Accept, "application/json");
        foreach (var (name, value) in call.Headers ?? [])
        {
            request.Headers.SetValue(name, value);
        }

        ResilientPipeline.SetContent(request, call.Body, "application/json");
    }

    private void OnRetry(IoTConnectCall call, RetryNotice notice)
    {
        var method = call.Method.Method;
        var path = call.DisplayPath;
        if (notice.Response is { } response)
        {
            if (response.Status is 429 or 503)
            {
                logger.RequestThrottled(method, call.Service, path, response.Status, notice.Retry, notice.Delay);
                return;
            }

            logger.RequestRetrying(method, call.Service, path, Describe(Failure(call, response, notice.RetryAfter)), notice.Retry, notice.Delay);
            return;
        }

        logger.RequestRetrying(method, call.Service, path, notice.Exception?.GetType().Name ?? "unknown", notice.Retry, notice.Delay);
    }

    private IoTConnectApiException Failure(IoTConnectCall call, Response response, TimeSpan? retryAfter)
    {
        var (serviceMessage, errors) = IoTConnectEnvelope.ReadError(response);
        serviceMessage = redactor.RedactOrNull(serviceMessage);
        var items = errors.Select(e => new IoTConnectErrorItem(redactor.RedactOrNull(e.Param), redactor.RedactOrNull(e.Message))).ToList();
        var code = items.FirstOrDefault(e => !string.IsNullOrEmpty(e.Param))?.Param;
        string? requestId = null;
        foreach (var header in RequestIdHeaders)
        {
            if (response.Headers.TryGetValue(header, out requestId))
            {
                break;
            }
        }

        var text = serviceMessage ?? items.FirstOrDefault()?.Message ?? response.ReasonPhrase ?? "no error details";
        var message = string.Create(CultureInfo.InvariantCulture,
            $"IoTConnect {call.Method.Method} {call.Service}/{call.DisplayPath} failed with {response.Status}") +
            (code is null ? string.Empty : $" {code}") + $": {text}" + (requestId is null ? "." : $" (request id {requestId}).");
        return new IoTConnectApiException(response.Status, code, serviceMessage, requestId, message)
        {
            Service = call.Service,
            Method = call.Method.Method,
            Path = call.DisplayPath,
            RetryAfter = retryAfter,
            Errors = items,
        };
    }

    private static string Describe(IoTConnectApiException failure) =>
        failure.ErrorCode is null ? failure.Status.ToString(CultureInfo.InvariantCulture) : $"{failure.Status} {failure.ErrorCode}";
}
