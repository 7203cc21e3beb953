using Fleet.Testing;

namespace Fleet.Hosting.Tests.Local;

/// <summary>
/// Blob input and output bindings of the real worker under the local host: string, byte[], Stream, POCO and the
/// SDK's BlobClient inputs (the Blobs extension defers all of them: the host sends ModelBindingData and the worker
/// reads the blob), a missing blob, and string and byte[] outputs.
/// </summary>
[Collection(StorageAppCollection.Name)]
public sealed class StorageBlobTests(StorageQueueAppFixture app)
{
    private async Task PutAsync(string name, string content)
    {
        var container = app.Blobs.GetBlobContainerClient("inbox");
        await container.CreateIfNotExistsAsync();
        await container.GetBlobClient(name).UploadAsync(BinaryData.FromString(content), overwrite: true);
    }

    [Fact]
    public async Task Blob_inputs_bind_as_string_bytes_stream_poco_and_blob_client()
    {
        await PutAsync("note.txt", "blob text");
        await PutAsync("device.json", """{ "deviceId": "d-blob", "priority": 9 }""");
        await app.SendAsync("blob-string", "note.txt");
        await app.SendAsync("blob-bytes", "note.txt");
        await app.SendAsync("blob-stream", "note.txt");
        await app.SendAsync("blob-poco", "device.json");
        await app.SendAsync("blob-client", "note.txt");

        Assert.Equal("string|note.txt|blob text", await app.NextAsync("blob-results", m => m.StartsWith("string|note.txt", StringComparison.Ordinal)));
        Assert.Equal($"bytes|note.txt|{Convert.ToHexString("blob text"u8)}", await app.NextAsync("blob-results", m => m.StartsWith("bytes|note.txt", StringComparison.Ordinal)));
        Assert.Equal("stream|note.txt|blob text", await app.NextAsync("blob-results", m => m.StartsWith("stream|note.txt", StringComparison.Ordinal)));
        Assert.Equal("poco|device.json|d-blob|9", await app.NextAsync("blob-results", m => m.StartsWith("poco|device.json", StringComparison.Ordinal)));
        Assert.Equal("client|note.txt|inbox/note.txt|blob text", await app.NextAsync("blob-results", m => m.StartsWith("client|", StringComparison.Ordinal)));
    }

    [Fact]
    public async Task A_missing_blob_fails_the_invocation_in_the_worker_as_in_azure_and_the_message_ends_in_poison()
    {
        // The Blobs extension reads deferred blobs itself and does not map 404 to null: the function fails.
        await app.Blobs.GetBlobContainerClient("inbox").CreateIfNotExistsAsync();
        await app.SendAsync("blob-string", "absent.txt");
        Assert.Equal("absent.txt", await app.NextAsync("blob-string-poison", m => m == "absent.txt", TimeSpan.FromSeconds(60)));
        Assert.Contains(app.Logs.Entries, e => e.Category == "Function.BlobString" && e.Exception?.ToString().Contains("BlobNotFound", StringComparison.Ordinal) == true);
    }

    [Fact]
    public async Task String_and_byte_array_outputs_write_blobs()
    {
        await app.SendAsync("blob-write-bytes", "00FF10");
        var bytes = app.Blobs.GetBlobContainerClient("outbox").GetBlobClient("bytes.bin");
        await Wait.UntilAsync(async () => await bytes.ExistsAsync(), "the byte[] blob");
        Assert.Equal(new byte[] { 0x00, 0xFF, 0x10 }, (await bytes.DownloadContentAsync()).Value.Content.ToArray());

        await app.SendAsync("blob-write", "via setting path");
        var text = app.Blobs.GetBlobContainerClient("outbox").GetBlobClient("written.txt");
        await Wait.UntilAsync(
            async () => await text.ExistsAsync() && (await text.DownloadContentAsync()).Value.Content.ToString() == "written: via setting path",
            "the string blob at %OutboxBlob%");
    }
}
