using Fleet.Durable.Grpc;
using Microsoft.Extensions.Logging;
using P = Microsoft.DurableTask.Protobuf;

namespace Fleet.Hosting.Local.Durable;

/// <summary>
/// Runs entity batches in the worker: the batch's <c>EntityBatchRequest</c> goes to the entityTrigger function as a
/// base64 string, the <c>EntityBatchResult</c> comes back base64 in the return value and is committed in one
/// transaction. An unknown entity, a failed invocation or an undecodable answer fails the batch's operations (their
/// callers see the reason); a worker that died, a timeout or a host shutdown hands the batch back, so it runs again
/// and nothing is applied twice.
/// </summary>
internal sealed class EntityDispatcher(
    DurableBackend backend, DurableFunctionCatalog catalog, IFunctionInvoker invoker, int concurrency, ILogger logger, TimeProvider time)
    : WorkDispatcher<EntityLease>("entity", concurrency, logger, time)
{
    /// <inheritdoc />
    protected override Task<EntityLease> LockNextAsync(CancellationToken cancellationToken) => backend.LockNextEntityAsync(cancellationToken);

    /// <inheritdoc />
    protected override string InstanceOf(EntityLease lease) => lease.InstanceId;

    /// <inheritdoc />
    protected override async Task ProcessAsync(EntityLease lease, CancellationToken cancellationToken)
    {
        if (!catalog.TryGet(DurableFunctionKind.Entity, lease.Name, out var function))
        {
            var reason = catalog.NotFoundMessage(DurableFunctionKind.Entity, lease.Name);
            Logger.EntityBatchFails(lease.InstanceId, reason);
            await backend.FailEntityBatchAsync(lease, DurableFailures.Runtime("EntityFunctionNotFound", reason), CancellationToken.None).ConfigureAwait(false);
            return;
        }

        var trigger = DurablePayload.Trigger(lease.BatchRequest, lease.InstanceId);
        if (await InvokeOrAbandonAsync(invoker, function, trigger, lease, cancellationToken).ConfigureAwait(false) is not { } outcome)
        {
            return;
        }

        if (!outcome.Succeeded)
        {
            // The worker answered with a failure (the entity could not be created or dispatched): its operations fail
            // with the worker's error, as the Durable extension does.
            var error = DurableFailures.FromInvocation(outcome, function.Name);
            Logger.EntityBatchFails(lease.InstanceId, $"the invocation of entity function {function.Name} failed: {error.ErrorType}: {error.ErrorMessage}");
            await backend.FailEntityBatchAsync(lease, new P.TaskFailureDetails
            {
                ErrorType = "FunctionInvocationFailed",
                ErrorMessage = $"Invocation of function '{function.Name}' failed with an exception: {error.ErrorType}: {error.ErrorMessage}",
                InnerFailure = error,
                IsNonRetriable = true,
            }, CancellationToken.None).ConfigureAwait(false);
            return;
        }

        if (!DurablePayload.TryDecode(outcome.Response?.ReturnValue, P.EntityBatchResult.Parser, out var result, out var problem))
        {
            var reason = $"the entity function '{function.Name}' answered with {problem}; expected a base64-encoded EntityBatchResult (check that the app uses Microsoft.Azure.Functions.Worker.Extensions.DurableTask)";
            Logger.EntityBatchFails(lease.InstanceId, reason);
            await backend.FailEntityBatchAsync(lease, DurableFailures.Runtime("InvalidEntityResponse", reason), CancellationToken.None).ConfigureAwait(false);
            return;
        }

        await backend.CompleteEntityAsync(lease, result, CancellationToken.None).ConfigureAwait(false);
    }

    /// <inheritdoc />
    protected override async Task AbandonAsync(EntityLease lease, string functionName, Exception reason)
    {
        Logger.EntityBatchAbandoned(lease.InstanceId, functionName, reason.Message);
        await backend.AbandonEntityAsync(lease, reason, CancellationToken.None).ConfigureAwait(false);
    }
}
