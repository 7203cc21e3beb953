using System.Text.Json.Nodes;
using Fleet.Durable.Grpc;
using Fleet.Durable.Storage;
using Fleet.Hosting.Configuration;
using Fleet.Hosting.Durable;
using Fleet.Hosting.Http;
using Microsoft.AspNetCore.Builder;
using Microsoft.AspNetCore.Http;
using Microsoft.AspNetCore.Routing;
using Microsoft.Extensions.DependencyInjection;
using Microsoft.Extensions.Logging;
using static Fleet.Hosting.Durable.DurableHttpApiCommon;
using P = Microsoft.DurableTask.Protobuf;

namespace Fleet.Hosting.Local.Durable;

/// <summary>
/// The Durable Functions HTTP management API of the local host, answered from the durable backend at the URLs the
/// isolated worker's <c>CreateCheckStatusResponseAsync</c> builds: 202 (+ Location, Retry-After) while an instance runs,
/// 200 once it is done (500 for a failed one when asked), 404 unknown, 410 for an operation on a finished instance.
/// With a Durable system key or master key set (<c>FunctionKeys</c>), calls need one of them (<c>code</c> or
/// <c>x-functions-key</c>); without keys it is open, as under Core Tools.
/// </summary>
internal static class DurableManagementApi
{
    private const string ConnectionName = "Storage";

    /// <summary>Maps the routes; handlers resolve the backend from <paramref name="services"/> (the host's container).</summary>
    public static void Map(IEndpointRouteBuilder endpoints, IServiceProvider services)
    {
        var api = endpoints.MapGroup(BasePath);
        api.MapPost("orchestrators/{functionName}/{instanceId?}", Handle(services, (c, b) => StartAsync(c, b, services)));
        api.MapGet("instances", Handle(services, ListAsync));
        api.MapDelete("instances", Handle(services, PurgeManyAsync));
        api.MapGet("instances/{instanceId}", Handle(services, GetStatusAsync));
        api.MapDelete("instances/{instanceId}", Handle(services, PurgeAsync));
        api.MapPost("instances/{instanceId}/raiseEvent/{eventName}", Handle(services, RaiseEventAsync));
        api.MapPost("instances/{instanceId}/terminate", Handle(services, (c, b) => OperateAsync(c, b, (id, reason, ct) => b.TerminateAsync(id, Json(reason), recursive: false, ct))));
        api.MapPost("instances/{instanceId}/suspend", Handle(services, (c, b) => OperateAsync(c, b, b.SuspendAsync)));
        api.MapPost("instances/{instanceId}/resume", Handle(services, (c, b) => OperateAsync(c, b, b.ResumeAsync)));
        api.MapPost("instances/{instanceId}/restart", Handle(services, (c, b) => RestartAsync(c, b, services)));
        api.MapPost("instances/{instanceId}/rewind", Handle(services, RewindAsync));
    }

    /// <summary>The management URLs of an instance, rooted at the request's scheme and host.</summary>
    public static ManagementUrls UrlsFor(HttpRequest request, string hubName, string instanceId, string? systemKey) =>
        Urls($"{request.Scheme}://{request.Host}", instanceId, Query(hubName, ConnectionName, systemKey));

    private static RequestDelegate Handle(IServiceProvider services, Func<HttpContext, DurableBackend, Task<IResult>> handler) => async context =>
    {
        var keys = services.GetRequiredService<HostSettings>().Keys;
        if ((keys.DurableTaskKey is not null || keys.HasMasterKey) && !keys.AuthorizesDurableApi(PresentedKeys.Of(context.Request)))
        {
            context.Response.StatusCode = StatusCodes.Status401Unauthorized;
            return;
        }

        var backend = services.GetRequiredService<DurableBackend>();
        await RunAsync(
            context,
            backend,
            backend.HubName,
            handler,
            static ex => ex is SidecarRequestException refused ? Error(Status(refused.Refusal), refused.Message) : null,
            ex => services.GetRequiredService<ILoggerFactory>().CreateLogger("Fleet.Hosting.Local.Durable").DurableApiFailed(ex, context.Request.Method, context.Request.Path)).ConfigureAwait(false);
    };

    private static int Status(SidecarRefusal refusal) => refusal switch
    {
        SidecarRefusal.NotFound => StatusCodes.Status404NotFound,
        SidecarRefusal.AlreadyExists => StatusCodes.Status409Conflict,
        SidecarRefusal.FailedPrecondition => StatusCodes.Status412PreconditionFailed,
        _ => StatusCodes.Status400BadRequest,
    };

