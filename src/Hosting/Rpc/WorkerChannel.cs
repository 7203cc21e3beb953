using System.Collections.Concurrent;
using System.Threading.Channels;
using Fleet.Hosting.Rpc.Protocol;
using Grpc.Core;
using Microsoft.Extensions.Logging;

namespace Fleet.Hosting.Rpc;

/// <summary>The worker's stream ended (the process died or closed it) while the host waited for an answer.</summary>
public sealed class WorkerUnavailableException : Exception
{
    /// <summary>Creates the exception.</summary>
    public WorkerUnavailableException(string message, Exception? innerException = null)
        : base(message, innerException)
    {
    }
}

/// <summary>
/// One worker's EventStream: a single writer for host messages, replies correlated by <c>request_id</c> (init,
/// metadata, load) or <c>invocation_id</c> (invocations), <c>RpcLog</c> written to the host's log under the
/// worker's category. When the stream ends, every waiting request fails with <see cref="WorkerUnavailableException"/>.
/// </summary>
internal sealed class WorkerChannel
{
    private readonly Channel<StreamingMessage> _outgoing = Channel.CreateUnbounded<StreamingMessage>(new UnboundedChannelOptions { SingleReader = true });
    private readonly ConcurrentDictionary<string, TaskCompletionSource<StreamingMessage>> _requests = new(StringComparer.Ordinal);
    private readonly ConcurrentDictionary<string, TaskCompletionSource<InvocationResponse>> _invocations = new(StringComparer.Ordinal);
    private readonly TaskCompletionSource _closed = new(TaskCreationOptions.RunContinuationsAsynchronously);
    private readonly ILoggerFactory _loggerFactory;
    private readonly ILogger _logger;
    private int _ended;

    public WorkerChannel(string workerId, ILoggerFactory loggerFactory)
    {
        WorkerId = workerId;
        _loggerFactory = loggerFactory;
        _logger = loggerFactory.CreateLogger("Worker");
    }

    public string WorkerId { get; }

    /// <summary>Completes when the stream has ended.</summary>
    public Task Closed => _closed.Task;

    /// <summary>Invocations sent and not yet answered.</summary>
    public int InFlight => _invocations.Count;

    /// <summary>Pumps the stream until either side ends it; called by the gRPC service for the life of the call.</summary>
    public async Task RunAsync(IAsyncStreamReader<StreamingMessage> requests, IServerStreamWriter<StreamingMessage> responses, CancellationToken cancellationToken)
    {
        using var stop = CancellationTokenSource.CreateLinkedTokenSource(cancellationToken);
        var writer = WriteLoopAsync(responses, stop.Token);
        Exception? failure = null;
        try
        {
            while (await requests.MoveNext(stop.Token).ConfigureAwait(false))
            {
                Dispatch(requests.Current);
            }
        }
        catch (Exception ex) when (ex is OperationCanceledException or Grpc.Core.RpcException or IOException or InvalidOperationException)
        {
            failure = ex;
        }
        finally
        {
            End(failure);
            await stop.CancelAsync().ConfigureAwait(false);
            try
            {
                await writer.ConfigureAwait(false);
            }
            catch (Exception ex) when (ex is OperationCanceledException or Grpc.Core.RpcException or IOException or InvalidOperationException)
            {
                // The call is over; nothing more can be written.
            }
        }
    }

    /// <summary>Ends the channel now (the process died): every waiting request fails.</summary>
    public void Abort() => End(null);

    /// <summary>Sends a message that gets no correlated reply (InvocationCancel, WorkerTerminate).</summary>
    public void Post(StreamingMessage message)
    {
        if (!_outgoing.Writer.TryWrite(message))
        {
            _logger.WorkerMessageDropped(message.ContentCase);
        }
    }

    /// <summary>Sends <paramref name="message"/> with a fresh request id and waits for the reply carrying it.</summary>
    public async Task<StreamingMessage> RequestAsync(StreamingMessage message, CancellationToken cancellationToken)
    {
        message.RequestId = Guid.NewGuid().ToString("N");
        var reply = new TaskCompletionSource<StreamingMessage>(TaskCreationOptions.RunContinuationsAsynchronously);
        _requests[message.RequestId] = reply;
        try
        {
            ThrowIfEnded();
            Post(message);
            return await reply.Task.WaitAsync(cancellationToken).ConfigureAwait(false);
        }
        finally
        {
            _requests.TryRemove(message.RequestId, out _);
        }
    }

