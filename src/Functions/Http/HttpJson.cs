using System.ComponentModel.DataAnnotations;
using System.Net;
using System.Text.Json;
using Microsoft.Azure.Functions.Worker.Http;

namespace Fleet.Functions.Http;

/// <summary>Reads and validates JSON request bodies of the HTTP starters, and shapes their answers.</summary>
internal static class HttpJson
{
    /// <summary>camelCase, as the app's HTTP answers and reports are written.</summary>
    public static readonly JsonSerializerOptions Options = new(JsonSerializerDefaults.Web);

    /// <summary>
    /// The body as <typeparamref name="T"/>, validated with DataAnnotations and <see cref="IValidatableObject"/>; an
    /// empty body gives <paramref name="empty"/> when that is allowed.
    /// </summary>
    public static async Task<(T? Value, IReadOnlyList<string> Errors)> ReadAsync<T>(HttpRequestData request, Func<T>? empty = null,
        IDictionary<object, object?>? items = null)
        where T : class
    {
        using var reader = new StreamReader(request.Body);
        var text = await reader.ReadToEndAsync(request.FunctionContext.CancellationToken);
        return Parse(text, "body", empty, items);
    }

    /// <summary>
    /// <paramref name="text"/> as <typeparamref name="T"/>, validated with DataAnnotations and
    /// <see cref="IValidatableObject"/>; blank text gives <paramref name="empty"/> when that is allowed.
    /// </summary>
    /// <param name="text">The JSON.</param>
    /// <param name="what">What the text is, for the error messages ("body", "message").</param>
    /// <param name="empty">The value of blank text, or null when blank text is an error.</param>
    /// <param name="items">Items for the validation context (e.g. defaults a validator needs).</param>
    public static (T? Value, IReadOnlyList<string> Errors) Parse<T>(string text, string what, Func<T>? empty = null, IDictionary<object, object?>? items = null)
        where T : class
    {
        T? value;
        try
        {
            value = string.IsNullOrWhiteSpace(text) ? empty?.Invoke() : JsonSerializer.Deserialize<T>(text, Options);
        }
        catch (JsonException ex)
        {
            return (null, [$"The {what} is not valid JSON for this request: {ex.Message}"]);
        }

        if (value is null)
        {
            return (null, [$"A JSON {what} is required."]);
        }

        var results = new List<ValidationResult>();
        Validator.TryValidateObject(value, new ValidationContext(value, items), results, validateAllProperties: true);
        return (value, results.Select(r => r.ErrorMessage ?? "invalid").ToList());
    }

    /// <summary>An answer with <paramref name="value"/> as camelCase JSON.</summary>
    public static async Task<HttpResponseData> WriteAsync<T>(HttpRequestData request, HttpStatusCode status, T value)
    {
        var response = request.CreateResponse(status);
        response.Headers.Add("Content-Type", "application/json; charset=utf-8");
        await response.Body.WriteAsync(JsonSerializer.SerializeToUtf8Bytes(value, Options), request.FunctionContext.CancellationToken);
        return response;
    }

    /// <summary>An answer with a body of the given content type.</summary>
    public static async Task<HttpResponseData> WriteAsync(HttpRequestData request, HttpStatusCode status, ReadOnlyMemory<byte> body, string contentType)
    {
        var response = request.CreateResponse(status);
        response.Headers.Add("Content-Type", contentType);
        await response.Body.WriteAsync(body, request.FunctionContext.CancellationToken);
        return response;
    }

    /// <summary>404 with the reason.</summary>
    public static Task<HttpResponseData> NotFound(HttpRequestData request, string error) =>
        WriteAsync(request, HttpStatusCode.NotFound, new { error });

    /// <summary>409 with the reason.</summary>
    public static Task<HttpResponseData> Conflict(HttpRequestData request, string error) =>
        WriteAsync(request, HttpStatusCode.Conflict, new { error });

    /// <summary>400 with the problems.</summary>
    public static Task<HttpResponseData> BadRequest(HttpRequestData request, IEnumerable<string> errors) =>
        WriteAsync(request, HttpStatusCode.BadRequest, new { error = "The request is invalid.", errors = errors.ToList() });
}
