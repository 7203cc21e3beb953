namespace Fleet.Shared.IoTConnect;

/// <summary>
/// A value computed once on first use and shared: concurrent callers await the same computation, a success is kept,
/// a failure is not (the next caller tries again). The computation runs with its own cancellation (none), so one
/// caller giving up does not fail the others; each caller's wait is cancelled by its own token.
/// </summary>
internal sealed class SingleFlight<T>(Func<Task<T>> compute)
    where T : class
{
    private readonly object _gate = new();
    private T? _value;
    private Task<T>? _pending;

    public Task<T> GetAsync(CancellationToken cancellationToken)
    {
        Task<T> pending;
        lock (_gate)
        {
            if (_value is { } value)
            {
                return Task.FromResult(value);
            }

            pending = _pending ??= RunAsync();
        }

        return pending.WaitAsync(cancellationToken);
    }

    private async Task<T> RunAsync()
    {
        try
        {
            // Yield first: the caller that starts the computation holds the lock while assigning it.
            await Task.Yield();
            var value = await compute().ConfigureAwait(false);
            lock (_gate)
            {
                _value = value;
                _pending = null;
            }

            return value;
        }
        catch
        {
            lock (_gate)
            {
                _pending = null;
            }

            throw;
        }
    }
}
