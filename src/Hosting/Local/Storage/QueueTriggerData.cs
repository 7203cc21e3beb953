using System.Globalization;
using System.Text;
using System.Text.Json;
using Azure.Storage.Queues.Models;
using Fleet.Hosting.Rpc.Protocol;
using Google.Protobuf;

namespace Fleet.Hosting.Local.Storage;

/// <summary>
/// What the worker gets for a queue message, in the shapes the isolated worker's queue extension reads: the message
/// as string, bytes or JSON (string, byte[] and POCO parameters), or as <c>ModelBindingData</c> from source
/// <c>AzureStorageQueues</c> for SDK-type parameters (<c>QueueMessage</c>, <c>BinaryData</c>); plus the trigger
/// metadata the Functions host supplies (<c>QueueTrigger</c>, <c>Id</c>, <c>DequeueCount</c>, <c>InsertionTime</c>,
/// <c>ExpirationTime</c>, <c>NextVisibleTime</c>, <c>PopReceipt</c>).
/// </summary>
internal static class QueueTriggerData
{
    public const string ModelBindingSource = "AzureStorageQueues";

    private const string DeferredBinding = "SupportsDeferredBinding";

    private static readonly UTF8Encoding StrictUtf8 = new(encoderShouldEmitUTF8Identifier: false, throwOnInvalidBytes: true);

    /// <summary>Whether the worker asked for the SDK type (binding property <c>SupportsDeferredBinding</c>).</summary>
    public static bool WantsModelBindingData(FunctionSpec function, BindingSpec binding)
    {
        // The worker writes the key as "supportsDeferredBinding"; compare without case.
        if (function.Metadata.Bindings.TryGetValue(binding.Name, out var info)
            && info.Properties.FirstOrDefault(p => string.Equals(p.Key, DeferredBinding, StringComparison.OrdinalIgnoreCase)).Value is { } value)
        {
            return bool.TryParse(value, out var deferred) && deferred;
        }

        return binding.Raw["properties"] is System.Text.Json.Nodes.JsonObject properties
            && properties.FirstOrDefault(p => string.Equals(p.Key, DeferredBinding, StringComparison.OrdinalIgnoreCase)).Value?.ToString() is { } raw
            && bool.TryParse(raw, out var fromRaw) && fromRaw;
    }

    /// <summary>The invocation for one received message whose body (after any Base64 decoding) is <paramref name="body"/>.</summary>
    public static TriggerInvocation For(QueueMessage message, byte[] body, BindingSpec trigger, bool modelBindingData)
    {
        var text = Text(body);
        var value = modelBindingData ? ModelBinding(message, text)
            : string.Equals(trigger.DataType, "Binary", StringComparison.OrdinalIgnoreCase) ? new TypedData { Bytes = ByteString.CopyFrom(body) }
            : LooksLikeJson(text) ? new TypedData { Json = text }
            : new TypedData { String = text };
        var metadata = new Dictionary<string, TypedData>(StringComparer.Ordinal)
        {
            ["QueueTrigger"] = new() { String = text },
            ["Id"] = new() { String = message.MessageId },
            ["PopReceipt"] = new() { String = message.PopReceipt },
            ["DequeueCount"] = new() { Json = message.DequeueCount.ToString(CultureInfo.InvariantCulture) },
        };
        AddTime(metadata, "InsertionTime", message.InsertedOn);
        AddTime(metadata, "ExpirationTime", message.ExpiresOn);
        AddTime(metadata, "NextVisibleTime", message.NextVisibleOn);
        return new TriggerInvocation(value, metadata, Retry: null);
    }

    /// <summary>The message text: the body as UTF-8 (bodies that are not UTF-8 reach string parameters with replacement characters).</summary>
    public static string Text(byte[] body)
    {
        try
        {
            return StrictUtf8.GetString(body);
        }
        catch (DecoderFallbackException)
        {
            return Encoding.UTF8.GetString(body);
        }
    }

    private static TypedData ModelBinding(QueueMessage message, string text)
    {
        var content = JsonSerializer.SerializeToUtf8Bytes(new Dictionary<string, object?>
        {
            ["MessageId"] = message.MessageId,
            ["PopReceipt"] = message.PopReceipt,
            ["MessageText"] = text,
            ["DequeueCount"] = message.DequeueCount,
            ["NextVisibleOn"] = message.NextVisibleOn?.UtcDateTime,
            ["InsertedOn"] = message.InsertedOn?.UtcDateTime,
            ["ExpiresOn"] = message.ExpiresOn?.UtcDateTime,
        });
        return new TypedData
        {
            ModelBindingData = new ModelBindingData
            {
                Version = "1.0",
                Source = ModelBindingSource,
                ContentType = "application/json",
                Content = ByteString.CopyFrom(content),
            },
        };
    }

    private static void AddTime(Dictionary<string, TypedData> metadata, string name, DateTimeOffset? value)
    {
        if (value is { } time)
        {
            metadata[name] = new TypedData { Json = JsonSerializer.Serialize(time.ToUniversalTime()) };
        }
    }

    // A POCO parameter needs JSON; text that merely is not JSON still reaches string parameters as a string.
    private static bool LooksLikeJson(string text)
    {
        var trimmed = text.AsSpan().Trim();
        if (trimmed.Length < 2 || !((trimmed[0] == '{' && trimmed[^1] == '}') || (trimmed[0] == '[' && trimmed[^1] == ']')))
        {
            return false;
        }

        try
        {
            using var document = JsonDocument.Parse(text);
            return true;
        }
        catch (JsonException)
        {
            return false;
        }
    }
}
