namespace Fleet.Shared.IoTConnect;

/// <summary>One entry of an IoTConnect error body's <c>error</c> array.</summary>
/// <param name="Param">The offending field (validation) or the business-rule code (e.g. <c>UniqueIdAlreadyExists</c>).</param>
/// <param name="Message">The service's text.</param>
public sealed record IoTConnectErrorItem(string? Param, string? Message);

/// <summary>
/// An IoTConnect call that failed: the HTTP status, the error body's message and first <c>param</c> (its error
/// code), and a request id when the service sent one. Callers test properties (<see cref="IsConflict"/>,
/// <see cref="ErrorCode"/>…), never the message. No message contains a token, password or solution key.
/// </summary>
public sealed class IoTConnectApiException : Exception
{
    /// <summary>Creates an exception from its parts (the message must already be free of secrets).</summary>
    public IoTConnectApiException(int status, string? errorCode, string? serviceMessage, string? requestId, string message,
        Exception? innerException = null)
        : base(message, innerException)
    {
        Status = status;
        ErrorCode = errorCode;
        ServiceMessage = serviceMessage;
        RequestId = requestId;
    }

    /// <summary>HTTP status of the failed response; 0 when no response arrived (network failure or timeout).</summary>
    public int Status { get; }

    /// <summary>The <c>param</c> of the first error entry (e.g. <c>UniqueIdAlreadyExists</c>, <c>InvalidCredentials</c>), when given.</summary>
    public string? ErrorCode { get; }

    /// <summary>The error body's <c>message</c>.</summary>
    public string? ServiceMessage { get; }

    /// <summary>The response's request id (<c>x-request-id</c>, <c>request-id</c> or <c>x-ms-request-id</c>), for support.</summary>
    public string? RequestId { get; }

    /// <summary>The service the call went to: <c>auth</c>, <c>device</c>, <c>user</c>, <c>firmware</c> or <c>discovery</c>.</summary>
    public string? Service { get; init; }

    /// <summary>HTTP method of the failed request.</summary>
    public string? Method { get; init; }

    /// <summary>Path of the failed request relative to its service's base URL (no host, no query).</summary>
    public string? Path { get; init; }

    /// <summary>How long the service asked callers to wait (<c>Retry-After</c>), when it said.</summary>
    public TimeSpan? RetryAfter { get; init; }

    /// <summary>Every entry of the error body's <c>error</c> array.</summary>
    public IReadOnlyList<IoTConnectErrorItem> Errors { get; init; } = [];

    /// <summary>404.</summary>
    public bool IsNotFound => Status == 404;

    /// <summary>409: a duplicate, or a business rule the request breaks (see <see cref="ErrorCode"/>).</summary>
    public bool IsConflict => Status == 409;

    /// <summary>401: credentials or token refused.</summary>
    public bool IsUnauthorized => Status == 401;

    /// <summary>403: not allowed.</summary>
    public bool IsForbidden => Status == 403;

    /// <summary>400: the request is invalid (<see cref="ErrorCode"/> names the field).</summary>
    public bool IsBadRequest => Status == 400;

    /// <summary>429 (after the client's own retries).</summary>
    public bool IsThrottled => Status == 429;

    /// <summary>True when trying again later may succeed: no response, 408, 429 or a server error (500, 502, 503, 504).</summary>
    public bool IsTransient => Status is 0 or 408 or 429 or 500 or 502 or 503 or 504;
}
