using System.Globalization;
using System.Text;
using System.Text.Json;
using System.Text.Json.Nodes;
using Fleet.Durable.Storage;
using Microsoft.AspNetCore.Http;

namespace Fleet.Hosting.Durable;

/// <summary>
/// What the Durable HTTP management APIs of both hosts share: the management URLs (as the isolated worker's
/// <c>CreateCheckStatusResponseAsync</c> builds them), query parsing, JSON bodies, errors and time format.
/// </summary>
internal static class DurableHttpApiCommon
{
    /// <summary>The API's path.</summary>
    public const string BasePath = "/runtime/webhooks/durabletask";

    /// <summary>The header carrying the list's continuation token, both ways.</summary>
    public const string ContinuationHeader = "x-ms-continuation-token";

    /// <summary>JSON as the API writes it (camelCase).</summary>
    public static readonly JsonSerializerOptions JsonOptions = new(JsonSerializerDefaults.Web);

    /// <summary>The query every management URL carries: <c>taskHub</c>, <c>connection</c> and, when set, <c>code</c>.</summary>
    public static string Query(string hubName, string connectionName, string? systemKey) =>
        $"taskHub={Uri.EscapeDataString(hubName)}&connection={Uri.EscapeDataString(connectionName)}"
        + (string.IsNullOrEmpty(systemKey) ? string.Empty : "&code=" + Uri.EscapeDataString(systemKey));

    /// <summary>
    /// The management URLs of an instance under <paramref name="origin"/> (<c>scheme://host[:port]</c>), in the form
    /// of the Durable extension 1.22.0's <c>CreateHttpManagementPayload</c>: the reason placeholder before the query.
    /// </summary>
    public static ManagementUrls Urls(string origin, string instanceId, string query)
    {
        var instance = $"{origin}{BasePath}/instances/{Uri.EscapeDataString(instanceId)}";
        var suffix = string.IsNullOrEmpty(query) ? string.Empty : "?" + query;
        var reasonSuffix = "?reason={text}" + (string.IsNullOrEmpty(query) ? string.Empty : "&" + query);
        return new ManagementUrls(
            StatusQueryGetUri: instance + suffix,
            SendEventPostUri: $"{instance}/raiseEvent/{{eventName}}{suffix}",
            TerminatePostUri: $"{instance}/terminate{reasonSuffix}",
            PurgeHistoryDeleteUri: instance + suffix,
            SuspendPostUri: $"{instance}/suspend{reasonSuffix}",
            ResumePostUri: $"{instance}/resume{reasonSuffix}",
            RestartPostUri: $"{instance}/restart{suffix}",
            RewindPostUri: $"{instance}/rewind{reasonSuffix}");
    }

    /// <summary>
    /// Runs one API call: refuses a <c>taskHub</c> other than <paramref name="hubName"/>; a caller that left ends the
    /// call; an exception <paramref name="refusal"/> maps (or an ArgumentException) answers 4xx; any other is logged
    /// and answers 500 without its details.
    /// </summary>
    /// <typeparam name="TBackend">What the handler works on (a client, the backend).</typeparam>
    public static async Task RunAsync<TBackend>(
        HttpContext context, TBackend backend, string hubName, Func<HttpContext, TBackend, Task<IResult>> handler, Func<Exception, IResult?> refusal, Action<Exception> logFailure)
    {
        var hub = context.Request.Query["taskHub"].ToString();
        IResult result;
        if (hub.Length > 0 && !string.Equals(hub, hubName, StringComparison.OrdinalIgnoreCase))
        {
            result = Error(StatusCodes.Status400BadRequest, $"This host serves task hub '{hubName}', not '{hub}'.");
        }
        else
        {
            try
            {
                result = await handler(context, backend).ConfigureAwait(false);
            }
            catch (OperationCanceledException) when (context.RequestAborted.IsCancellationRequested)
            {
                return;
            }
            catch (Exception ex) when (refusal(ex) is not null || ex is ArgumentException)
            {
                result = refusal(ex) ?? Error(StatusCodes.Status400BadRequest, ex.Message);
            }
            catch (Exception ex)
            {
                logFailure(ex);
                result = Error(StatusCodes.Status500InternalServerError, "Something went wrong while processing the request.");
            }
        }

        await result.ExecuteAsync(context).ConfigureAwait(false);
    }

