using Azure;
using Azure.Core;

namespace Fleet.Storage;

/// <summary>One block blob: upload (with conditions and leases), download, properties, delete, leases.</summary>
public class BlobClient
{
    private static readonly int[] Created = [201];
    private static readonly int[] Accepted = [202];
    private static readonly int[] Ok = [200];

    private readonly StorageClientContext? _context;

    internal BlobClient(StorageClientContext context, string containerName, string name)
    {
        _context = context;
        BlobContainerName = containerName;
        Name = name;
        Uri = StorageClientContext.Append(context.Endpoint, containerName, name);
    }

    /// <summary>For mocking.</summary>
    protected BlobClient()
    {
        BlobContainerName = string.Empty;
        Name = string.Empty;
        Uri = new Uri("http://localhost/");
    }

    /// <summary>The blob name.</summary>
    public virtual string Name { get; }

    /// <summary>The container's name.</summary>
    public virtual string BlobContainerName { get; }

    /// <summary>The blob's URI (no credentials in it).</summary>
    public virtual Uri Uri { get; }

    internal StorageClientContext Context => _context ?? throw new InvalidOperationException("This client was created for mocking.");

    internal string Resource => $"blob '{BlobContainerName}/{Name}'";

    /// <summary>
    /// Writes the whole blob in one request (a block blob up to 5,000 MiB), replacing any existing content unless
    /// <paramref name="conditions"/> say otherwise: <c>IfMatch</c> an ETag for optimistic concurrency,
    /// <c>IfNoneMatch = ETag.All</c> to create only, <c>LeaseId</c> to write under a lease.
    /// </summary>
    /// <exception cref="StorageRequestException">412 (<see cref="StorageRequestException.IsPreconditionFailed"/>) when a
    /// condition or lease does not hold; 409 <see cref="StorageErrorCodes.BlobAlreadyExists"/> for a create-only upload.</exception>
    public virtual async Task<BlobContentInfo> UploadAsync(
        BinaryData content, BlobRequestConditions? conditions = null, string? contentType = null,
        CancellationToken cancellationToken = default)
    {
        ArgumentNullException.ThrowIfNull(content);
        using var message = Context.CreateMessage(RequestMethod.Put, Uri);
        var request = message.Request;
        request.Headers.SetValue("x-ms-blob-type", "BlockBlob");
        request.Headers.SetValue("x-ms-blob-content-type", contentType ?? "application/octet-stream");
        ApplyConditions(request, conditions);
        request.Content = RequestContent.Create(content);
        var response = await Context.SendAsync(message, "UploadBlob", Resource, Created, cancellationToken).ConfigureAwait(false);
        return new BlobContentInfo(ETagOf(response), LastModifiedOf(response));
    }

    /// <summary>Reads the whole blob with its ETag.</summary>
    /// <exception cref="StorageRequestException">Not found, or a condition did not hold.</exception>
    public virtual async Task<BlobDownloadResult> DownloadContentAsync(
        BlobRequestConditions? conditions = null, CancellationToken cancellationToken = default)
    {
        using var message = Context.CreateMessage(RequestMethod.Get, Uri);
        ApplyConditions(message.Request, conditions);
        var response = await Context.SendAsync(message, "DownloadBlob", Resource, Ok, cancellationToken).ConfigureAwait(false);
        return new BlobDownloadResult(
            response.Content, ETagOf(response), LastModifiedOf(response), StorageClientContext.Header(response, "Content-Type"));
    }

    /// <summary>The blob's properties, lease state included.</summary>
    public virtual async Task<BlobProperties> GetPropertiesAsync(
        BlobRequestConditions? conditions = null, CancellationToken cancellationToken = default)
    {
        using var message = Context.CreateMessage(RequestMethod.Head, Uri);
        ApplyConditions(message.Request, conditions);
        var response = await Context.SendAsync(message, "GetBlobProperties", Resource, Ok, cancellationToken).ConfigureAwait(false);
        return new BlobProperties(
            ETagOf(response),
            LastModifiedOf(response),
            long.TryParse(StorageClientContext.Header(response, "Content-Length"), out var length) ? length : 0,
            StorageClientContext.Header(response, "Content-Type"),
            ParseLeaseState(StorageClientContext.Header(response, "x-ms-lease-state")));
    }

    /// <summary>True when the blob exists.</summary>
    public virtual async Task<bool> ExistsAsync(CancellationToken cancellationToken = default)
    {
        try
        {
            await GetPropertiesAsync(cancellationToken: cancellationToken).ConfigureAwait(false);
            return true;
        }
        catch (StorageRequestException ex) when (ex.IsNotFound)
        {
            return false;
        }
    }

    /// <summary>Deletes the blob (a leased blob needs <see cref="BlobRequestConditions.LeaseId"/>).</summary>
    public virtual async Task DeleteAsync(BlobRequestConditions? conditions = null, CancellationToken cancellationToken = default)
    {
        using var message = Context.CreateMessage(RequestMethod.Delete, Uri);
        ApplyConditions(message.Request, conditions);
        await Context.SendAsync(message, "DeleteBlob", Resource, Accepted, cancellationToken).ConfigureAwait(false);
    }

    /// <summary>Deletes the blob if it exists. Returns true when it did.</summary>
    public virtual async Task<bool> DeleteIfExistsAsync(BlobRequestConditions? conditions = null, CancellationToken cancellationToken = default)
    {
        try
        {
            await DeleteAsync(conditions, cancellationToken).ConfigureAwait(false);
            return true;
        }
        catch (StorageRequestException ex) when (ex.IsNotFound)
        {
            return false;
        }
    }

    /// <summary>A lease client for this blob; <paramref name="leaseId"/> null picks a new random id.</summary>
    public virtual BlobLeaseClient GetBlobLeaseClient(string? leaseId = null) =>
        new(this, string.IsNullOrEmpty(leaseId) ? Guid.NewGuid().ToString() : leaseId);

    internal static BlobLeaseState ParseLeaseState(string? value) =>
        Enum.TryParse<BlobLeaseState>(value, ignoreCase: true, out var state) ? state : BlobLeaseState.Available;

    internal static ETag ETagOf(Response response) => StorageClientContext.ParseETag(StorageClientContext.Header(response, "ETag"));

    internal static DateTimeOffset? LastModifiedOf(Response response) =>
        StorageClientContext.ParseDate(StorageClientContext.Header(response, "Last-Modified"));

    private static void ApplyConditions(Request request, BlobRequestConditions? conditions)
    {
        if (conditions is null)
        {
            return;
        }

        if (conditions.IfMatch is { } ifMatch)
        {
            request.Headers.SetValue("If-Match", ifMatch.ToString("H"));
        }

        if (conditions.IfNoneMatch is { } ifNoneMatch)
        {
            request.Headers.SetValue("If-None-Match", ifNoneMatch.ToString("H"));
        }

        if (!string.IsNullOrEmpty(conditions.LeaseId))
        {
            request.Headers.SetValue("x-ms-lease-id", conditions.LeaseId);
        }
    }
}
