using System.Globalization;
using System.Net;
using Microsoft.Azure.Functions.Worker;
using Microsoft.Azure.Functions.Worker.Http;

namespace HttpApp;

/// <summary>HTTP functions on the built-in model, each exercising one thing the host must carry over the protocol.</summary>
public static class HttpFunctions
{
    /// <summary>Echoes method, query, a header and the body, and sets a response header.</summary>
    [Function("Ping")]
    public static async Task<HttpResponseData> PingAsync(
        [HttpTrigger(AuthorizationLevel.Anonymous, "get", "post", Route = "ping")] HttpRequestData request)
    {
        ArgumentNullException.ThrowIfNull(request);
        var body = await request.ReadAsStringAsync().ConfigureAwait(false);
        var query = System.Web.HttpUtility.ParseQueryString(request.Url.Query);
        var marker = request.Headers.TryGetValues("X-Marker", out var values) ? string.Join(",", values) : "-";
        var response = request.CreateResponse(HttpStatusCode.OK);
        response.Headers.Add("X-Pong", "1");
        await response.WriteStringAsync(
            $"pong {request.Method} deviceId={query["deviceId"]} marker={marker} body={body} greeting={Environment.GetEnvironmentVariable("Greeting")}")
            .ConfigureAwait(false);
        return response;
    }

    /// <summary>A route with an int constraint and an optional alpha segment; the values bind to parameters.</summary>
    [Function("GetDevice")]
    public static async Task<HttpResponseData> GetDeviceAsync(
        [HttpTrigger(AuthorizationLevel.Anonymous, "get", Route = "devices/{id:int}/{name:alpha?}")] HttpRequestData request, int id, string? name)
    {
        ArgumentNullException.ThrowIfNull(request);
        var response = request.CreateResponse(HttpStatusCode.OK);
        await response.WriteStringAsync(string.Create(CultureInfo.InvariantCulture, $"device {id} name={name ?? "-"}")).ConfigureAwait(false);
        return response;
    }

    /// <summary>POST only; the route defaults to the function name.</summary>
    [Function("Submit")]
    public static HttpResponseData Submit([HttpTrigger(AuthorizationLevel.Anonymous, "post")] HttpRequestData request)
    {
        ArgumentNullException.ThrowIfNull(request);
        return request.CreateResponse(HttpStatusCode.Accepted);
    }

    /// <summary>Needs a function, host or master key.</summary>
    [Function("Secret")]
    public static HttpResponseData Secret([HttpTrigger(AuthorizationLevel.Function, "get", Route = "secret")] HttpRequestData request)
    {
        ArgumentNullException.ThrowIfNull(request);
        return request.CreateResponse(HttpStatusCode.OK);
    }

    /// <summary>Needs the master key.</summary>
    [Function("MasterOnly")]
    public static HttpResponseData MasterOnly([HttpTrigger(AuthorizationLevel.Admin, "get", Route = "master-only")] HttpRequestData request)
    {
        ArgumentNullException.ThrowIfNull(request);
        return request.CreateResponse(HttpStatusCode.OK);
    }

    /// <summary>Throws: the host answers 500 and logs the user's exception.</summary>
    [Function("Fail")]
    public static HttpResponseData Fail([HttpTrigger(AuthorizationLevel.Anonymous, "get", Route = "fail")] HttpRequestData request)
    {
        ArgumentNullException.ThrowIfNull(request);
        throw new InvalidOperationException("boom from Fail");
    }

    /// <summary>Waits <c>?ms=</c> milliseconds before answering (function timeout, graceful drain).</summary>
    [Function("Slow")]
    public static async Task<HttpResponseData> SlowAsync(
        [HttpTrigger(AuthorizationLevel.Anonymous, "get", Route = "slow")] HttpRequestData request, FunctionContext context)
    {
        ArgumentNullException.ThrowIfNull(request);
        ArgumentNullException.ThrowIfNull(context);
        var query = System.Web.HttpUtility.ParseQueryString(request.Url.Query);
        var milliseconds = int.Parse(query["ms"] ?? "0", CultureInfo.InvariantCulture);
        await Task.Delay(milliseconds, context.CancellationToken).ConfigureAwait(false);
        var response = request.CreateResponse(HttpStatusCode.OK);
        await response.WriteStringAsync(string.Create(CultureInfo.InvariantCulture, $"slept {milliseconds}")).ConfigureAwait(false);
        return response;
    }

    /// <summary>Ends the worker process mid-invocation (the host must fail the invocation and restart the worker).</summary>
    [Function("Crash")]
    public static HttpResponseData Crash([HttpTrigger(AuthorizationLevel.Anonymous, "get", Route = "crash")] HttpRequestData request)
    {
        ArgumentNullException.ThrowIfNull(request);
        Environment.Exit(3);
        return request.CreateResponse(HttpStatusCode.OK);
    }

    /// <summary>Reports the worker's process id, so a test can tell a restarted worker from the first.</summary>
    [Function("ProcessId")]
    public static async Task<HttpResponseData> ProcessIdAsync(
        [HttpTrigger(AuthorizationLevel.Anonymous, "get", Route = "pid")] HttpRequestData request)
    {
        ArgumentNullException.ThrowIfNull(request);
        var response = request.CreateResponse(HttpStatusCode.OK);
        await response.WriteStringAsync(Environment.ProcessId.ToString(CultureInfo.InvariantCulture)).ConfigureAwait(false);
        return response;
    }

    /// <summary>Disabled by <c>AzureWebJobs.Retired.Disabled</c> in local.settings.json.</summary>
    [Function("Retired")]
    public static HttpResponseData Retired([HttpTrigger(AuthorizationLevel.Anonymous, "get", Route = "retired")] HttpRequestData request)
    {
        ArgumentNullException.ThrowIfNull(request);
        return request.CreateResponse(HttpStatusCode.OK);
    }
}
