using System.Globalization;
using Azure.Core;

namespace Fleet.Storage;

/// <summary>
/// Leases on one blob: acquire (15–60 s or infinite), renew, release, break, change. While leased, writes and
/// deletes must carry the lease id (<see cref="BlobRequestConditions.LeaseId"/>).
/// </summary>
public class BlobLeaseClient
{
    /// <summary>A lease that never expires (it must be released or broken).</summary>
    public static readonly TimeSpan InfiniteLeaseDuration = TimeSpan.FromSeconds(-1);

    /// <summary>Shortest finite lease.</summary>
    public static readonly TimeSpan MinLeaseDuration = TimeSpan.FromSeconds(15);

    /// <summary>Longest finite lease.</summary>
    public static readonly TimeSpan MaxLeaseDuration = TimeSpan.FromSeconds(60);

    private static readonly int[] Created = [201];
    private static readonly int[] Ok = [200];
    private static readonly int[] Accepted = [202];

    private readonly BlobClient? _blob;
    private string _leaseId;

    internal BlobLeaseClient(BlobClient blob, string leaseId)
    {
        _blob = blob;
        _leaseId = leaseId;
    }

    /// <summary>For mocking.</summary>
    protected BlobLeaseClient() => _leaseId = string.Empty;

    /// <summary>The lease id this client acquires, renews and releases; updated by <see cref="ChangeAsync"/>.</summary>
    public virtual string LeaseId => Volatile.Read(ref _leaseId);

    /// <summary>The leased blob's URI.</summary>
    public virtual Uri Uri => Blob.Uri;

    private BlobClient Blob => _blob ?? throw new InvalidOperationException("This client was created for mocking.");

    /// <summary>Acquires the lease for <paramref name="duration"/> (whole seconds 15–60, or <see cref="InfiniteLeaseDuration"/>).</summary>
    /// <exception cref="StorageRequestException">409 <see cref="StorageErrorCodes.LeaseAlreadyPresent"/> while another lease is active.</exception>
    public virtual async Task<BlobLease> AcquireAsync(TimeSpan duration, CancellationToken cancellationToken = default)
    {
        var seconds = DurationSeconds(duration);
        using var message = CreateLeaseMessage("acquire");
        message.Request.Headers.SetValue("x-ms-lease-duration", seconds);
        message.Request.Headers.SetValue("x-ms-proposed-lease-id", LeaseId);
        var response = await SendAsync(message, "AcquireLease", Created, cancellationToken).ConfigureAwait(false);
        return ToLease(response);
    }

    /// <summary>Renews the lease for its original duration.</summary>
    public virtual async Task<BlobLease> RenewAsync(CancellationToken cancellationToken = default)
    {
        using var message = CreateLeaseMessage("renew");
        message.Request.Headers.SetValue("x-ms-lease-id", LeaseId);
        var response = await SendAsync(message, "RenewLease", Ok, cancellationToken).ConfigureAwait(false);
        return ToLease(response);
    }

    /// <summary>Releases the lease so another client can acquire one at once.</summary>
    public virtual async Task ReleaseAsync(CancellationToken cancellationToken = default)
    {
        using var message = CreateLeaseMessage("release");
        message.Request.Headers.SetValue("x-ms-lease-id", LeaseId);
        await SendAsync(message, "ReleaseLease", Ok, cancellationToken).ConfigureAwait(false);
    }

    /// <summary>
    /// Breaks the active lease (whoever holds it): after <paramref name="breakPeriod"/> (0–60 s; null: the rest of
    /// a finite lease, at once for an infinite one) anyone may acquire. Returns the time until it is broken.
    /// </summary>
    public virtual async Task<TimeSpan> BreakAsync(TimeSpan? breakPeriod = null, CancellationToken cancellationToken = default)
    {
        using var message = CreateLeaseMessage("break");
        if (breakPeriod is { } period)
        {
            if (period < TimeSpan.Zero || period > MaxLeaseDuration)
            {
                throw new ArgumentOutOfRangeException(nameof(breakPeriod), "A break period is 0 to 60 seconds.");
            }

            message.Request.Headers.SetValue("x-ms-lease-break-period", StorageClientContext.Seconds(period));
        }

        var response = await SendAsync(message, "BreakLease", Accepted, cancellationToken).ConfigureAwait(false);
        return int.TryParse(StorageClientContext.Header(response, "x-ms-lease-time"), out var seconds)
            ? TimeSpan.FromSeconds(seconds)
            : TimeSpan.Zero;
    }

    /// <summary>Changes the active lease's id to <paramref name="proposedId"/>; this client then uses the new id.</summary>
    public virtual async Task<BlobLease> ChangeAsync(string proposedId, CancellationToken cancellationToken = default)
    {
        ArgumentException.ThrowIfNullOrEmpty(proposedId);
        using var message = CreateLeaseMessage("change");
        message.Request.Headers.SetValue("x-ms-lease-id", LeaseId);
        message.Request.Headers.SetValue("x-ms-proposed-lease-id", proposedId);
        var response = await SendAsync(message, "ChangeLease", Ok, cancellationToken).ConfigureAwait(false);
        var lease = ToLease(response);
        Volatile.Write(ref _leaseId, lease.LeaseId);
        return lease;
    }

    private static string DurationSeconds(TimeSpan duration)
    {
        if (duration == InfiniteLeaseDuration || duration == Timeout.InfiniteTimeSpan)
        {
            return "-1";
        }

        if (duration < MinLeaseDuration || duration > MaxLeaseDuration || duration.Ticks % TimeSpan.TicksPerSecond != 0)
        {
            throw new ArgumentOutOfRangeException(
                nameof(duration), duration, "A lease lasts whole seconds from 15 to 60, or BlobLeaseClient.InfiniteLeaseDuration.");
        }

        return ((int)duration.TotalSeconds).ToString(CultureInfo.InvariantCulture);
    }

    private HttpMessage CreateLeaseMessage(string action)
    {
        var message = Blob.Context.CreateMessage(RequestMethod.Put, Blob.Uri);
        message.Request.Uri.AppendQuery("comp", "lease");
        message.Request.Headers.SetValue("x-ms-lease-action", action);
        return message;
    }

    private Task<Azure.Response> SendAsync(HttpMessage message, string operation, int[] expected, CancellationToken cancellationToken) =>
        Blob.Context.SendAsync(message, operation, Blob.Resource, expected, cancellationToken);

    private BlobLease ToLease(Azure.Response response) => new(
        StorageClientContext.Header(response, "x-ms-lease-id") ?? LeaseId,
        BlobClient.ETagOf(response),
        BlobClient.LastModifiedOf(response));
}
