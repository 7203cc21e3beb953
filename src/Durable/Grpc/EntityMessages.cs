using System.Globalization;
using System.Text.Json;
using Fleet.Durable.Storage;
using Google.Protobuf.WellKnownTypes;
using P = Microsoft.DurableTask.Protobuf;

namespace Fleet.Durable.Grpc;

/// <summary>
/// The messages entities receive and send, kept in one form: the SDK's entity history events
/// (<c>EntityOperationSignaled</c>, <c>EntityOperationCalled</c>, <c>EntityLockRequested</c>, <c>EntityUnlockSent</c>
/// in, <c>EntityOperationCompleted</c>/<c>Failed</c> and <c>EntityLockGranted</c> back). Orchestrations send them in
/// one of two forms, depending on the worker: <c>SendEntityMessage</c> actions (a worker converting entity events, as
/// for the Durable Task Scheduler), or — the default of the standalone worker and of the Functions worker —
/// <c>SendEvent</c> actions to the entity's instance ID carrying DurableTask.Core's JSON request (event name
/// <c>op</c>, <c>op@{time}</c> or <c>release</c>). Both become the same message. Replies always go back as the SDK's
/// events: the SDK turns them into what either form of orchestration waits for.
/// </summary>
internal static class EntityMessages
{
    /// <summary>The message an orchestration's <c>SendEvent</c> to an entity carries, as an entity message.</summary>
    /// <exception cref="InvalidDataException">The event is no DurableTask.Core entity request.</exception>
    public static OutgoingMessage FromLegacy(P.SendEventAction send, string parentInstanceId, string parentExecutionId, DateTimeOffset now)
    {
        var target = send.Instance.InstanceId;
        var message = ProtoCodec.Event(now);
        var visibleAt = now;
        try
        {
            using var json = JsonDocument.Parse(send.Data ?? "null");
            var root = json.RootElement;
            var id = String(root, "id") ?? throw new InvalidDataException("the request has no id");
            if (send.Name == "release")
            {
                message.EntityUnlockSent = new P.EntityUnlockSentEvent { CriticalSectionId = id, ParentInstanceId = String(root, "parent") ?? parentInstanceId };
            }
            else if (send.Name.StartsWith("op", StringComparison.Ordinal))
            {
                var operation = String(root, "op");
                if (root.TryGetProperty("lockset", out var lockSet) && lockSet.ValueKind == JsonValueKind.Array)
                {
                    var request = new P.EntityLockRequestedEvent
                    {
                        CriticalSectionId = id,
                        Position = root.TryGetProperty("pos", out var pos) && pos.ValueKind == JsonValueKind.Number ? pos.GetInt32() : 0,
                        ParentInstanceId = String(root, "parent") ?? parentInstanceId,
                    };
                    request.LockSet.Add(LockSetOf(lockSet));
                    message.EntityLockRequested = request;
                }
                else if (operation is null)
                {
                    throw new InvalidDataException("the request names no operation and no lock set");
                }
                else
                {
                    var due = Time(String(root, "due")) ?? (send.Name.Length > 3 ? Time(send.Name[3..]) : null);
                    var scheduled = due is { } at ? Timestamp.FromDateTimeOffset(at) : null;
                    visibleAt = due is { } d && d > now ? d : now;
                    if (root.TryGetProperty("signal", out var signal) && signal.ValueKind == JsonValueKind.True)
                    {
                        message.EntityOperationSignaled = new P.EntityOperationSignaledEvent { RequestId = id, Operation = operation, Input = String(root, "input"), ScheduledTime = scheduled };
                    }
                    else
                    {
                        message.EntityOperationCalled = new P.EntityOperationCalledEvent
                        {
                            RequestId = id,
                            Operation = operation,
                            Input = String(root, "input"),
                            ScheduledTime = scheduled,
                            ParentInstanceId = String(root, "parent") ?? parentInstanceId,
                            ParentExecutionId = String(root, "parentExecution") ?? parentExecutionId,
                        };
                    }
                }
            }
            else
            {
                throw new InvalidDataException($"'{send.Name}' is no entity request event");
            }
        }
        catch (Exception ex) when (ex is JsonException or InvalidOperationException or FormatException or InvalidDataException)
        {
            throw new InvalidDataException($"The orchestration '{parentInstanceId}' sent entity '{target}' an event that is no entity request ({ex.Message}).", ex);
        }

        return To(target, message, visibleAt);
    }

