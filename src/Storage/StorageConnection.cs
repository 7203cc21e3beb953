using System.Text.RegularExpressions;
using Azure.Core;
using Azure.Core.Pipeline;
using Fleet.Shared.Identity;
using Microsoft.Extensions.Configuration;

namespace Fleet.Storage;

/// <summary>How a <see cref="StorageConnection"/> authorizes its requests.</summary>
public enum StorageCredentialKind
{
    /// <summary>Shared Key signing with the account key.</summary>
    SharedKey,

    /// <summary>A shared access signature appended to every request.</summary>
    SharedAccessSignature,

    /// <summary>Microsoft Entra bearer tokens from a <see cref="TokenCredential"/>.</summary>
    Token,
}

/// <summary>
/// A storage account's endpoints and credential, read the way Azure Functions reads the connection named by
/// <c>AzureWebJobsStorage</c> or a trigger's <c>Connection</c>: a connection string, or identity-based settings
/// (<c>&lt;name&gt;__accountName</c>, <c>__queueServiceUri</c>, <c>__blobServiceUri</c>, plus credential settings).
/// <see cref="ToString"/> never shows a key or signature.
/// </summary>
public sealed partial class StorageConnection
{
    /// <summary>The scope requested for Storage bearer tokens.</summary>
    public const string TokenScope = "https://storage.azure.com/.default";

    /// <summary>The Azurite / Storage Emulator account name.</summary>
    public const string DevelopmentAccountName = "devstoreaccount1";

    // The emulator's published, well-known key: not a secret.
    internal const string DevelopmentAccountKey =
        "Eby8vdM02xNOcqFlqUwJPLlmEtlCDXJ1OUzFT50uSRZ6IFsuFq2UVErCz4I6tq/K1SZFPTOtr/KBHBeksoGMGw==";

    private const string DefaultEndpointSuffix = "core.windows.net";

    private static readonly string[] KnownKeys =
    [
        "UseDevelopmentStorage", "DevelopmentStorageProxyUri", "DefaultEndpointsProtocol", "AccountName", "AccountKey",
        "EndpointSuffix", "BlobEndpoint", "QueueEndpoint", "SharedAccessSignature",
        // Accepted so a full Azure portal connection string parses; this client does not use them.
        "TableEndpoint", "FileEndpoint", "BlobSecondaryEndpoint", "QueueSecondaryEndpoint", "TableSecondaryEndpoint",
        "FileSecondaryEndpoint",
    ];

    private readonly byte[]? _accountKey;
    private readonly string? _sas;
    private readonly TokenCredential? _tokenCredential;

    private StorageConnection(
        string source, string accountName, Uri? blobEndpoint, Uri? queueEndpoint, byte[]? accountKey, string? sas,
        TokenCredential? tokenCredential, bool isDevelopmentStorage)
    {
        Source = source;
        AccountName = accountName;
        BlobEndpoint = blobEndpoint;
        QueueEndpoint = queueEndpoint;
        _accountKey = accountKey;
        _sas = sas;
        _tokenCredential = tokenCredential;
        IsDevelopmentStorage = isDevelopmentStorage;
        CredentialKind = accountKey is not null ? StorageCredentialKind.SharedKey
            : sas is not null ? StorageCredentialKind.SharedAccessSignature
            : StorageCredentialKind.Token;
    }

    /// <summary>The storage account name (used for Shared Key signing).</summary>
    public string AccountName { get; }

    /// <summary>The Blob service endpoint, or null when the connection names none.</summary>
    public Uri? BlobEndpoint { get; }

    /// <summary>The Queue service endpoint, or null when the connection names none.</summary>
    public Uri? QueueEndpoint { get; }

    /// <summary>How requests are authorized.</summary>
    public StorageCredentialKind CredentialKind { get; }

    /// <summary>True for <c>UseDevelopmentStorage=true</c>.</summary>
    public bool IsDevelopmentStorage { get; }

