using System.Text.Json;
using System.Text.Json.Nodes;
using Fleet.Hosting.Configuration;
using Fleet.Hosting.Http;
using Microsoft.AspNetCore.Builder;
using Microsoft.AspNetCore.Http;
using Microsoft.AspNetCore.Routing;
using Microsoft.Extensions.Logging;

namespace Fleet.Hosting.Local;

/// <summary>
/// The Functions host's admin API for functions, all behind the master key: <c>GET /admin/functions</c> and
/// <c>GET /admin/functions/{name}</c> (what the host loaded, with bindings and invoke URLs) and
/// <c>POST /admin/functions/{name}</c> with <c>{"input": "..."}</c>, which runs a non-HTTP function by hand and
/// answers 202 at once (the run is logged like any other invocation and drains on shutdown like them).
/// </summary>
internal sealed class AdminFunctionEndpoints(
    IFunctionInvoker invoker,
    IReadOnlyList<RegisteredFunction> functions,
    HostSettings settings,
    IReadOnlyDictionary<string, IAdminInvocationFactory> triggers,
    ILoggerFactory loggerFactory,
    TimeProvider time)
{
    public const string FunctionsPath = "/admin/functions";

    private static readonly JsonSerializerOptions JsonOptions = new(JsonSerializerDefaults.Web);
    private readonly ILogger _logger = loggerFactory.CreateLogger("Fleet.Hosting.Local.Admin");
    private volatile bool _stopping;

    /// <summary>From now on, invoke requests get 503 (the listing still answers).</summary>
    public void StopAccepting() => _stopping = true;

    public void Map(IEndpointRouteBuilder endpoints)
    {
        endpoints.MapGet(FunctionsPath, (HttpContext context) =>
            Authorized(context) ? Results.Json(functions.Select(f => Describe(f, BaseAddress(context.Request))), JsonOptions) : Results.Unauthorized())
            .WithDisplayName("AdminListFunctions");
        endpoints.MapGet(FunctionsPath + "/{name}", (HttpContext context, string name) =>
            !Authorized(context) ? Results.Unauthorized()
            : Find(name) is { } function ? Results.Json(Describe(function, BaseAddress(context.Request)), JsonOptions)
            : Results.NotFound())
            .WithDisplayName("AdminGetFunction");
        endpoints.MapPost(FunctionsPath + "/{name}", InvokeAsync).WithDisplayName("AdminInvokeFunction");
    }

    private async Task<IResult> InvokeAsync(HttpContext context, string name)
    {
        if (!Authorized(context))
        {
            return Results.Unauthorized();
        }

        if (_stopping)
        {
            return Results.StatusCode(StatusCodes.Status503ServiceUnavailable);
        }

        if (Find(name) is not { } function)
        {
            return Results.NotFound();
        }

        var spec = function.Spec;
        if (!function.Loaded)
        {
            return Problem(StatusCodes.Status409Conflict, $"Function '{spec.Name}' is not loaded: {function.NotLoadedReason}");
        }

        if (function.Http is not null)
        {
            return Problem(StatusCodes.Status400BadRequest, $"Function '{spec.Name}' is an HTTP function: call its URL instead.");
        }

        if (!triggers.TryGetValue(spec.Trigger.Type, out var trigger))
        {
            return Problem(StatusCodes.Status400BadRequest, $"Functions with trigger '{spec.Trigger.Type}' cannot be run through the admin API (supported: {string.Join(", ", triggers.Keys.Order(StringComparer.Ordinal))}).");
        }

        var (input, error) = await ReadInputAsync(context.Request).ConfigureAwait(false);
        if (error is not null)
        {
            return Problem(StatusCodes.Status400BadRequest, error);
        }

        var invocation = trigger.ForAdminInput(spec, input, time);
        _logger.AdminInvokeAccepted(spec.Name);

        // Like the Functions host: accepted now, run in the background; the invoker logs the outcome and shutdown drains it.
        var run = invoker.InvokeAsync(spec, invocation, CancellationToken.None);
        _ = run.ContinueWith(
            t => _logger.AdminInvokeFailed(spec.Name, t.Exception?.GetBaseException().Message ?? "the invocation failed"),
            CancellationToken.None,
            TaskContinuationOptions.OnlyOnFaulted | TaskContinuationOptions.ExecuteSynchronously,
            TaskScheduler.Default);
        return Results.Accepted();
    }

    /// <summary>The body the Functions host takes: <c>{"input": "..."}</c>, where the input is a string or absent.</summary>
    private static async Task<(string? Input, string? Error)> ReadInputAsync(HttpRequest request)
    {
        const string expected = "The body must be a JSON object such as {\"input\": \"...\"}, where input is a string.";
        JsonNode? body;
        try
        {
            body = await JsonNode.ParseAsync(request.Body, cancellationToken: request.HttpContext.RequestAborted).ConfigureAwait(false);
        }
        catch (JsonException ex)
        {
            return (null, $"{expected} It is not JSON: {ex.Message}");
        }

        if (body is not JsonObject json)
        {
            return (null, expected);
        }

        var input = json.FirstOrDefault(p => string.Equals(p.Key, "input", StringComparison.OrdinalIgnoreCase)).Value;
        return input switch
        {
            null => (null, null),
            JsonValue value when value.GetValueKind() == JsonValueKind.String => (value.GetValue<string>(), null),
            _ => (null, $"{expected} It is {input.GetValueKind()}."),
        };
    }

    private static IResult Problem(int status, string detail) =>
        Results.Json(new { status, detail }, JsonOptions, "application/problem+json", status);

    private bool Authorized(HttpContext context) =>
        settings.Keys.Authorizes(PresentedKeys.Of(context.Request), AuthorizationLevel.Admin, AdminEndpoints.CheckName);

    private RegisteredFunction? Find(string name) =>
        functions.FirstOrDefault(f => string.Equals(f.Spec.Name, name, StringComparison.OrdinalIgnoreCase));

    // As the request reached the host, so the URLs work for the caller.
    private static Uri BaseAddress(HttpRequest request) => new($"{request.Scheme}://{request.Host}{request.PathBase}/");

    private static object Describe(RegisteredFunction function, Uri baseAddress)
    {
        var spec = function.Spec;
        var bindings = new JsonArray([.. new[] { spec.Trigger }.Concat(spec.Inputs).Concat(spec.Outputs).Select(b => b.Raw.DeepClone())]);
        return new
        {
            name = spec.Name,
            href = new Uri(baseAddress, $"admin/functions/{Uri.EscapeDataString(spec.Name)}").ToString(),
            invoke_url_template = function.Http is { } http ? new Uri(baseAddress, http.Template).ToString() : null,
            language = "dotnet-isolated",
            config = new { bindings },
            isDisabled = !function.Loaded,
            notLoadedReason = function.NotLoadedReason,
        };
    }
}
