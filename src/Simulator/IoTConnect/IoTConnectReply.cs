using System.Text.Encodings.Web;
using System.Text.Json;
using System.Text.Json.Serialization;

namespace Fleet.Simulator.IoTConnect;

/// <summary>
/// What an IoTConnect call produced. Success is written as the envelope <c>{ data, status, message, count }</c>;
/// failure as <c>{ status, message, error: [ { param, message } ] }</c> (reference §3.4), where <c>param</c> is the
/// offending field for a validation failure (400) and a business-rule code such as <c>UniqueIdAlreadyExists</c>
/// otherwise.
/// </summary>
internal sealed record IoTConnectReply(int Status, string Message, object? Data, long Count, string? ErrorParam)
{
    public bool IsSuccess => Status is >= 200 and < 300;

    /// <summary>A list (or one-element list) answer.</summary>
    public static IoTConnectReply Ok<T>(IReadOnlyList<T> data, long count, string message = "Success") => new(200, message, data, count, null);

    /// <summary>A single item, sent as a one-element <c>data</c> array like the service does.</summary>
    public static IoTConnectReply One(object item, string message = "Success") => new(200, message, new[] { item }, 1, null);

    /// <summary>A write that returns nothing: <c>data: []</c>.</summary>
    public static IoTConnectReply Done(string message) => new(200, message, Array.Empty<object>(), 0, null);

    /// <summary>No content (what the firmware lookup by name answers when nothing matches).</summary>
    public static IoTConnectReply NoContent() => new(204, string.Empty, null, 0, null);

    public static IoTConnectReply BadRequest(string param, string message) => new(400, message, null, 0, param);

    public static IoTConnectReply NotFound(string param, string message) => new(404, message, null, 0, param);

    public static IoTConnectReply Conflict(string param, string message) => new(409, message, null, 0, param);
}

/// <summary>JSON of the IoTConnect wire and the writers of its envelopes.</summary>
internal static class IoTConnectWire
{
    /// <summary>camelCase names (oddities carry explicit names), nulls written, property names read case-insensitively.</summary>
    public static JsonSerializerOptions Json { get; } = new()
    {
        PropertyNamingPolicy = JsonNamingPolicy.CamelCase,
        PropertyNameCaseInsensitive = true,
        Encoder = JavaScriptEncoder.UnsafeRelaxedJsonEscaping,
    };

    public static IResult Write(IoTConnectReply reply)
    {
        if (reply.Status == 204)
        {
            return Results.NoContent();
        }

        return reply.IsSuccess
            ? Results.Json(new SuccessEnvelope(reply.Data, reply.Status, reply.Message, reply.Count), Json, statusCode: reply.Status)
            : Error(reply.Status, reply.ErrorParam ?? "Error", reply.Message);
    }

    public static IResult Error(int status, string param, string message) =>
        Results.Json(new ErrorEnvelope(status, message, [new ErrorItem(param, message)]), Json, statusCode: status);

    public static Task WriteErrorAsync(HttpContext ctx, int status, string param, string message)
    {
        ctx.Response.StatusCode = status;
        return ctx.Response.WriteAsJsonAsync(new ErrorEnvelope(status, message, [new ErrorItem(param, message)]), Json, ctx.RequestAborted);
    }

    /// <summary>Reads a JSON body into <typeparamref name="T"/>; null when it is missing or not JSON of that shape.</summary>
    public static async Task<T?> ReadAsync<T>(HttpContext ctx)
        where T : class
    {
        if (ctx.Request.ContentLength == 0)
        {
            return null;
        }

        try
        {
            return await JsonSerializer.DeserializeAsync<T>(ctx.Request.Body, Json, ctx.RequestAborted);
        }
        catch (JsonException)
        {
            return null;
        }
    }

    public static string Date(DateTime value) => value.ToString("yyyy-MM-dd'T'HH:mm:ss.fff'Z'", System.Globalization.CultureInfo.InvariantCulture);

    public static string? Date(DateTime? value) => value is { } v ? Date(v) : null;

    private sealed record SuccessEnvelope(object? Data, int Status, string Message, long Count);

    private sealed record ErrorEnvelope(int Status, string Message, IReadOnlyList<ErrorItem> Error);

    private sealed record ErrorItem(string Param, string Message);
}

/// <summary>The login and refresh answer: top-level snake_case members, no envelope.</summary>
internal sealed record LoginAnswer(
    [property: JsonPropertyName("token_type")] string TokenType,
    [property: JsonPropertyName("access_token")] string AccessToken,
    [property: JsonPropertyName("expires_in")] long ExpiresIn,
    [property: JsonPropertyName("refresh_token")] string RefreshToken,
    [property: JsonPropertyName("status")] int Status);
