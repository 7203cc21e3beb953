using Fleet.Durable.Storage;
using Google.Protobuf.WellKnownTypes;
using Grpc.Core;
using Microsoft.Extensions.Logging;
using P = Microsoft.DurableTask.Protobuf;

namespace Fleet.Durable.Grpc;

/// <summary>
/// The <c>TaskHubSidecarService</c> gRPC endpoint on a <see cref="DurableBackend"/>: every RPC the SDK's
/// <c>GrpcDurableTaskClient</c> calls, and the standalone worker side (<c>Hello</c>, <c>GetWorkItems</c>,
/// <c>Complete…Task</c>, <c>Abandon…</c>). Refusals map to the status codes the SDK turns into its exceptions.
/// </summary>
public sealed partial class TaskHubSidecarService : P.TaskHubSidecarService.TaskHubSidecarServiceBase
{
    private static readonly Empty EmptyMessage = new();
    private readonly DurableBackend _backend;
    private readonly WorkItemTokens _tokens;
    private readonly TimeProvider _time;
    private readonly ILogger _logger;

    /// <summary>Creates the service; registered by <c>AddDurableBackend</c>.</summary>
    public TaskHubSidecarService(DurableBackend backend, TimeProvider timeProvider, ILoggerFactory loggerFactory)
    {
        ArgumentNullException.ThrowIfNull(loggerFactory);
        _backend = backend;
        _tokens = new WorkItemTokens();
        _time = timeProvider;
        _logger = loggerFactory.CreateLogger("Fleet.Durable.Grpc.Sidecar");
    }

    /// <inheritdoc />
    public override Task<Empty> Hello(Empty request, ServerCallContext context) => Task.FromResult(EmptyMessage);

    /// <inheritdoc />
    public override Task<P.CreateInstanceResponse> StartInstance(P.CreateInstanceRequest request, ServerCallContext context) =>
        Guard(nameof(StartInstance), async () => new P.CreateInstanceResponse { InstanceId = await _backend.StartInstanceAsync(request, context.CancellationToken).ConfigureAwait(false) });

    /// <inheritdoc />
    public override Task<P.GetInstanceResponse> GetInstance(P.GetInstanceRequest request, ServerCallContext context) =>
        Guard(nameof(GetInstance), async () => Found(await _backend.GetInstanceAsync(request.InstanceId, request.GetInputsAndOutputs, context.CancellationToken).ConfigureAwait(false), request.GetInputsAndOutputs));

    /// <inheritdoc />
    public override Task<P.GetInstanceResponse> WaitForInstanceStart(P.GetInstanceRequest request, ServerCallContext context) =>
        Guard(nameof(WaitForInstanceStart), async () => Found(await _backend.WaitForInstanceAsync(request.InstanceId, request.GetInputsAndOutputs, completion: false, context.CancellationToken).ConfigureAwait(false), request.GetInputsAndOutputs));

    /// <inheritdoc />
    public override Task<P.GetInstanceResponse> WaitForInstanceCompletion(P.GetInstanceRequest request, ServerCallContext context) =>
        Guard(nameof(WaitForInstanceCompletion), async () => Found(await _backend.WaitForInstanceAsync(request.InstanceId, request.GetInputsAndOutputs, completion: true, context.CancellationToken).ConfigureAwait(false), request.GetInputsAndOutputs));

    /// <inheritdoc />
    public override Task<P.RaiseEventResponse> RaiseEvent(P.RaiseEventRequest request, ServerCallContext context) =>
        Guard(nameof(RaiseEvent), async () =>
        {
            await _backend.RaiseEventAsync(request.InstanceId, request.Name, request.Input, context.CancellationToken).ConfigureAwait(false);
            return new P.RaiseEventResponse();
        });

    /// <inheritdoc />
    public override Task<P.TerminateResponse> TerminateInstance(P.TerminateRequest request, ServerCallContext context) =>
        Guard(nameof(TerminateInstance), async () =>
        {
            await _backend.TerminateAsync(request.InstanceId, request.Output, request.Recursive, context.CancellationToken).ConfigureAwait(false);
            return new P.TerminateResponse();
        });

    /// <inheritdoc />
    public override Task<P.SuspendResponse> SuspendInstance(P.SuspendRequest request, ServerCallContext context) =>
        Guard(nameof(SuspendInstance), async () =>
        {
            await _backend.SuspendAsync(request.InstanceId, request.Reason, context.CancellationToken).ConfigureAwait(false);
            return new P.SuspendResponse();
        });

