using System.Collections.Concurrent;
using Fleet.Hosting.Rpc.Protocol;
using Grpc.Core;
using Microsoft.Extensions.Logging;

namespace Fleet.Hosting.Rpc;

/// <summary>
/// Pairs incoming worker streams with the worker processes the host started: a process is expected under its worker
/// id, and the stream whose first message is <c>StartStream</c> with that id becomes its <see cref="WorkerChannel"/>.
/// </summary>
internal sealed class WorkerConnections
{
    private readonly ConcurrentDictionary<string, TaskCompletionSource<WorkerChannel>> _expected = new(StringComparer.Ordinal);

    /// <summary>Registers a worker id before its process starts; the task completes when it connects.</summary>
    public Task<WorkerChannel> Expect(string workerId)
    {
        var connected = new TaskCompletionSource<WorkerChannel>(TaskCreationOptions.RunContinuationsAsynchronously);
        _expected[workerId] = connected;
        return connected.Task;
    }

    /// <summary>Stops waiting for <paramref name="workerId"/>.</summary>
    public void Forget(string workerId) => _expected.TryRemove(workerId, out _);

    /// <summary>Claims the registration of <paramref name="workerId"/>, once.</summary>
    public bool TryClaim(string workerId, out TaskCompletionSource<WorkerChannel> connected) =>
        _expected.TryRemove(workerId, out connected!);
}

/// <summary>The host side of <c>AzureFunctionsRpcMessages.FunctionRpc/EventStream</c>; the worker is the client.</summary>
internal sealed class FunctionRpcService(WorkerConnections connections, ILoggerFactory loggerFactory) : FunctionRpc.FunctionRpcBase
{
    private readonly ILogger _logger = loggerFactory.CreateLogger("Fleet.Hosting.Rpc");

    public override async Task EventStream(
        IAsyncStreamReader<StreamingMessage> requestStream, IServerStreamWriter<StreamingMessage> responseStream, ServerCallContext context)
    {
        ArgumentNullException.ThrowIfNull(requestStream);
        ArgumentNullException.ThrowIfNull(responseStream);
        ArgumentNullException.ThrowIfNull(context);
        if (!await requestStream.MoveNext(context.CancellationToken).ConfigureAwait(false))
        {
            return;
        }

        var first = requestStream.Current;
        if (first.ContentCase != StreamingMessage.ContentOneofCase.StartStream
            || !connections.TryClaim(first.StartStream.WorkerId, out var connected))
        {
            _logger.UnexpectedWorkerStream(first.ContentCase.ToString(), first.StartStream?.WorkerId ?? string.Empty);
            throw new Grpc.Core.RpcException(new Status(StatusCode.PermissionDenied, "Unknown worker id."));
        }

        var channel = new WorkerChannel(first.StartStream.WorkerId, loggerFactory);
        connected.TrySetResult(channel);
        await channel.RunAsync(requestStream, responseStream, context.CancellationToken).ConfigureAwait(false);
    }
}
