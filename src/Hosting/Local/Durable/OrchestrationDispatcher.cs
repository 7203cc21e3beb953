using Fleet.Durable.Grpc;
using Fleet.Hosting.Rpc.Protocol;
using Microsoft.Extensions.Logging;
using P = Microsoft.DurableTask.Protobuf;

namespace Fleet.Hosting.Local.Durable;

/// <summary>
/// Runs orchestration episodes in the worker: the episode's <c>OrchestratorRequest</c> goes in as a base64 string, the
/// <c>OrchestratorResponse</c> comes back base64 in the return value and is committed in one transaction. An unknown
/// orchestrator, a failed invocation or an undecodable answer fails the instance with the reason; a worker that died,
/// a timeout or a host shutdown hands the episode back, so it runs again and nothing is applied twice.
/// </summary>
internal sealed class OrchestrationDispatcher(
    DurableBackend backend, DurableFunctionCatalog catalog, IFunctionInvoker invoker, bool extendedSessions, int concurrency, ILogger logger, TimeProvider time)
    : WorkDispatcher<OrchestrationLease>("orchestration", concurrency, logger, time)
{
    /// <inheritdoc />
    protected override Task<OrchestrationLease> LockNextAsync(CancellationToken cancellationToken) =>
        backend.LockNextOrchestrationAsync(extendedSessions, cancellationToken);

    /// <inheritdoc />
    protected override string InstanceOf(OrchestrationLease lease) => lease.InstanceId;

    /// <inheritdoc />
    protected override async Task ProcessAsync(OrchestrationLease lease, CancellationToken cancellationToken)
    {
        if (!catalog.TryGet(DurableFunctionKind.Orchestrator, lease.Name, out var function))
        {
            var reason = catalog.NotFoundMessage(DurableFunctionKind.Orchestrator, lease.Name);
            Logger.UnknownOrchestrator(lease.InstanceId, reason);
            await FailAsync(lease, DurableFailures.Runtime("OrchestratorFunctionNotFound", reason)).ConfigureAwait(false);
            return;
        }

        var trigger = DurablePayload.Trigger(lease.Request, lease.InstanceId);
        if (await InvokeOrAbandonAsync(invoker, function, trigger, lease, cancellationToken).ConfigureAwait(false) is not { } outcome)
        {
            return;
        }

        if (!outcome.Succeeded)
        {
            // The worker answered with a failure (its Durable executor could not run the orchestrator): retrying the
            // same history fails the same way, so the instance fails with the worker's error, as the extension does.
            var error = DurableFailures.FromInvocation(outcome, function.Name);
            Logger.OrchestratorInvocationFailed(lease.InstanceId, function.Name, $"{error.ErrorType}: {error.ErrorMessage}");
            await FailAsync(lease, new P.TaskFailureDetails
            {
                ErrorType = "FunctionInvocationFailed",
                ErrorMessage = $"Function '{function.Name}' failed with an unhandled exception: {error.ErrorType}: {error.ErrorMessage}",
                InnerFailure = error,
                IsNonRetriable = true,
            }).ConfigureAwait(false);
            return;
        }

        if (!TryDecode(outcome.Response?.ReturnValue, out var response, out var problem))
        {
            Logger.BadOrchestratorPayload(lease.InstanceId, function.Name, problem);
            await FailAsync(lease, DurableFailures.Runtime(
                "InvalidOrchestratorResponse",
                $"The orchestrator function '{function.Name}' answered with {problem}; expected a base64-encoded OrchestratorResponse (check that the app uses Microsoft.Azure.Functions.Worker.Extensions.DurableTask).")).ConfigureAwait(false);
            return;
        }

        await backend.CompleteOrchestrationAsync(lease, response, CancellationToken.None).ConfigureAwait(false);
    }

    /// <summary>Decodes the worker's answer: return_value.string = base64(OrchestratorResponse).</summary>
    internal static bool TryDecode(TypedData? returnValue, out P.OrchestratorResponse response, out string problem) =>
        DurablePayload.TryDecode(returnValue, P.OrchestratorResponse.Parser, out response, out problem);

    private Task FailAsync(OrchestrationLease lease, P.TaskFailureDetails failure)
    {
        var response = new P.OrchestratorResponse { InstanceId = lease.InstanceId };
        response.Actions.Add(new P.OrchestratorAction
        {
            Id = -1,
            CompleteOrchestration = new P.CompleteOrchestrationAction { OrchestrationStatus = P.OrchestrationStatus.Failed, FailureDetails = failure },
        });
        return backend.CompleteOrchestrationAsync(lease, response, CancellationToken.None);
    }

    /// <inheritdoc />
    protected override async Task AbandonAsync(OrchestrationLease lease, string functionName, Exception reason)
    {
        Logger.EpisodeAbandoned(lease.InstanceId, functionName, reason.Message);
        await backend.AbandonOrchestrationAsync(lease, reason, CancellationToken.None).ConfigureAwait(false);
    }
}
