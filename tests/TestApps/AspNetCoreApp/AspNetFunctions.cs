using Microsoft.AspNetCore.Http;
using Microsoft.AspNetCore.Mvc;
using Microsoft.Azure.Functions.Worker;

namespace AspNetCoreApp;

/// <summary>HTTP functions on the ASP.NET Core integration: the host forwards each request to the worker's own Kestrel.</summary>
public static class AspNetFunctions
{
    /// <summary>Echoes method, path, query and body.</summary>
    [Function("Ping")]
    public static async Task<IActionResult> PingAsync(
        [HttpTrigger(AuthorizationLevel.Anonymous, "get", "post", Route = "ping")] HttpRequest request)
    {
        ArgumentNullException.ThrowIfNull(request);
        using var reader = new StreamReader(request.Body);
        var body = await reader.ReadToEndAsync(request.HttpContext.RequestAborted).ConfigureAwait(false);
        request.HttpContext.Response.Headers["X-Pong"] = "aspnet";
        return new OkObjectResult($"pong-aspnet {request.Method} {request.Path}{request.QueryString} body={body}");
    }

    /// <summary>A route value bound to a parameter.</summary>
    [Function("GetDevice")]
    public static IActionResult GetDevice(
        [HttpTrigger(AuthorizationLevel.Anonymous, "get", Route = "devices/{id:int}")] HttpRequest request, int id)
    {
        ArgumentNullException.ThrowIfNull(request);
        return new ContentResult { Content = $"device {id}", ContentType = "text/plain", StatusCode = StatusCodes.Status200OK };
    }

    /// <summary>Needs this function's key, a host key or the master key.</summary>
    [Function("Guarded")]
    public static IActionResult Guarded([HttpTrigger(AuthorizationLevel.Function, "get", Route = "guarded")] HttpRequest request)
    {
        ArgumentNullException.ThrowIfNull(request);
        return new NoContentResult();
    }

    /// <summary>Throws: the host logs the user's exception and the caller gets 500.</summary>
    [Function("Fail")]
    public static IActionResult Fail([HttpTrigger(AuthorizationLevel.Anonymous, "get", Route = "fail")] HttpRequest request)
    {
        ArgumentNullException.ThrowIfNull(request);
        throw new InvalidOperationException("boom from aspnet Fail");
    }
}
