using Azure;

namespace Fleet.Storage;

/// <summary>
/// A Storage request that failed: the service answered with an error status, or no answer arrived
/// (<see cref="RequestFailedException.Status"/> 0). Carries the status, the service's <c>x-ms-error-code</c>
/// (<see cref="RequestFailedException.ErrorCode"/>) and <see cref="RequestId"/>; test
/// <see cref="IsNotFound"/>, <see cref="IsConflict"/>, <see cref="IsPreconditionFailed"/> or
/// <see cref="StorageErrorCodes"/> rather than the message. The message never holds a key, token or signature.
/// Derives from <see cref="RequestFailedException"/> so code written against the Azure SDK catches it too.
/// </summary>
public class StorageRequestException : RequestFailedException
{
    /// <summary>Creates the exception.</summary>
    public StorageRequestException(
        int status, string? errorCode, string? requestId, string? serviceMessage, string message, Exception? innerException = null)
        : base(status, message, errorCode, innerException)
    {
        RequestId = requestId;
        ServiceMessage = serviceMessage;
    }

    /// <summary>The service's <c>x-ms-request-id</c>, to quote when asking Azure support; null without a response.</summary>
    public string? RequestId { get; }

    /// <summary>The first line of the service's error message, if it sent one.</summary>
    public string? ServiceMessage { get; }

    /// <summary>404: the queue, message, container or blob does not exist.</summary>
    public bool IsNotFound => Status == 404;

    /// <summary>409: it already exists, is being deleted, or a lease is held by someone else.</summary>
    public bool IsConflict => Status == 409;

    /// <summary>412: an <c>If-Match</c> / <c>If-None-Match</c> condition or a lease id did not hold.</summary>
    public bool IsPreconditionFailed => Status == 412;

    /// <summary>403: the key, SAS or token was rejected or lacks permission.</summary>
    public bool IsAuthorizationFailure => Status == 403;

    /// <summary>No response arrived (connection refused, DNS, TLS, network timeout after retries).</summary>
    public bool IsTransportFailure => Status == 0;
}

/// <summary>Storage <c>x-ms-error-code</c> values this product tests for.</summary>
public static class StorageErrorCodes
{
    /// <summary>The queue does not exist.</summary>
    public const string QueueNotFound = "QueueNotFound";

    /// <summary>The queue exists with different metadata.</summary>
    public const string QueueAlreadyExists = "QueueAlreadyExists";

    /// <summary>The queue is being deleted; creating it again must wait.</summary>
    public const string QueueBeingDeleted = "QueueBeingDeleted";

    /// <summary>The message does not exist (deleted, expired, or its id is wrong).</summary>
    public const string MessageNotFound = "MessageNotFound";

    /// <summary>The pop receipt is stale: someone received the message again since.</summary>
    public const string PopReceiptMismatch = "PopReceiptMismatch";

    /// <summary>The container does not exist.</summary>
    public const string ContainerNotFound = "ContainerNotFound";

    /// <summary>The container already exists.</summary>
    public const string ContainerAlreadyExists = "ContainerAlreadyExists";

    /// <summary>The container is being deleted.</summary>
    public const string ContainerBeingDeleted = "ContainerBeingDeleted";

    /// <summary>The blob does not exist.</summary>
    public const string BlobNotFound = "BlobNotFound";

    /// <summary>An <c>If-Match</c> / <c>If-None-Match</c> condition failed.</summary>
    public const string ConditionNotMet = "ConditionNotMet";

    /// <summary>The blob already exists (an <c>If-None-Match: *</c> upload).</summary>
    public const string BlobAlreadyExists = "BlobAlreadyExists";

    /// <summary>Another lease is active on the blob.</summary>
    public const string LeaseAlreadyPresent = "LeaseAlreadyPresent";

    /// <summary>The blob is leased and the request carried no lease id.</summary>
    public const string LeaseIdMissing = "LeaseIdMissing";

    /// <summary>The request's lease id is not the blob's active lease.</summary>
    public const string LeaseIdMismatchWithLeaseOperation = "LeaseIdMismatchWithLeaseOperation";

    /// <summary>The blob is leased by another lease id than the write carried.</summary>
    public const string LeaseIdMismatchWithBlobOperation = "LeaseIdMismatchWithBlobOperation";

    /// <summary>A lease id was sent but the blob's lease has expired.</summary>
    public const string LeaseLost = "LeaseLost";

    /// <summary>The blob has no active lease.</summary>
    public const string LeaseNotPresentWithLeaseOperation = "LeaseNotPresentWithLeaseOperation";

    /// <summary>The signature did not verify (wrong key, clock skew, or a malformed request).</summary>
    public const string AuthenticationFailed = "AuthenticationFailed";

    /// <summary>The credential is valid but not permitted to do this.</summary>
    public const string AuthorizationFailure = "AuthorizationFailure";
}
