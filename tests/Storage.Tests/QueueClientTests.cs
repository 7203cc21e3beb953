using System.Text;
using Fleet.Testing;

namespace Fleet.Storage.Tests;

public sealed class QueueClientTests(AzuriteFixture azurite) : IClassFixture<AzuriteFixture>
{
    private readonly QueueServiceClient _service = StorageConnection.Parse(azurite.ConnectionString).CreateQueueServiceClient();

    private async Task<QueueClient> NewQueueAsync(CancellationToken ct)
    {
        var queue = _service.GetQueueClient(TestNames.Queue("q"));
        Assert.True(await queue.CreateIfNotExistsAsync(ct));
        return queue;
    }

    [Fact]
    public async Task Create_is_idempotent_and_delete_removes_the_queue()
    {
        using var cts = TestNames.Bounded();
        var queue = _service.GetQueueClient(TestNames.Queue("create"));
        Assert.False(await queue.ExistsAsync(cts.Token));
        Assert.True(await queue.CreateIfNotExistsAsync(cts.Token));
        Assert.False(await queue.CreateIfNotExistsAsync(cts.Token));
        Assert.True(await queue.ExistsAsync(cts.Token));

        await queue.DeleteAsync(cts.Token);
        Assert.False(await queue.ExistsAsync(cts.Token));
        var missing = await Assert.ThrowsAsync<StorageRequestException>(() => queue.DeleteAsync(cts.Token));
        Assert.True(missing.IsNotFound);
        Assert.Equal(StorageErrorCodes.QueueNotFound, missing.ErrorCode);
        Assert.NotNull(missing.RequestId);
        Assert.False(await queue.DeleteIfExistsAsync(cts.Token));
    }

    [Fact]
    public async Task A_message_is_received_once_reappears_after_its_visibility_timeout_and_is_gone_after_delete()
    {
        using var cts = TestNames.Bounded();
        var queue = await NewQueueAsync(cts.Token);
        var sent = await queue.SendMessageAsync("provision device-42", cancellationToken: cts.Token);

        var first = Assert.Single(await queue.ReceiveMessagesAsync(1, TimeSpan.FromSeconds(1), cts.Token));
        Assert.Equal(sent.MessageId, first.MessageId);
        Assert.Equal("provision device-42", first.MessageText);
        Assert.Equal(1, first.DequeueCount);
        Assert.NotNull(first.NextVisibleOn);

        // Invisible to everyone else until the timeout passes.
        Assert.Empty(await queue.ReceiveMessagesAsync(32, TimeSpan.FromSeconds(1), cts.Token));

        var again = await ReceiveWhenVisibleAsync(queue, cts.Token);
        Assert.Equal(first.MessageId, again.MessageId);
        Assert.Equal(2, again.DequeueCount);
        Assert.NotEqual(first.PopReceipt, again.PopReceipt);

        // The first receipt is stale now.
        var stale = await Assert.ThrowsAsync<StorageRequestException>(
            () => queue.DeleteMessageAsync(first.MessageId, first.PopReceipt, cts.Token));
        Assert.Equal(StorageErrorCodes.PopReceiptMismatch, stale.ErrorCode);

        await queue.DeleteMessageAsync(again.MessageId, again.PopReceipt, cts.Token);
        Assert.Empty(await queue.PeekMessagesAsync(32, cts.Token));
        Assert.Equal(0, (await queue.GetPropertiesAsync(cts.Token)).ApproximateMessagesCount);
        var gone = await Assert.ThrowsAsync<StorageRequestException>(
            () => queue.DeleteMessageAsync(again.MessageId, again.PopReceipt, cts.Token));
        Assert.True(gone.IsNotFound);
    }

    [Fact]
    public async Task A_visibility_delay_hides_a_new_message_until_it_passes()
    {
        using var cts = TestNames.Bounded();
        var queue = await NewQueueAsync(cts.Token);
        var sent = await queue.SendMessageAsync("later", visibilityTimeout: TimeSpan.FromSeconds(1), cancellationToken: cts.Token);

        Assert.True(sent.NextVisibleOn > sent.InsertedOn);
        Assert.Empty(await queue.PeekMessagesAsync(1, cts.Token));
        var message = await ReceiveWhenVisibleAsync(queue, cts.Token);
        Assert.Equal(sent.MessageId, message.MessageId);
        Assert.Equal(1, message.DequeueCount);
    }

