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
    public override Task<P.CompleteTaskResponse> CompleteOrchestratorTask(P.OrchestratorResponse request, ServerCallContext context) =>
        CompleteAsync<OrchestrationLease>(request?.CompletionToken, "orchestration", nameof(CompleteOrchestratorTask), lease => _backend.CompleteOrchestrationAsync(lease, request!, CancellationToken.None));

    /// <inheritdoc />
    public override Task<P.CompleteTaskResponse> CompleteActivityTask(P.ActivityResponse request, ServerCallContext context) =>
        CompleteAsync<ActivityLease>(request?.CompletionToken, "activity", nameof(CompleteActivityTask), lease => _backend.CompleteActivityAsync(lease, request!, CancellationToken.None));

    /// <inheritdoc />
    public override Task<P.CompleteTaskResponse> CompleteEntityTask(P.EntityBatchResult request, ServerCallContext context) =>
        CompleteAsync<EntityLease>(request?.CompletionToken, "entity", nameof(CompleteEntityTask), lease => _backend.CompleteEntityAsync(lease, request!, CancellationToken.None));

    /// <inheritdoc />
    public override async Task<P.AbandonOrchestrationTaskResponse> AbandonTaskOrchestratorWorkItem(P.AbandonOrchestrationTaskRequest request, ServerCallContext context)
    {
        ArgumentNullException.ThrowIfNull(request);
        await AbandonAsync<OrchestrationLease>(request.CompletionToken, "orchestration", lease => _backend.AbandonOrchestrationAsync(lease, null, CancellationToken.None)).ConfigureAwait(false);
        return new P.AbandonOrchestrationTaskResponse();
    }

    /// <inheritdoc />
    public override async Task<P.AbandonActivityTaskResponse> AbandonTaskActivityWorkItem(P.AbandonActivityTaskRequest request, ServerCallContext context)
    {
        ArgumentNullException.ThrowIfNull(request);
        await AbandonAsync<ActivityLease>(request.CompletionToken, "activity", lease => _backend.AbandonActivityAsync(lease, null, CancellationToken.None)).ConfigureAwait(false);
        return new P.AbandonActivityTaskResponse();
    }

    /// <inheritdoc />
    public override async Task<P.AbandonEntityTaskResponse> AbandonTaskEntityWorkItem(P.AbandonEntityTaskRequest request, ServerCallContext context)
    {
        ArgumentNullException.ThrowIfNull(request);
        await AbandonAsync<EntityLease>(request.CompletionToken, "entity", lease => _backend.AbandonEntityAsync(lease, null, CancellationToken.None)).ConfigureAwait(false);
        return new P.AbandonEntityTaskResponse();
    }

    private async Task<P.CompleteTaskResponse> CompleteAsync<T>(string? token, string kind, string method, Func<T, Task> complete)
        where T : class
    {
        ArgumentNullException.ThrowIfNull(token);
        if (Take<T>(token, kind) is { } lease)
        {
            await Guard(method, async () =>
            {
                await complete(lease).ConfigureAwait(false);
                return Completed;
            }).ConfigureAwait(false);
        }

        return Completed;
    }

    private Task AbandonAsync<T>(string token, string kind, Func<T, Task> abandon)
        where T : class =>
        Take<T>(token, kind) is { } lease ? abandon(lease) : Task.CompletedTask;

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
