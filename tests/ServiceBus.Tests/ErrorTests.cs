using System.Net.Sockets;
using Azure.Messaging.ServiceBus;

namespace Fleet.ServiceBus.Tests;

/// <summary>Bad input gets the error the service sends, and the emulator keeps serving everyone else.</summary>
public sealed class ErrorTests(EmulatorFixture fixture) : IClassFixture<EmulatorFixture>
{
    private ServiceBusClient Client => fixture.Client;

    [Fact]
    public async Task Unknown_entities_are_not_found_for_senders_receivers_and_management()
    {
        var ct = Timeouts.Test();
        await using var sender = Client.CreateSender("no-such-queue");
        var send = await Assert.ThrowsAsync<ServiceBusException>(() => sender.SendMessageAsync(new ServiceBusMessage("x"), ct));
        Assert.Equal(ServiceBusFailureReason.MessagingEntityNotFound, send.Reason);

        await using var receiver = Client.CreateReceiver("no-such-topic", "no-such-subscription");
        var receive = await Assert.ThrowsAsync<ServiceBusException>(() => receiver.ReceiveMessageAsync(Timeouts.Nothing, ct));
        Assert.Equal(ServiceBusFailureReason.MessagingEntityNotFound, receive.Reason);

        var peek = await Assert.ThrowsAsync<ServiceBusException>(() => receiver.PeekMessageAsync(cancellationToken: ct));
        Assert.Equal(ServiceBusFailureReason.MessagingEntityNotFound, peek.Reason);

        await AssertStillServesAsync(ct);
    }

    [Fact]
    public async Task Sending_to_a_subscription_and_receiving_from_a_topic_are_refused()
    {
        var ct = Timeouts.Test();
        await using var sender = Client.CreateSender("events/Subscriptions/all");
        await Assert.ThrowsAsync<InvalidOperationException>(() => sender.SendMessageAsync(new ServiceBusMessage("x"), ct));

        await using var receiver = Client.CreateReceiver("events");
        await Assert.ThrowsAsync<InvalidOperationException>(() => receiver.ReceiveMessageAsync(Timeouts.Nothing, ct));

        await AssertStillServesAsync(ct);
    }

    [Fact]
    public async Task A_message_over_the_entity_limit_is_refused_with_message_size_exceeded()
    {
        var ct = Timeouts.Test();
        await using var sender = Client.CreateSender("errors");
        var large = new ServiceBusMessage(new byte[ServiceBusEmulatorOptions.StandardMaxMessageSize + 1]);

        var send = await Assert.ThrowsAsync<ServiceBusException>(() => sender.SendMessageAsync(large, ct));
        Assert.Equal(ServiceBusFailureReason.MessageSizeExceeded, send.Reason);

        // Scheduling goes through $management, where the client does not check the size: the broker refuses it.
        var schedule = await Assert.ThrowsAsync<ServiceBusException>(() => sender.ScheduleMessageAsync(large, DateTimeOffset.UtcNow.AddMinutes(1), ct));
        Assert.Equal(ServiceBusFailureReason.MessageSizeExceeded, schedule.Reason);

        await sender.SendMessageAsync(new ServiceBusMessage(new byte[ServiceBusEmulatorOptions.StandardMaxMessageSize - 1024]), ct);
        await using var receiver = Client.CreateReceiver("errors");
        var fits = await receiver.ReceiveMessageAsync(Timeouts.Message, ct);
        Assert.Equal(ServiceBusEmulatorOptions.StandardMaxMessageSize - 1024, fits.Body.ToArray().Length);
        await receiver.CompleteMessageAsync(fits, ct);
        Assert.Empty(await receiver.PeekMessagesAsync(5, fromSequenceNumber: 0, cancellationToken: ct));
    }

    [Theory]
    [InlineData("SharedAccessKeyName=RootManageSharedAccessKey;SharedAccessKey=WRONG_KEY")]
    [InlineData("SharedAccessKeyName=SomeOtherKey;SharedAccessKey=SAS_KEY_VALUE")]
    public async Task A_token_signed_with_a_wrong_key_is_unauthorized(string credentials)
    {
        var ct = Timeouts.Test();
        await using var client = EmulatorFixture.NewClient($"Endpoint=sb://127.0.0.1:{fixture.Emulator.Port};{credentials};UseDevelopmentEmulator=true");
        await using var sender = client.CreateSender("errors");

        await Assert.ThrowsAsync<UnauthorizedAccessException>(() => sender.SendMessageAsync(new ServiceBusMessage("x"), ct));
        await using var receiver = client.CreateReceiver("errors");
        await Assert.ThrowsAsync<UnauthorizedAccessException>(() => receiver.ReceiveMessageAsync(Timeouts.Nothing, ct));

        await AssertStillServesAsync(ct);
    }