    [Fact]
    public async Task Time_to_live_sets_expiry_and_an_expired_message_is_gone()
    {
        using var cts = TestNames.Bounded();
        var queue = await NewQueueAsync(cts.Token);
        var forever = await queue.SendMessageAsync("keep", timeToLive: QueueClient.NeverExpires, cancellationToken: cts.Token);
        var brief = await queue.SendMessageAsync("brief", timeToLive: TimeSpan.FromSeconds(1), cancellationToken: cts.Token);

        Assert.Null(forever.ExpiresOn);
        Assert.NotNull(brief.ExpiresOn);
        Assert.InRange((brief.ExpiresOn!.Value - brief.InsertedOn!.Value).TotalSeconds, 0.5, 2);

        // Wait until only the never-expiring message is left.
        while ((await queue.PeekMessagesAsync(32, cts.Token)).Count > 1)
        {
            await Task.Delay(200, cts.Token);
        }

        var left = Assert.Single(await queue.PeekMessagesAsync(32, cts.Token));
        Assert.Equal(forever.MessageId, left.MessageId);
        Assert.Null(left.ExpiresOn);
    }

    [Fact]
    public async Task Receive_returns_at_most_32_and_peek_leaves_messages_alone()
    {
        using var cts = TestNames.Bounded();
        var queue = await NewQueueAsync(cts.Token);
        await Task.WhenAll(Enumerable.Range(0, 40).Select(i => queue.SendMessageAsync($"m{i}", cancellationToken: cts.Token)));
        Assert.Equal(40, (await queue.GetPropertiesAsync(cts.Token)).ApproximateMessagesCount);

        var peeked = await queue.PeekMessagesAsync(32, cts.Token);
        Assert.Equal(32, peeked.Count);
        Assert.All(peeked, p => Assert.Equal(0, p.DequeueCount));

        var received = await queue.ReceiveMessagesAsync(32, TimeSpan.FromSeconds(30), cts.Token);
        Assert.Equal(32, received.Count);
        Assert.Equal(32, received.Select(m => m.MessageId).Distinct().Count());
        Assert.Equal(8, (await queue.ReceiveMessagesAsync(32, TimeSpan.FromSeconds(30), cts.Token)).Count);
        await Assert.ThrowsAsync<ArgumentOutOfRangeException>(() => queue.ReceiveMessagesAsync(33, cancellationToken: cts.Token));
        await Assert.ThrowsAsync<ArgumentOutOfRangeException>(() => queue.PeekMessagesAsync(0, cts.Token));
    }

    [Fact]
    public async Task Update_changes_text_and_visibility_and_replaces_the_pop_receipt()
    {
        using var cts = TestNames.Bounded();
        var queue = await NewQueueAsync(cts.Token);
        await queue.SendMessageAsync("step 1", cancellationToken: cts.Token);
        var received = Assert.Single(await queue.ReceiveMessagesAsync(1, TimeSpan.FromSeconds(30), cts.Token));

        var update = await queue.UpdateMessageAsync(received.MessageId, received.PopReceipt, TimeSpan.Zero, "step 2", cts.Token);
        Assert.NotEqual(received.PopReceipt, update.PopReceipt);
        var stale = await Assert.ThrowsAsync<StorageRequestException>(
            () => queue.UpdateMessageAsync(received.MessageId, received.PopReceipt, TimeSpan.Zero, cancellationToken: cts.Token));
        Assert.Equal(StorageErrorCodes.PopReceiptMismatch, stale.ErrorCode);

        // Visibility 0 released it at once, with the new text.
        var again = Assert.Single(await queue.ReceiveMessagesAsync(1, TimeSpan.FromSeconds(30), cts.Token));
        Assert.Equal("step 2", again.MessageText);
        Assert.Equal(2, again.DequeueCount);

        // A visibility-only update keeps the text and hides the message.
        var extended = await queue.UpdateMessageAsync(again.MessageId, again.PopReceipt, TimeSpan.FromSeconds(60), cancellationToken: cts.Token);
        Assert.True(extended.NextVisibleOn > DateTimeOffset.UtcNow.AddSeconds(30));
        Assert.Empty(await queue.PeekMessagesAsync(1, cts.Token));
        await queue.DeleteMessageAsync(again.MessageId, extended.PopReceipt, cts.Token);
        Assert.Equal(0, (await queue.GetPropertiesAsync(cts.Token)).ApproximateMessagesCount);
    }

    [Fact]
    public async Task Clear_removes_every_message()
    {
        using var cts = TestNames.Bounded();
        var queue = await NewQueueAsync(cts.Token);
        for (var i = 0; i < 5; i++)
        {
            await queue.SendMessageAsync($"m{i}", cancellationToken: cts.Token);
        }

        Assert.Equal(5, (await queue.GetPropertiesAsync(cts.Token)).ApproximateMessagesCount);
        await queue.ClearMessagesAsync(cts.Token);
        Assert.Equal(0, (await queue.GetPropertiesAsync(cts.Token)).ApproximateMessagesCount);
        Assert.Empty(await queue.PeekMessagesAsync(32, cts.Token));
    }

