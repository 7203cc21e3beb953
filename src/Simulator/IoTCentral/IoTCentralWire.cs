using System.Globalization;
using System.Text.Json;
using System.Text.Json.Nodes;
using System.Text.Json.Serialization;
using Fleet.Simulator.Api;

namespace Fleet.Simulator.IoTCentral;

/// <summary>
/// The IoT Central wire format: camelCase JSON without nulls, collections <c>{ value, nextLink }</c> with an absolute
/// nextLink that carries <c>api-version</c>, <c>$top</c> and <c>$skiptoken</c>, and errors
/// <c>{ error: { code, message, requestId, time } }</c> plus the <c>x-ms-error-code</c> header.
/// </summary>
internal static class IoTCentralWire
{
    public const string ApiVersion = "2022-07-31";
    public const string ErrorCodeHeader = "x-ms-error-code";

    /// <summary>Page size of lists that take <c>$top</c> (devices, templates) when none is given, as documented.</summary>
    public const int DefaultTop = 25;

    /// <summary>The documented <c>$top</c> maximum, and the page size of the other lists (a choice: nothing is documented).</summary>
    public const int MaxTop = 100;

    public static JsonSerializerOptions Json { get; } = new()
    {
        PropertyNamingPolicy = JsonNamingPolicy.CamelCase,
        PropertyNameCaseInsensitive = true,
        DefaultIgnoreCondition = JsonIgnoreCondition.WhenWritingNull,
    };

    public static IResult Ok<T>(T value) => Results.Json(value, Json);

    public static Task WriteErrorAsync(HttpContext ctx, TimeProvider clock, int status, string code, string message)
    {
        var requestId = ctx.Response.Headers[SphereApi.RequestIdHeader].FirstOrDefault() ?? Guid.NewGuid().ToString("N")[..8];
        ctx.Response.StatusCode = status;
        ctx.Response.Headers[ErrorCodeHeader] = code;
        var time = clock.GetUtcNow().ToString("R", CultureInfo.InvariantCulture);
        return ctx.Response.WriteAsJsonAsync(new ErrorEnvelope(new ErrorBody(code, message, requestId, time)), Json, ctx.RequestAborted);
    }

    /// <summary>One page of <paramref name="sorted"/> after the skiptoken's key, with the nextLink of the rest.</summary>
    public static Collection<TOut> Page<TIn, TOut>(HttpContext ctx, string scope, IEnumerable<TIn> sorted, Func<TIn, string> key,
        Func<TIn, TOut> project, bool takesTop)
    {
        var query = ctx.Request.Query;
        var size = MaxTop;
        if (takesTop)
        {
            size = DefaultTop;
            if (query.TryGetValue("$top", out var top))
            {
                if (!int.TryParse(top.FirstOrDefault(), NumberStyles.None, CultureInfo.InvariantCulture, out size) || size < 1)
                {
                    throw IoTCentralFault.BadRequest("InvalidQueryParameter", "$top must be a positive whole number.");
                }

                size = Math.Min(size, MaxTop);
            }
        }

        if (!Paging.TryDecode(query["$skiptoken"].FirstOrDefault(), scope, out var after))
        {
            throw IoTCentralFault.BadRequest("InvalidSkipToken", "$skiptoken is not a continuation of this list.");
        }

        var items = new List<TOut>(size);
        string? last = null;
        var more = false;
        foreach (var item in sorted)
        {
            var itemKey = key(item);
            if (after is not null && string.CompareOrdinal(itemKey, after) <= 0)
            {
                continue;
            }

            if (items.Count == size)
            {
                more = true;
                break;
            }

            items.Add(project(item));
            last = itemKey;
        }

        return new Collection<TOut>(items, more ? NextLink(ctx, size, takesTop, Paging.Encode(scope, last!)) : null);
    }

    private static string NextLink(HttpContext ctx, int size, bool takesTop, string skipToken)
    {
        var request = ctx.Request;
        var link = $"{request.Scheme}://{request.Host}{request.PathBase}{request.Path}?api-version={ApiVersion}";
        if (takesTop)
        {
            link += "&%24top=" + size.ToString(CultureInfo.InvariantCulture);
        }

        foreach (var name in new[] { "$filter", "$orderby" })
        {
            if (request.Query.TryGetValue(name, out var value))
            {
                link += "&%24" + name[1..] + "=" + Uri.EscapeDataString(value.ToString());
            }
        }

        return link + "&%24skiptoken=" + Uri.EscapeDataString(skipToken);
    }