    /// <summary>Where the connection came from, for error messages: a setting name or "the connection string".</summary>
    internal string Source { get; }

    /// <summary>
    /// Reads the connection <paramref name="connectionName"/> the way Azure Functions does. Looked up, in order:
    /// <c>AzureWebJobs&lt;name&gt;</c> then <c>&lt;name&gt;</c>, each first under <c>ConnectionStrings:</c>; a value
    /// is a connection string, a section with <c>accountName</c>, <c>queueServiceUri</c>, <c>blobServiceUri</c>
    /// (or <c>serviceUri</c>) is an identity-based connection whose credential is
    /// <paramref name="credential"/> or, when null, the one the <c>credential</c> / <c>clientId</c> /
    /// <c>tenantId</c> / <c>clientSecret</c> settings describe (see <see cref="ConnectionCredentials"/>).
    /// </summary>
    /// <exception cref="InvalidOperationException">The connection is missing, malformed or incomplete; the message
    /// names the setting and never shows a key or signature.</exception>
    public static StorageConnection FromConfiguration(
        IConfiguration configuration, string connectionName, TokenCredential? credential = null)
    {
        ArgumentNullException.ThrowIfNull(configuration);
        ArgumentException.ThrowIfNullOrWhiteSpace(connectionName);

        foreach (var name in CandidateNames(connectionName))
        {
            var value = configuration.GetSection("ConnectionStrings")[name];
            if (string.IsNullOrWhiteSpace(value))
            {
                value = configuration[name];
            }

            if (!string.IsNullOrWhiteSpace(value))
            {
                try
                {
                    return ParseCore(value, $"setting '{name}'");
                }
                catch (FormatException ex)
                {
                    throw new InvalidOperationException(ex.Message, ex);
                }
            }

            var section = configuration.GetSection(name);
            if (section.GetChildren().Any())
            {
                return FromIdentitySettings(configuration, section, name, credential);
            }
        }

        throw new InvalidOperationException(
            $"Storage connection '{connectionName}' is not configured: set '{connectionName}' to a connection string, " +
            $"or set '{connectionName}__accountName' (or '{connectionName}__queueServiceUri' / " +
            $"'{connectionName}__blobServiceUri') for an identity-based connection.");
    }

    /// <summary>
    /// Parses a Storage connection string: <c>UseDevelopmentStorage=true</c> (optionally with
    /// <c>DevelopmentStorageProxyUri</c>), or <c>AccountName</c> with <c>AccountKey</c> or
    /// <c>SharedAccessSignature</c>, endpoints from <c>DefaultEndpointsProtocol</c> + <c>EndpointSuffix</c> or
    /// explicit <c>BlobEndpoint</c> / <c>QueueEndpoint</c>. Keys are case-insensitive.
    /// </summary>
    /// <exception cref="FormatException">The string is malformed or incomplete; the message names the offending key
    /// and never shows a key or signature.</exception>
    public static StorageConnection Parse(string connectionString)
    {
        ArgumentNullException.ThrowIfNull(connectionString);
        return ParseCore(connectionString, "storage connection string");
    }

    /// <summary>Creates a Queue service client on this connection's queue endpoint.</summary>
    /// <exception cref="InvalidOperationException">The connection names no queue endpoint.</exception>
    public QueueServiceClient CreateQueueServiceClient(StorageClientOptions? options = null)
    {
        var endpoint = QueueEndpoint ?? throw new InvalidOperationException(
            $"The {Source} names no queue endpoint: add QueueEndpoint (or AccountName) to it, or queueServiceUri / accountName for an identity-based connection.");
        return new QueueServiceClient(new StorageClientContext(this, endpoint, options ?? new StorageClientOptions()));
    }

