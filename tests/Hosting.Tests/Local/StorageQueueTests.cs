using Fleet.Hosting.Local.Storage;
using Microsoft.Extensions.Configuration;
using Fleet.Testing;

namespace Fleet.Hosting.Tests.Local;

/// <summary>
/// Queue triggers and outputs of the real worker under the local host, over the real protocol, on real Azurite: each
/// parameter type, the trigger metadata, <c>$return</c> and named outputs, retries then poison after maxDequeueCount
/// (3 in StorageApp's host.json) with the user's exception logged, and a message that is not Base64.
/// </summary>
[Collection(StorageAppCollection.Name)]
public sealed class StorageQueueTests(StorageQueueAppFixture app)
{
    [Fact]
    public async Task A_string_parameter_gets_the_text_and_the_trigger_metadata_and_returns_to_a_queue()
    {
        var sent = await SendWithIdAsync("string-in", "hello-string");
        var result = await app.NextAsync("results", m => m.StartsWith("string|hello-string|", StringComparison.Ordinal));
        Assert.Equal($"string|hello-string|{sent}|1|{DateTimeOffset.UtcNow.Year}|True", result);
    }

    [Fact]
    public async Task A_byte_array_parameter_gets_the_decoded_body()
    {
        var client = app.Queues.GetQueueClient("bytes-in");
        await client.CreateIfNotExistsAsync();
        await client.SendMessageAsync(BinaryData.FromBytes([0x01, 0xFE, 0x42]));
        Assert.Equal("bytes|01FE42", await app.NextAsync("results", m => m.StartsWith("bytes|", StringComparison.Ordinal)));
    }

    [Fact]
    public async Task A_poco_parameter_binds_from_json_and_writes_a_named_queue_output_and_a_blob_output()
    {
        await app.SendAsync("poco-in", """{ "deviceId": "d-17", "priority": 4 }""");
        Assert.Equal("poco|d-17|4", await app.NextAsync("results", m => m.StartsWith("poco|", StringComparison.Ordinal)));
        var blob = app.Blobs.GetBlobContainerClient("outbox").GetBlobClient("written.txt");
        await Wait.UntilAsync(async () => await blob.ExistsAsync() && (await blob.DownloadContentAsync()).Value.Content.ToString().Contains("d-17", StringComparison.Ordinal), "the blob output");
        Assert.Equal("written by QueuePoco for d-17", (await blob.DownloadContentAsync()).Value.Content.ToString());
    }

    [Fact]
    public async Task A_queue_message_parameter_gets_the_sdk_message_from_model_binding_data()
    {
        var id = await SendWithIdAsync("sdk-in", "as-sdk-message");
        Assert.Equal($"sdk|as-sdk-message|{id}|1", await app.NextAsync("results", m => m.StartsWith("sdk|", StringComparison.Ordinal)));
    }

    [Fact]
    public async Task A_failing_message_is_retried_then_moved_to_poison_with_the_users_exception_logged()
    {
        var id = await SendWithIdAsync("fail-in", "fail-77");
        var poisoned = await app.NextAsync("fail-in-poison", m => m == "fail-77", TimeSpan.FromSeconds(60));
        Assert.Equal("fail-77", poisoned);

        // Two retries (attempts 1 and 2 of 3), then poison after the third.
        var retries = app.Logs.Entries.With(4750).Where(e => Equals(e.State["MessageId"], id)).ToList();
        Assert.Equal([1L, 2L], retries.Select(e => (long)e.State["DequeueCount"]!));
        Assert.All(retries, e => Assert.Contains("Failing on purpose: fail-77", e.Message, StringComparison.Ordinal));
        await Wait.UntilAsync(() => app.Logs.Entries.With(4205).Any(e => Equals(e.State["MessageId"], id)), "the poison log");
        var moved = Assert.Single(app.Logs.Entries.With(4205), e => Equals(e.State["MessageId"], id));
        Assert.Equal(3L, moved.State["DequeueCount"]);

        // The invoker logged each failure with the user's exception type and message.
        var failures = app.Logs.Entries.Where(e => e.Category == "Function.QueueFailing" && e.Exception is not null).ToList();
        Assert.True(failures.Count >= 3);
        Assert.Contains(failures, e => e.Exception!.ToString().Contains("System.InvalidOperationException", StringComparison.Ordinal)
            && e.Exception.ToString().Contains("Failing on purpose: fail-77 (attempt 3)", StringComparison.Ordinal));

        var records = await new PoisonMessageLog(new HostBlobStorage(StorageAccountConnection.Resolve(Settings(), null), null), StorageAppFixture.HostId).ListAsync("fail-in");
        var record = Assert.Single(records, r => r.MessageId == id);
        Assert.Equal(PoisonReasonKind.FunctionFailed, record.ReasonKind);
        Assert.StartsWith("System.InvalidOperationException: Failing on purpose: fail-77 (attempt 3)", record.Reason, StringComparison.Ordinal);
        Assert.Empty(await app.PeekAsync("fail-in"));
    }

    [Fact]
    public async Task A_message_that_is_not_base64_goes_to_poison_as_the_same_text_without_running_the_function()
    {
        var raw = app.RawQueues.GetQueueClient("fail-in");
        await raw.CreateIfNotExistsAsync();
        var sent = await raw.SendMessageAsync("not base64 at all!");
        Assert.Equal("not base64 at all!", await app.NextAsync("fail-in-poison", m => m == "not base64 at all!", TimeSpan.FromSeconds(30), app.RawQueues));
        await Wait.UntilAsync(() => app.Logs.Entries.With(4205).Any(e => Equals(e.State["MessageId"], sent.Value.MessageId)), "the poison log");
        var moved = Assert.Single(app.Logs.Entries.With(4205), e => Equals(e.State["MessageId"], sent.Value.MessageId));
        Assert.Equal(PoisonReasonKind.DecodingFailed, moved.State["ReasonKind"]);
    }

    private IConfiguration Settings() =>
        new ConfigurationBuilder()
            .AddInMemoryCollection(new Dictionary<string, string?> { ["AzureWebJobsStorage"] = app.Azurite.ConnectionString })
            .Build();

    private async Task<string> SendWithIdAsync(string queue, string text)
    {
        var client = app.Queues.GetQueueClient(queue);
        await client.CreateIfNotExistsAsync();
        return (await client.SendMessageAsync(text)).Value.MessageId;
    }
}
