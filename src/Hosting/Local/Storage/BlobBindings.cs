using System.Globalization;
using System.Text.Json;
using System.Text.RegularExpressions;
using Azure.Storage.Blobs;
using Azure.Storage.Blobs.Models;
using Fleet.Hosting.Rpc.Protocol;
using Google.Protobuf;
using Microsoft.Extensions.Logging;

namespace Fleet.Hosting.Local.Storage;

/// <summary>
/// A blob binding's <c>blobPath</c> (<c>container/blob</c>) with <c>%Setting%</c> references and binding expressions
/// resolved: <c>{name}</c> from the trigger metadata (<c>{queueTrigger}</c>, <c>{Id}</c>, ...) or a top-level
/// property of a JSON trigger payload, <c>{rand-guid}</c> and <c>{DateTime}</c>.
/// </summary>
internal static partial class BlobPath
{
    public static (string Container, string Blob) Resolve(
        FunctionSpec function, BindingSpec binding, StorageAccounts accounts, TriggerInvocation? invocation, TimeProvider time)
    {
        // The worker's metadata names it blobPath; function.json names it path.
        var key = BindingSettings.Raw(binding, "blobPath") is null ? "path" : "blobPath";
        var path = BindingSettings.Resolved(binding, key, accounts.Settings, out var problem)
            ?? throw new InvalidOperationException($"Blob binding of function '{function.Name}': {problem ?? $"binding '{binding.Name}' names no path"}.");
        JsonElement? payload = null;
        if (invocation?.TriggerValue.DataCase == TypedData.DataOneofCase.Json)
        {
            using var document = JsonDocument.Parse(invocation.TriggerValue.Json);
            payload = document.RootElement.Clone();
        }

        var resolved = ExpressionPattern().Replace(path, match => Value(match.Groups[1].Value.Trim(), function, binding, invocation, payload, time));
        var slash = resolved.IndexOf('/', StringComparison.Ordinal);
        if (slash <= 0 || slash == resolved.Length - 1)
        {
            throw new InvalidOperationException($"Blob binding '{binding.Name}' of function '{function.Name}': path '{resolved}' must be 'container/blob'.");
        }

        return (resolved[..slash], resolved[(slash + 1)..]);
    }

    private static string Value(string name, FunctionSpec function, BindingSpec binding, TriggerInvocation? invocation, JsonElement? payload, TimeProvider time)
    {
        if (string.Equals(name, "rand-guid", StringComparison.OrdinalIgnoreCase))
        {
            return Guid.NewGuid().ToString();
        }

        if (string.Equals(name, "DateTime", StringComparison.OrdinalIgnoreCase))
        {
            return time.GetUtcNow().UtcDateTime.ToString("yyyy-MM-ddTHH-mm-ssZ", CultureInfo.InvariantCulture);
        }

        if (invocation is not null)
        {
            foreach (var (key, value) in invocation.TriggerMetadata)
            {
                if (string.Equals(key, name, StringComparison.OrdinalIgnoreCase))
                {
                    return value.DataCase == TypedData.DataOneofCase.Json ? Unquoted(value.Json) : value.String;
                }
            }

            if (payload is { ValueKind: JsonValueKind.Object } root)
            {
                foreach (var property in root.EnumerateObject())
                {
                    if (string.Equals(property.Name, name, StringComparison.OrdinalIgnoreCase))
                    {
                        return property.Value.ValueKind == JsonValueKind.String ? property.Value.GetString()! : property.Value.GetRawText();
                    }
                }
            }
        }

        throw new InvalidOperationException(
            $"Blob binding '{binding.Name}' of function '{function.Name}': the path's '{{{name}}}' is neither trigger data nor a property of the trigger's JSON payload.");
    }

    private static string Unquoted(string json)
    {
        using var document = JsonDocument.Parse(json);
        return document.RootElement.ValueKind == JsonValueKind.String ? document.RootElement.GetString()! : document.RootElement.GetRawText();
    }

    [GeneratedRegex(@"\{([^{}]+)\}")]
    private static partial Regex ExpressionPattern();
}

/// <summary>
/// The <c>blob</c> input binding: for SDK-type parameters (<c>BlobClient</c>, and in Blobs extension 6.x also
/// <c>string</c>, <c>byte[]</c>, <c>Stream</c>) the worker reads the blob itself from <c>ModelBindingData</c>
/// (source <c>AzureStorageBlobs</c>: connection, container, blob name); for the rest (POCOs, or when the worker does
/// not defer) the host reads it and sends text, bytes or JSON, and a missing blob binds as null. (A deferred read of a
/// missing blob fails in the worker, as it does in Azure.)
/// </summary>
internal sealed class BlobInputProvider(StorageAccounts accounts, ILoggerFactory loggerFactory, TimeProvider time) : IInputBindingProvider
{
    public const string ModelBindingSource = "AzureStorageBlobs";

    public string BindingType => "blob";

