using System.Globalization;
using System.Text;
using System.Text.Json;
using System.Text.Json.Nodes;
using Fleet.Durable.Client;
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

    public static bool TryStatuses(IQueryCollection query, out OrchestrationRuntimeStatus[]? statuses)
    {
        statuses = null;
        var text = query["runtimeStatus"].ToString();
        if (text.Length == 0)
        {
            return true;
        }

        var list = new List<OrchestrationRuntimeStatus>();
        foreach (var part in text.Split(',', StringSplitOptions.RemoveEmptyEntries | StringSplitOptions.TrimEntries))
        {
            if (!Enum.TryParse<OrchestrationRuntimeStatus>(part, ignoreCase: true, out var status) || int.TryParse(part, out _))
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
