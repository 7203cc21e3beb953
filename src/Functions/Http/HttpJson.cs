using System.ComponentModel.DataAnnotations;
using System.Text.Json;
using Microsoft.AspNetCore.Http;
using Microsoft.AspNetCore.Mvc;

namespace Fleet.Functions.Http;

/// <summary>Reads and validates JSON request bodies of the HTTP starters, and shapes their error answers.</summary>
internal static class HttpJson
{
    public static readonly JsonSerializerOptions Options = new(JsonSerializerDefaults.Web);

    /// <summary>
    /// The body as <typeparamref name="T"/>, validated with DataAnnotations and <see cref="IValidatableObject"/>; an
    /// empty body gives <paramref name="empty"/> when that is allowed.
    /// </summary>
    public static async Task<(T? Value, IReadOnlyList<string> Errors)> ReadAsync<T>(HttpRequest request, Func<T>? empty = null)
        where T : class
    {
        T? value;
        try
        {
            using var reader = new StreamReader(request.Body);
            var text = await reader.ReadToEndAsync(request.HttpContext.RequestAborted);
            value = string.IsNullOrWhiteSpace(text) ? empty?.Invoke() : JsonSerializer.Deserialize<T>(text, Options);
        }
        catch (JsonException ex)
        {
            return (null, [$"The body is not valid JSON for this request: {ex.Message}"]);
        }

        if (value is null)
        {
            return (null, ["A JSON body is required."]);
        }

        var results = new List<ValidationResult>();
        Validator.TryValidateObject(value, new ValidationContext(value), results, validateAllProperties: true);
        return (value, results.Select(r => r.ErrorMessage ?? "invalid").ToList());
    }

    /// <summary>400 with the problems.</summary>
    public static IActionResult BadRequest(IEnumerable<string> errors) =>
        new BadRequestObjectResult(new { error = "The request is invalid.", errors = errors.ToList() });
}
