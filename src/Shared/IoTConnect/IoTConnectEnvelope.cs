using System.Text.Json;
using System.Text.Json.Serialization;
using Azure;

namespace Fleet.Shared.IoTConnect;

/// <summary>
/// Reads IoTConnect's envelopes: success <c>{ data, status, message, count }</c> where <c>data</c> is usually an
/// array (a single item comes as a one-element array), and errors <c>{ status, message, error }</c> where
/// <c>error</c> is an array of <c>{ param, message }</c> or any other value.
/// </summary>
internal static class IoTConnectEnvelope
{
    public static JsonSerializerOptions Json { get; } = new()
    {
        PropertyNameCaseInsensitive = true,
        PropertyNamingPolicy = JsonNamingPolicy.CamelCase,
        DefaultIgnoreCondition = JsonIgnoreCondition.WhenWritingNull,
        NumberHandling = JsonNumberHandling.AllowReadingFromString,
    };

    /// <summary>The items of <c>data</c> (an array, or a single object as one item; nothing for null or a 204) and <c>count</c>.</summary>
    public static (List<T> Items, long? Count) ReadList<T>(Response response, string what)
    {
        if (response.Status == 204 || response.Content.ToMemory().IsEmpty)
        {
            return ([], 0);
        }

        try
        {
            using var document = JsonDocument.Parse(response.Content.ToMemory());
            var root = document.RootElement;
            long? count = root.TryGetProperty("count", out var c) && c.TryGetInt64(out var n) ? n : null;
            if (!root.TryGetProperty("data", out var data) || data.ValueKind == JsonValueKind.Null)
            {
                return ([], count);
            }

            var items = data.ValueKind == JsonValueKind.Array
                ? data.Deserialize<List<T>>(Json) ?? []
                : [data.Deserialize<T>(Json)!];
            return (items, count);
        }
        catch (JsonException ex)
        {
            throw Unreadable(response, what, ex);
        }
    }

    /// <summary>The single item of <c>data</c> (its first element when it is an array).</summary>
    public static T ReadOne<T>(Response response, string what)
    {
        var (items, _) = ReadList<T>(response, what);
        return items.Count > 0 && items[0] is { } item
            ? item
            : throw Unreadable(response, what, new JsonException("The envelope's data is empty."));
    }

    /// <summary><c>data</c> read as one value of its own shape (a string, an object).</summary>
    public static T ReadData<T>(Response response, string what)
    {
        try
        {
            using var document = JsonDocument.Parse(response.Content.ToMemory());
            return document.RootElement.TryGetProperty("data", out var data) && data.Deserialize<T>(Json) is { } value
                ? value
                : throw new JsonException("The envelope has no data.");
        }
        catch (JsonException ex)
        {
            throw Unreadable(response, what, ex);
        }
    }

    /// <summary>A top-level body (the login answer has no envelope).</summary>
    public static T ReadBody<T>(Response response, string what)
    {
        try
        {
            return response.Content.ToObjectFromJson<T>(Json) ?? throw new JsonException("The body is null.");
        }
        catch (JsonException ex)
        {
            throw Unreadable(response, what, ex);
        }
    }

    /// <summary>The error body's message and entries; empty when the body is not the documented shape.</summary>
    public static (string? Message, IReadOnlyList<IoTConnectErrorItem> Errors) ReadError(Response response)
    {
        try
        {
            var span = response.Content.ToMemory();
            if (span.IsEmpty)
            {
                return (null, []);
            }

            using var document = JsonDocument.Parse(span);
            var root = document.RootElement;
            if (root.ValueKind != JsonValueKind.Object)
            {
                return (null, []);
            }

            var message = root.TryGetProperty("message", out var m) && m.ValueKind == JsonValueKind.String ? m.GetString() : null;
            var errors = new List<IoTConnectErrorItem>();
            if (root.TryGetProperty("error", out var error))
            {
                switch (error.ValueKind)
                {
                    case JsonValueKind.Array:
                        foreach (var item in error.EnumerateArray())
                        {
                            errors.Add(item.ValueKind == JsonValueKind.Object
                                ? new IoTConnectErrorItem(Text(item, "param"), Text(item, "message"))
                                : new IoTConnectErrorItem(null, item.ToString()));
                        }

                        break;
                    case JsonValueKind.Object:
                        errors.Add(new IoTConnectErrorItem(Text(error, "param"), Text(error, "message")));
                        break;
                    case JsonValueKind.String:
                        errors.Add(new IoTConnectErrorItem(null, error.GetString()));
                        break;
                    default:
                        break;
                }
            }

            return (message, errors);
        }
        catch (JsonException)
        {
            // A body that is not the documented error shape still fails the call; only the details are lost.
            return (null, []);
        }
    }

    private static string? Text(JsonElement item, string name)
    {
        foreach (var property in item.EnumerateObject())
        {
            if (string.Equals(property.Name, name, StringComparison.OrdinalIgnoreCase))
            {
                return property.Value.ValueKind == JsonValueKind.String ? property.Value.GetString() : property.Value.ToString();
            }
        }

        return null;
    }

    private static IoTConnectApiException Unreadable(Response response, string what, JsonException ex) =>
        new(response.Status, null, "Unreadable response", null,
            $"IoTConnect answered {response.Status} with a body that is not {what}: {ex.Message}", ex);
}
