using System.Globalization;
using System.Xml.Linq;
using Azure;
using Azure.Core;

namespace Fleet.Storage;

/// <summary>One blob container: create, delete, list blobs, and clients for its blobs.</summary>
public class BlobContainerClient
{
    /// <summary>The most blobs the service returns per listing page.</summary>
    public const int MaxPageSize = 5000;

    private static readonly int[] Created = [201];
    private static readonly int[] Accepted = [202];
    private static readonly int[] Ok = [200];

    private readonly StorageClientContext? _context;

    internal BlobContainerClient(StorageClientContext context, string name)
    {
        _context = context;
        Name = name;
        Uri = StorageClientContext.Append(context.Endpoint, name);
    }

    /// <summary>For mocking.</summary>
    protected BlobContainerClient()
    {
        Name = string.Empty;
        Uri = new Uri("http://localhost/");
    }

    /// <summary>The container name.</summary>
    public virtual string Name { get; }

    /// <summary>The container's URI (no credentials in it).</summary>
    public virtual Uri Uri { get; }

    internal StorageClientContext Context => _context ?? throw new InvalidOperationException("This client was created for mocking.");

    private string Resource => $"container '{Name}'";

    /// <summary>Creates the container (private access) unless it exists. Returns true when this call created it.</summary>
    public virtual async Task<bool> CreateIfNotExistsAsync(CancellationToken cancellationToken = default)
    {
        using var message = Context.CreateMessage(RequestMethod.Put, Uri);
        message.Request.Uri.AppendQuery("restype", "container");
        try
        {
            await Context.SendAsync(message, "CreateContainer", Resource, Created, cancellationToken).ConfigureAwait(false);
            Context.Logger.ContainerCreated(Name);
            return true;
        }
        catch (StorageRequestException ex) when (ex.ErrorCode == StorageErrorCodes.ContainerAlreadyExists)
        {
            return false;
        }
    }

    /// <summary>Deletes the container and its blobs.</summary>
    public virtual async Task DeleteAsync(CancellationToken cancellationToken = default)
    {
        using var message = Context.CreateMessage(RequestMethod.Delete, Uri);
        message.Request.Uri.AppendQuery("restype", "container");
        await Context.SendAsync(message, "DeleteContainer", Resource, Accepted, cancellationToken).ConfigureAwait(false);
    }

    /// <summary>Deletes the container if it exists. Returns true when it did.</summary>
    public virtual async Task<bool> DeleteIfExistsAsync(CancellationToken cancellationToken = default)
    {
        try
        {
            await DeleteAsync(cancellationToken).ConfigureAwait(false);
            return true;
        }
        catch (StorageRequestException ex) when (ex.IsNotFound)
        {
            return false;
        }
    }

    /// <summary>True when the container exists.</summary>
    public virtual async Task<bool> ExistsAsync(CancellationToken cancellationToken = default)
    {
        using var message = Context.CreateMessage(RequestMethod.Head, Uri);
        message.Request.Uri.AppendQuery("restype", "container");
        try
        {
            await Context.SendAsync(message, "GetContainerProperties", Resource, Ok, cancellationToken).ConfigureAwait(false);
            return true;
        }
        catch (StorageRequestException ex) when (ex.IsNotFound)
        {
            return false;
        }
    }

    /// <summary>
    /// Lists the container's blobs whose names start with <paramref name="prefix"/>, in name order, following the
    /// service's continuation markers to the end. Enumerate it, or use <see cref="AsyncPageable{T}.AsPages"/> to
    /// page with a continuation token and a page size (up to 5,000).
    /// </summary>
    public virtual AsyncPageable<BlobItem> GetBlobsAsync(string? prefix = null, CancellationToken cancellationToken = default) =>
        new BlobPageable(this, prefix, cancellationToken);

    /// <summary>A client for the blob <paramref name="blobName"/> ('/' in the name makes virtual folders).</summary>
    public virtual BlobClient GetBlobClient(string blobName)
    {
        ArgumentException.ThrowIfNullOrEmpty(blobName);
        return new BlobClient(Context, Name, blobName);
    }

    private async Task<Page<BlobItem>> ListPageAsync(string? prefix, string? marker, int? pageSize, CancellationToken cancellationToken)
    {
        using var message = Context.CreateMessage(RequestMethod.Get, Uri);
        var uri = message.Request.Uri;
        uri.AppendQuery("restype", "container");
        uri.AppendQuery("comp", "list");
        if (!string.IsNullOrEmpty(prefix))
        {
            uri.AppendQuery("prefix", prefix);
        }

        if (!string.IsNullOrEmpty(marker))
        {
            uri.AppendQuery("marker", marker);
        }

        if (pageSize is { } size)
        {
            ArgumentOutOfRangeException.ThrowIfLessThan(size, 1, "pageSizeHint");
            uri.AppendQuery("maxresults", Math.Min(size, MaxPageSize).ToString(CultureInfo.InvariantCulture));
        }

        var response = await Context.SendAsync(message, "ListBlobs", Resource, Ok, cancellationToken).ConfigureAwait(false);
        var root = StorageClientContext.ReadXml(response).Root;
        var items = root?.Element("Blobs")?.Elements("Blob").Select(ReadItem).ToList() ?? [];
        var next = root?.Element("NextMarker")?.Value;
        return Page<BlobItem>.FromValues(items, string.IsNullOrEmpty(next) ? null : next, response);
    }

    private static BlobItem ReadItem(XElement blob)
    {
        var properties = blob.Element("Properties");
        string? Property(string name) => properties?.Element(name)?.Value;
        return new BlobItem(
            blob.Element("Name")?.Value ?? string.Empty,
            new BlobProperties(
                StorageClientContext.ParseETag(Property("Etag")),
                StorageClientContext.ParseDate(Property("Last-Modified")),
                long.TryParse(Property("Content-Length"), out var length) ? length : 0,
                string.IsNullOrEmpty(Property("Content-Type")) ? null : Property("Content-Type"),
                BlobClient.ParseLeaseState(Property("LeaseState"))));
    }

    private sealed class BlobPageable(BlobContainerClient container, string? prefix, CancellationToken cancellationToken)
        : AsyncPageable<BlobItem>(cancellationToken)
    {
        public override async IAsyncEnumerable<Page<BlobItem>> AsPages(string? continuationToken = null, int? pageSizeHint = null)
        {
            var marker = continuationToken;
            do
            {
                var page = await container.ListPageAsync(prefix, marker, pageSizeHint, CancellationToken).ConfigureAwait(false);
                yield return page;
                marker = page.ContinuationToken;
            }
            while (marker is not null);
        }
    }
}
