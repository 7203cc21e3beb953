using System.Net.Sockets;
using Fleet.Testing;

namespace Fleet.Storage.Tests;

public sealed class AzuriteInstanceTests
{
    [Fact]
    public async Task An_instance_listens_on_free_loopback_ports_and_stops_listening_when_disposed()
    {
        using var cts = TestNames.Bounded(60);
        var instance = await AzuriteInstance.StartAsync(cancellationToken: cts.Token);
        var blobPort = instance.BlobEndpoint.Port;
        try
        {
            Assert.Equal("127.0.0.1", instance.BlobEndpoint.Host);
            Assert.Equal("/devstoreaccount1", instance.QueueEndpoint.AbsolutePath);
            Assert.Equal(3, new[] { blobPort, instance.QueueEndpoint.Port, instance.TableEndpoint.Port }.Distinct().Count());
            Assert.DoesNotContain(blobPort, new[] { 10000, 10001, 10002 });

            var connection = StorageConnection.Parse(instance.ConnectionString);
            Assert.Equal(instance.QueueEndpoint, connection.QueueEndpoint);
            Assert.True(await connection.CreateQueueServiceClient().GetQueueClient("alive").CreateIfNotExistsAsync(cts.Token));
        }
        finally
        {
            await instance.DisposeAsync();
            await instance.DisposeAsync();
        }

        using var client = new TcpClient();
        await Assert.ThrowsAsync<SocketException>(async () => await client.ConnectAsync("127.0.0.1", blobPort, cts.Token));
    }

    [Fact]
    public async Task OAuth_without_https_is_refused_up_front()
    {
        await Assert.ThrowsAsync<ArgumentException>(() => AzuriteInstance.StartAsync(new AzuriteOptions { OAuth = true }));
    }
}