    /// <summary>An instance's status as the API writes it (the output of a failed one is its failure, "type: message").</summary>
    public static JsonObject StatusPayload(
        string name, string instanceId, InstanceStatus status, string? input, bool showInput, string? customStatus, string? output,
        string? failure, DateTimeOffset createdAt, DateTimeOffset lastUpdatedAt)
    {
        var body = new JsonObject
        {
            ["name"] = name,
            ["instanceId"] = instanceId,
            ["runtimeStatus"] = status.ToString(),
        };
        if (showInput)
        {
            body["input"] = Parse(input);
        }

        body["customStatus"] = Parse(customStatus);
        body["output"] = status == InstanceStatus.Failed && failure is not null ? JsonValue.Create(failure) : Parse(output);
        body["createdTime"] = Time(createdAt);
        body["lastUpdatedTime"] = Time(lastUpdatedAt);
        return body;
    }

    /// <summary>
    /// The status call's answer: 202 with <c>Location</c> and <c>Retry-After: 5</c> while the instance runs (so clients
    /// do not spin, as Durable Functions asks), 500 for a failed one when <c>returnInternalServerErrorOnFailure</c>, else 200.
    /// </summary>
    public static IResult StatusResult(HttpRequest request, JsonObject body, InstanceStatus status) => status switch
    {
        InstanceStatus.Running or InstanceStatus.Pending or InstanceStatus.Suspended or InstanceStatus.ContinuedAsNew =>
            Results.Json(body, JsonOptions, statusCode: StatusCodes.Status202Accepted).WithHeaders(
                ("Location", $"{request.Scheme}://{request.Host}{request.PathBase}{request.Path}{request.QueryString}"), ("Retry-After", "5")),
        InstanceStatus.Failed when Flag(request.Query, "returnInternalServerErrorOnFailure", false) =>
            Results.Json(body, JsonOptions, statusCode: StatusCodes.Status500InternalServerError),
        _ => Results.Json(body, JsonOptions),
    };

    /// <summary>The list call's query (<c>GET instances</c>), or the 400 it answers.</summary>
    public static IResult? TryReadListQuery(HttpRequest request, int defaultPageSize, out ListQuery list)
    {
        var query = request.Query;
        list = null!;
        if (!TryDate(query, "createdTimeFrom", out var from) || !TryDate(query, "createdTimeTo", out var to))
        {
            return Error(StatusCodes.Status400BadRequest, "createdTimeFrom and createdTimeTo must be ISO 8601 times.");
        }

        if (!TryStatuses(query, out var statuses))
        {
            return Error(StatusCodes.Status400BadRequest, "runtimeStatus must list statuses such as Running,Completed.");
        }

        var top = defaultPageSize;
        if (query.TryGetValue("top", out var topText) && (!int.TryParse(topText, NumberStyles.None, CultureInfo.InvariantCulture, out top) || top is < 1 or > 1000))
        {
            return Error(StatusCodes.Status400BadRequest, "top must be a page size from 1 to 1000.");
        }

        var prefix = query["instanceIdPrefix"].ToString();
        var continuation = request.Headers[ContinuationHeader].ToString();
        list = new ListQuery(from, to, statuses, top, Flag(query, "showInput", false), prefix.Length == 0 ? null : prefix, continuation.Length == 0 ? null : continuation);
        return null;
    }

    /// <summary>The bulk purge's query (<c>DELETE instances</c>: <c>createdTimeFrom</c> required), or the 400 it answers.</summary>
    public static IResult? TryReadPurgeQuery(IQueryCollection query, out DateTimeOffset from, out DateTimeOffset? to, out InstanceStatus[]? statuses)
    {
        from = default;
        to = null;
        statuses = null;
        if (!query.ContainsKey("createdTimeFrom") || !TryDate(query, "createdTimeFrom", out var start) || start is null)
        {
            return Error(StatusCodes.Status400BadRequest, "Please provide value for 'createdTimeFrom' parameter.");
        }

        from = start.Value;
        if (!TryDate(query, "createdTimeTo", out to))
        {
            return Error(StatusCodes.Status400BadRequest, "createdTimeTo must be an ISO 8601 time.");
        }

        return TryStatuses(query, out statuses) ? null : Error(StatusCodes.Status400BadRequest, "runtimeStatus must list statuses such as Completed,Failed.");
    }

