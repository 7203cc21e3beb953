using System.Text;
using System.Text.Json;
using Fleet.Hosting.Configuration;
using Fleet.Hosting.Http;
using Fleet.Hosting.Rpc;
using Fleet.Hosting.Rpc.Protocol;
using Google.Protobuf;
using Microsoft.AspNetCore.Builder;
using Microsoft.AspNetCore.Http;
using Microsoft.AspNetCore.Routing;
using Microsoft.Extensions.Logging;
using Yarp.ReverseProxy.Forwarder;

namespace Fleet.Hosting.Local;

/// <summary>
/// The HTTP front door for httpTrigger functions: routes (prefix, parameters, constraints, methods) on ASP.NET Core
/// routing, keys by authorization level, then either the built-in model (the request travels as RpcHttp in the
/// InvocationRequest and the response comes back in it) or the ASP.NET Core integration (an InvocationRequest with an
/// empty RpcHttp, and the request itself forwarded to the worker's HttpUri under <c>x-ms-invocation-id</c>).
/// </summary>
internal sealed class HttpFunctionRouter(
    FunctionInvoker invoker, WorkerSupervisor supervisor, HostSettings settings, IHttpForwarder forwarder, ILoggerFactory loggerFactory) : IDisposable
{
    public const string InvocationIdHeader = "x-ms-invocation-id";
    private static readonly string[] SkippedResponseHeaders = ["Content-Length", "Transfer-Encoding", "Connection"];
    private readonly HttpMessageInvoker _client = new(new SocketsHttpHandler
    {
        UseProxy = false,
        AllowAutoRedirect = false,
        AutomaticDecompression = System.Net.DecompressionMethods.None,
        UseCookies = false,
        ConnectTimeout = TimeSpan.FromSeconds(15),
    });

    // The worker's Kestrel speaks HTTP/1.1 on cleartext: ask for it directly instead of offering HTTP/2 first.
    private static readonly ForwarderRequestConfig WorkerRequests = new() { Version = System.Net.HttpVersion.Version11, VersionPolicy = HttpVersionPolicy.RequestVersionOrLower };

    private volatile bool _stopping;

    /// <summary>From now on, new requests get 503; requests already running finish.</summary>
    public void StopAccepting() => _stopping = true;

    public void Dispose() => _client.Dispose();

    public void Map(IEndpointRouteBuilder endpoints, IEnumerable<RegisteredFunction> functions)
    {
        foreach (var function in functions.Where(f => f.Loaded && f.Http is not null))
        {
            var route = function.Http!;
            RequestDelegate handler = context => HandleAsync(context, function.Spec, route);
            var builder = route.Methods.Count == 0 ? endpoints.Map(route.Template, handler) : endpoints.MapMethods(route.Template, route.Methods, handler);
            builder.WithDisplayName(function.Spec.Name);
        }
    }

    private async Task HandleAsync(HttpContext context, FunctionSpec function, HttpRoute route)
    {
        var logger = loggerFactory.CreateLogger("Function." + function.Name);
        if (_stopping)
        {
            logger.HttpRequestRejectedStopping(function.Name);
            context.Response.StatusCode = StatusCodes.Status503ServiceUnavailable;
            return;
        }

        if (!settings.Keys.Authorizes(PresentedKeys.Of(context.Request), route.Level, function.Name))
        {
            logger.HttpUnauthorized(function.Name);
            context.Response.StatusCode = StatusCodes.Status401Unauthorized;
            return;
        }

        var metadata = TriggerMetadata(context.Request);
        var session = await supervisor.GetLiveAsync(context.RequestAborted).ConfigureAwait(false);
        if (session.HttpUri is { } workerUri)
        {
            await ForwardAsync(context, function, workerUri, metadata, logger).ConfigureAwait(false);
            return;
        }

        var http = await ToRpcHttpAsync(context.Request, session).ConfigureAwait(false);
        var outcome = await invoker.InvokeAsync(function, new TriggerInvocation(new TypedData { Http = http }, metadata, null), context.RequestAborted).ConfigureAwait(false);
        if (!outcome.Succeeded)
        {
            context.Response.StatusCode = StatusCodes.Status500InternalServerError;
            return;
        }

        await WriteResponseAsync(context, function, outcome.Response!).ConfigureAwait(false);
    }

    private async Task ForwardAsync(HttpContext context, FunctionSpec function, Uri workerUri, Dictionary<string, TypedData> metadata, ILogger logger)
    {
        var invocationId = Guid.NewGuid().ToString();
        var invocation = invoker.InvokeAsync(function, new TriggerInvocation(new TypedData { Http = new RpcHttp() }, metadata, null), invocationId, context.RequestAborted);
        var error = await forwarder.SendAsync(
            context, workerUri.GetLeftPart(UriPartial.Authority), _client, WorkerRequests, new InvocationIdTransformer(invocationId)).ConfigureAwait(false);
        if (error != ForwarderError.None)
        {
            logger.HttpForwardFailed(function.Name, error.ToString());
        }

        // The worker wrote the HTTP response itself; the invocation's return value is a dump of it (pitfall 9).
        var outcome = await invocation.ConfigureAwait(false);
        if (!outcome.Succeeded && !context.Response.HasStarted)
        {
            context.Response.StatusCode = StatusCodes.Status500InternalServerError;
        }
    }

    /// <summary>The request as RpcHttp, filled the way the worker's capabilities ask for.</summary>
    internal static async Task<RpcHttp> ToRpcHttpAsync(HttpRequest request, WorkerSession session)
    {
        var nullable = session.HasCapability("UseNullableValueDictionaryForHttp");
        var http = new RpcHttp { Method = request.Method, Url = $"{request.Scheme}://{request.Host}{request.PathBase}{request.Path}{request.QueryString}" };
        foreach (var (name, values) in request.Headers)
        {
            Put(nullable ? null : http.Headers, nullable ? http.NullableHeaders : null, name, values.ToString());
        }

        foreach (var (name, values) in request.Query)
        {
            Put(nullable ? null : http.Query, nullable ? http.NullableQuery : null, name, values.ToString());
        }

        foreach (var (name, value) in request.RouteValues)
        {
            Put(nullable ? null : http.Params, nullable ? http.NullableParams : null, name, Convert.ToString(value, System.Globalization.CultureInfo.InvariantCulture) ?? string.Empty);
        }

        using var body = new MemoryStream();
        await request.Body.CopyToAsync(body, request.HttpContext.RequestAborted).ConfigureAwait(false);
        var bytes = ByteString.CopyFrom(body.GetBuffer(), 0, (int)body.Length);
        http.Body = new TypedData { Bytes = bytes };
        if (!session.HasCapability("RpcHttpBodyOnly"))
        {
            http.RawBody = new TypedData { Bytes = bytes };
        }

        return http;
    }

    /// <summary>Route values (bound to parameters by name), the query and the headers, as the worker's binding data.</summary>
    private static Dictionary<string, TypedData> TriggerMetadata(HttpRequest request)
    {
        var metadata = new Dictionary<string, TypedData>(StringComparer.OrdinalIgnoreCase)
        {
            ["Query"] = new TypedData { Json = JsonSerializer.Serialize(request.Query.ToDictionary(q => q.Key, q => q.Value.ToString())) },
            ["Headers"] = new TypedData { Json = JsonSerializer.Serialize(request.Headers.ToDictionary(h => h.Key, h => h.Value.ToString())) },
        };
        foreach (var (name, value) in request.RouteValues)
        {
            if (Convert.ToString(value, System.Globalization.CultureInfo.InvariantCulture) is { } text)
            {
                metadata[name] = new TypedData { String = text };
            }
        }

        return metadata;
    }

    private static async Task WriteResponseAsync(HttpContext context, FunctionSpec function, InvocationResponse response)
    {
        var httpOutput = function.Outputs.FirstOrDefault(o => string.Equals(o.Type, FunctionRegistry.HttpOutput, StringComparison.OrdinalIgnoreCase));
        var value = httpOutput is null ? null
            : httpOutput.Name == FunctionInvoker.ReturnBinding ? response.ReturnValue
            : response.OutputData.FirstOrDefault(o => string.Equals(o.Name, httpOutput.Name, StringComparison.OrdinalIgnoreCase))?.Data;
        if (value?.Http is not { } http)
        {
            // No HTTP output (or the function returned nothing for it): as Azure Functions does, 204 with no body.
            context.Response.StatusCode = value is null ? StatusCodes.Status204NoContent : StatusCodes.Status200OK;
            if (value is not null)
            {
                await WriteBodyAsync(context.Response, value).ConfigureAwait(false);
            }

            return;
        }

        context.Response.StatusCode = int.TryParse(http.StatusCode, out var status) ? status : StatusCodes.Status200OK;
        foreach (var (name, header) in http.Headers)
        {
            if (!SkippedResponseHeaders.Contains(name, StringComparer.OrdinalIgnoreCase))
            {
                context.Response.Headers.Append(name, header);
            }
        }

        foreach (var cookie in http.Cookies)
        {
            context.Response.Cookies.Append(cookie.Name, cookie.Value, new CookieOptions
            {
                Domain = cookie.Domain?.Value,
                Path = cookie.Path?.Value,
                Expires = cookie.Expires?.Value?.ToDateTimeOffset(),
                Secure = cookie.Secure?.Value ?? false,
                HttpOnly = cookie.HttpOnly?.Value ?? false,
                MaxAge = cookie.MaxAge is { } age ? TimeSpan.FromSeconds(age.Value) : null,
                SameSite = cookie.SameSite switch
                {
                    RpcHttpCookie.Types.SameSite.Lax => SameSiteMode.Lax,
                    RpcHttpCookie.Types.SameSite.Strict => SameSiteMode.Strict,
                    RpcHttpCookie.Types.SameSite.ExplicitNone => SameSiteMode.None,
                    _ => SameSiteMode.Unspecified,
                },
            });
        }

        if (http.Body is { } body)
        {
            await WriteBodyAsync(context.Response, body).ConfigureAwait(false);
        }
    }

    private static Task WriteBodyAsync(HttpResponse response, TypedData body)
    {
        var bytes = body.DataCase switch
        {
            TypedData.DataOneofCase.Bytes => body.Bytes.Memory,
            TypedData.DataOneofCase.Stream => body.Stream.Memory,
            TypedData.DataOneofCase.String => Encoding.UTF8.GetBytes(body.String),
            TypedData.DataOneofCase.Json => Encoding.UTF8.GetBytes(body.Json),
            TypedData.DataOneofCase.Int => Encoding.UTF8.GetBytes(body.Int.ToString(System.Globalization.CultureInfo.InvariantCulture)),
            TypedData.DataOneofCase.Double => Encoding.UTF8.GetBytes(body.Double.ToString(System.Globalization.CultureInfo.InvariantCulture)),
            _ => ReadOnlyMemory<byte>.Empty,
        };
        if (body.DataCase == TypedData.DataOneofCase.Json && response.ContentType is null)
        {
            response.ContentType = "application/json; charset=utf-8";
        }

        return bytes.IsEmpty ? Task.CompletedTask : response.Body.WriteAsync(bytes, response.HttpContext.RequestAborted).AsTask();
    }

    private static void Put(Google.Protobuf.Collections.MapField<string, string>? plain, Google.Protobuf.Collections.MapField<string, NullableString>? nullable, string name, string value)
    {
        if (nullable is not null)
        {
            nullable[name] = new NullableString { Value = value };
        }
        else
        {
            plain![name] = value;
        }
    }

    /// <summary>Adds the invocation id the worker pairs the forwarded request with.</summary>
    private sealed class InvocationIdTransformer(string invocationId) : HttpTransformer
    {
        public override async ValueTask TransformRequestAsync(HttpContext httpContext, HttpRequestMessage proxyRequest, string destinationPrefix, CancellationToken cancellationToken)
        {
            await base.TransformRequestAsync(httpContext, proxyRequest, destinationPrefix, cancellationToken).ConfigureAwait(false);
            proxyRequest.Headers.Remove(InvocationIdHeader);
            proxyRequest.Headers.TryAddWithoutValidation(InvocationIdHeader, invocationId);
        }
    }
}
