using System.Text.Json;
using System.Text.Json.Nodes;
using Fleet.Durable;
using Fleet.Durable.Client;
using Fleet.Durable.History;
using Fleet.Hosting.Configuration;
using Fleet.Hosting.Http;
using Microsoft.AspNetCore.Builder;
using Microsoft.AspNetCore.Http;
using Microsoft.AspNetCore.Routing;
using Microsoft.Extensions.DependencyInjection;
using Microsoft.Extensions.Logging;
using Microsoft.Extensions.Options;
using static Fleet.Hosting.Durable.DurableHttpApiCommon;

namespace Fleet.Hosting.Durable;

/// <summary>
/// The Durable Functions HTTP management API under <c>/runtime/webhooks/durabletask</c>, protected by the system key
/// (<c>FunctionKeys:DurableTask</c>) or the master key, with the Durable Functions routes, payload field names and
/// status codes: 202 (+ Location, Retry-After) while an instance runs, 200 when it is done, 404 unknown, 410 for an
/// operation on a finished instance.
/// </summary>
internal static class DurableHttpApi
{
    public const string BasePath = DurableHttpApiCommon.BasePath;
    public const string ContinuationHeader = DurableHttpApiCommon.ContinuationHeader;
    public const string ConnectionName = "Storage";

    private static readonly JsonSerializerOptions JsonOptions = DurableHttpApiCommon.JsonOptions;

    public static void Map(IEndpointRouteBuilder endpoints)
    {
        var api = endpoints.MapGroup(BasePath);
        api.MapPost("orchestrators/{functionName}/{instanceId?}", Handle(StartAsync));
        api.MapGet("instances", Handle(ListAsync));
        api.MapDelete("instances", Handle(PurgeManyAsync));
        api.MapGet("instances/{instanceId}", Handle(GetStatusAsync));
        api.MapDelete("instances/{instanceId}", Handle(PurgeAsync));
        api.MapPost("instances/{instanceId}/raiseEvent/{eventName}", Handle(RaiseEventAsync));
        api.MapPost("instances/{instanceId}/terminate", Handle((context, client) =>
            OperateAsync(context, client, (id, reason) => client.TerminateInstanceAsync(id, reason, context.RequestAborted))));
        api.MapPost("instances/{instanceId}/suspend", Handle((context, client) =>
            OperateAsync(context, client, (id, reason) => client.SuspendInstanceAsync(id, reason, context.RequestAborted))));
        api.MapPost("instances/{instanceId}/resume", Handle((context, client) =>
            OperateAsync(context, client, (id, reason) => client.ResumeInstanceAsync(id, reason, context.RequestAborted))));
    }

    /// <summary>The management URLs of an instance, rooted at the request's scheme and host.</summary>
    public static HttpManagementPayload Payload(HttpRequest request, string hubName, string instanceId, string? systemKey)
    {
        var urls = DurableHttpApiCommon.Urls($"{request.Scheme}://{request.Host}", instanceId, DurableHttpApiCommon.Query(hubName, ConnectionName, systemKey));
        return new HttpManagementPayload
        {
            Id = instanceId,
            StatusQueryGetUri = urls.StatusQueryGetUri,
            SendEventPostUri = urls.SendEventPostUri,
            TerminatePostUri = urls.TerminatePostUri,
            PurgeHistoryDeleteUri = urls.PurgeHistoryDeleteUri,
            SuspendPostUri = urls.SuspendPostUri,
            ResumePostUri = urls.ResumePostUri,
        };
    }

    private static RequestDelegate Handle(Func<HttpContext, DurableTaskClient, Task<IResult>> handler) => async context =>
    {
        var services = context.RequestServices;
        var settings = services.GetRequiredService<HostSettings>();
        if (!settings.Keys.AuthorizesDurableApi(HttpFunctionEndpoints.PresentedKey(context.Request)))
        {
            context.Response.StatusCode = StatusCodes.Status401Unauthorized;
            return;
        }

        var client = services.GetRequiredService<DurableTaskClient>();
        await RunAsync(
            context,
            client,
            client.Name,
            handler,
            static _ => null,
            ex => services.GetRequiredService<ILoggerFactory>().CreateLogger("Fleet.Hosting.Durable").DurableApiFailed(ex, context.Request.Method, context.Request.Path)).ConfigureAwait(false);
    };

