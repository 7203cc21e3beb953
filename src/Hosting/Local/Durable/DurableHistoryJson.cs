using System.Text.Json.Nodes;
using Google.Protobuf;
using static Fleet.Hosting.Durable.DurableHttpApiCommon;
using P = Microsoft.DurableTask.Protobuf;

namespace Fleet.Hosting.Local.Durable;

/// <summary>History events and failure details of the backend (protobuf) as the management API shows them (PascalCase, as Durable Functions writes history).</summary>
internal static class DurableHistoryJson
{
    /// <summary>The failure details an instance row stores (base64 protobuf), or null.</summary>
    public static P.TaskFailureDetails? Failure(string? stored)
    {
        if (string.IsNullOrEmpty(stored))
        {
            return null;
        }

        try
        {
            return P.TaskFailureDetails.Parser.ParseFrom(Convert.FromBase64String(stored));
        }
        catch (Exception ex) when (ex is FormatException or InvalidProtocolBufferException)
        {
            return new P.TaskFailureDetails { ErrorType = "(unreadable)", ErrorMessage = stored };
        }
    }

    /// <summary>One history entry.</summary>
    public static JsonObject Entry(P.HistoryEvent e, bool showOutput)
    {
        var entry = new JsonObject
        {
            ["EventType"] = e.EventTypeCase.ToString(),
            ["Timestamp"] = e.Timestamp is null ? null : Time(e.Timestamp.ToDateTimeOffset()),
        };
        switch (e.EventTypeCase)
        {
            case P.HistoryEvent.EventTypeOneofCase.ExecutionStarted:
                entry["FunctionName"] = e.ExecutionStarted.Name;
                break;
            case P.HistoryEvent.EventTypeOneofCase.ExecutionCompleted:
                entry["OrchestrationStatus"] = e.ExecutionCompleted.OrchestrationStatus.ToString().Replace("OrchestrationStatus", string.Empty, StringComparison.Ordinal);
                if (e.ExecutionCompleted.FailureDetails is { } failure)
                {
                    entry["FailureDetails"] = $"{failure.ErrorType}: {failure.ErrorMessage}";
                }
                else if (showOutput)
                {
                    entry["Result"] = Parse(e.ExecutionCompleted.Result);
                }

                break;
            case P.HistoryEvent.EventTypeOneofCase.TaskScheduled:
                entry["FunctionName"] = e.TaskScheduled.Name;
                entry["EventId"] = e.EventId;
                break;
            case P.HistoryEvent.EventTypeOneofCase.TaskCompleted:
                entry["TaskScheduledId"] = e.TaskCompleted.TaskScheduledId;
                if (showOutput)
                {
                    entry["Result"] = Parse(e.TaskCompleted.Result);
                }

                break;
            case P.HistoryEvent.EventTypeOneofCase.TaskFailed:
                entry["TaskScheduledId"] = e.TaskFailed.TaskScheduledId;
                entry["FailureDetails"] = $"{e.TaskFailed.FailureDetails?.ErrorType}: {e.TaskFailed.FailureDetails?.ErrorMessage}";
                break;
            case P.HistoryEvent.EventTypeOneofCase.SubOrchestrationInstanceCreated:
                entry["FunctionName"] = e.SubOrchestrationInstanceCreated.Name;
                entry["InstanceId"] = e.SubOrchestrationInstanceCreated.InstanceId;
                entry["EventId"] = e.EventId;
                break;
            case P.HistoryEvent.EventTypeOneofCase.SubOrchestrationInstanceCompleted:
                entry["TaskScheduledId"] = e.SubOrchestrationInstanceCompleted.TaskScheduledId;
                if (showOutput)
                {
                    entry["Result"] = Parse(e.SubOrchestrationInstanceCompleted.Result);
                }

                break;
            case P.HistoryEvent.EventTypeOneofCase.SubOrchestrationInstanceFailed:
                entry["TaskScheduledId"] = e.SubOrchestrationInstanceFailed.TaskScheduledId;
                entry["FailureDetails"] = $"{e.SubOrchestrationInstanceFailed.FailureDetails?.ErrorType}: {e.SubOrchestrationInstanceFailed.FailureDetails?.ErrorMessage}";
                break;
            case P.HistoryEvent.EventTypeOneofCase.TimerCreated:
                entry["FireAt"] = Time(e.TimerCreated.FireAt.ToDateTimeOffset());
                entry["EventId"] = e.EventId;
                break;
            case P.HistoryEvent.EventTypeOneofCase.TimerFired:
                entry["FireAt"] = Time(e.TimerFired.FireAt.ToDateTimeOffset());
                entry["TimerId"] = e.TimerFired.TimerId;
                break;
            case P.HistoryEvent.EventTypeOneofCase.EventSent:
                entry["Name"] = e.EventSent.Name;
                entry["InstanceId"] = e.EventSent.InstanceId;
                break;
            case P.HistoryEvent.EventTypeOneofCase.EventRaised:
                entry["Name"] = e.EventRaised.Name;
                if (showOutput)
                {
                    entry["Input"] = Parse(e.EventRaised.Input);
                }

                break;
            case P.HistoryEvent.EventTypeOneofCase.ExecutionSuspended:
                entry["Reason"] = e.ExecutionSuspended.Input;
                break;
            case P.HistoryEvent.EventTypeOneofCase.ExecutionResumed:
                entry["Reason"] = e.ExecutionResumed.Input;
                break;
        }

        return entry;
    }
}
