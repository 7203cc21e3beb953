using System.Collections.Concurrent;
using Azure.Storage.Blobs;
using Azure.Storage.Queues;
using Fleet.Hosting.Configuration;
using Fleet.Hosting.Rpc.Protocol;
using Microsoft.Extensions.Configuration;
using AzureEncoding = Azure.Storage.Queues.QueueMessageEncoding;

namespace Fleet.Hosting.Local.Storage;

/// <summary>
/// The storage clients of the local host's bindings, one per connection setting and purpose, on the app settings;
/// plus what every storage binding reads from them (host id, host.json <c>extensions.queues</c>).
/// </summary>
internal sealed class StorageAccounts
{
    private readonly ConcurrentDictionary<string, StorageAccountConnection> _connections = new(StringComparer.OrdinalIgnoreCase);
    private readonly ConcurrentDictionary<(string, AzureEncoding), QueueServiceClient> _queues = new();
    private readonly ConcurrentDictionary<string, BlobServiceClient> _blobs = new(StringComparer.OrdinalIgnoreCase);
    private readonly Lazy<HostBlobStorage> _hostBlobs;
    private readonly Lazy<QueueSettings> _queueSettings;

    public StorageAccounts(IConfiguration settings, StorageBindingOptions options)
    {
        Settings = settings;
        Options = options;
        _hostBlobs = new Lazy<HostBlobStorage>(() => new HostBlobStorage(Connection(StorageAccountConnection.DefaultName), options.ConfigureClients));
        _queueSettings = new Lazy<QueueSettings>(() => HostSettingsReader.ReadQueueSettings(settings));
    }

    /// <summary>The app settings (local.settings.json Values, the environment, host.json under <c>AzureFunctionsJobHost</c>).</summary>
    public IConfiguration Settings { get; }

    public StorageBindingOptions Options { get; }

    /// <summary>host.json <c>extensions.queues</c>, validated by the host at start-up.</summary>
    public QueueSettings QueueSettings => _queueSettings.Value;

    /// <summary>The host's own container (timer leases and status, poison records) on <c>AzureWebJobsStorage</c>.</summary>
    public HostBlobStorage HostBlobs => _hostBlobs.Value;

    /// <summary>The host id, as Azure Functions derives it: <c>AzureFunctionsWebHost:hostid</c>, the site name, or the app's name.</summary>
    public string HostId(RpcFunctionMetadata metadata) =>
        HostSettingsReader.ReadHostId(Settings, Path.GetFileNameWithoutExtension(metadata.ScriptFile), hostIdOverride: null);

    /// <summary>The connection a binding names (<c>AzureWebJobsStorage</c> when it names none).</summary>
    /// <exception cref="HostConfigurationException">Missing or invalid; names the setting.</exception>
    public StorageAccountConnection Connection(string? name) =>
        _connections.GetOrAdd(
            string.IsNullOrWhiteSpace(name) ? StorageAccountConnection.DefaultName : name.Trim(),
            n => StorageAccountConnection.Resolve(Settings, n, Options.CredentialFactory));

    /// <summary>A queue service client with <paramref name="encoding"/> (the listener reads raw text and decodes itself).</summary>
    public QueueServiceClient Queues(string? connection, AzureEncoding encoding) =>
        _queues.GetOrAdd(
            (Connection(connection).Setting, encoding),
            key => Connection(connection).CreateQueueServiceClient(QueueOptions(encoding)));

    /// <summary>
    /// A queue client for renewing message visibility: no Azure.Core retries and a network timeout of
    /// <paramref name="requestTimeout"/>, so a renewal that does not get through fails while the message is still
    /// hidden, and the listener's own schedule tries again.
    /// </summary>
    public QueueClient RenewalQueue(string? connection, string queueName, TimeSpan requestTimeout)
    {
        var options = QueueOptions(AzureEncoding.None);
        options.Retry.MaxRetries = 0;
        options.Retry.NetworkTimeout = requestTimeout;
        return Connection(connection).CreateQueueServiceClient(options).GetQueueClient(queueName);
    }

    public BlobServiceClient Blobs(string? connection) =>
        _blobs.GetOrAdd(Connection(connection).Setting, _ => Connection(connection).CreateBlobServiceClient(HostBlobStorage.Options(Options.ConfigureClients)));

    /// <summary>host.json's <c>messageEncoding</c>.</summary>
    public AzureEncoding MessageEncoding => QueueSettings.MessageEncoding;

    private QueueClientOptions QueueOptions(AzureEncoding encoding)
    {
        var options = StorageAccountConnection.NewQueueOptions();
        options.MessageEncoding = encoding;

        // The host's requests are small: a stalled connection should fail and be retried well before 100 s.
        options.Retry.NetworkTimeout = TimeSpan.FromSeconds(30);
        Options.ConfigureClients?.Invoke(options);
        return options;
    }
}
