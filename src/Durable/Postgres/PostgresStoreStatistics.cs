namespace Fleet.Durable.Postgres;

/// <summary>
/// What a PostgreSQL store did since it was created: how much database work its dispatching cost, for diagnostics and
/// benchmarks (for example whether competing hosts waste fetches or reload histories).
/// </summary>
/// <param name="OrchestrationFetches">Calls locking ready instances.</param>
/// <param name="EmptyOrchestrationFetches">Of those, calls that locked nothing (another host was faster, or no work).</param>
/// <param name="InstancesLocked">Instances locked by those calls.</param>
/// <param name="InstancesContinued">Episodes run straight after a commit that kept the lock (no fetch needed).</param>
/// <param name="MessageRereads">Locked instances whose messages were read again before hand-out (more had arrived).</param>
/// <param name="ActivityFetches">Calls locking ready activities.</param>
/// <param name="EmptyActivityFetches">Of those, calls that locked nothing.</param>
/// <param name="ActivitiesLocked">Activities locked by those calls.</param>
/// <param name="InstanceLoads">Instance states (with history) loaded, by clients or by the worker for an uncached executor.</param>
/// <param name="WriteBatches">Write transactions (group commits).</param>
/// <param name="WriteOperations">Write operations in those transactions.</param>
/// <param name="NoticesReceived">Notifications received from other stores of the hub.</param>
public sealed record PostgresStoreStatistics(
    long OrchestrationFetches,
    long EmptyOrchestrationFetches,
    long InstancesLocked,
    long InstancesContinued,
    long MessageRereads,
    long ActivityFetches,
    long EmptyActivityFetches,
    long ActivitiesLocked,
    long InstanceLoads,
    long WriteBatches,
    long WriteOperations,
    long NoticesReceived);

/// <summary>The live counters behind <see cref="PostgresStoreStatistics"/> (updated with interlocked adds).</summary>
internal sealed class StoreCounters
{
    public long OrchestrationFetches;
    public long EmptyOrchestrationFetches;
    public long InstancesLocked;
    public long InstancesContinued;
    public long MessageRereads;
    public long ActivityFetches;
    public long EmptyActivityFetches;
    public long ActivitiesLocked;
    public long InstanceLoads;
    public long WriteBatches;
    public long WriteOperations;
    public long NoticesReceived;

    /// <summary>Counts one fetch that locked <paramref name="locked"/> items.</summary>
    public static void CountFetch(ref long fetches, ref long emptyFetches, ref long itemsLocked, int locked)
    {
        Interlocked.Increment(ref fetches);
        Interlocked.Add(ref itemsLocked, locked);
        if (locked == 0)
        {
            Interlocked.Increment(ref emptyFetches);
        }
    }

    public PostgresStoreStatistics Snapshot() => new(
        Interlocked.Read(ref OrchestrationFetches),
        Interlocked.Read(ref EmptyOrchestrationFetches),
        Interlocked.Read(ref InstancesLocked),
        Interlocked.Read(ref InstancesContinued),
        Interlocked.Read(ref MessageRereads),
        Interlocked.Read(ref ActivityFetches),
        Interlocked.Read(ref EmptyActivityFetches),
        Interlocked.Read(ref ActivitiesLocked),
        Interlocked.Read(ref InstanceLoads),
        Interlocked.Read(ref WriteBatches),
        Interlocked.Read(ref WriteOperations),
        Interlocked.Read(ref NoticesReceived));
}
