using System.Text.Json;
using Azure.Storage.Blobs.Models;
using Microsoft.Extensions.Logging;

namespace Fleet.Hosting.Timers;

/// <summary>
/// Keeps a timer's <see cref="ScheduleStatus"/> in blob <c>azure-webjobs-hosts/timers/{hostId}/{function}/status</c>
/// (JSON <c>{"Last": …, "Next": …, "LastUpdated": …}</c>, UTC) and decides whether an occurrence was missed.
/// </summary>
internal sealed class ScheduleMonitor(HostBlobStorage storage, string hostId, ILogger logger)
{
    private static readonly JsonSerializerOptions JsonOptions = new() { WriteIndented = false };

    public string BlobName(string functionName) => $"timers/{hostId}/{functionName}/status";

    /// <summary>The stored status, or null when there is none (or it cannot be read as a status).</summary>
    public async Task<ScheduleStatus?> GetStatusAsync(string functionName, CancellationToken cancellationToken)
    {
        var container = await storage.ContainerAsync(cancellationToken).ConfigureAwait(false);
        try
        {
            var content = await container.GetBlobClient(BlobName(functionName)).DownloadContentAsync(cancellationToken: cancellationToken).ConfigureAwait(false);
            var status = content.Value.Content.ToObjectFromJson<ScheduleStatus>(JsonOptions);
            return status is null ? null : Utc(status);
        }
        catch (Azure.RequestFailedException ex) when (ex.Status == 404)
        {
            return null;
        }
        catch (JsonException ex)
        {
            logger.ScheduleStatusUnreadable(functionName, ex.Message);
            return null;
        }
    }

    public async Task UpdateStatusAsync(string functionName, ScheduleStatus status, CancellationToken cancellationToken)
    {
        var container = await storage.ContainerAsync(cancellationToken).ConfigureAwait(false);
        await container.GetBlobClient(BlobName(functionName))
            .UploadAsync(
                BinaryData.FromObjectAsJson(Utc(status), JsonOptions),
                new BlobUploadOptions { HttpHeaders = new BlobHttpHeaders { ContentType = "application/json" } },
                cancellationToken)
            .ConfigureAwait(false);
    }

    /// <summary>
    /// Checks the stored status against the schedule, as Azure Functions does: no status yet writes one and is not
    /// past due; a stored Next that the schedule would not produce (the schedule changed) is recomputed; a Next
    /// earlier than now was missed. Returns the status to continue from and whether an occurrence was missed.
    /// </summary>
    public async Task<(ScheduleStatus Status, bool PastDue)> CheckPastDueAsync(
        string functionName, TimerSchedule schedule, DateTimeOffset now, CancellationToken cancellationToken)
    {
        var status = await GetStatusAsync(functionName, cancellationToken).ConfigureAwait(false);
        if (status is null)
        {
            status = new ScheduleStatus { Last = default, Next = schedule.NextAfter(now).UtcDateTime, LastUpdated = now.UtcDateTime };
            await UpdateStatusAsync(functionName, status, cancellationToken).ConfigureAwait(false);
            return (status, false);
        }

        var from = status.Last != default ? status.Last : status.LastUpdated;
        var expected = schedule.NextAfter(new DateTimeOffset(from, TimeSpan.Zero)).UtcDateTime;
        if (status.Next != expected)
        {
            status = new ScheduleStatus { Last = status.Last, Next = expected, LastUpdated = now.UtcDateTime };
            await UpdateStatusAsync(functionName, status, cancellationToken).ConfigureAwait(false);
        }

        return (status, now.UtcDateTime > status.Next);
    }

    private static ScheduleStatus Utc(ScheduleStatus status) => new()
    {
        Last = AsUtc(status.Last),
        Next = AsUtc(status.Next),
        LastUpdated = AsUtc(status.LastUpdated),
    };

    private static DateTime AsUtc(DateTime value) => value.Kind switch
    {
        DateTimeKind.Utc => value,
        DateTimeKind.Local => value.ToUniversalTime(),
        _ => DateTime.SpecifyKind(value, DateTimeKind.Utc),
    };
}
