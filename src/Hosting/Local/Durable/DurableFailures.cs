using Google.Protobuf;
using P = Microsoft.DurableTask.Protobuf;

namespace Fleet.Hosting.Local.Durable;

/// <summary>
/// Failure details on the Functions path. The isolated worker's Durable executor wraps an activity's exception in a
/// <c>DurableSerializationException</c> whose message is the protobuf JSON of a <c>TaskFailureDetails</c> (errorType,
/// errorMessage, stackTrace, innerFailure, properties), so the orchestration sees the user's exception type and message.
/// Other failures (the worker's own errors) are taken from the RpcException's type and message.
/// </summary>
internal static class DurableFailures
{
    private static readonly JsonParser Parser = new(JsonParser.Settings.Default.WithIgnoreUnknownFields(true));

    /// <summary>A failure of the runtime itself (not the user's code): never retried by a retry policy.</summary>
    public static P.TaskFailureDetails Runtime(string errorType, string message) =>
        new() { ErrorType = errorType, ErrorMessage = message, IsNonRetriable = true };

    /// <summary>The failure the worker reported for an invocation.</summary>
    public static P.TaskFailureDetails FromInvocation(InvocationOutcome outcome, string functionName)
    {
        var exception = outcome.Exception ?? outcome.Response?.Result?.Exception;
        if (exception is null)
        {
            return Runtime("FunctionInvocationFailed", $"Function '{functionName}' failed without an error from the worker.");
        }

        return TryParseJson(exception.Message) ?? new P.TaskFailureDetails
        {
            ErrorType = string.IsNullOrEmpty(exception.Type) ? TypeFromMessage(exception.Message) : exception.Type,
            ErrorMessage = MessageWithoutType(exception.Message, exception.Type),
            StackTrace = string.IsNullOrEmpty(exception.StackTrace) ? null : exception.StackTrace,
        };
    }

    /// <summary>A one-line description of an invocation failure, for logs and failure messages.</summary>
    public static string Describe(InvocationOutcome outcome, string functionName)
    {
        var details = FromInvocation(outcome, functionName);
        return $"{details.ErrorType}: {details.ErrorMessage}";
    }

    private static P.TaskFailureDetails? TryParseJson(string message)
    {
        var text = message.AsSpan().Trim();
        if (text.Length < 2 || text[0] != '{')
        {
            return null;
        }

        try
        {
            var details = Parser.Parse<P.TaskFailureDetails>(text.ToString());
            return string.IsNullOrEmpty(details.ErrorType) && string.IsNullOrEmpty(details.ErrorMessage) ? null : details;
        }
        catch (InvalidProtocolBufferException)
        {
            return null;
        }
        catch (InvalidJsonException)
        {
            return null;
        }
    }

    // "System.InvalidOperationException: text" (the worker's exception.ToString() form) → its type.
    private static string TypeFromMessage(string message)
    {
        var colon = message.IndexOf(": ", StringComparison.Ordinal);
        var candidate = colon > 0 ? message[..colon] : string.Empty;
        return candidate.Length > 0 && !candidate.Contains(' ', StringComparison.Ordinal) ? candidate : "(unknown)";
    }

    private static string MessageWithoutType(string message, string? type)
    {
        var firstLine = message.Split('\n', 2)[0].TrimEnd('\r');
        var prefix = string.IsNullOrEmpty(type) ? TypeFromMessage(message) + ": " : type + ": ";
        return firstLine.StartsWith(prefix, StringComparison.Ordinal) ? firstLine[prefix.Length..] : firstLine;
    }
}
