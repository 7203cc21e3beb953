
namespace Fleet.Durable.Storage;

/// <summary>Waiting for an instance to reach a status, on the store's change notifications (shared by both clients).</summary>
internal static class InstanceWait
{
    /// <summary>The instance once <paramref name="reached"/> holds for its status, or null when it does not exist.</summary>
    public static async Task<InstanceRecord?> ForStatusAsync(
        IOrchestrationStore store,
        string instanceId,
        bool includePayloads,
        Func<InstanceStatus, bool> reached,
        TimeSpan pollingInterval,
        CancellationToken cancellation)
    {
        while (true)
        {
            using var waitCts = CancellationTokenSource.CreateLinkedTokenSource(cancellation);

            // Registered before the read, so a change between the read and the wait is not missed.
            var changed = store.WaitForInstanceChangeAsync(instanceId, pollingInterval, waitCts.Token);
            var record = await store.GetInstanceAsync(instanceId, includePayloads, cancellation).ConfigureAwait(false);
            if (record is null || reached(record.Status))
            {
                await waitCts.CancelAsync().ConfigureAwait(false);
                await changed.ContinueWith(static _ => { }, CancellationToken.None, TaskContinuationOptions.ExecuteSynchronously, TaskScheduler.Default).ConfigureAwait(false);
                return record;
            }

            await changed.ConfigureAwait(false);
        }
    }
}
