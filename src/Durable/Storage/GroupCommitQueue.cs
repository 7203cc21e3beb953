using System.Threading.Channels;

namespace Fleet.Durable.Storage;

/// <summary>An operation waiting in a <see cref="GroupCommitQueue{T}"/>.</summary>
internal interface IQueuedWrite
{
    /// <summary>Completes the operation's caller with <paramref name="exception"/>.</summary>
    void Fail(Exception exception);
}

/// <summary>
/// The queue of a store's group-commit writer: callers add operations and one loop takes every operation waiting (up to
/// a maximum) as one batch. A batch that throws never ends the loop, or every later write would wait forever: its
/// unfinished operations fail with the error and the loop goes on.
/// </summary>
/// <typeparam name="T">The store's write operation.</typeparam>
internal sealed class GroupCommitQueue<T>
    where T : class, IQueuedWrite
{
    private readonly Channel<T> _channel = Channel.CreateUnbounded<T>(new UnboundedChannelOptions { SingleReader = true });
    private readonly int _maxBatch;
    private readonly string _storeName;

    /// <param name="maxBatch">The most operations one batch takes.</param>
    /// <param name="storeName">Names the store in the error of a write after closing.</param>
    public GroupCommitQueue(int maxBatch, string storeName)
    {
        _maxBatch = maxBatch;
        _storeName = storeName;
    }

    /// <exception cref="ObjectDisposedException">The queue is completed (the store is closing).</exception>
    public void Add(T operation)
    {
        if (!_channel.Writer.TryWrite(operation))
        {
            throw new ObjectDisposedException(_storeName, "The durable store is closed.");
        }
    }

    /// <summary>Accepts no more operations; <see cref="RunAsync"/> ends once the waiting ones are written.</summary>
    public void Complete() => _channel.Writer.TryComplete();

    /// <summary>Runs batches until the queue is completed and empty.</summary>
    /// <param name="runBatch">Writes one batch and finishes its operations.</param>
    /// <param name="batchFailed">Called when <paramref name="runBatch"/> throws (to roll back and log), before the
    /// operations fail; those already finished keep their result.</param>
    public async Task RunAsync(Func<List<T>, Task> runBatch, Action<List<T>, Exception> batchFailed)
    {
        var batch = new List<T>(_maxBatch);
        var reader = _channel.Reader;
        while (await reader.WaitToReadAsync().ConfigureAwait(false))
        {
            batch.Clear();
            while (batch.Count < _maxBatch && reader.TryRead(out var operation))
            {
                batch.Add(operation);
            }

            if (batch.Count == 0)
            {
                continue;
            }

            try
            {
                await runBatch(batch).ConfigureAwait(false);
            }
            catch (Exception ex)
            {
                try
                {
                    batchFailed(batch, ex);
                }
                catch (Exception)
                {
                    // Rolling back or logging failed too: the operations still fail with the first error.
                }

                FailAll(batch, ex);
            }
        }
    }

    /// <summary>Fails every operation; one that throws does not stop the others.</summary>
    public static void FailAll(IEnumerable<T> operations, Exception exception)
    {
        foreach (var operation in operations)
        {
            try
            {
                operation.Fail(exception);
            }
            catch (Exception)
            {
                // One broken operation must not stop the others from being failed.
            }
        }
    }
}
