using System.Collections.Concurrent;
using System.Threading.Channels;
using Grpc.Core;
using Microsoft.Extensions.Logging;
using P = Microsoft.DurableTask.Protobuf;

namespace Fleet.Durable.Grpc;

/// <summary>
/// The leases handed to standalone SDK workers, by completion token. A token is settled by the worker's
/// <c>Complete…Task</c> or <c>Abandon…</c> call, or by its stream ending (the worker died or disconnected).
/// </summary>
internal sealed class WorkItemTokens
{
    private readonly ConcurrentDictionary<string, (object Lease, WorkItemStream Stream)> _byToken = new(StringComparer.Ordinal);

    public string Add(object lease, WorkItemStream stream)
    {
        var token = Guid.NewGuid().ToString("N");
        _byToken[token] = (lease, stream);
        return token;
    }

    /// <summary>Takes the lease of <paramref name="token"/> and frees its slot in the stream; null when unknown.</summary>
    public T? Take<T>(string token)
        where T : class
    {
        if (!_byToken.TryRemove(token, out var entry))
        {
            return null;
        }

        entry.Stream.Release(entry.Lease);
        return entry.Lease as T;
    }

    public List<object> TakeAll(WorkItemStream stream)
    {
        var taken = new List<object>();
        foreach (var (token, entry) in _byToken)
        {
            if (entry.Stream == stream && _byToken.TryRemove(token, out _))
            {
                taken.Add(entry.Lease);
            }
        }

        return taken;
    }
}

/// <summary>
/// One standalone worker's <c>GetWorkItems</c> stream: locks episodes, activities and entity batches from the backend while the
/// worker has free slots (its advertised maximums), writes them to the stream, sends a health ping every 30 seconds so
/// the worker's silent-disconnect timer stays quiet, and gives back whatever the worker still held when the stream ends.
/// </summary>
internal sealed class WorkItemStream : IDisposable
{
    private static readonly TimeSpan PingInterval = TimeSpan.FromSeconds(30);
    private readonly DurableBackend _backend;
    private readonly WorkItemTokens _tokens;
    private readonly TimeProvider _time;
    private readonly ILogger _logger;
    private readonly SemaphoreSlim _orchestrationSlots;
    private readonly SemaphoreSlim _activitySlots;
    private readonly SemaphoreSlim _entitySlots;
    private readonly Channel<P.WorkItem> _outbox = Channel.CreateUnbounded<P.WorkItem>(new UnboundedChannelOptions { SingleReader = true });

    public WorkItemStream(DurableBackend backend, WorkItemTokens tokens, P.GetWorkItemsRequest request, TimeProvider time, ILogger logger)
    {
        _backend = backend;
        _tokens = tokens;
        _time = time;
        _logger = logger;
        _orchestrationSlots = new SemaphoreSlim(Math.Max(1, request.MaxConcurrentOrchestrationWorkItems));
        _activitySlots = new SemaphoreSlim(Math.Max(1, request.MaxConcurrentActivityWorkItems));
        _entitySlots = new SemaphoreSlim(Math.Max(1, request.MaxConcurrentEntityWorkItems));
    }

    public void Release(object lease)
    {
        try
        {
            (lease switch { OrchestrationLease => _orchestrationSlots, EntityLease => _entitySlots, _ => _activitySlots }).Release();
        }
        catch (ObjectDisposedException)
        {
            // A completion that raced the end of the stream: there is no slot left to free.
        }
    }

    public void Dispose()
    {
        _orchestrationSlots.Dispose();
        _activitySlots.Dispose();
        _entitySlots.Dispose();
    }