    public async Task<TypedData> ReadAsync(FunctionSpec function, BindingSpec binding, TriggerInvocation invocation, CancellationToken cancellationToken)
    {
        ArgumentNullException.ThrowIfNull(function);
        ArgumentNullException.ThrowIfNull(binding);
        var (container, blob) = BlobPath.Resolve(function, binding, accounts, invocation, time);
        var connection = BindingSettings.Resolved(binding, "connection", accounts.Settings, out _);
        if (QueueTriggerData.WantsModelBindingData(function, binding))
        {
            var content = JsonSerializer.SerializeToUtf8Bytes(new Dictionary<string, string>
            {
                // The worker resolves the name in its own settings; "Storage" is its name for AzureWebJobsStorage.
                ["Connection"] = string.IsNullOrWhiteSpace(connection) ? "Storage" : connection,
                ["ContainerName"] = container,
                ["BlobName"] = blob,
            });
            return new TypedData
            {
                ModelBindingData = new ModelBindingData { Version = "1.0", Source = ModelBindingSource, ContentType = "application/json", Content = ByteString.CopyFrom(content) },
            };
        }

        BinaryData data;
        try
        {
            var download = await accounts.Blobs(connection).GetBlobContainerClient(container).GetBlobClient(blob)
                .DownloadContentAsync(cancellationToken).ConfigureAwait(false);
            data = download.Value.Content;
        }
        catch (Exception ex) when (ex.Is(404))
        {
            loggerFactory.CreateLogger("Host.Bindings." + function.Name).BlobInputMissing(container, blob, function.Name, binding.Name);
            return new TypedData();
        }

        if (string.Equals(binding.DataType, "Binary", StringComparison.OrdinalIgnoreCase) || string.Equals(binding.DataType, "Stream", StringComparison.OrdinalIgnoreCase))
        {
            return new TypedData { Bytes = ByteString.CopyFrom(data.ToMemory().Span) };
        }

        var text = QueueTriggerData.Text(data.ToArray());
        return string.Equals(binding.DataType, "String", StringComparison.OrdinalIgnoreCase) ? new TypedData { String = text } : new TypedData { Json = text };
    }
}

/// <summary>
/// The <c>blob</c> output binding: the value (text, JSON or bytes) uploaded to the binding's path, overwriting. The
/// seam gives an output handler no trigger data, so paths may use <c>%Setting%</c>, <c>{rand-guid}</c> and
/// <c>{DateTime}</c> but not trigger expressions such as <c>{queueTrigger}</c>.
/// </summary>
internal sealed class BlobOutputHandler(StorageAccounts accounts, ILoggerFactory loggerFactory, TimeProvider time) : IOutputBindingHandler
{
    public string BindingType => "blob";

    public async Task WriteAsync(FunctionSpec function, BindingSpec binding, TypedData value, CancellationToken cancellationToken)
    {
        ArgumentNullException.ThrowIfNull(function);
        ArgumentNullException.ThrowIfNull(binding);
        ArgumentNullException.ThrowIfNull(value);
        var (container, blob) = BlobPath.Resolve(function, binding, accounts, invocation: null, time);
        var connection = BindingSettings.Resolved(binding, "connection", accounts.Settings, out _);
        var (content, contentType) = value.DataCase switch
        {
            TypedData.DataOneofCase.String => (BinaryData.FromString(value.String), "text/plain; charset=utf-8"),
            TypedData.DataOneofCase.Json => (BinaryData.FromString(value.Json), "application/json"),
            TypedData.DataOneofCase.Bytes => (BinaryData.FromBytes(value.Bytes.ToByteArray()), "application/octet-stream"),
            TypedData.DataOneofCase.Stream => (BinaryData.FromBytes(value.Stream.ToByteArray()), "application/octet-stream"),
            _ => throw new InvalidOperationException($"A blob output cannot take a value of type {value.DataCase}."),
        };
        var client = accounts.Blobs(connection).GetBlobContainerClient(container);
        try
        {
            await UploadAsync(client.GetBlobClient(blob), content, contentType, cancellationToken).ConfigureAwait(false);
        }
        catch (Exception ex) when (ex.IsCode("ContainerNotFound"))
        {
            // As the Functions host does: the container is created on first write.
            await client.CreateIfNotExistsAsync(cancellationToken: cancellationToken).ConfigureAwait(false);
            await UploadAsync(client.GetBlobClient(blob), content, contentType, cancellationToken).ConfigureAwait(false);
        }

        long length = content.ToMemory().Length;
        loggerFactory.CreateLogger("Host.Bindings." + function.Name).BlobWritten(function.Name, container, blob, binding.Name, length);
    }

    private static Task UploadAsync(BlobClient blob, BinaryData content, string contentType, CancellationToken cancellationToken) =>
        blob.UploadAsync(content, new BlobUploadOptions { HttpHeaders = new BlobHttpHeaders { ContentType = contentType } }, cancellationToken);
}
