namespace Fleet.Hosting.Local.Durable;

/// <summary>
/// Creates the "listener" of one Durable function: durable work is not per function (the backend hands out whatever
/// instance is due), so each function registers with the host's <see cref="DurableFunctionsRuntime"/>, whose
/// dispatchers pull the work and route it by name.
/// </summary>
internal abstract class DurableTriggerListenerFactory(DurableFunctionsRuntime runtime, DurableFunctionKind kind, string triggerType) : ITriggerListenerFactory
{
    /// <inheritdoc />
    public string TriggerType => triggerType;

    /// <inheritdoc />
    public bool TryCreate(FunctionSpec function, TriggerListenerContext context, out ITriggerListener? listener, out string? notLoadedReason)
    {
        ArgumentNullException.ThrowIfNull(function);
        ArgumentNullException.ThrowIfNull(context);
        if (!runtime.TryRegister(kind, function, context.Invoker, out notLoadedReason))
        {
            listener = null;
            return false;
        }

        listener = new Listener(runtime);
        return true;
    }

    private sealed class Listener(DurableFunctionsRuntime runtime) : ITriggerListener
    {
        public Task StartAsync(CancellationToken cancellationToken) => runtime.ListenerStartedAsync(cancellationToken);

        public Task StopAsync(CancellationToken cancellationToken) => runtime.StopAsync(cancellationToken);

        public ValueTask DisposeAsync() => ValueTask.CompletedTask;
    }
}

/// <summary>Listeners for <c>orchestrationTrigger</c> functions.</summary>
internal sealed class OrchestrationTriggerListenerFactory(DurableFunctionsRuntime runtime)
    : DurableTriggerListenerFactory(runtime, DurableFunctionKind.Orchestrator, "orchestrationTrigger");

/// <summary>Listeners for <c>activityTrigger</c> functions.</summary>
internal sealed class ActivityTriggerListenerFactory(DurableFunctionsRuntime runtime)
    : DurableTriggerListenerFactory(runtime, DurableFunctionKind.Activity, "activityTrigger");

/// <summary>Listeners for <c>entityTrigger</c> functions.</summary>
internal sealed class EntityTriggerListenerFactory(DurableFunctionsRuntime runtime)
    : DurableTriggerListenerFactory(runtime, DurableFunctionKind.Entity, "entityTrigger");