    private static async Task<IResult> StartAsync(HttpContext context, DurableBackend backend, IServiceProvider services)
    {
        var functionName = (string)context.Request.RouteValues["functionName"]!;
        var catalog = services.GetRequiredService<DurableFunctionCatalog>();
        if (!catalog.TryGet(DurableFunctionKind.Orchestrator, functionName, out _))
        {
            return Error(StatusCodes.Status400BadRequest, catalog.NotFoundMessage(DurableFunctionKind.Orchestrator, functionName));
        }

        var (input, error) = await ReadJsonAsync(context.Request, requireJsonContentType: false).ConfigureAwait(false);
        if (error is not null)
        {
            return error;
        }

        var request = new P.CreateInstanceRequest
        {
            Name = functionName,
            InstanceId = context.Request.RouteValues["instanceId"] as string ?? string.Empty,
            Input = input is null ? null : System.Text.Json.JsonSerializer.Serialize(input),
        };
        var id = await backend.StartInstanceAsync(request, context.RequestAborted).ConfigureAwait(false);
        return Accepted(context, backend, services, id);
    }

    private static async Task<IResult> RestartAsync(HttpContext context, DurableBackend backend, IServiceProvider services)
    {
        var instanceId = (string)context.Request.RouteValues["instanceId"]!;
        var id = await backend.RestartInstanceAsync(instanceId, Flag(context.Request.Query, "restartWithNewInstanceId", true), context.RequestAborted).ConfigureAwait(false);
        return Accepted(context, backend, services, id);
    }

    // As Durable Functions answers: 202 when accepted, 404 for no such instance, 410 when the instance has not failed.
    private static async Task<IResult> RewindAsync(HttpContext context, DurableBackend backend)
    {
        var instanceId = (string)context.Request.RouteValues["instanceId"]!;
        var reason = context.Request.Query["reason"].ToString();
        try
        {
            await backend.RewindInstanceAsync(instanceId, reason.Length == 0 ? null : reason, context.RequestAborted).ConfigureAwait(false);
        }
        catch (SidecarRequestException ex) when (ex.Refusal == SidecarRefusal.FailedPrecondition)
        {
            return Error(StatusCodes.Status410Gone, ex.Message);
        }

        return Results.StatusCode(StatusCodes.Status202Accepted);
    }

    private static async Task<IResult> GetStatusAsync(HttpContext context, DurableBackend backend)
    {
        var instanceId = (string)context.Request.RouteValues["instanceId"]!;
        var query = context.Request.Query;
        var record = await backend.GetInstanceAsync(instanceId, includePayloads: true, context.RequestAborted).ConfigureAwait(false);
        if (record is null)
        {
            return Results.NotFound();
        }

        var body = StatusPayload(record, Flag(query, "showInput", true));
        if (Flag(query, "showHistory", false))
        {
            var history = await backend.GetHistoryAsync(instanceId, context.RequestAborted).ConfigureAwait(false) ?? [];
            var showOutput = Flag(query, "showHistoryOutput", false);
            body["historyEvents"] = new JsonArray(history
                .Where(e => e.EventTypeCase is not (P.HistoryEvent.EventTypeOneofCase.OrchestratorStarted or P.HistoryEvent.EventTypeOneofCase.OrchestratorCompleted))
                .Select(e => (JsonNode)DurableHistoryJson.Entry(e, showOutput)).ToArray());
        }

        return StatusResult(context.Request, body, record.Status);
    }

    private static async Task<IResult> ListAsync(HttpContext context, DurableBackend backend)
    {
        if (TryReadListQuery(context.Request, defaultPageSize: 100, out var list) is { } refused)
        {
            return refused;
        }

        var filter = new InstanceFilter { CreatedFrom = list.From, CreatedTo = list.To, Statuses = list.Statuses, InstanceIdPrefix = list.Prefix };
        var page = await backend.QueryInstancesAsync(new InstanceQuery(filter, list.Top, list.ShowInput, list.Continuation), context.RequestAborted).ConfigureAwait(false);
        var result = Results.Json(new JsonArray(page.Instances.Select(r => (JsonNode)StatusPayload(r, list.ShowInput)).ToArray()), JsonOptions);
        return page.ContinuationToken is { } next ? result.WithHeaders((ContinuationHeader, next)) : result;
    }

