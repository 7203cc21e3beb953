using Fleet.Hosting.Rpc.Protocol;
using Google.Protobuf;

namespace Fleet.Hosting.Local.Durable;

/// <summary>Durable requests and answers on the Functions path: base64 protobuf strings (OrchestratorRequest / OrchestratorResponse, EntityBatchRequest / EntityBatchResult).</summary>
internal static class DurablePayload
{
    /// <summary>The trigger of an orchestration episode or entity batch: the request as a base64 string, trigger metadata <c>instanceId</c>.</summary>
    public static TriggerInvocation Trigger(IMessage request, string instanceId) =>
        new(
            new TypedData { String = Convert.ToBase64String(request.ToByteArray()) },
            new Dictionary<string, TypedData>(StringComparer.Ordinal) { ["instanceId"] = new() { String = instanceId } },
            Retry: null);

    /// <summary>Decodes the answer; false with what was wrong with it, for the failure message.</summary>
    public static bool TryDecode<T>(TypedData? returnValue, MessageParser<T> parser, out T message, out string problem)
        where T : IMessage<T>
    {
        message = default!;
        if (returnValue is null || returnValue.DataCase != TypedData.DataOneofCase.String || returnValue.String.Length == 0)
        {
            problem = returnValue is null || returnValue.DataCase == TypedData.DataOneofCase.None ? "no return value" : $"a {returnValue.DataCase} return value";
            return false;
        }

        byte[] bytes;
        try
        {
            bytes = Convert.FromBase64String(returnValue.String);
        }
        catch (FormatException)
        {
            problem = "a return value that is not base64";
            return false;
        }

        try
        {
            message = parser.ParseFrom(bytes);
        }
        catch (InvalidProtocolBufferException ex)
        {
            problem = $"bytes that are no {typeof(T).Name} ({ex.Message})";
            return false;
        }

        problem = string.Empty;
        return true;
    }
}
