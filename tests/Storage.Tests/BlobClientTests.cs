using Azure;
using Fleet.Testing;

namespace Fleet.Storage.Tests;

public sealed class BlobClientTests(AzuriteFixture azurite) : IClassFixture<AzuriteFixture>
{
    private readonly BlobServiceClient _service = StorageConnection.Parse(azurite.ConnectionString).CreateBlobServiceClient();

    private async Task<BlobContainerClient> NewContainerAsync(CancellationToken ct)
    {
        var container = _service.GetBlobContainerClient(TestNames.Container("c"));
        Assert.True(await container.CreateIfNotExistsAsync(ct));
        return container;
    }

    [Fact]
    public async Task Container_create_is_idempotent_and_delete_removes_it()
    {
        using var cts = TestNames.Bounded();
        var container = _service.GetBlobContainerClient(TestNames.Container("create"));
        Assert.False(await container.ExistsAsync(cts.Token));
        Assert.True(await container.CreateIfNotExistsAsync(cts.Token));
        Assert.False(await container.CreateIfNotExistsAsync(cts.Token));
        Assert.True(await container.ExistsAsync(cts.Token));

        await container.DeleteAsync(cts.Token);
        Assert.False(await container.ExistsAsync(cts.Token));
        Assert.False(await container.DeleteIfExistsAsync(cts.Token));
        var missing = await Assert.ThrowsAsync<StorageRequestException>(() => container.DeleteAsync(cts.Token));
        Assert.True(missing.IsNotFound);
        Assert.Equal(StorageErrorCodes.ContainerNotFound, missing.ErrorCode);
    }

    [Fact]
    public async Task Upload_and_download_round_trip_content_type_and_etag()
    {
        using var cts = TestNames.Bounded();
        var container = await NewContainerAsync(cts.Token);
        var blob = container.GetBlobClient("reports/2026-01/compliance ü.json");
        Assert.False(await blob.ExistsAsync(cts.Token));

        var first = await blob.UploadAsync(BinaryData.FromString("{\"ok\":true}"), contentType: "application/json", cancellationToken: cts.Token);
        Assert.NotEqual(default, first.ETag);
        Assert.NotNull(first.LastModified);

        var download = await blob.DownloadContentAsync(cancellationToken: cts.Token);
        Assert.Equal("{\"ok\":true}", download.Content.ToString());
        Assert.Equal(first.ETag, download.ETag);
        Assert.Equal("application/json", download.ContentType);

        var properties = await blob.GetPropertiesAsync(cancellationToken: cts.Token);
        Assert.Equal(11, properties.ContentLength);
        Assert.Equal(first.ETag, properties.ETag);
        Assert.Equal(BlobLeaseState.Available, properties.LeaseState);

        // A plain upload overwrites and moves the ETag on.
        var second = await blob.UploadAsync(BinaryData.FromString("{\"ok\":false}"), cancellationToken: cts.Token);
        Assert.NotEqual(first.ETag, second.ETag);
        Assert.Equal("{\"ok\":false}", (await blob.DownloadContentAsync(cancellationToken: cts.Token)).Content.ToString());
    }

    [Fact]
    public async Task A_conditional_upload_with_a_stale_etag_fails_with_the_typed_error()
    {
        using var cts = TestNames.Bounded();
        var container = await NewContainerAsync(cts.Token);
        var blob = container.GetBlobClient("state.json");
        var v1 = await blob.UploadAsync(BinaryData.FromString("v1"), cancellationToken: cts.Token);
        var v2 = await blob.UploadAsync(BinaryData.FromString("v2"), new BlobRequestConditions { IfMatch = v1.ETag }, cancellationToken: cts.Token);

        var stale = await Assert.ThrowsAsync<StorageRequestException>(
            () => blob.UploadAsync(BinaryData.FromString("v3"), new BlobRequestConditions { IfMatch = v1.ETag }, cancellationToken: cts.Token));
        Assert.True(stale.IsPreconditionFailed);
        Assert.Equal(412, stale.Status);
        Assert.Equal(StorageErrorCodes.ConditionNotMet, stale.ErrorCode);
        Assert.Equal("v2", (await blob.DownloadContentAsync(cancellationToken: cts.Token)).Content.ToString());

        // Download and delete honour conditions too.
        var staleRead = await Assert.ThrowsAsync<StorageRequestException>(
            () => blob.DownloadContentAsync(new BlobRequestConditions { IfMatch = v1.ETag }, cts.Token));
        Assert.True(staleRead.IsPreconditionFailed);
        await Assert.ThrowsAsync<StorageRequestException>(() => blob.DeleteAsync(new BlobRequestConditions { IfMatch = v1.ETag }, cts.Token));
        await blob.DeleteAsync(new BlobRequestConditions { IfMatch = v2.ETag }, cts.Token);
        Assert.False(await blob.ExistsAsync(cts.Token));
    }