    /// <inheritdoc />
    public override Task<P.ResumeResponse> ResumeInstance(P.ResumeRequest request, ServerCallContext context) =>
        Guard(nameof(ResumeInstance), async () =>
        {
            await _backend.ResumeAsync(request.InstanceId, request.Reason, context.CancellationToken).ConfigureAwait(false);
            return new P.ResumeResponse();
        });

    /// <inheritdoc />
    public override Task<P.RestartInstanceResponse> RestartInstance(P.RestartInstanceRequest request, ServerCallContext context) =>
        Guard(nameof(RestartInstance), async () => new P.RestartInstanceResponse
        {
            InstanceId = await _backend.RestartInstanceAsync(request.InstanceId, request.RestartWithNewInstanceId, context.CancellationToken).ConfigureAwait(false),
        });

    /// <inheritdoc />
    public override Task<P.RewindInstanceResponse> RewindInstance(P.RewindInstanceRequest request, ServerCallContext context) =>
        Guard(nameof(RewindInstance), async () =>
        {
            await _backend.RewindInstanceAsync(request.InstanceId, request.Reason, context.CancellationToken).ConfigureAwait(false);
            return new P.RewindInstanceResponse();
        });

    /// <inheritdoc />
    public override Task<P.QueryInstancesResponse> QueryInstances(P.QueryInstancesRequest request, ServerCallContext context) =>
        Guard(nameof(QueryInstances), async () =>
        {
            var query = request.Query ?? new P.InstanceQuery();
            var response = new P.QueryInstancesResponse();
            if (query.TaskHubNames.Count > 0 && !query.TaskHubNames.Any(n => string.Equals(n, _backend.HubName, StringComparison.OrdinalIgnoreCase)))
            {
                return response; // only other hubs asked for
            }

            var filter = new InstanceFilter
            {
                CreatedFrom = query.CreatedTimeFrom?.ToDateTimeOffset(),
                CreatedTo = query.CreatedTimeTo?.ToDateTimeOffset(),
                Statuses = query.RuntimeStatus.Select(ProtoCodec.FromProto).ToArray(),
                InstanceIdPrefix = query.InstanceIdPrefix,
            };
            var pageSize = query.MaxInstanceCount is > 0 and <= 1000 ? query.MaxInstanceCount : 100;
            var page = await _backend.QueryInstancesAsync(new InstanceQuery(filter, pageSize, query.FetchInputsAndOutputs, query.ContinuationToken), context.CancellationToken).ConfigureAwait(false);
            response.OrchestrationState.Add(page.Instances.Select(r => ProtoCodec.ToState(r, query.FetchInputsAndOutputs)));
            response.ContinuationToken = page.ContinuationToken;
            return response;
        });

    /// <inheritdoc />
    public override Task<P.ListInstanceIdsResponse> ListInstanceIds(P.ListInstanceIdsRequest request, ServerCallContext context) =>
        Guard(nameof(ListInstanceIds), async () =>
        {
            // The store pages by creation time; the completion-time window is applied to each page, so a page may hold
            // fewer IDs than asked while the key still points further.
            var statuses = request.RuntimeStatus.Count > 0
                ? request.RuntimeStatus.Select(ProtoCodec.FromProto).ToArray()
                : [InstanceStatus.Completed, InstanceStatus.Failed, InstanceStatus.Terminated];
            var from = request.CompletedTimeFrom?.ToDateTimeOffset();
            var to = request.CompletedTimeTo?.ToDateTimeOffset();
            var pageSize = request.PageSize is > 0 and <= 1000 ? request.PageSize : 100;
            var page = await _backend.QueryInstancesAsync(new InstanceQuery(new InstanceFilter { Statuses = statuses }, pageSize, false, request.LastInstanceKey), context.CancellationToken).ConfigureAwait(false);
            var response = new P.ListInstanceIdsResponse { LastInstanceKey = page.ContinuationToken };
            response.InstanceIds.Add(page.Instances
                .Where(r => r.CompletedAt is not { } done || ((from is null || done >= from) && (to is null || done <= to)))
                .Select(r => r.InstanceId));
            return response;
        });

