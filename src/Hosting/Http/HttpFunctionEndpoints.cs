using System.Text.Json;
using Fleet.Hosting.Configuration;
using Fleet.Hosting.Indexing;
using Fleet.Hosting.Invocation;
using Microsoft.AspNetCore.Builder;
using Microsoft.AspNetCore.Http;
using Microsoft.AspNetCore.Mvc;
using Microsoft.AspNetCore.Mvc.Abstractions;
using Microsoft.AspNetCore.Routing;
using Microsoft.Extensions.DependencyInjection;
using Microsoft.Extensions.Logging;

namespace Fleet.Hosting.Http;

/// <summary>Maps HTTP-triggered functions onto ASP.NET Core routing and runs them with key authorization.</summary>
internal static class HttpFunctionEndpoints
{
    public const string KeyHeader = "x-functions-key";
    public const string KeyQuery = "code";

    private static readonly JsonSerializerOptions JsonOptions = new(JsonSerializerDefaults.Web);

    public static void Map(IEndpointRouteBuilder endpoints, IEnumerable<FunctionDescriptor> functions)
    {
        foreach (var function in functions.Where(f => f.Http is not null && !f.Disabled))
        {
            var trigger = function.Http!;
            RequestDelegate handler = context => InvokeAsync(context, function);
            var builder = trigger.Methods.Count == 0
                ? endpoints.Map(trigger.Pattern, handler)
                : endpoints.MapMethods(trigger.Pattern, trigger.Methods, handler);
            builder.WithDisplayName(function.Name);
        }
    }

    /// <summary>The key a request presents: the <c>x-functions-key</c> header, else the <c>code</c> query parameter.</summary>
    public static string? PresentedKey(HttpRequest request)
    {
        var header = request.Headers[KeyHeader].ToString();
        return string.IsNullOrEmpty(header) ? request.Query[KeyQuery].ToString() : header;
    }

    private static async Task InvokeAsync(HttpContext context, FunctionDescriptor function)
    {
        var services = context.RequestServices;
        var settings = services.GetRequiredService<HostSettings>();
        if (!settings.Keys.Authorizes(PresentedKey(context.Request), function.Http!.Level, function.Name))
        {
            services.GetRequiredService<ILoggerFactory>().CreateLogger("Function." + function.Name).HttpUnauthorized(function.Name);
            context.Response.StatusCode = StatusCodes.Status401Unauthorized;
            return;
        }

        var bindingData = new Dictionary<string, object?>(StringComparer.OrdinalIgnoreCase);
        foreach (var (key, value) in context.Request.RouteValues)
        {
            bindingData[key] = value;
        }

        var executor = services.GetRequiredService<FunctionExecutor>();
        var result = await executor.ExecuteAsync(
            function,
            new TriggerInput(context.Request, bindingData, $"This HTTP triggered function executed ({context.Request.Method}).", context, services),
            context.RequestAborted).ConfigureAwait(false);
        switch (result.Outcome)
        {
            case FunctionOutcome.Succeeded:
                await WriteResultAsync(context, result.Value).ConfigureAwait(false);
                break;
            case FunctionOutcome.BindingFailed:
                await WriteErrorAsync(context, StatusCodes.Status400BadRequest, result.Exception?.Message ?? "The request could not be bound.").ConfigureAwait(false);
                break;
            case FunctionOutcome.Canceled:
                // The client went away; nobody reads the answer.
                break;
            default:
                // Details stay in the log: an exception message may carry internals.
                await WriteErrorAsync(context, StatusCodes.Status500InternalServerError, "The function failed.").ConfigureAwait(false);
                break;
        }
    }

    private static async Task WriteResultAsync(HttpContext context, object? value)
    {
        if (value is null || context.Response.HasStarted)
        {
            return;
        }

        switch (value)
        {
            case IActionResult action:
                await action.ExecuteResultAsync(new ActionContext(context, context.GetRouteData(), new ActionDescriptor())).ConfigureAwait(false);
                break;
            case IResult result:
                await result.ExecuteAsync(context).ConfigureAwait(false);
                break;
            case string text:
                context.Response.ContentType ??= "text/plain; charset=utf-8";
                await context.Response.WriteAsync(text, context.RequestAborted).ConfigureAwait(false);
                break;
            default:
                await context.Response.WriteAsJsonAsync(value, value.GetType(), JsonOptions, context.RequestAborted).ConfigureAwait(false);
                break;
        }
    }

    private static async Task WriteErrorAsync(HttpContext context, int status, string message)
    {
        if (context.Response.HasStarted)
        {
            return;
        }

        context.Response.Clear();
        context.Response.StatusCode = status;
        await context.Response.WriteAsJsonAsync(new { error = message }, JsonOptions, context.RequestAborted).ConfigureAwait(false);
    }
}