    [Fact]
    public async Task A_shared_access_signature_from_the_connection_string_is_checked_like_a_key()
    {
        var ct = Timeouts.Test();
        var expiry = DateTimeOffset.UtcNow.AddHours(1).ToUnixTimeSeconds();
        var good = Signature($"amqps://127.0.0.1/errors", "RootManageSharedAccessKey", "SAS_KEY_VALUE", expiry);
        var forged = good.Replace("sig=", "sig=AA", StringComparison.Ordinal);

        await using (var client = EmulatorFixture.NewClient($"Endpoint=sb://127.0.0.1:{fixture.Emulator.Port};SharedAccessSignature={good};UseDevelopmentEmulator=true"))
        await using (var sender = client.CreateSender("errors"))
        {
            await sender.SendMessageAsync(new ServiceBusMessage("signed"), ct);
        }

        await using (var client = EmulatorFixture.NewClient($"Endpoint=sb://127.0.0.1:{fixture.Emulator.Port};SharedAccessSignature={forged};UseDevelopmentEmulator=true"))
        await using (var sender = client.CreateSender("errors"))
        {
            await Assert.ThrowsAsync<UnauthorizedAccessException>(() => sender.SendMessageAsync(new ServiceBusMessage("forged"), ct));
        }

        // A token for one entity grants nothing on another.
        await using (var client = EmulatorFixture.NewClient($"Endpoint=sb://127.0.0.1:{fixture.Emulator.Port};SharedAccessSignature={good};UseDevelopmentEmulator=true"))
        await using (var sender = client.CreateSender("basic"))
        {
            await Assert.ThrowsAsync<UnauthorizedAccessException>(() => sender.SendMessageAsync(new ServiceBusMessage("elsewhere"), ct));
        }

        await using var receiver = Client.CreateReceiver("errors");
        var received = await receiver.ReceiveMessageAsync(Timeouts.Message, ct);
        Assert.Equal("signed", received.Body.ToString());
        await receiver.CompleteMessageAsync(received, ct);
    }

    [Fact]
    public async Task A_connection_that_sends_garbage_is_closed_and_others_are_served()
    {
        var ct = Timeouts.Test();
        using (var socket = new TcpClient())
        {
            await socket.ConnectAsync("127.0.0.1", fixture.Emulator.Port, ct);
            var stream = socket.GetStream();
            await stream.WriteAsync("GET / HTTP/1.1\r\nHost: x\r\n\r\n"u8.ToArray(), ct);
            // The broker answers a wrong protocol header with its own header and closes the connection.
            await ReadUntilClosedAsync(stream, ct);
        }

        using (var socket = new TcpClient())
        {
            await socket.ConnectAsync("127.0.0.1", fixture.Emulator.Port, ct);
            var stream = socket.GetStream();
            // A valid AMQP header followed by a frame whose size field is nonsense.
            await stream.WriteAsync(new byte[] { (byte)'A', (byte)'M', (byte)'Q', (byte)'P', 0, 1, 0, 0, 0, 0, 0, 3, 2, 0, 0, 0 }, ct);
            await ReadUntilClosedAsync(stream, ct);
        }

        await AssertStillServesAsync(ct);
    }

    private static async Task ReadUntilClosedAsync(NetworkStream stream, CancellationToken ct)
    {
        var buffer = new byte[256];
        try
        {
            while (await stream.ReadAsync(buffer, ct) > 0)
            {
            }
        }
        catch (IOException)
        {
            // Closed with a reset rather than a FIN: closed all the same.
        }
    }

    private async Task AssertStillServesAsync(CancellationToken ct)
    {
        var id = Guid.NewGuid().ToString();
        await using var sender = Client.CreateSender("basic");
        await sender.SendMessageAsync(new ServiceBusMessage("still here") { MessageId = id }, ct);
        await using var receiver = Client.CreateReceiver("basic");
        var received = await receiver.ReceiveMessageAsync(Timeouts.Message, ct);
        Assert.Equal(id, received.MessageId);
        await receiver.CompleteMessageAsync(received, ct);
    }

    private static string Signature(string resource, string keyName, string key, long expiry)
    {
        var encoded = System.Net.WebUtility.UrlEncode(resource);
        using var hmac = new System.Security.Cryptography.HMACSHA256(System.Text.Encoding.UTF8.GetBytes(key));
        var signature = Convert.ToBase64String(hmac.ComputeHash(System.Text.Encoding.UTF8.GetBytes($"{encoded}\n{expiry}")));
        return $"SharedAccessSignature sr={encoded}&sig={System.Net.WebUtility.UrlEncode(signature)}&se={expiry}&skn={keyName}";
    }
}
