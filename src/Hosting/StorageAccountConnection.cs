using Azure.Core;
using Azure.Storage.Blobs;
using Azure.Storage.Queues;
using Fleet.Shared.Identity;
using Microsoft.Extensions.Configuration;

namespace Fleet.Hosting;

/// <summary>
/// A storage connection setting read the way Azure Functions reads <c>AzureWebJobsStorage</c> or a binding's
/// <c>connection</c>, giving Azure SDK clients. Looked up, in order: <c>AzureWebJobs&lt;name&gt;</c> then
/// <c>&lt;name&gt;</c>, each first under <c>ConnectionStrings:</c>. A value is a connection string, parsed by the SDK
/// (<c>UseDevelopmentStorage=true</c>, account key, SAS, explicit endpoints); a section with <c>queueServiceUri</c>,
/// <c>blobServiceUri</c> (or <c>serviceUri</c>) or <c>accountName</c> is an identity-based connection whose credential
/// the <c>credential</c> / <c>clientId</c> / <c>tenantId</c> / <c>clientSecret</c> settings describe.
/// </summary>
internal sealed class StorageAccountConnection
{
    /// <summary>The connection a binding without <c>connection</c> uses.</summary>
    public const string DefaultName = "AzureWebJobsStorage";

    private const string DefaultEndpointSuffix = "core.windows.net";

    private readonly string? _connectionString;

    private StorageAccountConnection(string setting, string? connectionString, Uri? queueServiceUri, Uri? blobServiceUri, TokenCredential? credential)
    {
        Setting = setting;
        _connectionString = connectionString;
        QueueServiceUri = queueServiceUri;
        BlobServiceUri = blobServiceUri;
        Credential = credential;
    }

    /// <summary>The setting the connection was read from (for messages; never its value).</summary>
    public string Setting { get; }

    /// <summary>The queue service endpoint, or null when the connection names none.</summary>
    public Uri? QueueServiceUri { get; }

    /// <summary>The blob service endpoint, or null when the connection names none.</summary>
    public Uri? BlobServiceUri { get; }

    /// <summary>The identity's credential; null for a connection string.</summary>
    public TokenCredential? Credential { get; }

    /// <summary>
    /// Blob client options at the service version every client of the host sends: the newest that Azurite 3.37 (the
    /// local storage of ./run and the tests) accepts; Azure accepts it too. The SDK's default is newer.
    /// </summary>
    public static BlobClientOptions NewBlobOptions() => new(BlobClientOptions.ServiceVersion.V2026_06_06);

    /// <summary>Queue client options at the service version of <see cref="NewBlobOptions"/>.</summary>
    public static QueueClientOptions NewQueueOptions() => new(QueueClientOptions.ServiceVersion.V2026_06_06);

    /// <summary>
    /// Reads connection <paramref name="connectionName"/> (<see cref="DefaultName"/> when empty).
    /// <paramref name="credentialFactory"/> replaces the settings' credential (tests); null reads it from the settings.
    /// </summary>
    /// <exception cref="HostConfigurationException">Missing, malformed or incomplete; the message names the setting
    /// and never shows a key or signature.</exception>
    public static StorageAccountConnection Resolve(
        IConfiguration configuration, string? connectionName, Func<IConfiguration, string, TokenCredential>? credentialFactory = null)
    {
        ArgumentNullException.ThrowIfNull(configuration);
        var name = string.IsNullOrWhiteSpace(connectionName) ? DefaultName : connectionName.Trim();
        foreach (var candidate in CandidateNames(name))
        {
            var value = configuration.GetSection("ConnectionStrings")[candidate];
            if (string.IsNullOrWhiteSpace(value))
            {
                value = configuration[candidate];
            }

            if (!string.IsNullOrWhiteSpace(value))
            {
                return FromConnectionString(candidate, value);
            }

            var section = configuration.GetSection(candidate);
            if (section.GetChildren().Any())
            {
                return FromIdentitySettings(configuration, section, candidate, credentialFactory);
            }
        }

        throw new HostConfigurationException(
            name,
            $"Storage connection '{name}' is not configured: set '{name}' to a connection string (UseDevelopmentStorage=true for Azurite), " +
            $"or set '{name}__queueServiceUri' / '{name}__blobServiceUri' (or '{name}__accountName') for an identity-based connection.");
    }

    /// <summary>A queue service client on this connection.</summary>
    /// <exception cref="HostConfigurationException">The connection names no queue endpoint.</exception>
    public QueueServiceClient CreateQueueServiceClient(QueueClientOptions options)
    {
        if (_connectionString is not null)
        {
            return new QueueServiceClient(_connectionString, options);
        }

        var uri = QueueServiceUri ?? throw Missing("queue", "queueServiceUri");
        return new QueueServiceClient(uri, Credential!, options);
    }

    /// <summary>A blob service client on this connection.</summary>
    /// <exception cref="HostConfigurationException">The connection names no blob endpoint.</exception>
    public BlobServiceClient CreateBlobServiceClient(BlobClientOptions options)
    {
        if (_connectionString is not null)
        {
            return new BlobServiceClient(_connectionString, options);
        }

        var uri = BlobServiceUri ?? throw Missing("blob", "blobServiceUri");
        return new BlobServiceClient(uri, Credential!, options);
    }

