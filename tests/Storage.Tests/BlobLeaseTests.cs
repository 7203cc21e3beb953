using System.Diagnostics;
using Fleet.Testing;

namespace Fleet.Storage.Tests;

public sealed class BlobLeaseTests(AzuriteFixture azurite) : IClassFixture<AzuriteFixture>
{
    private readonly BlobServiceClient _service = StorageConnection.Parse(azurite.ConnectionString).CreateBlobServiceClient();

    private async Task<BlobClient> NewBlobAsync(CancellationToken ct)
    {
        var container = _service.GetBlobContainerClient(TestNames.Container("lease"));
        await container.CreateIfNotExistsAsync(ct);
        var blob = container.GetBlobClient("host/singleton.lock");
        await blob.UploadAsync(BinaryData.Empty, cancellationToken: ct);
        return blob;
    }

    [Fact]
    public async Task A_second_acquire_fails_while_the_first_holds_and_succeeds_after_release()
    {
        using var cts = TestNames.Bounded();
        var blob = await NewBlobAsync(cts.Token);
        var first = blob.GetBlobLeaseClient();
        var second = blob.GetBlobLeaseClient();
        Assert.NotEqual(first.LeaseId, second.LeaseId);

        var lease = await first.AcquireAsync(TimeSpan.FromSeconds(15), cts.Token);
        Assert.Equal(first.LeaseId, lease.LeaseId);
        Assert.Equal(BlobLeaseState.Leased, (await blob.GetPropertiesAsync(cancellationToken: cts.Token)).LeaseState);

        var refused = await Assert.ThrowsAsync<StorageRequestException>(() => second.AcquireAsync(TimeSpan.FromSeconds(15), cts.Token));
        Assert.True(refused.IsConflict);
        Assert.Equal(StorageErrorCodes.LeaseAlreadyPresent, refused.ErrorCode);

        await first.RenewAsync(cts.Token);
        await first.ReleaseAsync(cts.Token);
        var taken = await second.AcquireAsync(TimeSpan.FromSeconds(15), cts.Token);
        Assert.Equal(second.LeaseId, taken.LeaseId);

        // The released lease cannot be renewed any more.
        var lost = await Assert.ThrowsAsync<StorageRequestException>(() => first.RenewAsync(cts.Token));
        Assert.True(lost.IsConflict);
        await second.ReleaseAsync(cts.Token);
    }

    [Fact]
    public async Task A_second_acquire_succeeds_after_the_first_lease_expires()
    {
        using var cts = TestNames.Bounded(60);
        var blob = await NewBlobAsync(cts.Token);
        var clock = Stopwatch.StartNew();
        await blob.GetBlobLeaseClient().AcquireAsync(BlobLeaseClient.MinLeaseDuration, cts.Token);
        var second = blob.GetBlobLeaseClient();
        await Assert.ThrowsAsync<StorageRequestException>(() => second.AcquireAsync(BlobLeaseClient.MinLeaseDuration, cts.Token));

        while (true)
        {
            try
            {
                await second.AcquireAsync(BlobLeaseClient.MinLeaseDuration, cts.Token);
                break;
            }
            catch (StorageRequestException ex) when (ex.ErrorCode == StorageErrorCodes.LeaseAlreadyPresent)
            {
                await Task.Delay(500, cts.Token);
            }
        }

        // Taken only once the 15 s lease ran out (a little slack for the service's clock granularity).
        Assert.True(clock.Elapsed >= TimeSpan.FromSeconds(13), $"acquired after {clock.Elapsed}");
        await second.ReleaseAsync(cts.Token);
    }