    [Fact]
    public async Task Sending_to_a_missing_queue_is_a_typed_not_found()
    {
        using var cts = TestNames.Bounded();
        var queue = _service.GetQueueClient(TestNames.Queue("missing"));
        var error = await Assert.ThrowsAsync<StorageRequestException>(() => queue.SendMessageAsync("x", cancellationToken: cts.Token));
        Assert.True(error.IsNotFound);
        Assert.Equal(StorageErrorCodes.QueueNotFound, error.ErrorCode);
        Assert.Contains(queue.Name, error.Message);
        Assert.Contains("404", error.Message);
    }

    [Fact]
    public async Task Base64_is_the_default_wire_format_any_storage_client_reads()
    {
        using var cts = TestNames.Bounded();
        var queue = await NewQueueAsync(cts.Token);
        var raw = _service.GetQueueClient(queue.Name, QueueMessageEncoding.None);
        Assert.Equal(QueueMessageEncoding.Base64, queue.MessageEncoding);

        const string text = "{\"deviceId\":\"ü-€-😀\",\"note\":\"<&>\"}";
        await queue.SendMessageAsync(text, cancellationToken: cts.Token);
        var wire = Assert.Single(await raw.PeekMessagesAsync(1, cts.Token));
        Assert.Equal(Convert.ToBase64String(Encoding.UTF8.GetBytes(text)), wire.MessageText);

        var decoded = Assert.Single(await queue.ReceiveMessagesAsync(1, cancellationToken: cts.Token));
        Assert.Equal(text, decoded.MessageText);
        Assert.Equal(Encoding.UTF8.GetBytes(text), decoded.Body.ToArray());
        Assert.False(decoded.DecodingFailed);
    }

    [Fact]
    public async Task Base64_carries_binary_bodies_and_none_carries_xml_special_text()
    {
        using var cts = TestNames.Bounded();
        var queue = await NewQueueAsync(cts.Token);
        var bytes = Enumerable.Range(0, 256).Select(i => (byte)i).ToArray();
        await queue.SendMessageAsync(new BinaryData(bytes), cancellationToken: cts.Token);
        var binary = Assert.Single(await queue.ReceiveMessagesAsync(1, cancellationToken: cts.Token));
        Assert.Equal(bytes, binary.Body.ToArray());
        await queue.DeleteMessageAsync(binary.MessageId, binary.PopReceipt, cts.Token);

        var plain = _service.GetQueueClient(queue.Name, QueueMessageEncoding.None);
        const string text = "a < b && c > \"d\" 'e' ü";
        await plain.SendMessageAsync(text, cancellationToken: cts.Token);
        Assert.Equal(text, Assert.Single(await plain.PeekMessagesAsync(1, cts.Token)).MessageText);
        await Assert.ThrowsAsync<ArgumentException>(() => plain.SendMessageAsync("bell\u0007", cancellationToken: cts.Token));
        await Assert.ThrowsAsync<ArgumentException>(() => plain.SendMessageAsync(new BinaryData(new byte[] { 0xff, 0xfe }), cancellationToken: cts.Token));
    }

    [Fact]
    public async Task A_base64_queue_hands_over_plain_text_undecoded_instead_of_failing_the_batch()
    {
        using var cts = TestNames.Bounded();
        var queue = await NewQueueAsync(cts.Token);
        var plain = _service.GetQueueClient(queue.Name, QueueMessageEncoding.None);
        await plain.SendMessageAsync("not base64!", cancellationToken: cts.Token);
        await queue.SendMessageAsync("fine", cancellationToken: cts.Token);

        var messages = await queue.ReceiveMessagesAsync(32, cancellationToken: cts.Token);
        Assert.Equal(2, messages.Count);
        var bad = Assert.Single(messages, m => m.DecodingFailed);
        Assert.Equal("not base64!", bad.MessageText);
        Assert.Equal("fine", Assert.Single(messages, m => !m.DecodingFailed).MessageText);
    }

    private static async Task<QueueMessage> ReceiveWhenVisibleAsync(QueueClient queue, CancellationToken ct)
    {
        while (true)
        {
            var messages = await queue.ReceiveMessagesAsync(1, TimeSpan.FromSeconds(30), ct);
            if (messages.Count > 0)
            {
                return messages[0];
            }

            await Task.Delay(200, ct);
        }
    }
}