    /// <summary>Fails start-up when the connection has no endpoint for a service a binding needs.</summary>
    public void RequireQueues()
    {
        if (QueueServiceUri is null)
        {
            throw Missing("queue", "queueServiceUri");
        }
    }

    /// <inheritdoc cref="RequireQueues"/>
    public void RequireBlobs()
    {
        if (BlobServiceUri is null)
        {
            throw Missing("blob", "blobServiceUri");
        }
    }

    private HostConfigurationException Missing(string service, string identitySetting) => new(
        Setting,
        _connectionString is not null
            ? $"Storage connection setting '{Setting}' names no {service} endpoint: add AccountName (or {char.ToUpperInvariant(service[0])}{service[1..]}Endpoint) to it."
            : $"Storage connection '{Setting}' names no {service} endpoint: set '{Setting}__{identitySetting}' or '{Setting}__accountName'.");

    private static IEnumerable<string> CandidateNames(string name)
    {
        if (!name.StartsWith("AzureWebJobs", StringComparison.OrdinalIgnoreCase))
        {
            yield return "AzureWebJobs" + name;
        }

        yield return name;
    }

    private static StorageAccountConnection FromConnectionString(string setting, string value)
    {
        Uri? queue;
        Uri? blob;
        try
        {
            // The SDK's own parser; building the clients yields the endpoints, and no request is sent.
            queue = Endpoint(() => new QueueServiceClient(value).Uri);
            blob = Endpoint(() => new BlobServiceClient(value).Uri);
        }
        catch (Exception ex) when (ex is FormatException or ArgumentException or InvalidOperationException)
        {
            // The SDK's parser names no values in its messages ("No valid combination of account information found.").
            throw new HostConfigurationException(
                setting,
                $"Storage connection setting '{setting}' is not a storage connection string: {ex.Message} " +
                "Use UseDevelopmentStorage=true, or AccountName with AccountKey or SharedAccessSignature (and endpoints or EndpointSuffix).",
                ex);
        }

        if (queue is null && blob is null)
        {
            throw new HostConfigurationException(setting, $"Storage connection setting '{setting}' names no queue or blob endpoint.");
        }

        return new StorageAccountConnection(setting, value, queue, blob, credential: null);
    }

    // A connection string without one service's endpoint still parses for it, to no URI. A SAS is cut off: these
    // URIs appear in messages.
    private static Uri? Endpoint(Func<Uri?> create)
    {
        var uri = create();
        return uri is null || string.IsNullOrEmpty(uri.OriginalString) ? null : new UriBuilder(uri) { Query = string.Empty }.Uri;
    }

    private static StorageAccountConnection FromIdentitySettings(
        IConfiguration configuration, IConfigurationSection section, string setting, Func<IConfiguration, string, TokenCredential>? credentialFactory)
    {
        var accountName = Trimmed(section["accountName"]);
        var blob = ServiceUri(section, setting, "blobServiceUri") ?? ServiceUri(section, setting, "serviceUri");
        var queue = ServiceUri(section, setting, "queueServiceUri");
        if (accountName is not null)
        {
            if (accountName.Length is < 3 or > 24 || !accountName.All(c => char.IsAsciiLetterLower(c) || char.IsAsciiDigit(c)))
            {
                throw new HostConfigurationException(
                    setting + "__accountName", $"Setting '{setting}__accountName' is not a storage account name (3-24 lowercase letters and digits).");
            }

            blob ??= new Uri($"https://{accountName}.blob.{DefaultEndpointSuffix}");
            queue ??= new Uri($"https://{accountName}.queue.{DefaultEndpointSuffix}");
        }

        if (blob is null && queue is null)
        {
            throw new HostConfigurationException(
                setting,
                $"Setting '{setting}' has neither a connection string nor '{setting}__queueServiceUri', '{setting}__blobServiceUri' or '{setting}__accountName' for an identity-based connection.");
        }

        TokenCredential credential;
        try
        {
            credential = credentialFactory is null ? ConnectionCredentials.Create(configuration, setting) : credentialFactory(configuration, setting);
        }
        catch (InvalidOperationException ex)
        {
            throw new HostConfigurationException(setting, ex.Message, ex);
        }

        return new StorageAccountConnection(setting, connectionString: null, queue, blob, credential);
    }

    private static Uri? ServiceUri(IConfigurationSection section, string setting, string key)
    {
        var value = Trimmed(section[key]);
        if (value is null)
        {
            return null;
        }

        // Bearer tokens go only over TLS (Azure.Core refuses otherwise): say so at start-up, not on first use.
        if (!Uri.TryCreate(value, UriKind.Absolute, out var uri) || uri.Scheme != Uri.UriSchemeHttps || !string.IsNullOrEmpty(uri.Query))
        {
            throw new HostConfigurationException(
                $"{setting}__{key}", $"Setting '{setting}__{key}' must be an absolute https URI without a query (identity-based connections use TLS).");
        }

        return uri;
    }

    private static string? Trimmed(string? value) => string.IsNullOrWhiteSpace(value) ? null : value.Trim();
}
