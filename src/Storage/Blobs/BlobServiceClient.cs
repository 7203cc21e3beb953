namespace Fleet.Storage;

/// <summary>The Blob service of one storage account; hands out <see cref="BlobContainerClient"/>s sharing its pipeline.</summary>
public class BlobServiceClient
{
    private readonly StorageClientContext? _context;

    internal BlobServiceClient(StorageClientContext context) => _context = context;

    /// <summary>For mocking.</summary>
    protected BlobServiceClient()
    {
    }

    /// <summary>The Blob service endpoint.</summary>
    public virtual Uri Uri => Context.Endpoint;

    /// <summary>The storage account name.</summary>
    public virtual string AccountName => Context.AccountName;

    private StorageClientContext Context => _context ?? throw new InvalidOperationException("This client was created for mocking.");

    /// <summary>A client for the container <paramref name="containerName"/>.</summary>
    public virtual BlobContainerClient GetBlobContainerClient(string containerName)
    {
        ArgumentException.ThrowIfNullOrWhiteSpace(containerName);
        return new BlobContainerClient(Context, containerName);
    }
}
