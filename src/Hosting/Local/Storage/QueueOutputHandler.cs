using System.Collections.Concurrent;
using System.Globalization;
using System.Text.Json;
using Azure.Storage.Queues;
using Fleet.Hosting.Rpc.Protocol;
using Microsoft.Extensions.Logging;

namespace Fleet.Hosting.Local.Storage;

/// <summary>
/// The <c>queue</c> output binding (<c>$return</c> or a named output) on the Azure SDK, with host.json's
/// <c>messageEncoding</c>. One value is one message (text, JSON or bytes); a collection or a JSON array is one
/// message per element, as the Functions host does for out-of-process workers.
/// </summary>
internal sealed class QueueOutputHandler(StorageAccounts accounts, ILoggerFactory loggerFactory) : IOutputBindingHandler
{
    private readonly ConcurrentDictionary<string, Task> _created = new(StringComparer.OrdinalIgnoreCase);

    public string BindingType => "queue";

    public async Task WriteAsync(FunctionSpec function, BindingSpec binding, TypedData value, CancellationToken cancellationToken)
    {
        ArgumentNullException.ThrowIfNull(function);
        ArgumentNullException.ThrowIfNull(binding);
        ArgumentNullException.ThrowIfNull(value);
        var queueName = BindingSettings.Resolved(binding, "queueName", accounts.Settings, out var problem)
            ?? throw new InvalidOperationException($"Queue output of function '{function.Name}': {problem ?? $"binding '{binding.Name}' names no queueName"}.");
        var connection = BindingSettings.Resolved(binding, "connection", accounts.Settings, out problem);
        if (problem is not null)
        {
            throw new InvalidOperationException($"Queue output of function '{function.Name}': {problem}.");
        }

        var queue = accounts.Queues(connection, accounts.MessageEncoding).GetQueueClient(queueName.Trim());
        await EnsureQueueAsync(queue, cancellationToken).ConfigureAwait(false);
        var messages = Messages(value).ToList();
        foreach (var message in messages)
        {
            await queue.SendMessageAsync(message, cancellationToken: cancellationToken).ConfigureAwait(false);
        }

        loggerFactory.CreateLogger("Host.Bindings." + function.Name).QueueMessagesSent(function.Name, messages.Count, queue.Name, binding.Name);
    }

    /// <summary>The messages a value stands for.</summary>
    internal static IEnumerable<BinaryData> Messages(TypedData value) => value.DataCase switch
    {
        TypedData.DataOneofCase.String => [BinaryData.FromString(value.String)],
        TypedData.DataOneofCase.Json => JsonMessages(value.Json),
        TypedData.DataOneofCase.Bytes => [BinaryData.FromBytes(value.Bytes.ToByteArray())],
        TypedData.DataOneofCase.Stream => [BinaryData.FromBytes(value.Stream.ToByteArray())],
        TypedData.DataOneofCase.Int => [BinaryData.FromString(value.Int.ToString(CultureInfo.InvariantCulture))],
        TypedData.DataOneofCase.Double => [BinaryData.FromString(value.Double.ToString(CultureInfo.InvariantCulture))],
        TypedData.DataOneofCase.CollectionString => value.CollectionString.String.Select(BinaryData.FromString),
        TypedData.DataOneofCase.CollectionBytes => value.CollectionBytes.Bytes.Select(b => BinaryData.FromBytes(b.ToByteArray())),
        TypedData.DataOneofCase.CollectionSint64 => value.CollectionSint64.Sint64.Select(i => BinaryData.FromString(i.ToString(CultureInfo.InvariantCulture))),
        TypedData.DataOneofCase.CollectionDouble => value.CollectionDouble.Double.Select(d => BinaryData.FromString(d.ToString(CultureInfo.InvariantCulture))),
        _ => throw new InvalidOperationException($"A queue output cannot take a value of type {value.DataCase}."),
    };

    private static IEnumerable<BinaryData> JsonMessages(string json)
    {
        using var document = JsonDocument.Parse(json);
        if (document.RootElement.ValueKind != JsonValueKind.Array)
        {
            return [BinaryData.FromString(json)];
        }

        // Strings go as their text, everything else as its JSON.
        return document.RootElement.EnumerateArray()
            .Select(e => BinaryData.FromString(e.ValueKind == JsonValueKind.String ? e.GetString()! : e.GetRawText()))
            .ToList();
    }

    private Task EnsureQueueAsync(QueueClient queue, CancellationToken cancellationToken)
    {
        var key = queue.Uri.ToString();
        var created = _created.GetOrAdd(key, _ => queue.CreateIfNotExistsAsync(cancellationToken: CancellationToken.None));
        if (created.IsFaulted || created.IsCanceled)
        {
            // Try again next time rather than remembering a failure.
            _created.TryRemove(key, out _);
        }

        return created.WaitAsync(cancellationToken);
    }
}