    public async Task RunAsync(IServerStreamWriter<P.WorkItem> writer, CancellationToken ct)
    {
        using var stop = CancellationTokenSource.CreateLinkedTokenSource(ct);
        var loops = new[]
        {
            Task.Run(() => FeedAsync("orchestration", _orchestrationSlots, async c => new P.WorkItem { OrchestratorRequest = Register(await _backend.LockNextOrchestrationAsync(extendedSessions: false, c).ConfigureAwait(false), out var token).Request, CompletionToken = token }, stop.Token), CancellationToken.None),
            Task.Run(() => FeedAsync("activity", _activitySlots, async c => new P.WorkItem { ActivityRequest = Register(await _backend.LockNextActivityAsync(c).ConfigureAwait(false), out var token).Request, CompletionToken = token }, stop.Token), CancellationToken.None),
            Task.Run(() => FeedAsync("entity", _entitySlots, async c => new P.WorkItem { EntityRequestV2 = Register(await _backend.LockNextEntityAsync(c).ConfigureAwait(false), out var token).Request, CompletionToken = token }, stop.Token), CancellationToken.None),
            Task.Run(() => PingAsync(stop.Token), CancellationToken.None),
        };
        var abandoned = 0;
        try
        {
            await foreach (var item in _outbox.Reader.ReadAllAsync(stop.Token).ConfigureAwait(false))
            {
                await writer.WriteAsync(item, stop.Token).ConfigureAwait(false);
            }
        }
        catch (Exception ex) when (ex is OperationCanceledException or IOException or InvalidOperationException)
        {
            // The worker went away (disconnected, shut down or killed).
        }
        finally
        {
            await stop.CancelAsync().ConfigureAwait(false);
            await Task.WhenAll(loops).ConfigureAwait(false);
            abandoned = await AbandonHeldAsync().ConfigureAwait(false);
            _logger.WorkerDisconnected(_backend.HubName, abandoned);
        }
    }

    private T Register<T>(T lease, out string token)
        where T : class
    {
        token = _tokens.Add(lease, this);
        return lease;
    }

    private async Task FeedAsync(string kind, SemaphoreSlim slots, Func<CancellationToken, Task<P.WorkItem>> lockNext, CancellationToken stop)
    {
        while (!stop.IsCancellationRequested)
        {
            try
            {
                await slots.WaitAsync(stop).ConfigureAwait(false);
                var item = await lockNext(stop).ConfigureAwait(false);
                _outbox.Writer.TryWrite(item);
            }
            catch (OperationCanceledException) when (stop.IsCancellationRequested)
            {
                return;
            }
            catch (Exception ex)
            {
                // The store is unreachable or similar: the slot was not used; wait a moment and carry on.
                slots.Release();
                _logger.WorkItemStreamFailed(ex, kind);
                try
                {
                    await Task.Delay(TimeSpan.FromSeconds(1), _time, stop).ConfigureAwait(false);
                }
                catch (OperationCanceledException)
                {
                    return;
                }
            }
        }
    }

    private async Task PingAsync(CancellationToken stop)
    {
        using var timer = new PeriodicTimer(PingInterval, _time);
        try
        {
            while (await timer.WaitForNextTickAsync(stop).ConfigureAwait(false))
            {
                _outbox.Writer.TryWrite(new P.WorkItem { HealthPing = new P.HealthPing() });
            }
        }
        catch (OperationCanceledException)
        {
            // The stream ended.
        }
    }

    private async Task<int> AbandonHeldAsync()
    {
        var held = _tokens.TakeAll(this);
        var reason = new IOException("The SDK worker's work-item stream ended while it held the work item.");
        foreach (var lease in held)
        {
            try
            {
                if (lease is OrchestrationLease episode)
                {
                    await _backend.AbandonOrchestrationAsync(episode, reason, CancellationToken.None).ConfigureAwait(false);
                }
                else if (lease is ActivityLease activity)
                {
                    await _backend.AbandonActivityAsync(activity, reason, CancellationToken.None).ConfigureAwait(false);
                }
                else if (lease is EntityLease batch)
                {
                    await _backend.AbandonEntityAsync(batch, reason, CancellationToken.None).ConfigureAwait(false);
                }
            }
            catch (Exception ex)
            {
                _logger.WorkItemStreamFailed(ex, "abandon");
            }
        }

        return held.Count;
    }
}
