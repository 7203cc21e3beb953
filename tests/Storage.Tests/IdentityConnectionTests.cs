using Azure.Core.Pipeline;
using Fleet.Testing;
using Microsoft.Extensions.Configuration;

namespace Fleet.Storage.Tests;

/// <summary>Azurite over HTTPS with its basic OAuth: bearer tokens checked for audience, issuer and lifetime.</summary>
public sealed class HttpsOAuthAzuriteFixture : AzuriteFixture
{
    protected override AzuriteOptions Options => new() { UseHttps = true, OAuth = true };
}

public sealed class IdentityConnectionTests(HttpsOAuthAzuriteFixture azurite) : IClassFixture<HttpsOAuthAzuriteFixture>
{
    private StorageClientOptions TrustingOptions()
    {
        var thumbprint = azurite.Instance.ServerCertificate!.Thumbprint;
        return new StorageClientOptions
        {
            Transport = new HttpClientTransport(new HttpClientHandler
            {
                ServerCertificateCustomValidationCallback = (_, certificate, _, _) => certificate?.Thumbprint == thumbprint,
            }),
        };
    }

    private IConfiguration IdentitySettings() => new ConfigurationBuilder()
        .AddInMemoryCollection(new Dictionary<string, string?>
        {
            ["FleetStorage:queueServiceUri"] = azurite.Instance.QueueEndpoint.ToString(),
            ["FleetStorage:blobServiceUri"] = azurite.Instance.BlobEndpoint.ToString(),
        })
        .Build();

    [Fact]
    public async Task Identity_based_settings_authorize_queues_and_blobs_with_storage_scoped_bearer_tokens()
    {
        using var cts = TestNames.Bounded();
        var credential = new FakeStorageTokenCredential(TimeSpan.FromHours(1));
        var connection = StorageConnection.FromConfiguration(IdentitySettings(), "FleetStorage", credential);
        Assert.Equal(StorageCredentialKind.Token, connection.CredentialKind);
        Assert.Equal(AzuriteInstance.AccountName, connection.AccountName);

        var queue = connection.CreateQueueServiceClient(TrustingOptions()).GetQueueClient(TestNames.Queue("token"));
        Assert.True(await queue.CreateIfNotExistsAsync(cts.Token));
        await queue.SendMessageAsync("with a token", cancellationToken: cts.Token);
        Assert.Equal("with a token", Assert.Single(await queue.ReceiveMessagesAsync(1, cancellationToken: cts.Token)).MessageText);

        var container = connection.CreateBlobServiceClient(TrustingOptions()).GetBlobContainerClient(TestNames.Container("token"));
        await container.CreateIfNotExistsAsync(cts.Token);
        var blob = container.GetBlobClient("r.json");
        await blob.UploadAsync(BinaryData.FromString("{}"), cancellationToken: cts.Token);
        Assert.Equal("{}", (await blob.DownloadContentAsync(cancellationToken: cts.Token)).Content.ToString());

        Assert.NotEmpty(credential.Scopes);
        Assert.All(credential.Scopes, s => Assert.Equal("https://storage.azure.com/.default", s));
    }

    [Fact]
    public async Task An_expired_token_is_refused_with_a_typed_error()
    {
        using var cts = TestNames.Bounded();
        var connection = StorageConnection.FromConfiguration(IdentitySettings(), "FleetStorage", new FakeStorageTokenCredential(TimeSpan.FromMinutes(-1)));
        var queue = connection.CreateQueueServiceClient(TrustingOptions()).GetQueueClient(TestNames.Queue("expired"));
        var error = await Assert.ThrowsAsync<StorageRequestException>(() => queue.CreateIfNotExistsAsync(cts.Token));
        Assert.Contains(error.Status, new[] { 401, 403 });
    }

    [Fact]
    public async Task The_same_azurite_still_takes_shared_key_over_https()
    {
        using var cts = TestNames.Bounded();
        var queue = StorageConnection.Parse(azurite.ConnectionString).CreateQueueServiceClient(TrustingOptions()).GetQueueClient(TestNames.Queue("https"));
        Assert.StartsWith("https://", queue.Uri.ToString(), StringComparison.Ordinal);
        Assert.True(await queue.CreateIfNotExistsAsync(cts.Token));
    }
}
