using System.Collections.Concurrent;
using System.Diagnostics.Tracing;
using Azure.Core;
using Azure.Core.Diagnostics;
using Fleet.Testing;
using Microsoft.Extensions.Logging;

namespace Fleet.Storage.Tests;

public sealed class AuthenticationTests(AzuriteFixture azurite) : IClassFixture<AzuriteFixture>
{
    private const string WrongKey = "AAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAA==";

    private string ConnectionString(string credentialPart) =>
        $"AccountName={AzuriteInstance.AccountName};{credentialPart};" +
        $"BlobEndpoint={azurite.Instance.BlobEndpoint};QueueEndpoint={azurite.Instance.QueueEndpoint}";

    [Fact]
    public async Task Every_request_carries_x_ms_version_date_and_a_shared_key_signature_that_azurite_accepts()
    {
        using var cts = TestNames.Bounded();
        var recorder = new RecordingPolicy();
        var options = new StorageClientOptions();
        options.AddPolicy(recorder, HttpPipelinePosition.BeforeTransport);
        var connection = StorageConnection.Parse(azurite.ConnectionString);
        var queue = connection.CreateQueueServiceClient(options).GetQueueClient(TestNames.Queue("headers"));
        await queue.CreateIfNotExistsAsync(cts.Token);
        await queue.SendMessageAsync("x", cancellationToken: cts.Token);
        var container = connection.CreateBlobServiceClient(options).GetBlobContainerClient(TestNames.Container("headers"));
        await container.CreateIfNotExistsAsync(cts.Token);
        await container.GetBlobClient("a").UploadAsync(BinaryData.FromString("a"), cancellationToken: cts.Token);

        Assert.Equal(4, recorder.Requests.Count);
        Assert.All(recorder.Requests, r =>
        {
            Assert.Equal(StorageClientOptions.ServiceVersion, r.Headers["x-ms-version"]);
            Assert.True(r.Headers.ContainsKey("x-ms-date"));
            Assert.StartsWith($"SharedKey {AzuriteInstance.AccountName}:", r.Headers["Authorization"], StringComparison.Ordinal);
        });
    }

    [Fact]
    public async Task A_wrong_account_key_is_rejected_with_403_and_surfaces_clearly_without_the_key()
    {
        using var cts = TestNames.Bounded();
        var connection = StorageConnection.Parse(ConnectionString($"AccountKey={WrongKey}"));
        var queue = connection.CreateQueueServiceClient().GetQueueClient(TestNames.Queue("wrongkey"));

        var error = await Assert.ThrowsAsync<StorageRequestException>(() => queue.CreateIfNotExistsAsync(cts.Token));
        Assert.Equal(403, error.Status);
        Assert.True(error.IsAuthorizationFailure);
        Assert.Equal(StorageErrorCodes.AuthenticationFailed, error.ErrorCode);
        Assert.NotNull(error.RequestId);
        Assert.Contains("403", error.Message);
        Assert.Contains("account key", error.Message);
        Assert.DoesNotContain(WrongKey, error.Message);
        Assert.DoesNotContain(AzuriteInstance.AccountKey, error.Message);

        var blob = connection.CreateBlobServiceClient().GetBlobContainerClient(TestNames.Container("wrongkey"));
        var blobError = await Assert.ThrowsAsync<StorageRequestException>(() => blob.CreateIfNotExistsAsync(cts.Token));
        Assert.Equal(403, blobError.Status);
    }

    [Fact]
    public async Task An_account_sas_authorizes_queues_and_blobs_and_its_signature_never_reaches_logs_or_errors()
    {
        using var cts = TestNames.Bounded();
        var sas = AccountSas.Create(AzuriteInstance.AccountName, AzuriteInstance.AccountKey, "rwdlacup", DateTimeOffset.UtcNow.AddHours(1));
        var signature = Uri.UnescapeDataString(sas[(sas.IndexOf("sig=", StringComparison.Ordinal) + 4)..]);
        var azureCoreLog = new ConcurrentQueue<string>();
        using var listener = new AzureEventSourceListener((_, message) => azureCoreLog.Enqueue(message), EventLevel.Verbose);
        using var provider = new ListLoggerProvider();
        using var loggerFactory = LoggerFactory.Create(b => b.AddProvider(provider).SetMinimumLevel(LogLevel.Trace));
        var options = new StorageClientOptions { LoggerFactory = loggerFactory };

        var connection = StorageConnection.Parse(ConnectionString($"SharedAccessSignature=?{sas}"));
        Assert.Equal(StorageCredentialKind.SharedAccessSignature, connection.CredentialKind);
        var queue = connection.CreateQueueServiceClient(options).GetQueueClient(TestNames.Queue("sas"));
        Assert.True(await queue.CreateIfNotExistsAsync(cts.Token));
        await queue.SendMessageAsync("via sas", cancellationToken: cts.Token);
        var message = Assert.Single(await queue.ReceiveMessagesAsync(1, cancellationToken: cts.Token));
        Assert.Equal("via sas", message.MessageText);
        await queue.DeleteMessageAsync(message.MessageId, message.PopReceipt, cts.Token);

        var container = connection.CreateBlobServiceClient(options).GetBlobContainerClient(TestNames.Container("sas"));
        await container.CreateIfNotExistsAsync(cts.Token);
        var blob = container.GetBlobClient("report.json");
        await blob.UploadAsync(BinaryData.FromString("{}"), cancellationToken: cts.Token);
        Assert.Equal("{}", (await blob.DownloadContentAsync(cancellationToken: cts.Token)).Content.ToString());
        var missing = await Assert.ThrowsAsync<StorageRequestException>(
            () => container.GetBlobClient("missing").DownloadContentAsync(cancellationToken: cts.Token));

        Assert.DoesNotContain(signature, missing.Message);
        Assert.DoesNotContain(azureCoreLog, line => line.Contains(signature, StringComparison.Ordinal) || line.Contains(Uri.EscapeDataString(signature), StringComparison.Ordinal));
        Assert.Contains(azureCoreLog, line => line.Contains("sig=REDACTED", StringComparison.Ordinal));
        Assert.Contains(provider.Entries, e => e.Id.Id == 2000 && e.Message.Contains("BlobNotFound", StringComparison.Ordinal));
        Assert.Contains(provider.Entries, e => e.Id.Id == 2002);
        Assert.DoesNotContain(provider.Entries, e => e.Message.Contains(signature, StringComparison.Ordinal));
    }

