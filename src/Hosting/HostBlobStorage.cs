using Azure;
using Azure.Core;
using Azure.Storage.Blobs;

namespace Fleet.Hosting;

/// <summary>
/// The host's own blob container, <c>azure-webjobs-hosts</c> of <c>AzureWebJobsStorage</c>, on the Azure SDK: timer
/// leases and schedule status, poison records. Shared by the in-process host and the local functions host.
/// </summary>
internal sealed class HostBlobStorage
{
    public const string ContainerName = "azure-webjobs-hosts";

    /// <summary>
    /// How long one lease request may take on the wire. A lease holder must learn quickly that a renewal did not get
    /// through: it has to give the lease up before the service lets another host take it.
    /// </summary>
    internal static readonly TimeSpan LeaseRequestTimeout = TimeSpan.FromSeconds(10);

    private readonly Lazy<BlobContainerClient> _container;
    private readonly Lazy<BlobContainerClient> _leaseContainer;
    private int _containerCreated;

    /// <param name="connection">The host's storage connection (<c>AzureWebJobsStorage</c>).</param>
    /// <param name="configure">Adjusts every client's options (tests put fault-injecting policies here), or null.</param>
    public HostBlobStorage(StorageAccountConnection connection, Action<ClientOptions>? configure)
    {
        _container = new Lazy<BlobContainerClient>(() =>
            connection.CreateBlobServiceClient(Options(configure)).GetBlobContainerClient(ContainerName));
        _leaseContainer = new Lazy<BlobContainerClient>(() =>
            connection.CreateBlobServiceClient(LeaseOptions(configure)).GetBlobContainerClient(ContainerName));
    }

    /// <summary>The host container, created on first use.</summary>
    public async Task<BlobContainerClient> ContainerAsync(CancellationToken cancellationToken)
    {
        var container = _container.Value;
        if (Volatile.Read(ref _containerCreated) == 0)
        {
            await container.CreateIfNotExistsAsync(cancellationToken: cancellationToken).ConfigureAwait(false);
            Volatile.Write(ref _containerCreated, 1);
        }

        return container;
    }

    /// <summary>
    /// A blob of the host container for lease requests only: no Azure.Core retries and a short network timeout, so a
    /// renewal fails within <see cref="LeaseRequestTimeout"/> instead of retrying for minutes. The container must
    /// exist (<see cref="ContainerAsync"/>).
    /// </summary>
    public BlobClient LeaseBlob(string blobName) => _leaseContainer.Value.GetBlobClient(blobName);

    /// <summary>Options of the host's own blob clients; <paramref name="configure"/> may add policies.</summary>
    internal static BlobClientOptions Options(Action<ClientOptions>? configure)
    {
        var options = StorageAccountConnection.NewBlobOptions();

        // The host's requests are small: a stalled connection should fail and be retried well before 100 s.
        options.Retry.NetworkTimeout = TimeSpan.FromSeconds(30);
        configure?.Invoke(options);
        return options;
    }

    private static BlobClientOptions LeaseOptions(Action<ClientOptions>? configure)
    {
        var options = Options(configure);

        // The lease's own loop retries on its schedule; a retry here would only outlive the lease.
        options.Retry.MaxRetries = 0;
        options.Retry.NetworkTimeout = LeaseRequestTimeout;
        return options;
    }
}

/// <summary>How the host tells storage failures apart on the Azure SDK.</summary>
internal static class StorageFailures
{
    /// <summary>The service answered with <paramref name="status"/>.</summary>
    public static bool Is(this Exception exception, int status) => exception is RequestFailedException failed && failed.Status == status;

    /// <summary>The service answered with error code <paramref name="errorCode"/>.</summary>
    public static bool IsCode(this Exception exception, string errorCode) =>
        exception is RequestFailedException { ErrorCode: { } code } && string.Equals(code, errorCode, StringComparison.Ordinal);

    /// <summary>
    /// A failure worth trying again later: an error answer, no answer (network, retries exhausted), or a network
    /// timeout; not a cancellation asked for by <paramref name="cancellationToken"/>.
    /// </summary>
    public static bool IsStorageFailure(this Exception exception, CancellationToken cancellationToken) => exception switch
    {
        RequestFailedException or IOException or HttpRequestException or TimeoutException or AggregateException => true,

        // Azure.Core reports its network timeout as a cancellation nobody asked for.
        OperationCanceledException => !cancellationToken.IsCancellationRequested,
        _ => false,
    };
}
