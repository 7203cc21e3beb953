using Grpc.Net.Client;
using Microsoft.DurableTask.Client;
using Microsoft.DurableTask.Client.Grpc;
using Microsoft.Extensions.Logging.Abstractions;
using Microsoft.Extensions.Options;

namespace Fleet.Hosting.Tests.Local;

/// <summary>
/// DurableApp (the real Durable extension 1.22.0 in the real worker) under the local host, on its default SQLite store
/// in the copy's <c>.data/</c>, with a real SDK client (Client.Grpc) on the host's TaskHubSidecarService.
/// </summary>
public class DurableAppFixture : LocalHostFixture, IAsyncLifetime
{
    private GrpcChannel? _channel;

    public DurableAppFixture()
        : base("DurableApp")
    {
    }

    /// <summary>The SDK's gRPC client, as an app outside Functions would use it.</summary>
    public DurableTaskClient Durable { get; private set; } = null!;

    public new async Task InitializeAsync()
    {
        await base.InitializeAsync();
        _channel = GrpcChannel.ForAddress(Host.RpcAddress);
        Durable = new GrpcDurableTaskClient(
            "tests", Options.Create(new GrpcDurableTaskClientOptions { Channel = _channel, EnableEntitySupport = true }).Value, NullLogger<GrpcDurableTaskClient>.Instance);
    }

    public new async Task DisposeAsync()
    {
        if (Durable is not null)
        {
            await Durable.DisposeAsync();
        }

        _channel?.Dispose();
        await base.DisposeAsync();
    }
}