    /// <summary>
    /// A <c>SendEntityMessage</c> action: the history event that records it (what the worker's replay expects, with the
    /// action's ID and the target) and the message for the entity (with the sender as parent).
    /// </summary>
    public static (P.HistoryEvent Recorded, OutgoingMessage Message) FromAction(P.OrchestratorAction action, string parentInstanceId, string parentExecutionId, DateTimeOffset now)
    {
        var send = action.SendEntityMessage;
        var recorded = ProtoCodec.Event(now, action.Id);
        var message = ProtoCodec.Event(now);
        string target;
        var visibleAt = now;
        switch (send.EntityMessageTypeCase)
        {
            case P.SendEntityMessageAction.EntityMessageTypeOneofCase.EntityOperationSignaled:
                var signal = send.EntityOperationSignaled;
                target = signal.TargetInstanceId ?? throw Missing(parentInstanceId, "signal");
                recorded.EntityOperationSignaled = signal.Clone();
                message.EntityOperationSignaled = signal.Clone();
                message.EntityOperationSignaled.TargetInstanceId = null;
                visibleAt = Later(signal.ScheduledTime, now);
                break;
            case P.SendEntityMessageAction.EntityMessageTypeOneofCase.EntityOperationCalled:
                var call = send.EntityOperationCalled;
                target = call.TargetInstanceId ?? throw Missing(parentInstanceId, "call");
                recorded.EntityOperationCalled = call.Clone();
                recorded.EntityOperationCalled.ParentInstanceId = null;
                recorded.EntityOperationCalled.ParentExecutionId = null;
                message.EntityOperationCalled = call.Clone();
                message.EntityOperationCalled.TargetInstanceId = null;
                message.EntityOperationCalled.ParentInstanceId = call.ParentInstanceId ?? parentInstanceId;
                message.EntityOperationCalled.ParentExecutionId = call.ParentExecutionId ?? parentExecutionId;
                visibleAt = Later(call.ScheduledTime, now);
                break;
            case P.SendEntityMessageAction.EntityMessageTypeOneofCase.EntityLockRequested:
                var lockRequest = send.EntityLockRequested;
                target = lockRequest.Position < lockRequest.LockSet.Count ? lockRequest.LockSet[lockRequest.Position] : throw Missing(parentInstanceId, "lock request");
                recorded.EntityLockRequested = lockRequest.Clone();
                recorded.EntityLockRequested.ParentInstanceId = null;
                message.EntityLockRequested = lockRequest.Clone();
                message.EntityLockRequested.ParentInstanceId = lockRequest.ParentInstanceId ?? parentInstanceId;
                break;
            case P.SendEntityMessageAction.EntityMessageTypeOneofCase.EntityUnlockSent:
                var unlock = send.EntityUnlockSent;
                target = unlock.TargetInstanceId ?? throw Missing(parentInstanceId, "unlock");
                recorded.EntityUnlockSent = unlock.Clone();
                recorded.EntityUnlockSent.ParentInstanceId = null;
                message.EntityUnlockSent = new P.EntityUnlockSentEvent { CriticalSectionId = unlock.CriticalSectionId, ParentInstanceId = unlock.ParentInstanceId ?? parentInstanceId };
                break;
            default:
                throw new InvalidDataException($"The orchestration '{parentInstanceId}' sent an entity message of no known kind ({send.EntityMessageTypeCase}).");
        }

        return (recorded, To(target, message, visibleAt));
    }

