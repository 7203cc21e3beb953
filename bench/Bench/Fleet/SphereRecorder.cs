using System.Net;
using Microsoft.AspNetCore.Builder;
using Microsoft.AspNetCore.Hosting;
using Microsoft.AspNetCore.Hosting.Server;
using Microsoft.AspNetCore.Hosting.Server.Features;
using Microsoft.AspNetCore.Http;
using Microsoft.AspNetCore.Http.Extensions;
using Microsoft.Extensions.DependencyInjection;
using Microsoft.Extensions.Logging;
using Yarp.ReverseProxy.Forwarder;

namespace Fleet.Bench.Fleet;

/// <summary>
/// A reverse proxy on loopback in front of the simulator's Sphere API, which the app's worker is pointed at
/// (<c>Sphere__endpoint</c>): every exchange is forwarded unchanged (YARP) and, while <see cref="Recording"/>, written
/// down, so a baseline can send the very same calls. The app's token requests go to its identity endpoint, not here.
/// </summary>
internal sealed class SphereRecorder : IAsyncDisposable
{
    private readonly WebApplication _app;
    private readonly HttpMessageInvoker _invoker;
    private readonly string _target;
    private readonly CallLog _log = new();

    private SphereRecorder(WebApplication app, HttpMessageInvoker invoker, Uri target)
    {
        _app = app;
        _invoker = invoker;
        _target = target.AbsoluteUri;
    }

    /// <summary>Where the app sends its Sphere calls.</summary>
    public Uri BaseAddress { get; private set; } = new("http://127.0.0.1/");

    /// <summary>Whether exchanges are being written down.</summary>
    public bool Recording
    {
        get => _log.Recording;
        set => _log.Recording = value;
    }

    /// <summary>What was recorded, in the order the answers arrived.</summary>
    public IReadOnlyList<RecordedCall> Calls => _log.Calls;

    /// <summary>Starts the proxy in front of <paramref name="target"/>.</summary>
    public static async Task<SphereRecorder> StartAsync(Uri target, CancellationToken cancellationToken)
    {
        var builder = WebApplication.CreateSlimBuilder();
        builder.Logging.ClearProviders();
        builder.WebHost.ConfigureKestrel(k => k.Listen(IPAddress.Loopback, 0));
        builder.Services.AddHttpForwarder();
        var app = builder.Build();
        var invoker = new HttpMessageInvoker(new SocketsHttpHandler
        {
            UseProxy = false,
            AllowAutoRedirect = false,
            AutomaticDecompression = DecompressionMethods.None,
            UseCookies = false,
            PooledConnectionLifetime = TimeSpan.FromMinutes(10),
        });
        var recorder = new SphereRecorder(app, invoker, target);
        var forwarder = app.Services.GetRequiredService<IHttpForwarder>();
        app.Map("{**path}", context => recorder.ForwardAsync(context, forwarder));
        await app.StartAsync(cancellationToken);
        var address = app.Services.GetRequiredService<IServer>().Features.Get<IServerAddressesFeature>()!.Addresses.First();
        recorder.BaseAddress = new Uri(address.EndsWith('/') ? address : address + "/");
        return recorder;
    }

    public async ValueTask DisposeAsync()
    {
        await _app.StopAsync(CancellationToken.None);
        await _app.DisposeAsync();
        _invoker.Dispose();
    }

    private async Task ForwardAsync(HttpContext context, IHttpForwarder forwarder)
    {
        // The body is read once for the record and replayed to the forwarder.
        context.Request.EnableBuffering();
        using var buffer = new MemoryStream();
        await context.Request.Body.CopyToAsync(buffer, context.RequestAborted);
        context.Request.Body.Position = 0;

        var error = await forwarder.SendAsync(context, _target, _invoker);
        if (error != ForwarderError.None || !_log.Recording)
        {
            return;
        }

        var request = context.Request;
        var call = new RecordedCall(
            request.Method,
            request.GetEncodedPathAndQuery(),
            request.Headers.TryGetValue("Sphere-Continuation", out var token) ? token.ToString() : null,
            request.ContentType,
            buffer.Length > 0 ? buffer.ToArray() : null,
            context.Response.StatusCode);
        _log.Add(call);
    }
}
