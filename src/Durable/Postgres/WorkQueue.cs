namespace Fleet.Durable.Postgres;

/// <summary>
/// Hands out work locked in the database, fetched in batches. A fetch runs only when work may exist (a signal: a local
/// commit, a notification from another host, a due timer or the polling interval) and someone waits for work; it
/// locks at most as many items as the worker has free slots, so nothing is held back from other hosts. Only one fetch
/// runs at a time.
/// </summary>
/// <typeparam name="T">The buffered item.</typeparam>
internal sealed class WorkQueue<T> : IDisposable
    where T : class
{
    private readonly Queue<T> _buffer = new();
    private readonly Func<int, Task<IReadOnlyList<T>>> _fetch;
    private readonly Func<int> _limit;
    private readonly Func<T, Task<bool>> _prepare;
    private TaskCompletionSource _pulse = new(TaskCreationOptions.RunContinuationsAsynchronously);
    private Task? _fetching;
    private int _dirty = 1;
    private bool _disposed;

    /// <param name="fetch">Locks up to the given number of items (runs to the end whoever waits for it).</param>
    /// <param name="limit">How many items a fetch may lock now.</param>
    /// <param name="prepare">Readies an item for hand-out (not cancelled with the caller: the item is handed out once
    /// it is ready); false drops it (for example its lock expired while buffered).</param>
    public WorkQueue(Func<int, Task<IReadOnlyList<T>>> fetch, Func<int> limit, Func<T, Task<bool>> prepare)
    {
        _fetch = fetch;
        _limit = limit;
        _prepare = prepare;
    }

    /// <summary>Items fetched and not yet handed out.</summary>
    public int Buffered
    {
        get
        {
            lock (_buffer)
            {
                return _buffer.Count;
            }
        }
    }

    /// <summary>Work may exist: the next waiter fetches.</summary>
    public void Signal()
    {
        Volatile.Write(ref _dirty, 1);
        TaskCompletionSource pulse;
        lock (_buffer)
        {
            pulse = _pulse;
            _pulse = new TaskCompletionSource(TaskCreationOptions.RunContinuationsAsynchronously);
        }

        pulse.TrySetResult();
    }

    /// <summary>Adds an item that is already locked and wakes a waiter.</summary>
    public void Add(T item)
    {
        TaskCompletionSource pulse;
        lock (_buffer)
        {
            if (_disposed)
            {
                return;
            }

            _buffer.Enqueue(item);
            pulse = _pulse;
            _pulse = new TaskCompletionSource(TaskCreationOptions.RunContinuationsAsynchronously);
        }

        pulse.TrySetResult();
    }

    /// <summary>Applies <paramref name="action"/> to every buffered item (under the queue's lock).</summary>
    public void ForEachBuffered(Action<T> action)
    {
        lock (_buffer)
        {
            foreach (var item in _buffer)
            {
                action(item);
            }
        }
    }

    public async Task<T> NextAsync(CancellationToken cancellationToken)
    {
        while (true)
        {
            cancellationToken.ThrowIfCancellationRequested();
            Task pulse;
            T? item;
            lock (_buffer)
            {
                ObjectDisposedException.ThrowIf(_disposed, this);
                pulse = _pulse.Task;
                _buffer.TryDequeue(out item);
            }

            if (item is not null)
            {
                bool ready;
                try
                {
                    ready = await _prepare(item).ConfigureAwait(false);
                }
                catch
                {
                    // Still locked: keep it for the next caller rather than losing it until its lock expires.
                    Add(item);
                    throw;
                }

                if (ready)
                {
                    return item;
                }

                continue;
            }

            if (Interlocked.Exchange(ref _dirty, 0) == 1)
            {
                await FetchAsync(cancellationToken).ConfigureAwait(false);
                continue;
            }

            await pulse.WaitAsync(cancellationToken).ConfigureAwait(false);
        }
    }

    /// <summary>Takes every buffered item out (at shutdown, to release their locks).</summary>
    public List<T> Drain()
    {
        lock (_buffer)
        {
            var items = _buffer.ToList();
            _buffer.Clear();
            return items;
        }
    }

    public void Dispose()
    {
        TaskCompletionSource pulse;
        lock (_buffer)
        {
            _disposed = true;
            pulse = _pulse;
        }

        // Wakes waiters, which then see the queue is disposed.
        pulse.TrySetResult();
    }

    /// <summary>
    /// Waits for a fetch (starting one when none runs). The fetch itself is not cancelled with the caller: rows it
    /// locks must reach the buffer (a later caller gets them, or disposal releases them), never be lost in between.
    /// </summary>
    private Task FetchAsync(CancellationToken cancellationToken)
    {
        Task fetch;
        lock (_buffer)
        {
            if (_fetching is null || _fetching.IsCompleted)
            {
                _fetching = Task.Run(RunFetchAsync, CancellationToken.None);
            }
            else
            {
                // The fetch under way may have started before the signal this caller consumed (two consumers wait on
                // one store: the sidecar's orchestration and entity feeds): its result cannot show that work, so the
                // next waiter fetches again instead of sleeping until the next poll.
                Volatile.Write(ref _dirty, 1);
            }

            fetch = _fetching;
        }

        return fetch.WaitAsync(cancellationToken);
    }

    private async Task RunFetchAsync()
    {
        if (Buffered > 0)
        {
            Volatile.Write(ref _dirty, 1);
            return;
        }

        var limit = Math.Max(1, _limit());
        IReadOnlyList<T> items;
        try
        {
            items = await _fetch(limit).ConfigureAwait(false);
        }
        catch
        {
            Volatile.Write(ref _dirty, 1);
            throw;
        }

        if (items.Count >= limit)
        {
            // A full batch: more work is probably waiting.
            Volatile.Write(ref _dirty, 1);
        }

        foreach (var item in items)
        {
            Add(item);
        }
    }
}