    /// <summary>Sends an InvocationRequest and waits for its InvocationResponse.</summary>
    public async Task<InvocationResponse> InvokeAsync(InvocationRequest request, CancellationToken cancellationToken)
    {
        var reply = new TaskCompletionSource<InvocationResponse>(TaskCreationOptions.RunContinuationsAsynchronously);
        _invocations[request.InvocationId] = reply;
        try
        {
            ThrowIfEnded();
            Post(new StreamingMessage { RequestId = request.InvocationId, InvocationRequest = request });
            return await reply.Task.WaitAsync(cancellationToken).ConfigureAwait(false);
        }
        finally
        {
            _invocations.TryRemove(request.InvocationId, out _);
        }
    }

    private void ThrowIfEnded()
    {
        if (Volatile.Read(ref _ended) != 0)
        {
            throw new WorkerUnavailableException($"The worker {WorkerId} is no longer connected.");
        }
    }

    private async Task WriteLoopAsync(IServerStreamWriter<StreamingMessage> responses, CancellationToken cancellationToken)
    {
        await foreach (var message in _outgoing.Reader.ReadAllAsync(cancellationToken).ConfigureAwait(false))
        {
            await responses.WriteAsync(message, cancellationToken).ConfigureAwait(false);
        }
    }

    private void Dispatch(StreamingMessage message)
    {
        switch (message.ContentCase)
        {
            case StreamingMessage.ContentOneofCase.RpcLog:
                WriteLog(message.RpcLog);
                return;
            case StreamingMessage.ContentOneofCase.InvocationResponse:
                if (_invocations.TryGetValue(message.InvocationResponse.InvocationId, out var invocation))
                {
                    invocation.TrySetResult(message.InvocationResponse);
                }

                return;
            case StreamingMessage.ContentOneofCase.WorkerStatusRequest:
                Post(new StreamingMessage { RequestId = message.RequestId, WorkerStatusResponse = new WorkerStatusResponse() });
                return;
            default:
                // Replies to WorkerTerminate and InvocationCancel are empty messages (pitfall 3): nothing waits for them.
                if (!string.IsNullOrEmpty(message.RequestId) && _requests.TryGetValue(message.RequestId, out var request))
                {
                    request.TrySetResult(message);
                }

                return;
        }
    }

    private void WriteLog(Protocol.RpcLog log)
    {
        var category = string.IsNullOrEmpty(log.Category) ? "Worker" : log.Category;
        var logger = _loggerFactory.CreateLogger(category);
        var level = log.Level switch
        {
            Protocol.RpcLog.Types.Level.Trace => LogLevel.Trace,
            Protocol.RpcLog.Types.Level.Debug => LogLevel.Debug,
            Protocol.RpcLog.Types.Level.Information => LogLevel.Information,
            Protocol.RpcLog.Types.Level.Warning => LogLevel.Warning,
            Protocol.RpcLog.Types.Level.Error => LogLevel.Error,
            Protocol.RpcLog.Types.Level.Critical => LogLevel.Critical,
            _ => LogLevel.None,
        };
        if (level == LogLevel.None || !logger.IsEnabled(level))
        {
            return;
        }

        if (log.Exception is { } exception)
        {
            logger.WorkerLogWithException(level, log.Message, new WorkerException(exception));
        }
        else
        {
            logger.WorkerLog(level, log.Message);
        }
    }

    private void End(Exception? failure)
    {
        if (Interlocked.Exchange(ref _ended, 1) != 0)
        {
            return;
        }

        _outgoing.Writer.TryComplete();
        var error = new WorkerUnavailableException($"The worker {WorkerId} closed its stream.", failure);
        foreach (var pending in _requests.Values)
        {
            pending.TrySetException(error);
        }

        foreach (var pending in _invocations.Values)
        {
            pending.TrySetException(error);
        }

        _closed.TrySetResult();
    }
}

/// <summary>An exception raised in the worker, as the protocol carries it: its type, message and stack, unchanged.</summary>
public sealed class WorkerException : Exception
{
    /// <summary>Wraps the worker's exception.</summary>
    public WorkerException(Protocol.RpcException exception)
        : base(Describe(exception))
    {
        ArgumentNullException.ThrowIfNull(exception);
        Rpc = exception;
    }

    /// <summary>The exception as the worker sent it.</summary>
    public Protocol.RpcException Rpc { get; }

    /// <summary>The worker's exception type, e.g. <c>System.InvalidOperationException</c>.</summary>
    public string ExceptionType => Rpc.Type;

    /// <inheritdoc />
    public override string? StackTrace => Rpc.StackTrace;

    private static string Describe(Protocol.RpcException exception) =>
        string.IsNullOrEmpty(exception.Type) ? exception.Message : $"{exception.Type}: {exception.Message}";
}
