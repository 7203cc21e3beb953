using Fleet.Storage;
using Microsoft.Extensions.Logging;

namespace Fleet.Hosting.Timers;

/// <summary>
/// A blob lease that makes one host at a time the owner of something (a timer schedule), in
/// <c>azure-webjobs-hosts/locks/{hostId}/{name}</c>: acquired for 60 s, renewed every 20 s, and
/// <see cref="Lost"/> when a renewal is refused or renewals keep failing for a whole lease period.
/// </summary>
internal sealed class SingletonLease : IAsyncDisposable
{
    internal static readonly TimeSpan Duration = TimeSpan.FromSeconds(60);
    internal static readonly TimeSpan RenewInterval = TimeSpan.FromSeconds(20);

    private readonly HostStorage _storage;
    private readonly string _blobName;
    private readonly TimeProvider _time;
    private readonly ILogger _logger;
    private readonly string _leaseId = Guid.NewGuid().ToString();
    private CancellationTokenSource? _renewing;
    private CancellationTokenSource? _lost;
    private Task _renewLoop = Task.CompletedTask;
    private BlobLeaseClient? _lease;

    public SingletonLease(HostStorage storage, string blobName, TimeProvider time, ILogger logger)
    {
        _storage = storage;
        _blobName = blobName;
        _time = time;
        _logger = logger;
    }

    public string BlobName => _blobName;

    /// <summary>Signalled when the held lease is lost; <see cref="CancellationToken.None"/> while none is held.</summary>
    public CancellationToken Lost => _lost?.Token ?? CancellationToken.None;

    /// <summary>Tries to take the lease; false while another host holds it.</summary>
    public async Task<bool> TryAcquireAsync(CancellationToken cancellationToken)
    {
        var container = await _storage.HostContainerAsync(cancellationToken).ConfigureAwait(false);
        var blob = container.GetBlobClient(_blobName);
        try
        {
            await blob.UploadAsync(BinaryData.Empty, new BlobRequestConditions { IfNoneMatch = Azure.ETag.All }, cancellationToken: cancellationToken).ConfigureAwait(false);
        }
        catch (StorageRequestException ex) when (ex.IsConflict || ex.IsPreconditionFailed)
        {
            // The lock blob exists (and may be leased).
        }

        var lease = blob.GetBlobLeaseClient(_leaseId);
        try
        {
            await lease.AcquireAsync(Duration, cancellationToken).ConfigureAwait(false);
        }
        catch (StorageRequestException ex) when (ex.IsConflict)
        {
            return false;
        }

        _lease = lease;
        _lost = new CancellationTokenSource();
        _renewing = new CancellationTokenSource();
        _renewLoop = RenewAsync(lease, _lost, _renewing.Token);
        return true;
    }

    /// <summary>Gives the lease up (best effort), so another host can take over at once.</summary>
    public async Task ReleaseAsync()
    {
        if (_renewing is null || _lease is null)
        {
            return;
        }

        await _renewing.CancelAsync().ConfigureAwait(false);
        await _renewLoop.ConfigureAwait(false);
        try
        {
            if (!_lost!.IsCancellationRequested)
            {
                using var timeout = new CancellationTokenSource(TimeSpan.FromSeconds(10));
                await _lease.ReleaseAsync(timeout.Token).ConfigureAwait(false);
            }
        }
        catch (Exception ex) when (ex is StorageRequestException or OperationCanceledException)
        {
            // It expires on its own within the lease duration.
            _logger.LeaseReleaseFailed(_blobName, ex.Message);
        }
        finally
        {
            _renewing.Dispose();
            _lost!.Dispose();
            _renewing = null;
            _lost = null;
            _lease = null;
        }
    }

    public async ValueTask DisposeAsync() => await ReleaseAsync().ConfigureAwait(false);

    private async Task RenewAsync(BlobLeaseClient lease, CancellationTokenSource lost, CancellationToken stop)
    {
        var lastRenewed = _time.GetTimestamp();
        try
        {
            while (true)
            {
                await Task.Delay(RenewInterval, _time, stop).ConfigureAwait(false);
                try
                {
                    await lease.RenewAsync(CancellationToken.None).ConfigureAwait(false);
                    lastRenewed = _time.GetTimestamp();
                }
                catch (StorageRequestException ex) when (ex.IsConflict || ex.IsPreconditionFailed || ex.IsNotFound)
                {
                    _logger.LeaseLost(_blobName, ex.ErrorCode ?? ex.Status.ToString(System.Globalization.CultureInfo.InvariantCulture));
                    await lost.CancelAsync().ConfigureAwait(false);
                    return;
                }
                catch (Exception ex) when (ex is StorageRequestException)
                {
                    if (_time.GetElapsedTime(lastRenewed) >= Duration)
                    {
                        _logger.LeaseLost(_blobName, ex.Message);
                        await lost.CancelAsync().ConfigureAwait(false);
                        return;
                    }

                    _logger.LeaseRenewFailed(_blobName, ex.Message);
                }
            }
        }
        catch (OperationCanceledException)
        {
            // Released.
        }
    }
}