    [Fact]
    public async Task A_read_only_sas_cannot_write()
    {
        using var cts = TestNames.Bounded();
        var admin = StorageConnection.Parse(azurite.ConnectionString).CreateBlobServiceClient();
        var name = TestNames.Container("readonly");
        await admin.GetBlobContainerClient(name).CreateIfNotExistsAsync(cts.Token);
        await admin.GetBlobContainerClient(name).GetBlobClient("a").UploadAsync(BinaryData.FromString("a"), cancellationToken: cts.Token);

        var sas = AccountSas.Create(AzuriteInstance.AccountName, AzuriteInstance.AccountKey, "rl", DateTimeOffset.UtcNow.AddHours(1));
        var reader = StorageConnection.Parse(ConnectionString($"SharedAccessSignature={sas}")).CreateBlobServiceClient().GetBlobContainerClient(name);
        Assert.Equal("a", (await reader.GetBlobClient("a").DownloadContentAsync(cancellationToken: cts.Token)).Content.ToString());
        var denied = await Assert.ThrowsAsync<StorageRequestException>(
            () => reader.GetBlobClient("b").UploadAsync(BinaryData.FromString("b"), cancellationToken: cts.Token));
        Assert.Equal(403, denied.Status);
    }

    [Fact]
    public async Task An_expired_sas_is_refused()
    {
        using var cts = TestNames.Bounded();
        var sas = AccountSas.Create(AzuriteInstance.AccountName, AzuriteInstance.AccountKey, "rwdlacup", DateTimeOffset.UtcNow.AddMinutes(-5));
        var queue = StorageConnection.Parse(ConnectionString($"SharedAccessSignature={sas}"))
            .CreateQueueServiceClient().GetQueueClient(TestNames.Queue("expired"));
        var error = await Assert.ThrowsAsync<StorageRequestException>(() => queue.CreateIfNotExistsAsync(cts.Token));
        Assert.Equal(403, error.Status);
    }

    [Fact]
    public async Task No_answer_is_a_transport_failure_with_status_0_after_the_configured_retries()
    {
        using var cts = TestNames.Bounded();
        var port = FreePort.Next();
        var options = new StorageClientOptions();
        options.Retry.MaxRetries = 1;
        options.Retry.Delay = TimeSpan.FromMilliseconds(10);
        var queue = StorageConnection.Parse(
                $"AccountName=devstoreaccount1;AccountKey={AzuriteInstance.AccountKey};QueueEndpoint=http://127.0.0.1:{port}/devstoreaccount1")
            .CreateQueueServiceClient(options).GetQueueClient("nowhere");

        var error = await Assert.ThrowsAsync<StorageRequestException>(() => queue.SendMessageAsync("x", cancellationToken: cts.Token));
        Assert.True(error.IsTransportFailure);
        Assert.Equal(0, error.Status);
        Assert.Null(error.ErrorCode);
        Assert.Contains("no response", error.Message);
        Assert.Contains("2 attempts", error.Message);
    }

    [Fact]
    public async Task Cancellation_by_the_caller_propagates_as_cancellation()
    {
        var queue = StorageConnection.Parse(azurite.ConnectionString).CreateQueueServiceClient().GetQueueClient("cancelled");
        using var cts = new CancellationTokenSource();
        await cts.CancelAsync();
        await Assert.ThrowsAnyAsync<OperationCanceledException>(() => queue.SendMessageAsync("x", cancellationToken: cts.Token));
    }
}