    [Fact]
    public async Task Writes_under_a_lease_need_its_id()
    {
        using var cts = TestNames.Bounded();
        var blob = await NewBlobAsync(cts.Token);
        var lease = blob.GetBlobLeaseClient();
        await lease.AcquireAsync(BlobLeaseClient.InfiniteLeaseDuration, cts.Token);

        var missing = await Assert.ThrowsAsync<StorageRequestException>(
            () => blob.UploadAsync(BinaryData.FromString("intruder"), cancellationToken: cts.Token));
        Assert.True(missing.IsPreconditionFailed);
        Assert.Equal(StorageErrorCodes.LeaseIdMissing, missing.ErrorCode);

        var wrong = await Assert.ThrowsAsync<StorageRequestException>(() => blob.UploadAsync(
            BinaryData.FromString("intruder"), new BlobRequestConditions { LeaseId = Guid.NewGuid().ToString() }, cancellationToken: cts.Token));
        Assert.True(wrong.IsPreconditionFailed);

        await blob.UploadAsync(BinaryData.FromString("owner"), new BlobRequestConditions { LeaseId = lease.LeaseId }, cancellationToken: cts.Token);
        Assert.Equal("owner", (await blob.DownloadContentAsync(cancellationToken: cts.Token)).Content.ToString());
        await Assert.ThrowsAsync<StorageRequestException>(() => blob.DeleteAsync(cancellationToken: cts.Token));
        await blob.DeleteAsync(new BlobRequestConditions { LeaseId = lease.LeaseId }, cts.Token);
    }

    [Fact]
    public async Task Change_moves_the_lease_to_a_new_id()
    {
        using var cts = TestNames.Bounded();
        var blob = await NewBlobAsync(cts.Token);
        var lease = blob.GetBlobLeaseClient();
        var oldId = lease.LeaseId;
        await lease.AcquireAsync(TimeSpan.FromSeconds(60), cts.Token);

        var newId = Guid.NewGuid().ToString();
        var changed = await lease.ChangeAsync(newId, cts.Token);
        Assert.Equal(newId, changed.LeaseId);
        Assert.Equal(newId, lease.LeaseId);

        var old = blob.GetBlobLeaseClient(oldId);
        await Assert.ThrowsAsync<StorageRequestException>(() => old.RenewAsync(cts.Token));
        await blob.UploadAsync(BinaryData.FromString("x"), new BlobRequestConditions { LeaseId = newId }, cancellationToken: cts.Token);
        await lease.RenewAsync(cts.Token);
        await lease.ReleaseAsync(cts.Token);
    }

    [Fact]
    public async Task Break_ends_someone_elses_lease()
    {
        using var cts = TestNames.Bounded();
        var blob = await NewBlobAsync(cts.Token);
        var holder = blob.GetBlobLeaseClient();
        await holder.AcquireAsync(BlobLeaseClient.InfiniteLeaseDuration, cts.Token);

        var remaining = await blob.GetBlobLeaseClient().BreakAsync(TimeSpan.Zero, cts.Token);
        Assert.Equal(TimeSpan.Zero, remaining);
        Assert.Equal(BlobLeaseState.Broken, (await blob.GetPropertiesAsync(cancellationToken: cts.Token)).LeaseState);
        await Assert.ThrowsAsync<StorageRequestException>(() => holder.RenewAsync(cts.Token));

        var next = blob.GetBlobLeaseClient();
        await next.AcquireAsync(BlobLeaseClient.MinLeaseDuration, cts.Token);
        var breaking = await blob.GetBlobLeaseClient().BreakAsync(TimeSpan.FromSeconds(10), cts.Token);
        Assert.InRange(breaking, TimeSpan.FromSeconds(1), TimeSpan.FromSeconds(10));
        Assert.Equal(BlobLeaseState.Breaking, (await blob.GetPropertiesAsync(cancellationToken: cts.Token)).LeaseState);
    }

    [Fact]
    public async Task Acquire_on_a_missing_blob_is_not_found()
    {
        using var cts = TestNames.Bounded();
        var blob = await NewBlobAsync(cts.Token);
        var missing = _service.GetBlobContainerClient(blob.BlobContainerName).GetBlobClient("no-such-lock");
        var error = await Assert.ThrowsAsync<StorageRequestException>(
            () => missing.GetBlobLeaseClient().AcquireAsync(BlobLeaseClient.MinLeaseDuration, cts.Token));
        Assert.True(error.IsNotFound);
    }

    [Theory]
    [InlineData(14)]
    [InlineData(61)]
    [InlineData(15.5)]
    [InlineData(0)]
    public async Task Lease_durations_outside_15_to_60_whole_seconds_are_refused_before_sending(double seconds)
    {
        var lease = _service.GetBlobContainerClient("unused").GetBlobClient("unused").GetBlobLeaseClient();
        await Assert.ThrowsAsync<ArgumentOutOfRangeException>(() => lease.AcquireAsync(TimeSpan.FromSeconds(seconds)));
    }
}
