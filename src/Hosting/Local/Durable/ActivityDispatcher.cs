using Fleet.Durable.Grpc;
using Fleet.Hosting.Rpc.Protocol;
using Microsoft.Extensions.Logging;
using P = Microsoft.DurableTask.Protobuf;

namespace Fleet.Hosting.Local.Durable;

/// <summary>
/// Runs activity calls in the worker: the input unwrapped from its one-element array, the raw return value
/// JSON-serialized before it is stored, the user's exception parsed into failure details. A worker that died, a timeout
/// or a host shutdown hands the call back, so it runs again (at least once) and its result is recorded once.
/// </summary>
internal sealed class ActivityDispatcher(
    DurableBackend backend, DurableFunctionCatalog catalog, IFunctionInvoker invoker, int concurrency, ILogger logger, TimeProvider time)
    : WorkDispatcher<ActivityLease>("activity", concurrency, logger, time)
{
    /// <inheritdoc />
    protected override Task<ActivityLease> LockNextAsync(CancellationToken cancellationToken) => backend.LockNextActivityAsync(cancellationToken);

    /// <inheritdoc />
    protected override string InstanceOf(ActivityLease lease) => lease.Request.OrchestrationInstance?.InstanceId ?? string.Empty;

    /// <inheritdoc />
    protected override async Task ProcessAsync(ActivityLease lease, CancellationToken cancellationToken)
    {
        var request = lease.Request;
        var instanceId = InstanceOf(lease);
        var response = new P.ActivityResponse { InstanceId = instanceId, TaskId = request.TaskId };
        if (!catalog.TryGet(DurableFunctionKind.Activity, request.Name, out var function))
        {
            var reason = catalog.NotFoundMessage(DurableFunctionKind.Activity, request.Name);
            Logger.UnknownActivity(instanceId, request.TaskId, reason);
            response.FailureDetails = DurableFailures.Runtime("ActivityFunctionNotFound", reason);
            await backend.CompleteActivityAsync(lease, response, CancellationToken.None).ConfigureAwait(false);
            return;
        }

        string? input;
        try
        {
            input = ActivityPayload.UnwrapInput(request.Input);
        }
        catch (FormatException ex)
        {
            response.FailureDetails = DurableFailures.Runtime("InvalidActivityInput", $"Activity '{function.Name}': {ex.Message}");
            await backend.CompleteActivityAsync(lease, response, CancellationToken.None).ConfigureAwait(false);
            return;
        }

        var trigger = new TriggerInvocation(
            ActivityPayload.ToTriggerValue(input),
            new Dictionary<string, TypedData>(StringComparer.Ordinal) { ["instanceId"] = new() { String = instanceId } },
            Retry: null);
        if (await InvokeOrAbandonAsync(invoker, function, trigger, lease, cancellationToken).ConfigureAwait(false) is not { } outcome)
        {
            return;
        }

        if (outcome.Succeeded)
        {
            try
            {
                response.Result = ActivityPayload.SerializeOutput(outcome.Response?.ReturnValue);
            }
            catch (FormatException ex)
            {
                response.FailureDetails = DurableFailures.Runtime("InvalidActivityOutput", $"Activity '{function.Name}': {ex.Message}");
            }
        }
        else
        {
            response.FailureDetails = DurableFailures.FromInvocation(outcome, function.Name);
        }

        await backend.CompleteActivityAsync(lease, response, CancellationToken.None).ConfigureAwait(false);
    }

    /// <inheritdoc />
    protected override async Task AbandonAsync(ActivityLease lease, string functionName, Exception reason)
    {
        Logger.ActivityAbandoned(functionName, InstanceOf(lease), lease.Request.TaskId, reason.Message);
        await backend.AbandonActivityAsync(lease, reason, CancellationToken.None).ConfigureAwait(false);
    }
}
