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
using Microsoft.Extensions.Configuration;
using Microsoft.Extensions.DependencyInjection;
using Microsoft.Extensions.Hosting;
using Microsoft.Extensions.Logging;

namespace Fleet.Bench.Durable;

/// <summary>
/// The sidecar backend served on loopback Kestrel (HTTP/2), with a real Microsoft.DurableTask.Worker.Grpc worker and
/// Client.Grpc client connected to it: what a console app on the SDK gets against this backend, in one process. The
/// store comes from the backend's own settings (<c>DurableTask:Backend:SqlitePath</c> or
/// <c>DurableTask:Backend:PostgresConnectionString</c>); by default a fresh SQLite database in a temp folder.
/// </summary>
internal sealed class SdkBenchHost : IAsyncDisposable
{
    private readonly WebApplication _server;
    private readonly IHost _sdk;
    private readonly GrpcChannel[] _channels;
    private readonly string _directory;

    private SdkBenchHost(WebApplication server, IHost sdk, GrpcChannel[] channels, string directory, Uri address)
    {
        Address = address;
        _server = server;
        _sdk = sdk;
        _channels = channels;
        _directory = directory;
        Client = sdk.Services.GetRequiredService<DurableTaskClient>();
        Backend = server.Services.GetRequiredService<DurableBackend>();
        Store = server.Services.GetRequiredService<IOrchestrationStore>();
    }

    public DurableTaskClient Client { get; }

    /// <summary>Where the sidecar listens (HTTP/2 cleartext on loopback).</summary>
    public Uri Address { get; }

    public DurableBackend Backend { get; }

    /// <summary>The store behind the backend (for its counters).</summary>
    public IOrchestrationStore Store { get; }

    /// <summary>
    /// Starts the server and, unless <paramref name="tasks"/> is null, an SDK worker with those tasks.
    /// <paramref name="settings"/> (configuration keys such as <c>DurableTask:Backend:PostgresConnectionString</c>)
    /// replace the default SQLite store.
    /// </summary>
    public static async Task<SdkBenchHost> StartAsync(Action<DurableTaskRegistry>? tasks, IReadOnlyDictionary<string, string?>? settings = null)
    {
        var directory = Path.Combine(Path.GetTempPath(), "fleet-bench", Guid.NewGuid().ToString("N"));
        Directory.CreateDirectory(directory);
        var port = FreePort.Next();
        var builder = WebApplication.CreateSlimBuilder();
        builder.Logging.ClearProviders();
        builder.WebHost.ConfigureKestrel(k =>
        {
            // Thousands of concurrent WaitForInstanceCompletion calls: let them share a few connections.
            k.Limits.Http2.MaxStreamsPerConnection = 10_000;
            k.ListenLocalhost(port, l => l.Protocols = HttpProtocols.Http2);
        });
        builder.Configuration.AddInMemoryCollection(settings ?? new Dictionary<string, string?>
        {
            ["DurableTask:Backend:SqlitePath"] = Path.Combine(directory, "bench.db"),
        });
        builder.Services.AddDurableBackend(builder.Configuration);
        var server = builder.Build();
        server.MapDurableTaskSidecar();
        await server.StartAsync();

        // The worker and the client on their own channels, as in two processes: the client's thousands of waits never
        // queue the worker's completions behind them.
        var address = new Uri($"http://localhost:{port}");
        var channel = GrpcChannel.ForAddress(address);
        var clientChannel = GrpcChannel.ForAddress(address);
        var sdkBuilder = Microsoft.Extensions.Hosting.Host.CreateApplicationBuilder();
        sdkBuilder.Logging.ClearProviders();
        if (tasks is not null)
        {
            sdkBuilder.Services.AddDurableTaskWorker(b =>
            {
                b.AddTasks(tasks);
                b.UseGrpc(channel);
            });
        }

        sdkBuilder.Services.AddDurableTaskClient(b => b.UseGrpc(clientChannel));
        var sdk = sdkBuilder.Build();
        await sdk.StartAsync();
        return new SdkBenchHost(server, sdk, [channel, clientChannel], directory, address);
    }

    public async ValueTask DisposeAsync()
    {
        using var stop = new CancellationTokenSource(TimeSpan.FromSeconds(10));
        await _sdk.StopAsync(stop.Token);
        _sdk.Dispose();
        foreach (var channel in _channels)
        {
            channel.Dispose();
        }

        await _server.StopAsync(stop.Token);
        await _server.DisposeAsync();
        try
        {
            Directory.Delete(_directory, recursive: true);
        }
        catch (IOException)
        {
            // Left for the OS to clean up.
        }
    }
}
