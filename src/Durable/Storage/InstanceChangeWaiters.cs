using System.Collections.Concurrent;

namespace Fleet.Durable.Storage;

/// <summary>
/// Clients waiting for an instance to change (<see cref="IOrchestrationStore.WaitForInstanceChangeAsync"/>): one
/// shared signal per instance, released by the store when it commits or hears of a change.
/// </summary>
internal sealed class InstanceChangeWaiters(TimeProvider time)
{
    private readonly ConcurrentDictionary<string, Waiter> _waiters = new(StringComparer.Ordinal);
    private readonly Lock _gate = new();

    /// <summary>Completes when <paramref name="instanceId"/> changes, after <paramref name="maxWait"/> (the caller then
    /// re-reads the instance), or throws when <paramref name="cancellationToken"/> is cancelled.</summary>
    public Task WaitAsync(string instanceId, TimeSpan maxWait, CancellationToken cancellationToken)
    {
        Waiter waiter;
        lock (_gate)
        {
            waiter = _waiters.GetOrAdd(instanceId, static _ => new Waiter());
            waiter.References++;
        }

        return WaitAsync();

        async Task WaitAsync()
        {
            // Without WaitAsync(timeout): its TimeoutException, once per waiting client and fallback interval, cost
            // thousands of exceptions a second with thousands of clients waiting.
            using var stopDelay = CancellationTokenSource.CreateLinkedTokenSource(cancellationToken);
            try
            {
                await Task.WhenAny(waiter.Changed.Task, Task.Delay(maxWait, time, stopDelay.Token)).ConfigureAwait(false);
                cancellationToken.ThrowIfCancellationRequested();
            }
            finally
            {
                await stopDelay.CancelAsync().ConfigureAwait(false);
                Release();
            }
        }

        void Release()
        {
            lock (_gate)
            {
                if (--waiter.References == 0 && _waiters.TryGetValue(instanceId, out var current) && current == waiter)
                {
                    _waiters.TryRemove(instanceId, out _);
                }
            }
        }
    }

    /// <summary>Releases the waiters of one instance.</summary>
    public void Notify(string instanceId)
    {
        if (_waiters.TryRemove(instanceId, out var waiter))
        {
            waiter.Changed.TrySetResult();
        }
    }

    /// <summary>Releases every waiter (anything may have changed).</summary>
    public void NotifyAll()
    {
        foreach (var id in _waiters.Keys)
        {
            Notify(id);
        }
    }

    private sealed class Waiter
    {
        public TaskCompletionSource Changed { get; } = new(TaskCreationOptions.RunContinuationsAsynchronously);

        public int References { get; set; }
    }
}
