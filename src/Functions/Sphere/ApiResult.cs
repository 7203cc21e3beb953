using System.Text.Json.Serialization;
using Fleet.Shared.Sphere;

namespace Fleet.Functions.Sphere;

/// <summary>
/// A Sphere failure that trying again will not fix (a 4xx other than 408/429, a Failed operation), carried as data
/// across the durable boundary so orchestrators decide on <see cref="Status"/> and <see cref="ErrorCode"/>, never on
/// message text, and can report the service's code and message.
/// </summary>
/// <param name="Status">HTTP status (for a failed operation, the status matching its error code), or 0.</param>
/// <param name="ErrorCode">The service's error code (e.g. <c>DeviceClaimedByAnotherTenant</c>), or one of ours (e.g. <c>OperationTimedOut</c>).</param>
/// <param name="Message">The service's explanation.</param>
/// <param name="RequestId">The failed response's <c>x-ms-request-id</c>, for support.</param>
/// <param name="OperationId">The failed operation, when an operation failed.</param>
public sealed record SphereError(int Status, string? ErrorCode, string Message, string? RequestId = null, string? OperationId = null)
{
    /// <summary>Our code for an operation still unfinished after <c>Orchestrations:OperationTimeout</c>.</summary>
    public const string OperationTimedOut = "OperationTimedOut";

    /// <summary>Our code for a product the policy does not allow creating.</summary>
    public const string ProductNotFound = "ProductNotFound";

    /// <summary>The service's code for a missing device group (also ours when the policy does not allow creating it).</summary>
    public const string DeviceGroupNotFound = "DeviceGroupNotFound";

    /// <summary>Our code for a step whose result does not show the expected state.</summary>
    public const string VerificationFailed = "VerificationFailed";

    /// <summary>Our code for a tenant the identity cannot see.</summary>
    public const string TenantNotFound = "TenantNotFound";

    /// <summary>Whether the service said the resource does not exist.</summary>
    [JsonIgnore]
    public bool IsNotFound => Status == 404;

    /// <summary>The error of a failed client call.</summary>
    public static SphereError From(SphereApiException exception)
    {
        ArgumentNullException.ThrowIfNull(exception);
        return new SphereError(exception.Status, exception.ErrorCode, exception.Detail ?? exception.Title ?? exception.Message,
            exception.RequestId, exception.OperationId);
    }

    /// <summary>The error of a Failed operation.</summary>
    public static SphereError FromOperation(SphereOperation operation) => From(SphereApiException.FromFailedOperation(operation));

    /// <inheritdoc />
    public override string ToString() =>
        $"{(Status == 0 ? string.Empty : Status + " ")}{ErrorCode ?? "Error"}: {Message}" +
        (RequestId is null ? string.Empty : $" (request id {RequestId})") +
        (OperationId is null ? string.Empty : $" (operation {OperationId})");
}

/// <summary>An activity's answer: a value, or a non-retryable <see cref="SphereError"/>. Transient failures are thrown instead.</summary>
/// <typeparam name="T">The value's type.</typeparam>
/// <param name="Value">The value when the call succeeded.</param>
/// <param name="Error">Why it failed, when it did.</param>
public sealed record ApiResult<T>(T? Value, SphereError? Error);

/// <summary>Makes <see cref="ApiResult{T}"/>s.</summary>
public static class ApiResult
{
    /// <summary>A success.</summary>
    public static ApiResult<T> Ok<T>(T value) => new(value, null);

    /// <summary>A non-retryable failure.</summary>
    public static ApiResult<T> Failed<T>(SphereError error) => new(default, error);
}

/// <summary>Runs Sphere calls inside activities.</summary>
internal static class SphereCall
{
    /// <summary>
    /// Runs <paramref name="call"/>; a non-transient <see cref="SphereApiException"/> becomes a failed result, a
    /// transient one (after the client's own retries) is rethrown so the orchestration's retry policy sees it.
    /// </summary>
    public static async Task<ApiResult<T>> TryAsync<T>(Func<Task<T>> call)
    {
        try
        {
            return ApiResult.Ok(await call().ConfigureAwait(false));
        }
        catch (SphereApiException ex) when (!ex.IsTransient)
        {
            return ApiResult.Failed<T>(SphereError.From(ex));
        }
    }
}
