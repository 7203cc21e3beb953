using System.Text.RegularExpressions;

namespace Fleet.Shared.IoTCentral;

/// <summary>
/// An IoT Central call that failed: the HTTP status, the service's error code (<c>error.code</c> of the body, or
/// the <c>x-ms-error-code</c> header) and message, and the request id to quote to support. Callers test the
/// properties (<see cref="IsPreconditionFailed"/>, <see cref="IsNotAppUser"/>, <see cref="ErrorCode"/>…), never the
/// message. Neither the message nor any property carries a token.
/// </summary>
public sealed partial class IoTCentralApiException : Exception
{
    /// <summary>Creates an exception from its parts.</summary>
    public IoTCentralApiException(int status, string? errorCode, string? errorMessage, string? requestId,
        string message, Exception? innerException = null)
        : base(Redact(message), innerException)
    {
        Status = status;
        ErrorCode = errorCode;
        ErrorMessage = errorMessage is null ? null : Redact(errorMessage);
        RequestId = requestId;
    }

    /// <summary>HTTP status of the failed response; 0 when no response arrived (network failure or timeout).</summary>
    public int Status { get; }

    /// <summary>The service's error code (e.g. <c>Unauthenticated</c>); null when it gave none.</summary>
    public string? ErrorCode { get; }

    /// <summary>The service's error message.</summary>
    public string? ErrorMessage { get; }

    /// <summary>The request id of the failure (<c>error.requestId</c>, else the <c>x-ms-request-id</c> header).</summary>
    public string? RequestId { get; }

    /// <summary>HTTP method of the failed request.</summary>
    public string? Method { get; init; }

    /// <summary>Path of the failed request below the API base, without the query.</summary>
    public string? Path { get; init; }

    /// <summary>How long the service asked callers to wait, when it said (IoT Central documents no Retry-After).</summary>
    public TimeSpan? RetryAfter { get; init; }

    /// <summary>
    /// True when the caller is an Entra identity that is not a user of the application (it must be added with
    /// <c>PUT /api/users/{id}</c>); the message says how.
    /// </summary>
    public bool IsNotAppUser { get; init; }

    /// <summary>412: the etag sent no longer matches (someone else changed the resource); read it again and retry.</summary>
    public bool IsPreconditionFailed => Status == 412;

    /// <summary>404: the application or resource does not exist.</summary>
    public bool IsNotFound => Status == 404;

    /// <summary>401: the token is missing, invalid, expired or for another audience.</summary>
    public bool IsUnauthorized => Status == 401;

    /// <summary>403: the caller lacks the permission (or is not an app user, see <see cref="IsNotAppUser"/>).</summary>
    public bool IsForbidden => Status == 403;

    /// <summary>429: the application's request budget (20 requests/s) was exceeded, after the client's retries.</summary>
    public bool IsThrottled => Status == 429;

    /// <summary>400 or 422: the request or its body is invalid.</summary>
    public bool IsBadRequest => Status is 400 or 422;

    /// <summary>True when trying again later may succeed: no response, 408, 429 or 500, 502, 503, 504.</summary>
    public bool IsTransient => Status is 0 || Resilience.ResilientPipeline.IsTransientStatus(Status);

    /// <summary>Removes API token signatures and JWTs, in case a service echoes a token in its error text.</summary>
    internal static string Redact(string text) =>
        JwtPattern().Replace(SasPattern().Replace(text, "SharedAccessSignature [redacted]"), "[redacted]");

    [GeneratedRegex(@"SharedAccessSignature\s+\S+")]
    private static partial Regex SasPattern();

    [GeneratedRegex(@"eyJ[A-Za-z0-9_\-]+\.[A-Za-z0-9_\-]+\.[A-Za-z0-9_\-]*")]
    private static partial Regex JwtPattern();
}