    /// <summary>
    /// Releases, for a terminated orchestration, of every entity it asked to lock: the worker releases a critical
    /// section itself when an orchestration completes or fails, but a terminated one runs no code. An entity that is not
    /// locked by <paramref name="instanceId"/> ignores the release.
    /// </summary>
    public static IEnumerable<OutgoingMessage> ReleasesAfterTermination(IEnumerable<P.HistoryEvent> history, string instanceId, DateTimeOffset now)
    {
        var entities = new SortedSet<string>(StringComparer.Ordinal);
        foreach (var e in history)
        {
            if (e.EntityLockRequested is { } request)
            {
                entities.UnionWith(request.LockSet);
            }
            else if (e.EventSent is { } sent && EntityRows.IsEntity(sent.InstanceId) && sent.Name.StartsWith("op", StringComparison.Ordinal))
            {
                try
                {
                    using var json = JsonDocument.Parse(sent.Input ?? "null");
                    if (json.RootElement.ValueKind == JsonValueKind.Object && json.RootElement.TryGetProperty("lockset", out var lockSet) && lockSet.ValueKind == JsonValueKind.Array)
                    {
                        entities.UnionWith(LockSetOf(lockSet));
                    }
                }
                catch (JsonException)
                {
                    // Sending it failed the episode that recorded it; nothing was locked by it.
                }
            }
        }

        foreach (var entity in entities.Where(EntityRows.IsEntity))
        {
            var release = ProtoCodec.Event(now);
            release.EntityUnlockSent = new P.EntityUnlockSentEvent { CriticalSectionId = string.Empty, ParentInstanceId = instanceId };
            yield return To(entity, release, now);
        }
    }

    /// <summary>A message for entity <paramref name="target"/>; its row is created if needed.</summary>
    /// <exception cref="InvalidDataException">The target is no entity instance ID.</exception>
    public static OutgoingMessage To(string target, P.HistoryEvent message, DateTimeOffset visibleAt) =>
        new(target, null, ProtoCodec.Encode(message), visibleAt, OnlyIfRunning: false)
        {
            EntityName = EntityRows.NameOf(target) ?? throw new InvalidDataException($"'{target}' is no entity instance ID (expected @name@key)."),
        };

    /// <summary>A reply for an orchestration (dropped when it has finished or moved to another execution).</summary>
    public static OutgoingMessage Reply(string instanceId, string? executionId, P.HistoryEvent reply) =>
        new(instanceId, string.IsNullOrEmpty(executionId) ? null : executionId, ProtoCodec.Encode(reply), reply.Timestamp.ToDateTimeOffset(), OnlyIfRunning: true);

    /// <summary>The orchestration or entity that sent a request, when it names one.</summary>
    public static string? ParentOf(P.HistoryEvent message) => message.EventTypeCase switch
    {
        P.HistoryEvent.EventTypeOneofCase.EntityOperationCalled => message.EntityOperationCalled.ParentInstanceId,
        P.HistoryEvent.EventTypeOneofCase.EntityLockRequested => message.EntityLockRequested.ParentInstanceId,
        P.HistoryEvent.EventTypeOneofCase.EntityUnlockSent => message.EntityUnlockSent.ParentInstanceId,
        _ => null,
    };

    // DurableTask.Core's lock set: [{ "name": ..., "key": ... }, ...] as entity instance IDs.
    private static IEnumerable<string> LockSetOf(JsonElement lockSet) =>
        lockSet.EnumerateArray().Select(e => $"@{String(e, "name")}@{String(e, "key")}");

    private static DateTimeOffset Later(Timestamp? scheduled, DateTimeOffset now) =>
        scheduled?.ToDateTimeOffset() is { } at && at > now ? at : now;

    private static InvalidDataException Missing(string instanceId, string what) =>
        new($"The orchestration '{instanceId}' sent an entity {what} without a target entity.");

    private static string? String(JsonElement element, string name) =>
        element.ValueKind == JsonValueKind.Object && element.TryGetProperty(name, out var value) && value.ValueKind == JsonValueKind.String ? value.GetString() : null;

    private static DateTimeOffset? Time(string? text) =>
        text is null ? null : DateTimeOffset.Parse(text, CultureInfo.InvariantCulture, DateTimeStyles.AssumeUniversal | DateTimeStyles.AdjustToUniversal);
}
