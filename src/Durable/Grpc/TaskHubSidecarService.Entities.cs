using Grpc.Core;
using P = Microsoft.DurableTask.Protobuf;

namespace Fleet.Durable.Grpc;

/// <summary>The entity RPCs of the SDK's entity client.</summary>
public sealed partial class TaskHubSidecarService
{
    /// <inheritdoc />
    public override Task<P.SignalEntityResponse> SignalEntity(P.SignalEntityRequest request, ServerCallContext context) =>
        Guard(nameof(SignalEntity), async () =>
        {
            await _backend.SignalEntityAsync(request, context.CancellationToken).ConfigureAwait(false);
            return new P.SignalEntityResponse();
        });

    /// <inheritdoc />
    public override Task<P.GetEntityResponse> GetEntity(P.GetEntityRequest request, ServerCallContext context) =>
        Guard(nameof(GetEntity), async () =>
            await _backend.GetEntityAsync(request.InstanceId, request.IncludeState, context.CancellationToken).ConfigureAwait(false) is { } entity
                ? new P.GetEntityResponse { Exists = true, Entity = entity }
                : new P.GetEntityResponse { Exists = false });

    /// <inheritdoc />
    public override Task<P.QueryEntitiesResponse> QueryEntities(P.QueryEntitiesRequest request, ServerCallContext context) =>
        Guard(nameof(QueryEntities), () => _backend.QueryEntitiesAsync(request.Query ?? new P.EntityQuery(), context.CancellationToken));

    /// <inheritdoc />
    public override Task<P.CleanEntityStorageResponse> CleanEntityStorage(P.CleanEntityStorageRequest request, ServerCallContext context) =>
        Guard(nameof(CleanEntityStorage), () => _backend.CleanEntityStorageAsync(request, context.CancellationToken));
}