    [Fact]
    public async Task If_none_match_all_creates_only_once()
    {
        using var cts = TestNames.Bounded();
        var container = await NewContainerAsync(cts.Token);
        var blob = container.GetBlobClient("lock");
        var createOnly = new BlobRequestConditions { IfNoneMatch = ETag.All };

        await blob.UploadAsync(BinaryData.FromString("first"), createOnly, cancellationToken: cts.Token);
        var second = await Assert.ThrowsAsync<StorageRequestException>(
            () => blob.UploadAsync(BinaryData.FromString("second"), createOnly, cancellationToken: cts.Token));
        Assert.True(second.IsConflict || second.IsPreconditionFailed, $"status {second.Status}");
        Assert.Equal("first", (await blob.DownloadContentAsync(cancellationToken: cts.Token)).Content.ToString());
    }

    [Fact]
    public async Task Missing_blobs_are_typed_not_found()
    {
        using var cts = TestNames.Bounded();
        var container = await NewContainerAsync(cts.Token);
        var blob = container.GetBlobClient("nothing-here");
        var download = await Assert.ThrowsAsync<StorageRequestException>(() => blob.DownloadContentAsync(cancellationToken: cts.Token));
        Assert.True(download.IsNotFound);
        Assert.Equal(StorageErrorCodes.BlobNotFound, download.ErrorCode);

        // HEAD answers carry no body: the code comes from x-ms-error-code.
        var head = await Assert.ThrowsAsync<StorageRequestException>(() => blob.GetPropertiesAsync(cancellationToken: cts.Token));
        Assert.True(head.IsNotFound);
        Assert.Equal(StorageErrorCodes.BlobNotFound, head.ErrorCode);

        Assert.False(await blob.DeleteIfExistsAsync(cancellationToken: cts.Token));
        await blob.UploadAsync(BinaryData.FromString("x"), cancellationToken: cts.Token);
        Assert.True(await blob.DeleteIfExistsAsync(cancellationToken: cts.Token));
        Assert.False(await blob.ExistsAsync(cts.Token));
    }

    [Fact]
    public async Task Listing_by_prefix_pages_with_continuation_and_returns_each_blob_once()
    {
        using var cts = TestNames.Bounded();
        var container = await NewContainerAsync(cts.Token);
        string[] reports = ["reports/a.json", "reports/b c.json", "reports/sub/d.json", "reports/é.json", "reports/z+y.json"];
        foreach (var name in reports.Append("other/x.json").Append("reportsX"))
        {
            await container.GetBlobClient(name).UploadAsync(BinaryData.FromString(name), cancellationToken: cts.Token);
        }

        var all = new List<string>();
        await foreach (var item in container.GetBlobsAsync("reports/", cts.Token))
        {
            all.Add(item.Name);
            Assert.Equal(System.Text.Encoding.UTF8.GetByteCount(item.Name), item.Properties.ContentLength);
        }

        Assert.Equal(reports.Order(StringComparer.Ordinal), all.Order(StringComparer.Ordinal));

        var pages = new List<Page<BlobItem>>();
        await foreach (var page in container.GetBlobsAsync("reports/", cts.Token).AsPages(pageSizeHint: 2))
        {
            pages.Add(page);
        }

        Assert.Equal(3, pages.Count);
        Assert.Null(pages[^1].ContinuationToken);
        Assert.Equal(reports.Order(StringComparer.Ordinal), pages.SelectMany(p => p.Values).Select(b => b.Name).Order(StringComparer.Ordinal));

        // Resuming from a continuation token skips what was already seen.
        var resumed = new List<string>();
        await foreach (var page in container.GetBlobsAsync("reports/", cts.Token).AsPages(pages[0].ContinuationToken, 2))
        {
            resumed.AddRange(page.Values.Select(b => b.Name));
        }

        Assert.Equal(pages.Skip(1).SelectMany(p => p.Values).Select(b => b.Name), resumed);
        Assert.Equal(7, await CountAsync(container.GetBlobsAsync(cancellationToken: cts.Token)));
    }

    private static async Task<int> CountAsync(AsyncPageable<BlobItem> items)
    {
        var count = 0;
        await foreach (var _ in items)
        {
            count++;
        }

        return count;
    }
}

public sealed class BlobPagingTests(AzuriteFixture azurite) : IClassFixture<AzuriteFixture>
{
    [Fact]
    public async Task Paging_over_more_than_5000_blobs_returns_each_once()
    {
        using var cts = TestNames.Bounded(120);
        var service = StorageConnection.Parse(azurite.ConnectionString).CreateBlobServiceClient();
        var container = service.GetBlobContainerClient(TestNames.Container("paging"));
        await container.CreateIfNotExistsAsync(cts.Token);

        const int count = 5_001;
        var names = Enumerable.Range(0, count).Select(i => $"device-{i:D5}").ToArray();
        await Parallel.ForEachAsync(
            names,
            new ParallelOptions { MaxDegreeOfParallelism = 16, CancellationToken = cts.Token },
            async (name, ct) => await container.GetBlobClient(name).UploadAsync(BinaryData.Empty, cancellationToken: ct));

        var pages = 0;
        var seen = new List<string>();
        await foreach (var page in container.GetBlobsAsync(cancellationToken: cts.Token).AsPages())
        {
            pages++;
            seen.AddRange(page.Values.Select(b => b.Name));
        }

        Assert.Equal(2, pages);
        Assert.Equal(count, seen.Count);
        Assert.Equal(names, seen.Order(StringComparer.Ordinal));
    }
}
