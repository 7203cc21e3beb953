using System.Text.Json;
using System.Text.Json.Serialization;

namespace Fleet.Durable.History;

/// <summary>The one stored form of history events and runtime messages: compact JSON from a source-generated context.</summary>
internal static class HistorySerializer
{
    public static string Serialize(HistoryEvent historyEvent) =>
        JsonSerializer.Serialize(historyEvent, HistoryJsonContext.Default.HistoryEvent);

    /// <exception cref="JsonException">The text is not a history event.</exception>
    public static HistoryEvent Deserialize(string data) =>
        JsonSerializer.Deserialize(data, HistoryJsonContext.Default.HistoryEvent)
        ?? throw new JsonException("A stored history event was the JSON literal null.");

    public static string SerializeFailure(TaskFailureDetails details) =>
        JsonSerializer.Serialize(details, HistoryJsonContext.Default.TaskFailureDetails);

    public static TaskFailureDetails? DeserializeFailure(string? data) =>
        data is null ? null : JsonSerializer.Deserialize(data, HistoryJsonContext.Default.TaskFailureDetails);
}

[JsonSourceGenerationOptions(
    DefaultIgnoreCondition = JsonIgnoreCondition.WhenWritingNull,
    PropertyNamingPolicy = JsonKnownNamingPolicy.CamelCase)]
[JsonSerializable(typeof(HistoryEvent))]
[JsonSerializable(typeof(TaskFailureDetails))]
internal sealed partial class HistoryJsonContext : JsonSerializerContext;
