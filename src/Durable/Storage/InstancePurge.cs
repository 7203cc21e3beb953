namespace Fleet.Durable.Storage;

/// <summary>Purging by filter in pages until nothing matches or a time limit passes (the backend's bulk purge).</summary>
internal static class InstancePurge
{
    public const int PageSize = 500;

    /// <summary>Deletes matching finished instances; returns how many, and whether nothing matching is left.</summary>
    public static async Task<(int Deleted, bool Complete)> AllAsync(
        IOrchestrationStore store,
        InstanceFilter filter,
        bool recursive,
        TimeSpan? timeout,
        TimeProvider time,
        CancellationToken cancellation)
    {
        var started = time.GetTimestamp();
        var total = 0;
        while (true)
        {
            cancellation.ThrowIfCancellationRequested();
            var purged = await store.PurgeInstancesAsync(filter, PageSize, recursive, cancellation).ConfigureAwait(false);
            total += purged;

            // The store counts every instance it deleted (descendants included) and never fewer than it selected, so
            // a short count means the page selected fewer than PageSize matches: nothing matching is left.
            if (purged < PageSize)
            {
                return (total, true);
            }

            if (timeout is { } limit && time.GetElapsedTime(started) >= limit)
            {
                return (total, false);
            }
        }
    }
}