    public static string? Time(DateTimeOffset? value) =>
        value?.UtcDateTime.ToString("yyyy-MM-dd'T'HH:mm:ss.fff'Z'", CultureInfo.InvariantCulture);

    public static async Task<JsonObject> ReadObjectAsync(HttpContext ctx)
    {
        try
        {
            return await JsonSerializer.DeserializeAsync<JsonNode>(ctx.Request.Body, Json, ctx.RequestAborted) as JsonObject
                ?? throw IoTCentralFault.Invalid("The body must be a JSON object.");
        }
        catch (JsonException ex)
        {
            throw IoTCentralFault.BadRequest("InvalidJson", $"The body is not valid JSON: {ex.Message}");
        }
    }
}

internal sealed record Collection<T>(IReadOnlyList<T> Value, string? NextLink);

internal sealed record ErrorEnvelope(ErrorBody Error);

internal sealed record ErrorBody(string Code, string Message, string RequestId, string Time);

internal sealed record DeviceWire(
    string Id,
    [property: JsonPropertyName("etag")] string ETag,
    string DisplayName,
    string? Template,
    bool Enabled,
    bool Provisioned,
    bool Simulated,
    IReadOnlyList<string>? Organizations)
{
    public static DeviceWire From(IoTCentralDeviceEntity d) =>
        new(d.Id, IoTCentralApp.ETagOf("device", d.Id, d.Revision), d.DisplayName, d.Template, d.Enabled, d.Provisioned,
            d.Simulated, d.Organization is null ? null : [d.Organization]);
}

internal sealed record TemplateWire(
    [property: JsonPropertyName("@id")] string Id,
    [property: JsonPropertyName("@type")] IReadOnlyList<string> Types,
    [property: JsonPropertyName("etag")] string ETag,
    string DisplayName,
    string Description,
    JsonObject CapabilityModel)
{
    public static TemplateWire From(IoTCentralTemplateEntity t) =>
        new(t.Id, ["ModelDefinition", "DeviceModel"], IoTCentralApp.ETagOf("template", t.Id, 1), t.DisplayName, t.Description,
            IoTCentralApp.CloneObject(t.CapabilityModel));
}

internal sealed record GroupWire(
    string Id,
    string DisplayName,
    string Filter,
    string? Description,
    [property: JsonPropertyName("etag")] string ETag,
    IReadOnlyList<string>? Organizations)
{
    public static GroupWire From(IoTCentralGroupEntity g) =>
        new(g.Id, g.DisplayName, g.Filter, g.Description, IoTCentralApp.ETagOf("group", g.Id, 1),
            g.Organization is null ? null : [g.Organization]);
}

internal sealed record OrganizationWire(string Id, string DisplayName, string? Parent)
{
    public static OrganizationWire From(IoTCentralOrganizationEntity o) => new(o.Id, o.DisplayName, o.Parent);
}

internal sealed record RoleWire(string Role, string? Organization);

internal sealed record UserWire(string Id, string Type, string TenantId, string ObjectId, IReadOnlyList<RoleWire> Roles)
{
    public static UserWire From(IoTCentralUserEntity u) =>
        new(u.Id, u.Type, Auth.KnownIdentities.EntraTenantId.ToString(), u.ObjectId.ToString(),
            [.. u.Roles.Select(r => new RoleWire(r.Role, r.Organization))]);
}

internal sealed record ApiTokenWire(string Id, string? Token, string Expiry, IReadOnlyList<RoleWire> Roles)
{
    public static ApiTokenWire From(IoTCentralTokenEntity t, string? value = null) =>
        new(t.Id, value, IoTCentralWire.Time(t.Expiry)!, [.. t.Roles.Select(r => new RoleWire(r.Role, r.Organization))]);
}

internal sealed record JobProgressWire(int Total, int Pending, int Completed, int Failed);

internal sealed record JobWire(
    string Id,
    string? DisplayName,
    string? Description,
    string Group,
    JsonNode? Batch,
    JsonNode? CancellationThreshold,
    JsonArray Data,
    string? Start,
    string? End,
    JobProgressWire Progress,
    string Status,
    IReadOnlyList<string>? Organizations);

internal sealed record JobDeviceWire(string Id, string Status);