    /// <inheritdoc />
    public override Task<P.PurgeInstancesResponse> PurgeInstances(P.PurgeInstancesRequest request, ServerCallContext context) =>
        Guard(nameof(PurgeInstances), async () =>
        {
            var ct = context.CancellationToken;
            switch (request.RequestCase)
            {
                case P.PurgeInstancesRequest.RequestOneofCase.InstanceId:
                    return new P.PurgeInstancesResponse { DeletedInstanceCount = await _backend.PurgeInstanceAsync(request.InstanceId, request.Recursive, ct).ConfigureAwait(false), IsComplete = true };
                case P.PurgeInstancesRequest.RequestOneofCase.InstanceBatch:
                    var deleted = 0;
                    foreach (var id in request.InstanceBatch.InstanceIds)
                    {
                        deleted += await _backend.PurgeInstanceAsync(id, request.Recursive, ct).ConfigureAwait(false);
                    }

                    return new P.PurgeInstancesResponse { DeletedInstanceCount = deleted, IsComplete = true };
                case P.PurgeInstancesRequest.RequestOneofCase.PurgeInstanceFilter:
                    var f = request.PurgeInstanceFilter;
                    var statuses = (f.RuntimeStatus.Count > 0 ? f.RuntimeStatus.Select(ProtoCodec.FromProto) : [InstanceStatus.Completed, InstanceStatus.Failed, InstanceStatus.Terminated])
                        .Where(s => s.IsTerminal()).Distinct().ToArray();
                    if (statuses.Length == 0)
                    {
                        return new P.PurgeInstancesResponse { DeletedInstanceCount = 0, IsComplete = true };
                    }

                    var filter = new InstanceFilter { CreatedFrom = f.CreatedTimeFrom?.ToDateTimeOffset(), CreatedTo = f.CreatedTimeTo?.ToDateTimeOffset(), Statuses = statuses };
                    var (count, complete) = await _backend.PurgeInstancesAsync(filter, request.Recursive, f.Timeout?.ToTimeSpan(), ct).ConfigureAwait(false);
                    return new P.PurgeInstancesResponse { DeletedInstanceCount = count, IsComplete = complete };
                default:
                    throw new SidecarRequestException(SidecarRefusal.InvalidArgument, "The purge request names no instance, batch or filter.");
            }
        });

    /// <inheritdoc />
    public override async Task StreamInstanceHistory(P.StreamInstanceHistoryRequest request, IServerStreamWriter<P.HistoryChunk> responseStream, ServerCallContext context)
    {
        var history = await Guard(nameof(StreamInstanceHistory), async () =>
            await _backend.GetHistoryAsync(request.InstanceId, context.CancellationToken).ConfigureAwait(false)
            ?? throw new SidecarRequestException(SidecarRefusal.NotFound, $"No orchestration instance with ID '{request.InstanceId}' exists in hub '{_backend.HubName}'.")).ConfigureAwait(false);
        const int ChunkSize = 500;
        for (var i = 0; i < history.Count; i += ChunkSize)
        {
            var chunk = new P.HistoryChunk();
            chunk.Events.Add(history.Skip(i).Take(ChunkSize));
            await responseStream.WriteAsync(chunk, context.CancellationToken).ConfigureAwait(false);
        }
    }

    private static P.GetInstanceResponse Found(InstanceRecord? record, bool withPayloads) =>
        record is null ? new P.GetInstanceResponse { Exists = false } : new P.GetInstanceResponse { Exists = true, OrchestrationState = ProtoCodec.ToState(record, withPayloads) };

    /// <summary>Runs a request, turning the backend's refusals and failures into the gRPC statuses the SDK expects.</summary>
    private async Task<T> Guard<T>(string method, Func<Task<T>> run)
    {
        try
        {
            return await run().ConfigureAwait(false);
        }
        catch (SidecarRequestException ex)
        {
            var code = ex.Refusal switch
            {
                SidecarRefusal.NotFound => StatusCode.NotFound,
                SidecarRefusal.AlreadyExists => StatusCode.AlreadyExists,
                SidecarRefusal.FailedPrecondition => StatusCode.FailedPrecondition,
                _ => StatusCode.InvalidArgument,
            };
            throw new RpcException(new Status(code, ex.Message));
        }
        catch (ArgumentException ex)
        {
            throw new RpcException(new Status(StatusCode.InvalidArgument, ex.Message));
        }
        catch (OperationCanceledException)
        {
            throw new RpcException(new Status(StatusCode.Cancelled, $"{method} was cancelled."));
        }
        catch (Exception ex) when (ex is not RpcException)
        {
            // The store is unreachable or similar: Unavailable makes the SDK client retry.
            _logger.ClientRequestFailed(ex, method);
            throw new RpcException(new Status(StatusCode.Unavailable, $"{method} failed in hub '{_backend.HubName}': {ex.GetType().Name}: {ex.Message}"));
        }
    }
}
