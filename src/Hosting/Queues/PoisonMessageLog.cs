using System.Text.Json;
using System.Text.Json.Serialization;
using Azure.Storage.Blobs.Models;

namespace Fleet.Hosting;

/// <summary>Why a message was moved to its poison queue.</summary>
public enum PoisonReasonKind
{
    /// <summary>The function failed on each of <c>maxDequeueCount</c> attempts.</summary>
    FunctionFailed,

    /// <summary>The message could not be bound (bad JSON, failed validation); it was not retried.</summary>
    BindingFailed,

    /// <summary>The message is not Base64 while <c>messageEncoding</c> is base64.</summary>
    DecodingFailed,

    /// <summary>The message arrived with a dequeue count above <c>maxDequeueCount</c> (earlier attempts were cut short).</summary>
    DequeueCountExceeded,
}

/// <summary>
/// The durable record of one poisoned message, stored as JSON in blob
/// <c>azure-webjobs-hosts/poison/{hostId}/{queue}/{messageId}.json</c> of <c>AzureWebJobsStorage</c>. The poison
/// queue message itself keeps the original text exactly.
/// </summary>
/// <param name="QueueName">The queue the message came from.</param>
/// <param name="PoisonQueueName">The queue it was moved to.</param>
/// <param name="MessageId">The original message id.</param>
/// <param name="PoisonMessageId">The id of the copy in the poison queue; null while the move is in progress (the record is
/// written before the copy) or when the copy's id could not be recorded.</param>
/// <param name="InsertionTime">When the original was enqueued.</param>
/// <param name="DequeueCount">How often it had been received.</param>
/// <param name="FunctionName">The function it was for.</param>
/// <param name="ReasonKind">Why it was poisoned.</param>
/// <param name="Reason">The failure: exception type and message, or the binding/validation error (no stack trace).</param>
/// <param name="HostId">The host that moved it.</param>
/// <param name="PoisonedAt">When it was moved.</param>
public sealed record PoisonMessageRecord(
    string QueueName,
    string PoisonQueueName,
    string MessageId,
    string? PoisonMessageId,
    DateTimeOffset? InsertionTime,
    long DequeueCount,
    string FunctionName,
    PoisonReasonKind ReasonKind,
    string Reason,
    string HostId,
    DateTimeOffset PoisonedAt);

/// <summary>Lists and reads the records of poisoned messages (see <see cref="PoisonMessageRecord"/>).</summary>
public sealed class PoisonMessageLog
{
    internal static readonly JsonSerializerOptions JsonOptions = new(JsonSerializerDefaults.Web)
    {
        WriteIndented = true,
        Converters = { new JsonStringEnumConverter() },
    };

    private readonly HostBlobStorage _storage;
    private readonly string _hostId;

    internal PoisonMessageLog(HostBlobStorage storage, string hostId)
    {
        _storage = storage;
        _hostId = hostId;
    }

    /// <summary>The blob name of a record.</summary>
    public string BlobName(string queueName, string messageId) => $"poison/{_hostId}/{queueName}/{messageId}.json";

    /// <summary>Every record for <paramref name="queueName"/> written by hosts with this host id, oldest blob name first.</summary>
    public async Task<IReadOnlyList<PoisonMessageRecord>> ListAsync(string queueName, CancellationToken cancellationToken = default)
    {
        ArgumentException.ThrowIfNullOrEmpty(queueName);
        var container = await _storage.ContainerAsync(cancellationToken).ConfigureAwait(false);
        var records = new List<PoisonMessageRecord>();
        await foreach (var blob in container.GetBlobsAsync(BlobTraits.None, BlobStates.None, $"poison/{_hostId}/{queueName}/", cancellationToken).ConfigureAwait(false))
        {
            var content = await container.GetBlobClient(blob.Name).DownloadContentAsync(cancellationToken).ConfigureAwait(false);
            if (content.Value.Content.ToObjectFromJson<PoisonMessageRecord>(JsonOptions) is { } record)
            {
                records.Add(record);
            }
        }

        return records;
    }

    /// <summary>The record of one message, or null when there is none (or it is unreadable, e.g. a write cut short).</summary>
    internal async Task<PoisonMessageRecord?> TryReadAsync(string queueName, string messageId, CancellationToken cancellationToken)
    {
        var container = await _storage.ContainerAsync(cancellationToken).ConfigureAwait(false);
        try
        {
            var content = await container.GetBlobClient(BlobName(queueName, messageId)).DownloadContentAsync(cancellationToken).ConfigureAwait(false);
            return content.Value.Content.ToObjectFromJson<PoisonMessageRecord>(JsonOptions);
        }
        catch (Azure.RequestFailedException ex) when (ex.Status == 404)
        {
            return null;
        }
        catch (JsonException)
        {
            return null;
        }
    }

    internal async Task WriteAsync(PoisonMessageRecord record, CancellationToken cancellationToken)
    {
        var container = await _storage.ContainerAsync(cancellationToken).ConfigureAwait(false);
        await container.GetBlobClient(BlobName(record.QueueName, record.MessageId))
            .UploadAsync(
                BinaryData.FromObjectAsJson(record, JsonOptions),
                new BlobUploadOptions { HttpHeaders = new BlobHttpHeaders { ContentType = "application/json" } },
                cancellationToken)
            .ConfigureAwait(false);
    }
}