    /// <summary>Creates a Blob service client on this connection's blob endpoint.</summary>
    /// <exception cref="InvalidOperationException">The connection names no blob endpoint.</exception>
    public BlobServiceClient CreateBlobServiceClient(StorageClientOptions? options = null)
    {
        var endpoint = BlobEndpoint ?? throw new InvalidOperationException(
            $"The {Source} names no blob endpoint: add BlobEndpoint (or AccountName) to it, or blobServiceUri / accountName for an identity-based connection.");
        return new BlobServiceClient(new StorageClientContext(this, endpoint, options ?? new StorageClientOptions()));
    }

    /// <summary>Describes the connection without secrets.</summary>
    public override string ToString() =>
        $"{AccountName} ({CredentialKind}; blob {BlobEndpoint?.ToString() ?? "none"}; queue {QueueEndpoint?.ToString() ?? "none"})";

    /// <summary>The authorization policy for this connection's pipeline.</summary>
    internal HttpPipelinePolicy CreateAuthenticationPolicy(TimeProvider timeProvider) => CredentialKind switch
    {
        StorageCredentialKind.SharedKey => new SharedKeyAuthenticationPolicy(AccountName, _accountKey!, timeProvider),
        StorageCredentialKind.SharedAccessSignature => new SasAuthenticationPolicy(_sas!),
        _ => new BearerTokenAuthenticationPolicy(_tokenCredential!, TokenScope),
    };

    private static IEnumerable<string> CandidateNames(string connectionName)
    {
        if (!connectionName.StartsWith("AzureWebJobs", StringComparison.OrdinalIgnoreCase))
        {
            yield return "AzureWebJobs" + connectionName;
        }

        yield return connectionName;
    }

    private static StorageConnection FromIdentitySettings(
        IConfiguration configuration, IConfigurationSection section, string name, TokenCredential? credential)
    {
        var accountName = Trimmed(section["accountName"]);
        var blobUri = ReadServiceUri(section, name, "blobServiceUri") ?? ReadServiceUri(section, name, "serviceUri");
        var queueUri = ReadServiceUri(section, name, "queueServiceUri");

        if (accountName is null && blobUri is null && queueUri is null)
        {
            throw new InvalidOperationException(
                $"Setting '{name}' has neither a connection string nor '{name}__accountName', " +
                $"'{name}__queueServiceUri' or '{name}__blobServiceUri' for an identity-based connection.");
        }

        if (accountName is not null)
        {
            if (!AccountNamePattern().IsMatch(accountName))
            {
                throw new InvalidOperationException(
                    $"Setting '{name}__accountName' is not a storage account name (3-24 lowercase letters and digits).");
            }

            blobUri ??= new Uri($"https://{accountName}.blob.{DefaultEndpointSuffix}");
            queueUri ??= new Uri($"https://{accountName}.queue.{DefaultEndpointSuffix}");
        }

        accountName ??= AccountNameFromEndpoint((blobUri ?? queueUri)!);
        var tokenCredential = credential ?? ConnectionCredentials.Create(configuration, name);
        return new StorageConnection(
            $"setting '{name}'", accountName, blobUri, queueUri, accountKey: null, sas: null, tokenCredential,
            isDevelopmentStorage: false);
    }

    private static Uri? ReadServiceUri(IConfigurationSection section, string name, string key)
    {
        var value = Trimmed(section[key]);
        if (value is null)
        {
            return null;
        }

        // Bearer tokens go only over TLS (Azure.Core refuses otherwise); say so at start-up, not on first use.
        if (!Uri.TryCreate(value, UriKind.Absolute, out var uri) || uri.Scheme != Uri.UriSchemeHttps
            || !string.IsNullOrEmpty(uri.Query))
        {
            throw new InvalidOperationException(
                $"Setting '{name}__{key}' must be an absolute https URI without a query (identity-based connections use TLS).");
        }

        return uri;
    }