    private static async Task<IResult> StartAsync(HttpContext context, DurableTaskClient client)
    {
        var functionName = (string)context.Request.RouteValues["functionName"]!;
        var instanceId = context.Request.RouteValues["instanceId"] as string;
        if (!context.RequestServices.GetRequiredService<IOptions<DurableTaskRegistry>>().Value.ContainsOrchestrator(functionName))
        {
            // As Durable Functions answers: the instance would only fail later.
            return Error(
                StatusCodes.Status400BadRequest,
                $"The function '{functionName}' doesn't exist, is disabled, or is not an orchestrator function.");
        }

        var (input, error) = await ReadJsonAsync(context.Request, requireJsonContentType: false).ConfigureAwait(false);
        if (error is not null)
        {
            return error;
        }

        string id;
        try
        {
            id = await client.ScheduleNewOrchestrationInstanceAsync(
                functionName, input, new StartOrchestrationOptions(string.IsNullOrEmpty(instanceId) ? null : instanceId), context.RequestAborted).ConfigureAwait(false);
        }
        catch (OrchestrationAlreadyExistsException ex)
        {
            return Error(StatusCodes.Status409Conflict, ex.Message);
        }

        return Results.Json(Payload(context.Request, client.Name, id, SystemKey(context)), JsonOptions, statusCode: StatusCodes.Status202Accepted)
            .WithHeaders(("Location", Payload(context.Request, client.Name, id, SystemKey(context)).StatusQueryGetUri), ("Retry-After", "10"));
    }

    private static async Task<IResult> GetStatusAsync(HttpContext context, DurableTaskClient client)
    {
        var instanceId = (string)context.Request.RouteValues["instanceId"]!;
        var query = context.Request.Query;
        var showHistory = Flag(query, "showHistory", false);
        var showHistoryOutput = Flag(query, "showHistoryOutput", false);
        var showInput = Flag(query, "showInput", true);
        var metadata = await client.GetInstanceAsync(instanceId, getInputsAndOutputs: true, context.RequestAborted).ConfigureAwait(false);
        if (metadata is null)
        {
            return Results.NotFound();
        }

        var body = StatusPayload(metadata, showInput);
        if (showHistory)
        {
            var history = await client.GetOrchestrationHistoryAsync(instanceId, context.RequestAborted).ConfigureAwait(false);
            body["historyEvents"] = new JsonArray(history.Where(e => e is not OrchestratorStartedEvent).Select(e => (JsonNode)HistoryPayload(e, showHistoryOutput)).ToArray());
        }

        return StatusResult(context.Request, body, metadata.RuntimeStatus);
    }

    private static async Task<IResult> ListAsync(HttpContext context, DurableTaskClient client)
    {
        if (TryReadListQuery(context.Request, OrchestrationQuery.DefaultPageSize, out var list) is { } refused)
        {
            return refused;
        }

        var filter = new OrchestrationQuery(
            list.From, list.To, list.Statuses, InstanceIdPrefix: list.Prefix, PageSize: list.Top, FetchInputsAndOutputs: list.ShowInput,
            ContinuationToken: list.Continuation);
        Page<OrchestrationMetadata>? page = null;
        await foreach (var first in client.GetAllInstancesAsync(filter).AsPages(filter.ContinuationToken, list.Top).WithCancellation(context.RequestAborted).ConfigureAwait(false))
        {
            page = first;
            break;
        }

        var items = new JsonArray((page?.Values ?? []).Select(m => (JsonNode)StatusPayload(m, list.ShowInput)).ToArray());
        var result = Results.Json(items, JsonOptions);
        return page?.ContinuationToken is { } next ? result.WithHeaders((ContinuationHeader, next)) : result;
    }

    private static async Task<IResult> RaiseEventAsync(HttpContext context, DurableTaskClient client)
    {
        var instanceId = (string)context.Request.RouteValues["instanceId"]!;
        var eventName = (string)context.Request.RouteValues["eventName"]!;
        var metadata = await client.GetInstanceAsync(instanceId, cancellation: context.RequestAborted).ConfigureAwait(false);
        if (metadata is null)
        {
            return Results.NotFound();
        }

        if (metadata.IsCompleted)
        {
            return Results.StatusCode(StatusCodes.Status410Gone);
        }

        var (payload, error) = await ReadJsonAsync(context.Request, requireJsonContentType: true).ConfigureAwait(false);
        if (error is not null)
        {
            return error;
        }

        await client.RaiseEventAsync(instanceId, eventName, payload, context.RequestAborted).ConfigureAwait(false);
        return Results.StatusCode(StatusCodes.Status202Accepted);
    }

    private static async Task<IResult> OperateAsync(HttpContext context, DurableTaskClient client, Func<string, string?, Task> operation)
    {
        var instanceId = (string)context.Request.RouteValues["instanceId"]!;
        var metadata = await client.GetInstanceAsync(instanceId, cancellation: context.RequestAborted).ConfigureAwait(false);
        if (metadata is null)
        {
            return Results.NotFound();
        }

        if (metadata.IsCompleted)
        {
            return Results.StatusCode(StatusCodes.Status410Gone);
        }

        var reason = context.Request.Query["reason"].ToString();
        await operation(instanceId, reason.Length == 0 ? null : reason).ConfigureAwait(false);
        return Results.StatusCode(StatusCodes.Status202Accepted);
    }

