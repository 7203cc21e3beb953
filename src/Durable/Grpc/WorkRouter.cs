using System.Collections.Concurrent;
using System.Threading.Channels;
using Fleet.Durable.Storage;

namespace Fleet.Durable.Grpc;

/// <summary>
/// Splits the store's locked instances between the two kinds of consumer: orchestration episodes and entity batches
/// (entities are instances too, with their own messages). Every consumer waits on the store; one that is handed the
/// other kind's instance passes it on, still locked, to a consumer of that kind, and a consumer stops waiting on the
/// store as soon as an instance is passed to it. So neither kind waits behind the other's free slots, and the store
/// keeps handing out only as much work as consumers ask for.
/// </summary>
internal sealed class WorkRouter(IOrchestrationStore store)
{
    private readonly Channel<OrchestrationWorkItem> _orchestrations = Channel.CreateUnbounded<OrchestrationWorkItem>();
    private readonly Channel<OrchestrationWorkItem> _entities = Channel.CreateUnbounded<OrchestrationWorkItem>();
    private readonly ConcurrentDictionary<OrchestrationWorkItem, byte> _passed = new();

    /// <summary>Instances passed on and not yet taken (their locks are renewed like those of leases).</summary>
    public ICollection<OrchestrationWorkItem> Passed => _passed.Keys;

    /// <summary>Waits for and returns the next locked instance of the kind asked for.</summary>
    public async Task<OrchestrationWorkItem> NextAsync(bool entities, CancellationToken ct)
    {
        var mine = entities ? _entities : _orchestrations;
        var other = entities ? _orchestrations : _entities;
        while (true)
        {
            if (mine.Reader.TryRead(out var passed))
            {
                _passed.TryRemove(passed, out _);
                return passed;
            }

            OrchestrationWorkItem? item = null;
            using (var race = CancellationTokenSource.CreateLinkedTokenSource(ct))
            {
                var fromStore = store.LockNextOrchestrationAsync(race.Token);
                Task handedOn = mine.Reader.WaitToReadAsync(race.Token).AsTask();
                await Task.WhenAny(fromStore, handedOn).ConfigureAwait(false);
                await race.CancelAsync().ConfigureAwait(false);
                await handedOn.ConfigureAwait(ConfigureAwaitOptions.SuppressThrowing);
                try
                {
                    // A store that handed the instance over before the cancellation still returns it: it is not lost.
                    item = await fromStore.ConfigureAwait(false);
                }
                catch (OperationCanceledException) when (race.IsCancellationRequested)
                {
                    // Stopped waiting on the store: an instance was passed on to this consumer, or the caller gave up.
                }
            }

            if (item is not null)
            {
                if (EntityRows.IsEntity(item.InstanceId) == entities)
                {
                    return item;
                }

                _passed[item] = 0;
                other.Writer.TryWrite(item);
            }

            ct.ThrowIfCancellationRequested();
        }
    }
}
