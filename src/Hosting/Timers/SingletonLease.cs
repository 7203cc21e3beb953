using Azure;
using Azure.Storage.Blobs.Models;
using Azure.Storage.Blobs.Specialized;
using Microsoft.Extensions.Logging;

namespace Fleet.Hosting.Timers;

/// <summary>
/// A blob lease that makes one host at a time the owner of something (a timer schedule), in
/// <c>azure-webjobs-hosts/locks/{hostId}/{name}</c>: acquired for 60 s and renewed every 20 s.
/// </summary>
/// <remarks>
/// The holder keeps a local deadline: the send time of the last successful acquire or renewal plus the lease
/// duration minus a safety margin. The service cannot have let the lease go before then, because it started its
/// 60 s no earlier than the request was sent. <see cref="Lost"/> fires at that deadline from a timer, whatever
/// renewal is still in flight, and at once when a renewal is refused; so the holder stops before another host can
/// take over. Each lease request is bounded by <see cref="CallTimeout"/> (no Azure.Core retries).
/// </remarks>
internal sealed class SingletonLease : IAsyncDisposable
{
    internal static readonly TimeSpan Duration = TimeSpan.FromSeconds(60);
    internal static readonly TimeSpan RenewInterval = TimeSpan.FromSeconds(20);

    /// <summary>After a failed renewal the next try comes sooner, so a brief outage does not cost the lease.</summary>
    internal static readonly TimeSpan RenewRetryInterval = TimeSpan.FromSeconds(5);

    /// <summary>Longest one lease request may take; shorter than <see cref="RenewInterval"/>.</summary>
    internal static readonly TimeSpan CallTimeout = HostBlobStorage.LeaseRequestTimeout;

    /// <summary>Covers timer latency and pauses between the local deadline and the service's expiry.</summary>
    internal static readonly TimeSpan SafetyMargin = TimeSpan.FromSeconds(10);

    private readonly HostBlobStorage _storage;
    private readonly string _blobName;
    private readonly TimeProvider _time;
    private readonly ILogger _logger;
    private readonly string _leaseId = Guid.NewGuid().ToString();
    private readonly Lock _gate = new();
    private CancellationTokenSource? _renewing;
    private CancellationTokenSource? _lost;
    private Task _renewLoop = Task.CompletedTask;
    private BlobLeaseClient? _lease;
    private DateTimeOffset _validUntil;

    public SingletonLease(HostBlobStorage storage, string blobName, TimeProvider time, ILogger logger)
    {
        _storage = storage;
        _blobName = blobName;
        _time = time;
        _logger = logger;
    }

    public string BlobName => _blobName;

    /// <summary>Signalled when the held lease is lost; <see cref="CancellationToken.None"/> while none is held.</summary>
    public CancellationToken Lost
    {
        get
        {
            lock (_gate)
            {
                return _lost?.Token ?? CancellationToken.None;
            }
        }
    }

    /// <summary>True while this host holds the lease and its local deadline has not passed.</summary>
    public bool IsHeld
    {
        get
        {
            lock (_gate)
            {
                return _lost is { IsCancellationRequested: false };
            }
        }
    }

    /// <summary>The local deadline of the held lease (clock time), for tests and diagnostics.</summary>
    internal DateTimeOffset ValidUntil
    {
        get
        {
            lock (_gate)
            {
                return _validUntil;
            }
        }
    }

    /// <summary>Tries to take the lease; false while another host holds it.</summary>
    public async Task<bool> TryAcquireAsync(CancellationToken cancellationToken)
    {
        // The lease requests use their own client (no retries), so the container is made through the normal one.
        await _storage.ContainerAsync(cancellationToken).ConfigureAwait(false);
        var blob = _storage.LeaseBlob(_blobName);
        var lease = blob.GetBlobLeaseClient(_leaseId);
        var sent = _time.GetTimestamp();
        var sentAt = _time.GetUtcNow();
        try
        {
            await AcquireAsync(lease, cancellationToken).ConfigureAwait(false);
        }
        catch (RequestFailedException ex) when (ex.Status == 409)
        {
            return false;
        }
        catch (RequestFailedException ex) when (ex.Status == 404)
        {
            // First use of this lock: create the blob only now (not on every retry of every follower), then acquire.
            await CreateBlobAsync(cancellationToken).ConfigureAwait(false);
            sent = _time.GetTimestamp();
            sentAt = _time.GetUtcNow();
            try
            {
                await AcquireAsync(lease, cancellationToken).ConfigureAwait(false);
            }
            catch (RequestFailedException again) when (again.Status == 409)
            {
                return false;
            }
        }

        var validFor = Duration - SafetyMargin - _time.GetElapsedTime(sent);
        if (validFor <= TimeSpan.Zero)
        {
            // The answer came too late to be sure of anything: let the lease run out and compete again.
            return false;
        }

        lock (_gate)
        {
            _lease = lease;
            _validUntil = sentAt + Duration - SafetyMargin;
            _lost = new CancellationTokenSource(validFor, _time);
            _renewing = new CancellationTokenSource();
            _renewLoop = RenewAsync(lease, _lost, _renewing.Token);
        }

        return true;
    }

