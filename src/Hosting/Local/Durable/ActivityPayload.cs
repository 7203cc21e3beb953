using System.Globalization;
using System.Text.Json;
using Fleet.Hosting.Rpc.Protocol;

namespace Fleet.Hosting.Local.Durable;

/// <summary>
/// Activity payloads on the Functions path. The isolated worker's orchestration context schedules an activity with
/// its input wrapped in a one-element JSON array (DurableTask.Core's parameter array), and the activity function
/// returns its raw value; the host unwraps the one and JSON-serializes the other, as the Durable extension's
/// DurableActivityContext does, so history holds plain JSON both ways.
/// </summary>
internal static class ActivityPayload
{
    /// <summary>The JSON text of the single element of <paramref name="scheduledInput"/> (null when there is no input).</summary>
    /// <exception cref="FormatException">The input is not a one-element JSON array.</exception>
    public static string? UnwrapInput(string? scheduledInput)
    {
        if (string.IsNullOrEmpty(scheduledInput))
        {
            return null;
        }

        JsonDocument document;
        try
        {
            document = JsonDocument.Parse(scheduledInput);
        }
        catch (JsonException ex)
        {
            throw new FormatException($"The activity input is not JSON: {ex.Message}", ex);
        }

        using (document)
        {
            var root = document.RootElement;
            if (root.ValueKind != JsonValueKind.Array || root.GetArrayLength() != 1)
            {
                throw new FormatException(
                    $"The activity input is expected to be a JSON array with one element (as the isolated worker schedules it), but it is a {Describe(root)}.");
            }

            return root[0].GetRawText();
        }
    }

    /// <summary>The trigger value the worker gets for an activity: the unwrapped input as a string, or nothing.</summary>
    public static TypedData ToTriggerValue(string? unwrappedInput) =>
        unwrappedInput is null ? new TypedData() : new TypedData { String = unwrappedInput };

    /// <summary>The activity's return value as the JSON text stored in history (null when it returned nothing).</summary>
    public static string? SerializeOutput(TypedData? returnValue)
    {
        if (returnValue is null)
        {
            return null;
        }

        return returnValue.DataCase switch
        {
            TypedData.DataOneofCase.None => null,
            TypedData.DataOneofCase.String => JsonSerializer.Serialize(returnValue.String),
            TypedData.DataOneofCase.Json => returnValue.Json,
            TypedData.DataOneofCase.Int => returnValue.Int.ToString(CultureInfo.InvariantCulture),
            TypedData.DataOneofCase.Double => JsonSerializer.Serialize(returnValue.Double),
            TypedData.DataOneofCase.Bytes => JsonSerializer.Serialize(returnValue.Bytes.ToByteArray()),
            TypedData.DataOneofCase.Stream => JsonSerializer.Serialize(returnValue.Stream.ToByteArray()),
            TypedData.DataOneofCase.CollectionString => JsonSerializer.Serialize(returnValue.CollectionString.String),
            TypedData.DataOneofCase.CollectionSint64 => JsonSerializer.Serialize(returnValue.CollectionSint64.Sint64),
            TypedData.DataOneofCase.CollectionDouble => JsonSerializer.Serialize(returnValue.CollectionDouble.Double),
            TypedData.DataOneofCase.CollectionBytes => JsonSerializer.Serialize(returnValue.CollectionBytes.Bytes.Select(b => b.ToByteArray())),
            _ => throw new FormatException($"An activity cannot return a {returnValue.DataCase} value."),
        };
    }

    private static string Describe(JsonElement element) => element.ValueKind == JsonValueKind.Array
        ? $"JSON array with {element.GetArrayLength()} elements"
        : $"JSON {element.ValueKind.ToString().ToLowerInvariant()}";
}
