using System.Text.Json;
using Fleet.Durable.Storage;
using Google.Protobuf;
using Google.Protobuf.Collections;
using Google.Protobuf.WellKnownTypes;
using P = Microsoft.DurableTask.Protobuf;

namespace Fleet.Durable.Grpc;

/// <summary>
/// How the sidecar backend stores SDK data in the store's opaque text columns: history events, messages and failure
/// details as base64 protobuf (the SDK's own wire form, so nothing is lost or re-mapped and decoding is a copy), inputs,
/// outputs and custom status as the SDK's JSON text unchanged, tags as a JSON object of strings.
/// </summary>
internal static class ProtoCodec
{
    public static string Encode(IMessage message) => Convert.ToBase64String(message.ToByteArray());

    /// <exception cref="InvalidDataException">The text is not a base64 protobuf history event.</exception>
    public static P.HistoryEvent DecodeEvent(string data, string what)
    {
        try
        {
            return P.HistoryEvent.Parser.ParseFrom(Convert.FromBase64String(data));
        }
        catch (Exception ex) when (ex is FormatException or InvalidProtocolBufferException)
        {
            throw new InvalidDataException($"{what} is not a history event written by the sidecar backend: {ex.Message}", ex);
        }
    }

    public static P.TaskFailureDetails? DecodeFailure(string? data)
    {
        if (data is null)
        {
            return null;
        }

        try
        {
            return P.TaskFailureDetails.Parser.ParseFrom(Convert.FromBase64String(data));
        }
        catch (Exception ex) when (ex is FormatException or InvalidProtocolBufferException)
        {
            // Written by the project's earlier runtime (JSON, in a database from before the SDK path): keep the text as the message rather than failing the read.
            return new P.TaskFailureDetails { ErrorType = "UnreadableFailureDetails", ErrorMessage = data };
        }
    }

    /// <summary>Tags as an instance row keeps them: null when there are none.</summary>
    public static string? EncodeTags(MapField<string, string> tags) =>
        tags.Count == 0 ? null : JsonSerializer.Serialize<IDictionary<string, string>>(tags);

    public static void DecodeTags(string? data, MapField<string, string> into)
    {
        if (data is not null)
        {
            into.Add(JsonSerializer.Deserialize<Dictionary<string, string>>(data) ?? []);
        }
    }

    public static P.OrchestrationStatus ToProto(InstanceStatus status) => (P.OrchestrationStatus)(int)status;

    public static InstanceStatus FromProto(P.OrchestrationStatus status) => (InstanceStatus)(int)status;

    public static Timestamp Time(DateTimeOffset time) => Timestamp.FromDateTimeOffset(time);

    public static P.HistoryEvent Event(DateTimeOffset time, int eventId = -1) =>
        new() { EventId = eventId, Timestamp = Time(time) };

    public static P.TaskFailureDetails Failure(string errorType, string message, bool nonRetriable = true) =>
        new() { ErrorType = errorType, ErrorMessage = message, IsNonRetriable = nonRetriable };

    public static P.OrchestrationState ToState(Storage.InstanceRecord record, bool withPayloads)
    {
        var state = new P.OrchestrationState
        {
            InstanceId = record.InstanceId,
            Name = record.Name,
            Version = record.Version,
            OrchestrationStatus = ToProto(record.Status),
            CreatedTimestamp = Time(record.CreatedAt),
            LastUpdatedTimestamp = Time(record.LastUpdatedAt),
            ExecutionId = record.ExecutionId,
            ParentInstanceId = record.ParentInstanceId,
            FailureDetails = DecodeFailure(record.FailureDetails),
        };
        DecodeTags(record.Tags, state.Tags);
        if (record.CompletedAt is { } completed)
        {
            state.CompletedTimestamp = Time(completed);
        }

        if (record.ScheduledStartAt is { } scheduled)
        {
            state.ScheduledStartTimestamp = Time(scheduled);
        }

        if (withPayloads)
        {
            state.Input = record.Input;
            state.Output = record.Output;
            state.CustomStatus = record.CustomStatus;
        }

        return state;
    }
}