    public static async Task<(object? Value, IResult? Error)> ReadJsonAsync(HttpRequest request, bool requireJsonContentType)
    {
        if (request.ContentLength == 0)
        {
            return (null, null);
        }

        if (requireJsonContentType && !string.Equals(request.ContentType?.Split(';')[0].Trim(), "application/json", StringComparison.OrdinalIgnoreCase))
        {
            return (null, Error(StatusCodes.Status400BadRequest, "Only application/json request content is supported."));
        }

        using var reader = new StreamReader(request.Body, Encoding.UTF8);
        var text = await reader.ReadToEndAsync(request.HttpContext.RequestAborted).ConfigureAwait(false);
        if (string.IsNullOrWhiteSpace(text))
        {
            return (null, null);
        }

        try
        {
            using var document = JsonDocument.Parse(text);
            return (document.RootElement.Clone(), null);
        }
        catch (JsonException)
        {
            return (null, Error(StatusCodes.Status400BadRequest, "Invalid JSON content."));
        }
    }

    public static JsonNode? Parse(string? serialized)
    {
        if (serialized is null)
        {
            return null;
        }

        try
        {
            return JsonNode.Parse(serialized);
        }
        catch (JsonException)
        {
            return JsonValue.Create(serialized);
        }
    }

    public static string Time(DateTimeOffset time) =>
        time.UtcDateTime.ToString("yyyy-MM-ddTHH:mm:ss'Z'", CultureInfo.InvariantCulture);

    public static bool Flag(IQueryCollection query, string name, bool defaultValue) =>
        query.TryGetValue(name, out var value) && bool.TryParse(value, out var flag) ? flag : defaultValue;

    public static bool TryDate(IQueryCollection query, string name, out DateTimeOffset? value)
    {
        value = null;
        if (!query.TryGetValue(name, out var text) || string.IsNullOrEmpty(text))
        {
            return true;
        }

        if (DateTimeOffset.TryParse(text, CultureInfo.InvariantCulture, DateTimeStyles.AssumeUniversal | DateTimeStyles.AdjustToUniversal, out var parsed))
        {
            value = parsed;
            return true;
        }

        return false;
    }

    public static bool TryStatuses(IQueryCollection query, out InstanceStatus[]? statuses)
    {
        statuses = null;
        var text = query["runtimeStatus"].ToString();
        if (text.Length == 0)
        {
            return true;
        }

        var list = new List<InstanceStatus>();
        foreach (var part in text.Split(',', StringSplitOptions.RemoveEmptyEntries | StringSplitOptions.TrimEntries))
        {
            if (!Enum.TryParse<InstanceStatus>(part, ignoreCase: true, out var status) || int.TryParse(part, out _))
            {
                return false;
            }

            list.Add(status);
        }

        statuses = [.. list];
        return true;
    }

    public static IResult Error(int status, string message) =>
        Results.Json(new { message }, JsonOptions, statusCode: status);

    /// <summary>Adds headers to a result.</summary>
    public static IResult WithHeaders(this IResult result, params (string Name, string Value)[] headers) => new HeaderResult(result, headers);

    private sealed class HeaderResult(IResult inner, (string Name, string Value)[] headers) : IResult
    {
        public Task ExecuteAsync(HttpContext httpContext)
        {
            foreach (var (name, value) in headers)
            {
                httpContext.Response.Headers[name] = value;
            }

            return inner.ExecuteAsync(httpContext);
        }
    }
}

/// <summary>The list call's validated query.</summary>
internal sealed record ListQuery(
    DateTimeOffset? From, DateTimeOffset? To, InstanceStatus[]? Statuses, int Top, bool ShowInput, string? Prefix, string? Continuation);

/// <summary>The management URLs of one instance.</summary>
internal sealed record ManagementUrls(
    string StatusQueryGetUri,
    string SendEventPostUri,
    string TerminatePostUri,
    string PurgeHistoryDeleteUri,
    string SuspendPostUri,
    string ResumePostUri,
    string RestartPostUri,
    string RewindPostUri);
