using Fleet.Durable.Grpc;
using Fleet.Testing;
using Grpc.Net.Client;
using Microsoft.AspNetCore.Builder;
using Microsoft.AspNetCore.Hosting;
using Microsoft.AspNetCore.Server.Kestrel.Core;
using Microsoft.DurableTask;
using Microsoft.DurableTask.Client;
using Microsoft.DurableTask.Worker;
using Microsoft.Extensions.DependencyInjection;
using Microsoft.Extensions.Hosting;
using Microsoft.Extensions.Logging;

namespace Fleet.Bench.Durable;

/// <summary>
/// The sidecar backend on a fresh SQLite database served on loopback Kestrel (HTTP/2), with a real
/// Microsoft.DurableTask.Worker.Grpc worker and Client.Grpc client connected to it: what a console app on the SDK
/// gets against this backend, in one process.
/// </summary>
internal sealed class SdkBenchHost : IAsyncDisposable
{
    private readonly WebApplication _server;
    private readonly IHost _sdk;
    private readonly GrpcChannel[] _channels;
    private readonly string _directory;

    private SdkBenchHost(WebApplication server, IHost sdk, GrpcChannel[] channels, string directory)
    {
        _server = server;
        _sdk = sdk;
        _channels = channels;
        _directory = directory;
        Client = sdk.Services.GetRequiredService<DurableTaskClient>();
        Backend = server.Services.GetRequiredService<DurableBackend>();
    }

    public DurableTaskClient Client { get; }

    public DurableBackend Backend { get; }

    /// <summary>Starts the server and, unless <paramref name="tasks"/> is null, an SDK worker with those tasks.</summary>
    public static async Task<SdkBenchHost> StartAsync(Action<DurableTaskRegistry>? tasks)
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
        builder.Services.AddDurableBackend(b => b.UseSqlite(Path.Combine(directory, "bench.db")));
        var server = builder.Build();
        server.MapDurableTaskSidecar();
        await server.StartAsync();

        // The worker and the client on their own channels, as in two processes: the client's thousands of waits never
        // queue the worker's completions behind them.
        var channel = GrpcChannel.ForAddress($"http://localhost:{port}");
        var clientChannel = GrpcChannel.ForAddress($"http://localhost:{port}");
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
        return new SdkBenchHost(server, sdk, [channel, clientChannel], directory);
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