    private static async Task<IResult> PurgeAsync(HttpContext context, DurableTaskClient client)
    {
        var instanceId = (string)context.Request.RouteValues["instanceId"]!;
        var metadata = await client.GetInstanceAsync(instanceId, cancellation: context.RequestAborted).ConfigureAwait(false);
        if (metadata is null)
        {
            return Results.NotFound();
        }

        if (!metadata.IsCompleted)
        {
            return Error(
                StatusCodes.Status412PreconditionFailed,
                $"Only orchestrations in a terminal state can be purged, but instance '{instanceId}' is {metadata.RuntimeStatus}.");
        }

        var result = await client.PurgeInstanceAsync(instanceId, cancellation: context.RequestAborted).ConfigureAwait(false);
        return Results.Json(new { instancesDeleted = result.PurgedInstanceCount }, JsonOptions);
    }

    private static async Task<IResult> PurgeManyAsync(HttpContext context, DurableTaskClient client)
    {
        if (TryReadPurgeQuery(context.Request.Query, out var from, out var to, out var statuses) is { } refused)
        {
            return refused;
        }

        var result = await client.PurgeAllInstancesAsync(new PurgeInstancesFilter(from, to, statuses), cancellation: context.RequestAborted).ConfigureAwait(false);
        return result.PurgedInstanceCount == 0
            ? Results.NotFound()
            : Results.Json(new { instancesDeleted = result.PurgedInstanceCount }, JsonOptions);
    }

    private static JsonObject StatusPayload(OrchestrationMetadata metadata, bool showInput) =>
        DurableHttpApiCommon.StatusPayload(
            metadata.Name, metadata.InstanceId, metadata.RuntimeStatus, metadata.SerializedInput, showInput, metadata.SerializedCustomStatus,
            metadata.SerializedOutput, metadata.FailureDetails is { } failure ? $"{failure.ErrorType}: {failure.ErrorMessage}" : null,
            metadata.CreatedAt, metadata.LastUpdatedAt);

    private static JsonObject HistoryPayload(HistoryEvent historyEvent, bool showOutput)
    {
        // Durable Functions writes history entries in PascalCase.
        var entry = new JsonObject
        {
            ["EventType"] = historyEvent.EventType.ToString(),
            ["Timestamp"] = Time(new DateTimeOffset(DateTime.SpecifyKind(historyEvent.Timestamp, DateTimeKind.Utc))),
        };
        switch (historyEvent)
        {
            case ExecutionStartedEvent e:
                entry["FunctionName"] = e.Name;
                break;
            case ExecutionCompletedEvent e:
                entry["OrchestrationStatus"] = e.FailureDetails is null ? "Completed" : "Failed";
                if (e.FailureDetails is { } failure)
                {
                    entry["FailureDetails"] = $"{failure.ErrorType}: {failure.ErrorMessage}";
                }
                else if (showOutput)
                {
                    entry["Result"] = Parse(e.Result);
                }

                break;
            case ExecutionTerminatedEvent e when showOutput:
                entry["Output"] = Parse(e.Output);
                break;
            case ExecutionSuspendedEvent e:
                entry["Reason"] = e.Reason;
                break;
            case ExecutionResumedEvent e:
                entry["Reason"] = e.Reason;
                break;
            case TaskScheduledEvent e:
                entry["FunctionName"] = e.Name;
                entry["EventId"] = e.EventId;
                break;
            case TaskCompletedEvent e:
                entry["TaskScheduledId"] = e.TaskScheduledId;
                if (showOutput)
                {
                    entry["Result"] = Parse(e.Result);
                }

                break;
            case TaskFailedEvent e:
                entry["TaskScheduledId"] = e.TaskScheduledId;
                entry["FailureDetails"] = $"{e.FailureDetails.ErrorType}: {e.FailureDetails.ErrorMessage}";
                break;
            case SubOrchestrationInstanceCreatedEvent e:
                entry["FunctionName"] = e.Name;
                entry["InstanceId"] = e.InstanceId;
                entry["EventId"] = e.EventId;
                break;
            case SubOrchestrationInstanceCompletedEvent e:
                entry["TaskScheduledId"] = e.TaskScheduledId;
                if (showOutput)
                {
                    entry["Result"] = Parse(e.Result);
                }

                break;
            case SubOrchestrationInstanceFailedEvent e:
                entry["TaskScheduledId"] = e.TaskScheduledId;
                entry["FailureDetails"] = $"{e.FailureDetails.ErrorType}: {e.FailureDetails.ErrorMessage}";
                break;
            case TimerCreatedEvent e:
                entry["FireAt"] = Time(new DateTimeOffset(DateTime.SpecifyKind(e.FireAt, DateTimeKind.Utc)));
                break;
            case TimerFiredEvent e:
                entry["FireAt"] = Time(new DateTimeOffset(DateTime.SpecifyKind(e.FireAt, DateTimeKind.Utc)));
                entry["TimerId"] = e.TimerId;
                break;
            case EventSentEvent e:
                entry["Name"] = e.Name;
                entry["InstanceId"] = e.InstanceId;
                break;
            case EventRaisedEvent e:
                entry["Name"] = e.Name;
                if (showOutput)
                {
                    entry["Input"] = Parse(e.Input);
                }

                break;
        }

        return entry;
    }

    private static string? SystemKey(HttpContext context) =>
        context.RequestServices.GetRequiredService<HostSettings>().Keys.DurableTaskKey;
}
