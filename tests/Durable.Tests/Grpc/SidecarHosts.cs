using Fleet.Durable;
using Fleet.Durable.Grpc;
using Fleet.Durable.Storage;
using Fleet.Testing;
using Grpc.Net.Client;
using Microsoft.AspNetCore.Builder;
using Microsoft.AspNetCore.Hosting;
using Microsoft.AspNetCore.Server.Kestrel.Core;
using Microsoft.DurableTask;
using Microsoft.DurableTask.Client;
using Microsoft.DurableTask.Worker;
using Microsoft.DurableTask.Worker.Grpc.Internal;
using Microsoft.Extensions.DependencyInjection;
using Microsoft.Extensions.Hosting;
using Microsoft.Extensions.Logging;

namespace Fleet.SidecarTests;

/// <summary>The sidecar backend served on loopback Kestrel (HTTP/2 cleartext), on a store chosen by the test.</summary>
public sealed class SidecarServer : IAsyncDisposable
{
    private readonly WebApplication _app;
    private string? _ownedDirectory;

    private SidecarServer(WebApplication app, string address)
    {
        _app = app;
        Address = address;
        Backend = app.Services.GetRequiredService<DurableBackend>();
    }

    public string Address { get; }

    public DurableBackend Backend { get; }

    public IServiceProvider Services => _app.Services;

    /// <summary>The store the backend runs on (the wrapper, when the test wrapped it).</summary>
    public IOrchestrationStore Store => _app.Services.GetRequiredService<IOrchestrationStore>();

    /// <param name="store">Chooses the store (<c>UseSqlite</c>, <c>UsePostgres</c>, <c>UseStore</c>).</param>
    /// <param name="backend">Backend settings.</param>
    /// <param name="options">Hub and store settings; the hub is <c>sdk</c> unless set.</param>
    /// <param name="time">The backend's clock (a <see cref="FakeTimeProvider"/> drives timers, retries and lock expiry).</param>
    /// <param name="logs">Receives the backend's and the store's logs (categories Fleet.*, Debug and up).</param>
    /// <param name="wrapStore">Wraps the store, to observe or alter what the backend asks of it.</param>
    public static async Task<SidecarServer> StartAsync(
        Action<DurableTaskBuilder> store,
        Action<DurableBackendOptions>? backend = null,
        Action<DurableTaskOptions>? options = null,
        TimeProvider? time = null,
        ILoggerProvider? logs = null,
        Func<IOrchestrationStore, IOrchestrationStore>? wrapStore = null)
    {
        var port = FreePort.Next();
        var builder = WebApplication.CreateSlimBuilder();
        builder.Logging.ClearProviders();
        if (logs is not null)
        {
            // The backend's and the store's own logs only: ASP.NET Core's request logs at Debug would cost every test.
            builder.Logging.AddProvider(logs).SetMinimumLevel(LogLevel.Debug)
                .AddFilter((category, _) => category?.StartsWith("Fleet.", StringComparison.Ordinal) == true);
        }

        if (time is not null)
        {
            builder.Services.AddSingleton(time);
        }

        builder.WebHost.ConfigureKestrel(k => k.ListenLocalhost(port, l => l.Protocols = HttpProtocols.Http2));
        builder.Services.AddDurableBackend(
            b =>
            {
                b.Configure(o =>
                {
                    o.HubName = "sdk";
                    options?.Invoke(o);
                });
                store(b);
                if (wrapStore is not null)
                {
                    var inner = b.Services.Last(d => d.ServiceType == typeof(IOrchestrationStore)).ImplementationFactory!;
                    b.UseStore(sp => wrapStore((IOrchestrationStore)inner(sp)));
                }
            },
            backend);
        var app = builder.Build();
        app.MapDurableTaskSidecar();
        using var cts = new CancellationTokenSource(TimeSpan.FromSeconds(30));
        await app.StartAsync(cts.Token);
        return new SidecarServer(app, $"http://localhost:{port}");
    }

    /// <summary>A server on a SQLite file of its own in a temporary folder, deleted with the server.</summary>
    public static async Task<SidecarServer> StartOnTemporarySqliteAsync(Action<DurableTaskOptions>? options = null)
    {
        var directory = Path.Combine(Path.GetTempPath(), "fleet-sidecar-tests", Guid.NewGuid().ToString("N"));
        Directory.CreateDirectory(directory);
        var server = await StartAsync(b => b.UseSqlite(Path.Combine(directory, "durable.db")), options: options);
        server._ownedDirectory = directory;
        return server;
    }

    public async ValueTask DisposeAsync()
    {
        using var cts = new CancellationTokenSource(TimeSpan.FromSeconds(10));
        await _app.StopAsync(cts.Token);
        await _app.DisposeAsync();
        if (_ownedDirectory is not null)
        {
            try
            {
                Directory.Delete(_ownedDirectory, recursive: true);
            }
            catch (IOException)
            {
                // Left for the OS to clean up.
            }
        }
    }
}

/// <summary>A real Microsoft.DurableTask.Worker.Grpc worker and Client.Grpc client connected to a sidecar address.</summary>
public sealed class SdkWorkerHost : IAsyncDisposable
{
    private readonly IHost _host;
    private readonly GrpcChannel _channel;

    private SdkWorkerHost(IHost host, GrpcChannel channel)
    {
        _host = host;
        _channel = channel;
        Client = host.Services.GetRequiredService<DurableTaskClient>();
    }

    public DurableTaskClient Client { get; }

    /// <param name="address">The sidecar.</param>
    /// <param name="tasks">What the worker runs.</param>
    /// <param name="startWorker">False for a client only.</param>
    /// <param name="nativeEntityEvents">
    /// The worker converts entity events (SendEntityMessage actions, as for the Durable Task Scheduler) instead of
    /// sending DurableTask.Core's JSON entity requests as events (its default, and the Functions worker's).
    /// </param>
    /// <param name="worker">Changes the worker's settings (concurrency, ...).</param>
    /// <param name="logs">Receives the SDK's warnings and errors.</param>
    public static async Task<SdkWorkerHost> StartAsync(string address, Action<DurableTaskRegistry> tasks, bool startWorker = true, bool nativeEntityEvents = false, Action<DurableTaskWorkerOptions>? worker = null, ILoggerProvider? logs = null)
    {
        var channel = GrpcChannel.ForAddress(address);
        var builder = Host.CreateApplicationBuilder();
        builder.Logging.ClearProviders();
        if (logs is not null)
        {
            builder.Logging.AddProvider(logs).SetMinimumLevel(LogLevel.Warning);
        }

        if (startWorker)
        {
            builder.Services.AddDurableTaskWorker(b =>
            {
                b.AddTasks(tasks);
                b.UseGrpc(o =>
                {
                    o.Channel = channel;
                    if (nativeEntityEvents)
                    {
                        o.ConfigureForAzureManaged();
                    }
                });
                b.Configure(o =>
                {
                    o.EnableEntitySupport = true;
                    worker?.Invoke(o);
                });
            });
        }

        builder.Services.AddDurableTaskClient(b =>
        {
            b.UseGrpc(channel);
            b.Configure(o => o.EnableEntitySupport = true);
        });
        var host = builder.Build();
        using var cts = new CancellationTokenSource(TimeSpan.FromSeconds(30));
        await host.StartAsync(cts.Token);
        return new SdkWorkerHost(host, channel);
    }

    public async ValueTask DisposeAsync()
    {
        using var cts = new CancellationTokenSource(TimeSpan.FromSeconds(10));
        await _host.StopAsync(cts.Token);
        _host.Dispose();
        _channel.Dispose();
    }
}
