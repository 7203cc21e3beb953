using System.Text;
using System.Text.RegularExpressions;

namespace Fleet.Shared.Sphere;

/// <summary>
/// A Sphere API call or operation that failed: the HTTP status, the service's error code and text, and the request
/// id to quote to support. Callers test the properties (<see cref="IsNotFound"/>, <see cref="ErrorCode"/>…), never
/// the message. The message never contains tokens or other request headers.
/// </summary>
public sealed partial class SphereApiException : Exception
{
    /// <summary>Creates an exception from its parts.</summary>
    public SphereApiException(
        int status,
        string? errorCode,
        string? title,
        string? detail,
        string? requestId,
        string message,
        Exception? innerException = null)
        : base(Redact(message), innerException)
    {
        Status = status;
        ErrorCode = errorCode;
        Title = title is null ? null : Redact(title);
        Detail = detail is null ? null : Redact(detail);
        RequestId = requestId;
    }

    /// <summary>
    /// HTTP status of the failed response; for a failed operation, the status matching its error code (400, 403,
    /// 404, 409 or 500) or 0; 0 also when no response arrived (network failure or timeout).
    /// </summary>
    public int Status { get; }

    /// <summary>
    /// The service's error code: <c>ErrorCode</c> of the first <c>PublicApiErrorDetails</c> entry, or for a failed
    /// operation the name of its <see cref="OperationErrorCode"/> (e.g. <c>Conflict</c>). Null when none was given.
    /// </summary>
    public string? ErrorCode { get; }

    /// <summary>Short summary of the problem, as the service gave it.</summary>
    public string? Title { get; }

    /// <summary>Explanation of this occurrence, as the service gave it (for a failed operation, its message).</summary>
    public string? Detail { get; }

    /// <summary>The <c>x-ms-request-id</c> of the failed response, for support.</summary>
    public string? RequestId { get; }

    /// <summary>HTTP method of the failed request.</summary>
    public string? Method { get; init; }

    /// <summary>Path of the failed request (no host, no headers).</summary>
    public string? Path { get; init; }

    /// <summary>How long the service asked callers to wait (<c>Retry-After</c>), when it said.</summary>
    public TimeSpan? RetryAfter { get; init; }

    /// <summary>The operation that failed, when the failure is a Failed operation rather than a response.</summary>
    public string? OperationId { get; init; }

    /// <summary>Every error entry of the response body.</summary>
    public IReadOnlyList<ApiErrorDetails> Errors { get; init; } = [];

    /// <summary>404, or an operation that failed with NotFound.</summary>
    public bool IsNotFound => Status == 404;

    /// <summary>409, or an operation that failed with Conflict (e.g. a device claimed by another tenant).</summary>
    public bool IsConflict => Status == 409;

    /// <summary>429: the tenant's request rate was exceeded (after the client's own retries).</summary>
    public bool IsThrottled => Status == 429;

    /// <summary>401: the token was missing, expired or for another audience.</summary>
    public bool IsUnauthorized => Status == 401;

    /// <summary>403: the identity is not a user of the tenant or lacks the role.</summary>
    public bool IsForbidden => Status == 403;

    /// <summary>400, or an operation that failed with BadRequest.</summary>
    public bool IsBadRequest => Status == 400;

    /// <summary>
    /// True when trying again later may succeed: no response, 408, 429 or a server error (500, 502, 503, 504); for a
    /// failed operation, only an internal server error.
    /// </summary>
    public bool IsTransient => OperationId is null
        ? Status is 0 or 408 or 429 or 500 or 502 or 503 or 504
        : Status == 500;

    /// <summary>The exception that surfaces a Failed operation.</summary>
    public static SphereApiException FromFailedOperation(SphereOperation operation)
    {
        ArgumentNullException.ThrowIfNull(operation);
        var code = operation.Error?.Code;
        var status = code switch
        {
            OperationErrorCode.BadRequest => 400,
            OperationErrorCode.Forbidden => 403,
            OperationErrorCode.NotFound => 404,
            OperationErrorCode.Conflict => 409,
            OperationErrorCode.InternalServerError => 500,
            _ => 0,
        };
        var errorCode = code?.ToString();
        var detail = operation.Error?.Message;
        var message = new StringBuilder()
            .Append("Sphere operation ").Append(operation.OperationId)
            .Append(" (").Append(operation.OperationType).Append(") failed")
            .Append(errorCode is null ? string.Empty : $" with {errorCode}")
            .Append(detail is null ? "." : $": {detail}")
            .ToString();
        return new SphereApiException(status, errorCode, errorCode, detail, requestId: null, message)
        {
            OperationId = operation.OperationId,
        };
    }

    /// <summary>Removes anything shaped like a JWT, in case a service echoes a token in its error text.</summary>
    private static string Redact(string text) => JwtPattern().Replace(text, "[redacted]");

    [GeneratedRegex(@"eyJ[A-Za-z0-9_\-]+\.[A-Za-z0-9_\-]+\.[A-Za-z0-9_\-]*")]
    private static partial Regex JwtPattern();
}
