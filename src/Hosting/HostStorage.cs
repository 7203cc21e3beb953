using System.Collections.Concurrent;
using Fleet.Hosting.Configuration;
using Fleet.Storage;
using Microsoft.Extensions.Configuration;
using Microsoft.Extensions.Logging;

namespace Fleet.Hosting;

/// <summary>
/// Storage clients of the in-process host: the host's own blob storage (<see cref="HostBlobStorage"/>, on the Azure
/// SDK: timer leases and status, poison records in container <c>azure-webjobs-hosts</c>) and, on the project's own
/// storage client, the queues its queue triggers name.
/// </summary>
internal sealed class HostStorage
{
    public const string HostConnectionName = "AzureWebJobsStorage";
    public const string HostContainerName = HostBlobStorage.ContainerName;

    private readonly IConfiguration _configuration;
    private readonly ILoggerFactory _loggerFactory;
    private readonly QueueMessageEncoding _encoding;
    private readonly ConcurrentDictionary<string, StorageConnection> _connections = new(StringComparer.OrdinalIgnoreCase);
    private readonly ConcurrentDictionary<string, QueueServiceClient> _queueServices = new(StringComparer.OrdinalIgnoreCase);
    private readonly Action<Azure.Core.ClientOptions>? _configureOptions;
    private readonly Lazy<HostBlobStorage> _blobs;

    public HostStorage(
        IConfiguration configuration, ILoggerFactory loggerFactory, HostSettings settings, Action<Azure.Core.ClientOptions>? configureOptions = null)
    {
        _configuration = configuration;
        _loggerFactory = loggerFactory;
        _encoding = settings.Queues.MessageEncoding;
        _configureOptions = configureOptions;
        _blobs = new Lazy<HostBlobStorage>(() =>
            new HostBlobStorage(StorageAccountConnection.Resolve(configuration, HostConnectionName), configureOptions));
    }

    /// <summary>The host's own blob container (timer leases and status, poison records).</summary>
    public HostBlobStorage Blobs => _blobs.Value;

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
}
