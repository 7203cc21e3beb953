using Grpc.Core;
using P = Microsoft.DurableTask.Protobuf;

namespace Fleet.Durable.Grpc;

/// <summary>The standalone worker side of the sidecar: the work-item stream and the completions that settle it.</summary>
public sealed partial class TaskHubSidecarService
{
    private static readonly P.CompleteTaskResponse Completed = new();

    /// <inheritdoc />
    public override async Task GetWorkItems(P.GetWorkItemsRequest request, IServerStreamWriter<P.WorkItem> responseStream, ServerCallContext context)
    {
        ArgumentNullException.ThrowIfNull(request);
        ArgumentNullException.ThrowIfNull(context);
        await _backend.StartAsync(context.CancellationToken).ConfigureAwait(false);
        _logger.WorkerConnected(_backend.HubName, request.MaxConcurrentOrchestrationWorkItems, request.MaxConcurrentActivityWorkItems, request.MaxConcurrentEntityWorkItems);
        using var stream = new WorkItemStream(_backend, _tokens, request, _time, _logger);
        await stream.RunAsync(responseStream, context.CancellationToken).ConfigureAwait(false);
    }

    /// <inheritdoc />
    public override async Task<P.CompleteTaskResponse> CompleteOrchestratorTask(P.OrchestratorResponse request, ServerCallContext context)
    {
        ArgumentNullException.ThrowIfNull(request);
        if (Take<OrchestrationLease>(request.CompletionToken, "orchestration") is { } lease)
        {
            await Guard(nameof(CompleteOrchestratorTask), async () =>
            {
                await _backend.CompleteOrchestrationAsync(lease, request, CancellationToken.None).ConfigureAwait(false);
                return Completed;
            }).ConfigureAwait(false);
        }

        return Completed;
    }

    /// <inheritdoc />
    public override async Task<P.CompleteTaskResponse> CompleteActivityTask(P.ActivityResponse request, ServerCallContext context)
    {
        ArgumentNullException.ThrowIfNull(request);
        if (Take<ActivityLease>(request.CompletionToken, "activity") is { } lease)
        {
            await Guard(nameof(CompleteActivityTask), async () =>
            {
                await _backend.CompleteActivityAsync(lease, request, CancellationToken.None).ConfigureAwait(false);
                return Completed;
            }).ConfigureAwait(false);
        }

        return Completed;
    }

    /// <inheritdoc />
    public override async Task<P.AbandonOrchestrationTaskResponse> AbandonTaskOrchestratorWorkItem(P.AbandonOrchestrationTaskRequest request, ServerCallContext context)
    {
        ArgumentNullException.ThrowIfNull(request);
        if (Take<OrchestrationLease>(request.CompletionToken, "orchestration") is { } lease)
        {
            await _backend.AbandonOrchestrationAsync(lease, null, CancellationToken.None).ConfigureAwait(false);
        }

        return new P.AbandonOrchestrationTaskResponse();
    }

    /// <inheritdoc />
    public override async Task<P.AbandonActivityTaskResponse> AbandonTaskActivityWorkItem(P.AbandonActivityTaskRequest request, ServerCallContext context)
    {
        ArgumentNullException.ThrowIfNull(request);
        if (Take<ActivityLease>(request.CompletionToken, "activity") is { } lease)
        {
            await _backend.AbandonActivityAsync(lease, null, CancellationToken.None).ConfigureAwait(false);
        }

        return new P.AbandonActivityTaskResponse();
    }

    private T? Take<T>(string token, string kind)
        where T : class
    {
        var lease = _tokens.Take<T>(token);
        if (lease is null)
        {
            // Already settled (a retried completion) or given back when the stream ended: applying it twice is what
            // this refusal prevents, so the worker is told nothing went wrong.
            _logger.UnknownCompletionToken(kind);
        }

        return lease;
    }
}