    private static StorageConnection ParseCore(string connectionString, string source)
    {
        var settings = SplitSettings(connectionString, source);

        if (settings.TryGetValue("UseDevelopmentStorage", out var useDev))
        {
            return ParseDevelopmentStorage(settings, useDev, source);
        }

        settings.TryGetValue("AccountName", out var accountName);
        settings.TryGetValue("AccountKey", out var accountKeyText);
        settings.TryGetValue("SharedAccessSignature", out var sas);
        settings.TryGetValue("EndpointSuffix", out var suffix);
        settings.TryGetValue("DefaultEndpointsProtocol", out var protocol);

        if (accountKeyText is not null && sas is not null)
        {
            throw Error(source, "has both AccountKey and SharedAccessSignature; keep one of them.");
        }

        if (accountKeyText is null && sas is null)
        {
            throw Error(source, "has neither AccountKey nor SharedAccessSignature (for a managed identity use the " +
                "identity-based settings <name>__accountName / __queueServiceUri / __blobServiceUri instead).");
        }

        byte[]? accountKey = null;
        if (accountKeyText is not null)
        {
            if (accountName is null)
            {
                throw Error(source, "has AccountKey but no AccountName.");
            }

            accountKey = DecodeKey(accountKeyText) ?? throw Error(source, "has an AccountKey that is not valid Base64.");
        }

        if (sas is not null)
        {
            sas = sas.TrimStart('?');
            if (!sas.Split('&').Any(p => p.StartsWith("sig=", StringComparison.OrdinalIgnoreCase)))
            {
                throw Error(source, "has a SharedAccessSignature without a 'sig' parameter.");
            }
        }

        if (protocol is not null && !protocol.Equals("https", StringComparison.OrdinalIgnoreCase)
            && !protocol.Equals("http", StringComparison.OrdinalIgnoreCase))
        {
            throw Error(source, "has DefaultEndpointsProtocol other than 'http' or 'https'.");
        }

        if (suffix is not null && accountName is null)
        {
            throw Error(source, "has EndpointSuffix but no AccountName.");
        }

        var blob = ExplicitEndpoint(settings, "BlobEndpoint", source);
        var queue = ExplicitEndpoint(settings, "QueueEndpoint", source);
        if (accountName is not null)
        {
            if (!AccountNamePattern().IsMatch(accountName))
            {
                throw Error(source, "has an AccountName that is not a storage account name (3-24 lowercase letters and digits).");
            }

            var scheme = (protocol ?? "https").ToLowerInvariant();
            var host = suffix ?? DefaultEndpointSuffix;
            blob ??= new Uri($"{scheme}://{accountName}.blob.{host}");
            queue ??= new Uri($"{scheme}://{accountName}.queue.{host}");
        }

        if (blob is null && queue is null)
        {
            throw Error(source, "names no account: add AccountName, or BlobEndpoint / QueueEndpoint.");
        }

        accountName ??= AccountNameFromEndpoint((blob ?? queue)!);
        return new StorageConnection(source, accountName, blob, queue, accountKey, sas, null, isDevelopmentStorage: false);
    }

    private static StorageConnection ParseDevelopmentStorage(Dictionary<string, string> settings, string value, string source)
    {
        if (!value.Equals("true", StringComparison.OrdinalIgnoreCase))
        {
            throw Error(source, "has UseDevelopmentStorage with a value other than 'true'.");
        }

        var other = settings.Keys.FirstOrDefault(k =>
            !k.Equals("UseDevelopmentStorage", StringComparison.OrdinalIgnoreCase)
            && !k.Equals("DevelopmentStorageProxyUri", StringComparison.OrdinalIgnoreCase));
        if (other is not null)
        {
            throw Error(source, $"combines UseDevelopmentStorage=true with '{other}'; use explicit endpoints instead.");
        }

        var scheme = "http";
        var host = "127.0.0.1";
        if (settings.TryGetValue("DevelopmentStorageProxyUri", out var proxy))
        {
            if (!Uri.TryCreate(proxy, UriKind.Absolute, out var proxyUri))
            {
                throw Error(source, "has a DevelopmentStorageProxyUri that is not an absolute URI.");
            }

            scheme = proxyUri.Scheme;
            host = proxyUri.Host;
        }

        return new StorageConnection(
            source,
            DevelopmentAccountName,
            new Uri($"{scheme}://{host}:10000/{DevelopmentAccountName}"),
            new Uri($"{scheme}://{host}:10001/{DevelopmentAccountName}"),
            Convert.FromBase64String(DevelopmentAccountKey),
            sas: null,
            tokenCredential: null,
            isDevelopmentStorage: true);
    }