    /// <summary>Gives the lease up (best effort), so another host can take over at once.</summary>
    public async Task ReleaseAsync()
    {
        CancellationTokenSource? renewing;
        CancellationTokenSource? lost;
        BlobLeaseClient? lease;
        Task loop;
        lock (_gate)
        {
            (renewing, lost, lease, loop) = (_renewing, _lost, _lease, _renewLoop);
        }

        if (renewing is null || lost is null || lease is null)
        {
            return;
        }

        await renewing.CancelAsync().ConfigureAwait(false);
        await loop.ConfigureAwait(false);
        try
        {
            if (!lost.IsCancellationRequested)
            {
                // Real time: at shutdown nothing moves a test's fake clock.
                using var timeout = new CancellationTokenSource(CallTimeout);
                await lease.ReleaseAsync(cancellationToken: timeout.Token).ConfigureAwait(false);
            }
        }
        catch (Exception ex) when (ex.IsStorageFailure(CancellationToken.None))
        {
            // It expires on its own within the lease duration.
            _logger.LeaseReleaseFailed(_blobName, ex.Message);
        }
        finally
        {
            lock (_gate)
            {
                _renewing = null;
                _lost = null;
                _lease = null;
            }

            renewing.Dispose();
            lost.Dispose();
        }
    }

    public async ValueTask DisposeAsync() => await ReleaseAsync().ConfigureAwait(false);

    private async Task AcquireAsync(BlobLeaseClient lease, CancellationToken cancellationToken) =>
        await WithTimeoutAsync(ct => lease.AcquireAsync(Duration, cancellationToken: ct), "acquire", cancellationToken).ConfigureAwait(false);

    private async Task CreateBlobAsync(CancellationToken cancellationToken)
    {
        var container = await _storage.ContainerAsync(cancellationToken).ConfigureAwait(false);
        try
        {
            await container.GetBlobClient(_blobName)
                .UploadAsync(BinaryData.Empty, new BlobUploadOptions { Conditions = new BlobRequestConditions { IfNoneMatch = ETag.All } }, cancellationToken)
                .ConfigureAwait(false);
        }
        catch (RequestFailedException ex) when (ex.Status is 409 or 412)
        {
            // Another host created it first.
        }
    }

    private async Task RenewAsync(BlobLeaseClient lease, CancellationTokenSource lost, CancellationToken stop)
    {
        using var ended = CancellationTokenSource.CreateLinkedTokenSource(stop, lost.Token);
        var wait = RenewInterval;
        try
        {
            while (true)
            {
                await Task.Delay(wait, _time, ended.Token).ConfigureAwait(false);
                var sent = _time.GetTimestamp();
                var sentAt = _time.GetUtcNow();
                try
                {
                    await WithTimeoutAsync(ct => lease.RenewAsync(cancellationToken: ct), "renew", ended.Token).ConfigureAwait(false);
                    if (!Extend(lost, sent, sentAt))
                    {
                        // The answer came too late to count: the deadline ends the lease.
                        await lost.CancelAsync().ConfigureAwait(false);
                    }

                    wait = RenewInterval;
                }
                catch (RequestFailedException ex) when (ex.Status is 409 or 412 or 404)
                {
                    // Refused: someone else holds it (or broke it). No point waiting for the deadline.
                    _logger.LeaseLost(_blobName, ex.ErrorCode ?? ex.Status.ToString(System.Globalization.CultureInfo.InvariantCulture));
                    await lost.CancelAsync().ConfigureAwait(false);
                    return;
                }
                catch (Exception ex) when (ex.IsStorageFailure(ended.Token))
                {
                    _logger.LeaseRenewFailed(_blobName, ex.Message);
                    wait = RenewRetryInterval;
                }
            }
        }
        catch (OperationCanceledException) when (lost.IsCancellationRequested && !stop.IsCancellationRequested)
        {
            _logger.LeaseLost(_blobName, $"not renewed within {(Duration - SafetyMargin).TotalSeconds:0} s");
        }
        catch (OperationCanceledException)
        {
            // Released.
        }
    }

    /// <summary>Moves the local deadline on after a successful renewal sent at <paramref name="sent"/>; false when that is already too late.</summary>
    private bool Extend(CancellationTokenSource lost, long sent, DateTimeOffset sentAt)
    {
        lock (_gate)
        {
            var validFor = Duration - SafetyMargin - _time.GetElapsedTime(sent);
            if (lost.IsCancellationRequested || validFor <= TimeSpan.Zero)
            {
                // The deadline passed while the answer was on its way: the lease stays given up.
                return false;
            }

            _validUntil = sentAt + Duration - SafetyMargin;
            lost.CancelAfter(validFor);
            return true;
        }
    }

    private async Task<T> WithTimeoutAsync<T>(Func<CancellationToken, Task<T>> call, string operation, CancellationToken cancellationToken)
    {
        // Real time, like the client's network timeout: it bounds a request on the wire. The deadline, which decides
        // whether the lease is still held, runs on the injected clock.
        using var timeout = new CancellationTokenSource(CallTimeout);
        using var linked = CancellationTokenSource.CreateLinkedTokenSource(cancellationToken, timeout.Token);
        try
        {
            return await call(linked.Token).ConfigureAwait(false);
        }
        catch (OperationCanceledException ex) when (!cancellationToken.IsCancellationRequested)
        {
            // Ours or the client's network timeout (Azure.Core reports it as a cancellation): either way no answer.
            throw new TimeoutException($"Lease {operation} on {_blobName} got no answer within {CallTimeout.TotalSeconds:0} s.", ex);
        }
    }
}
