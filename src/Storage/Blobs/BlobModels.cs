using Azure;

namespace Fleet.Storage;

/// <summary>Conditions a blob request must meet, or the service refuses it (412, or 409 for a create-only upload).</summary>
public sealed class BlobRequestConditions
{
    /// <summary>Only if the blob's ETag is this one (optimistic concurrency); <see cref="ETag.All"/>: only if it exists.</summary>
    public ETag? IfMatch { get; set; }

    /// <summary>Only if the blob's ETag is not this one; <see cref="ETag.All"/>: only if the blob does not exist yet.</summary>
    public ETag? IfNoneMatch { get; set; }

    /// <summary>The active lease's id: required to write or delete a leased blob.</summary>
    public string? LeaseId { get; set; }
}

/// <summary>What the service answered to an upload.</summary>
/// <param name="ETag">The blob's new ETag.</param>
/// <param name="LastModified">When it was written.</param>
public sealed record BlobContentInfo(ETag ETag, DateTimeOffset? LastModified);

/// <summary>A downloaded blob.</summary>
/// <param name="Content">The bytes.</param>
/// <param name="ETag">The ETag of the version read: pass it as <see cref="BlobRequestConditions.IfMatch"/> to update it safely.</param>
/// <param name="LastModified">When it was last written.</param>
/// <param name="ContentType">Its content type.</param>
public sealed record BlobDownloadResult(BinaryData Content, ETag ETag, DateTimeOffset? LastModified, string? ContentType);

/// <summary>State of a blob's lease.</summary>
public enum BlobLeaseState
{
    /// <summary>No lease: anyone may acquire one.</summary>
    Available,

    /// <summary>A lease is held.</summary>
    Leased,

    /// <summary>The lease expired: anyone may acquire one.</summary>
    Expired,

    /// <summary>The lease is being broken; it cannot be renewed.</summary>
    Breaking,

    /// <summary>The lease was broken: anyone may acquire one.</summary>
    Broken,
}

/// <summary>A blob's system properties.</summary>
/// <param name="ETag">Its ETag.</param>
/// <param name="LastModified">When it was last written.</param>
/// <param name="ContentLength">Its size in bytes.</param>
/// <param name="ContentType">Its content type.</param>
/// <param name="LeaseState">The state of its lease.</param>
public sealed record BlobProperties(
    ETag ETag, DateTimeOffset? LastModified, long ContentLength, string? ContentType, BlobLeaseState LeaseState);

/// <summary>A blob seen in a listing.</summary>
/// <param name="Name">Its full name within the container.</param>
/// <param name="Properties">Its properties.</param>
public sealed record BlobItem(string Name, BlobProperties Properties);

/// <summary>A lease the caller holds.</summary>
/// <param name="LeaseId">The lease id to send with writes and lease operations.</param>
/// <param name="ETag">The blob's ETag.</param>
/// <param name="LastModified">When the blob was last written.</param>
public sealed record BlobLease(string LeaseId, ETag ETag, DateTimeOffset? LastModified);