    private static Dictionary<string, string> SplitSettings(string connectionString, string source)
    {
        var settings = new Dictionary<string, string>(StringComparer.OrdinalIgnoreCase);
        var position = 0;
        foreach (var segment in connectionString.Split(';'))
        {
            position++;
            if (string.IsNullOrWhiteSpace(segment))
            {
                continue;
            }

            // Values (keys, signatures) may contain '=': split at the first one only. Never echo the segment.
            var equals = segment.IndexOf('=', StringComparison.Ordinal);
            var key = equals > 0 ? segment[..equals].Trim() : string.Empty;
            if (key.Length == 0)
            {
                throw Error(source, $"has a malformed part at position {position}: expected Key=Value.");
            }

            var known = KnownKeys.FirstOrDefault(k => k.Equals(key, StringComparison.OrdinalIgnoreCase))
                ?? throw Error(source, $"has the unknown key '{SafeKeyName(key)}'.");
            var value = segment[(equals + 1)..].Trim();
            if (value.Length == 0)
            {
                throw Error(source, $"has an empty value for '{known}'.");
            }

            if (!settings.TryAdd(known, value))
            {
                throw Error(source, $"has '{known}' more than once.");
            }
        }

        if (settings.Count == 0)
        {
            throw Error(source, "is empty.");
        }

        return settings;
    }

    private static Uri? ExplicitEndpoint(Dictionary<string, string> settings, string key, string source)
    {
        if (!settings.TryGetValue(key, out var value))
        {
            return null;
        }

        if (!Uri.TryCreate(value, UriKind.Absolute, out var uri)
            || (uri.Scheme != Uri.UriSchemeHttp && uri.Scheme != Uri.UriSchemeHttps))
        {
            throw Error(source, $"has a {key} that is not an absolute http or https URI.");
        }

        if (!string.IsNullOrEmpty(uri.Query))
        {
            throw Error(source, $"has a {key} with a query; put a SAS in SharedAccessSignature instead.");
        }

        return uri;
    }

    private static string AccountNameFromEndpoint(Uri endpoint)
    {
        // Path-style (emulator, IP or localhost): /account/...; otherwise the first DNS label.
        if (endpoint.HostNameType is UriHostNameType.IPv4 or UriHostNameType.IPv6 || endpoint.IsLoopback)
        {
            var first = endpoint.AbsolutePath.Trim('/').Split('/')[0];
            return first.Length > 0 ? first : endpoint.Host;
        }

        return endpoint.Host.Split('.')[0];
    }

    private static byte[]? DecodeKey(string text)
    {
        var buffer = new byte[text.Length];
        return Convert.TryFromBase64String(text, buffer, out var written) && written > 0 ? buffer[..written] : null;
    }

    // A typo'd key could be a pasted secret fragment: show it only when it looks like a key name.
    private static string SafeKeyName(string key) =>
        key.Length <= 40 && key.All(char.IsAsciiLetterOrDigit) ? key : "(unrecognised key)";

    private static FormatException Error(string source, string problem)
    {
        var prefix = source.StartsWith("setting", StringComparison.Ordinal) ? $"Storage connection {source}" : $"The {source}";
        return new FormatException($"{prefix} {problem}");
    }

    private static string? Trimmed(string? value) => string.IsNullOrWhiteSpace(value) ? null : value.Trim();

    [GeneratedRegex("^[a-z0-9]{3,24}$")]
    private static partial Regex AccountNamePattern();
}
