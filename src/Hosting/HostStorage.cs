using System.Collections.Concurrent;
using Fleet.Hosting.Configuration;
using Fleet.Storage;
using Microsoft.Extensions.Configuration;
using Microsoft.Extensions.Logging;

namespace Fleet.Hosting;

/// <summary>
/// Storage clients of the host, one per connection setting: the host's own storage (<c>AzureWebJobsStorage</c>: timer
/// leases and status, poison records in container <c>azure-webjobs-hosts</c>) and the connections queue triggers name.
/// </summary>
internal sealed class HostStorage
{
    public const string HostConnectionName = "AzureWebJobsStorage";
    public const string HostContainerName = "azure-webjobs-hosts";

    private readonly IConfiguration _configuration;
    private readonly ILoggerFactory _loggerFactory;
    private readonly QueueMessageEncoding _encoding;
    private readonly ConcurrentDictionary<string, StorageConnection> _connections = new(StringComparer.OrdinalIgnoreCase);
    private readonly ConcurrentDictionary<string, QueueServiceClient> _queueServices = new(StringComparer.OrdinalIgnoreCase);
    private readonly Action<StorageClientOptions>? _configureOptions;
    private readonly Lazy<BlobContainerClient> _hostContainer;
    private readonly Lazy<BlobContainerClient> _leaseContainer;
    private int _hostContainerCreated;

    public HostStorage(
        IConfiguration configuration, ILoggerFactory loggerFactory, HostSettings settings, Action<StorageClientOptions>? configureOptions = null)
    {
        _configuration = configuration;
        _loggerFactory = loggerFactory;
        _encoding = settings.Queues.MessageEncoding;
        _configureOptions = configureOptions;
        _hostContainer = new Lazy<BlobContainerClient>(() =>
            Connection(HostConnectionName).CreateBlobServiceClient(Options()).GetBlobContainerClient(HostContainerName));
        _leaseContainer = new Lazy<BlobContainerClient>(() =>
            Connection(HostConnectionName).CreateBlobServiceClient(LeaseOptions()).GetBlobContainerClient(HostContainerName));
    }

    /// <summary>
    /// How long one lease request may take on the wire. A lease holder must learn quickly that a renewal did not get
    /// through: it has to give the lease up before the service lets another host take it.
    /// </summary>
    internal static readonly TimeSpan LeaseRequestTimeout = TimeSpan.FromSeconds(10);

    /// <summary>Checks that a connection setting exists and parses (start-up validation).</summary>
    /// <exception cref="HostConfigurationException">Missing or invalid; the message names the setting.</exception>
    public StorageConnection Connection(string name) => _connections.GetOrAdd(name, n =>
    {
        try
        {
            return StorageConnection.FromConfiguration(_configuration, n);
        }
        catch (InvalidOperationException ex)
        {
            throw new HostConfigurationException(n, ex.Message, ex);
        }
    });

    /// <summary>A queue client on connection <paramref name="connectionName"/> with the host.json encoding (or <paramref name="encoding"/>).</summary>
    public QueueClient Queue(string connectionName, string queueName, QueueMessageEncoding? encoding = null)
    {
        var service = _queueServices.GetOrAdd(connectionName, n => Connection(n).CreateQueueServiceClient(Options()));
        return service.GetQueueClient(queueName, encoding ?? _encoding);
    }

    /// <summary>
    /// A queue client for renewing message leases: no Azure.Core retries and a network timeout of
    /// <paramref name="requestTimeout"/>, so a renewal that does not get through fails while the lease still runs and
    /// the listener's own schedule tries again (Azure.Core's retries could outlast a short lease).
    /// </summary>
    public QueueClient RenewalQueue(string connectionName, string queueName, TimeSpan requestTimeout)
    {
        var options = Options();
        options.Retry.MaxRetries = 0;
        options.Retry.NetworkTimeout = requestTimeout;
        return Connection(connectionName).CreateQueueServiceClient(options).GetQueueClient(queueName, _encoding);
    }

    /// <summary>
    /// A blob of the host container for lease requests only: no Azure.Core retries and a short network timeout, so a
    /// renewal fails within <see cref="LeaseRequestTimeout"/> instead of retrying for minutes. The container must
    /// exist (<see cref="HostContainerAsync"/>).
    /// </summary>
    public BlobClient LeaseBlob(string blobName) => _leaseContainer.Value.GetBlobClient(blobName);

    /// <summary>The host container, created on first use.</summary>
    public async Task<BlobContainerClient> HostContainerAsync(CancellationToken cancellationToken)
    {
        var container = _hostContainer.Value;
        if (Volatile.Read(ref _hostContainerCreated) == 0)
        {
            await container.CreateIfNotExistsAsync(cancellationToken).ConfigureAwait(false);
            Volatile.Write(ref _hostContainerCreated, 1);
        }

        return container;
    }

    private StorageClientOptions Options()
    {
        var options = new StorageClientOptions
        {
            MessageEncoding = _encoding,
            LoggerFactory = _loggerFactory,

            // Shared Key signatures carry the real time: a test's fake clock must never sign requests.
            TimeProvider = TimeProvider.System,
        };

        // The host's requests are small: a stalled connection should fail and be retried well before 100 s.
        options.Retry.NetworkTimeout = TimeSpan.FromSeconds(30);
        _configureOptions?.Invoke(options);
        return options;
    }

    private StorageClientOptions LeaseOptions()
    {
        var options = Options();

        // The lease's own loop retries on its schedule; a retry here would only outlive the lease.
        options.Retry.MaxRetries = 0;
        options.Retry.NetworkTimeout = LeaseRequestTimeout;
        return options;
    }
}