    private static async Task<IResult> RaiseEventAsync(HttpContext context, DurableBackend backend)
    {
        var instanceId = (string)context.Request.RouteValues["instanceId"]!;
        var eventName = (string)context.Request.RouteValues["eventName"]!;
        if (await RunningOrErrorAsync(context, backend, instanceId).ConfigureAwait(false) is { } refused)
        {
            return refused;
        }

        var (payload, error) = await ReadJsonAsync(context.Request, requireJsonContentType: true).ConfigureAwait(false);
        if (error is not null)
        {
            return error;
        }

        await backend.RaiseEventAsync(instanceId, eventName, payload is null ? null : System.Text.Json.JsonSerializer.Serialize(payload), context.RequestAborted).ConfigureAwait(false);
        return Results.StatusCode(StatusCodes.Status202Accepted);
    }

    private static async Task<IResult> OperateAsync(HttpContext context, DurableBackend backend, Func<string, string?, CancellationToken, Task<bool>> operation)
    {
        var instanceId = (string)context.Request.RouteValues["instanceId"]!;
        if (await RunningOrErrorAsync(context, backend, instanceId).ConfigureAwait(false) is { } refused)
        {
            return refused;
        }

        var reason = context.Request.Query["reason"].ToString();
        await operation(instanceId, reason.Length == 0 ? null : reason, context.RequestAborted).ConfigureAwait(false);
        return Results.StatusCode(StatusCodes.Status202Accepted);
    }

    private static async Task<IResult> PurgeAsync(HttpContext context, DurableBackend backend)
    {
        var instanceId = (string)context.Request.RouteValues["instanceId"]!;
        var record = await backend.GetInstanceAsync(instanceId, includePayloads: false, context.RequestAborted).ConfigureAwait(false);
        if (record is null)
        {
            return Results.NotFound();
        }

        if (!record.Status.IsTerminal())
        {
            return Error(StatusCodes.Status412PreconditionFailed, $"Only orchestrations in a terminal state can be purged, but instance '{instanceId}' is {record.Status}.");
        }

        var deleted = await backend.PurgeInstanceAsync(instanceId, recursive: false, context.RequestAborted).ConfigureAwait(false);
        return Results.Json(new { instancesDeleted = deleted }, JsonOptions);
    }

    private static async Task<IResult> PurgeManyAsync(HttpContext context, DurableBackend backend)
    {
        if (TryReadPurgeQuery(context.Request.Query, out var from, out var to, out var statuses) is { } refused)
        {
            return refused;
        }

        var (deleted, _) = await backend.PurgeInstancesAsync(
            new InstanceFilter { CreatedFrom = from, CreatedTo = to, Statuses = statuses }, recursive: false, timeout: null, context.RequestAborted).ConfigureAwait(false);
        return deleted == 0 ? Results.NotFound() : Results.Json(new { instancesDeleted = deleted }, JsonOptions);
    }

    private static async Task<IResult?> RunningOrErrorAsync(HttpContext context, DurableBackend backend, string instanceId)
    {
        var record = await backend.GetInstanceAsync(instanceId, includePayloads: false, context.RequestAborted).ConfigureAwait(false);
        return record is null ? Results.NotFound() : record.Status.IsTerminal() ? Results.StatusCode(StatusCodes.Status410Gone) : null;
    }

    private static IResult Accepted(HttpContext context, DurableBackend backend, IServiceProvider services, string instanceId)
    {
        var keys = services.GetRequiredService<HostSettings>().Keys;
        var urls = UrlsFor(context.Request, backend.HubName, instanceId, keys.DurableTaskKey);
        var payload = new JsonObject
        {
            ["id"] = instanceId,
            ["purgeHistoryDeleteUri"] = urls.PurgeHistoryDeleteUri,
            ["restartPostUri"] = urls.RestartPostUri,
            ["sendEventPostUri"] = urls.SendEventPostUri,
            ["statusQueryGetUri"] = urls.StatusQueryGetUri,
            ["terminatePostUri"] = urls.TerminatePostUri,
            ["rewindPostUri"] = urls.RewindPostUri,
            ["suspendPostUri"] = urls.SuspendPostUri,
            ["resumePostUri"] = urls.ResumePostUri,
        };
        return Results.Json(payload, JsonOptions, statusCode: StatusCodes.Status202Accepted)
            .WithHeaders(("Location", urls.StatusQueryGetUri), ("Retry-After", "10"));
    }

    private static JsonObject StatusPayload(InstanceRecord record, bool showInput) =>
        DurableHttpApiCommon.StatusPayload(
            record.Name, record.InstanceId, record.Status, record.Input, showInput, record.CustomStatus, record.Output,
            DurableHistoryJson.Failure(record.FailureDetails) is { } failure ? $"{failure.ErrorType}: {failure.ErrorMessage}" : null,
            record.CreatedAt, record.LastUpdatedAt);

    private static string? Json(string? text) => text is null ? null : System.Text.Json.JsonSerializer.Serialize(text);
}
