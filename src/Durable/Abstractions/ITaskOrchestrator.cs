namespace Fleet.Durable;

/// <summary>
/// An orchestrator in its non-generic form, as the worker sees it. Implement
/// <see cref="TaskOrchestrator{TInput,TOutput}"/> in application code; the function host adapts reflected methods
/// through this interface.
/// </summary>
public interface ITaskOrchestrator
{
    /// <summary>The type the input is deserialized to.</summary>
    Type InputType { get; }

    /// <summary>The type of the value the orchestration returns.</summary>
    Type OutputType { get; }

    /// <summary>Runs the orchestration with an input already deserialized to <see cref="InputType"/>.</summary>
    Task<object?> RunAsync(TaskOrchestrationContext context, object? input);
}

/// <summary>
/// Base class for orchestrators. Orchestrator code is replayed from history, so it must be deterministic: read time,
/// GUIDs and timers only from the context and do I/O only in activities.
/// </summary>
/// <typeparam name="TInput">The input type.</typeparam>
/// <typeparam name="TOutput">The output type.</typeparam>
public abstract class TaskOrchestrator<TInput, TOutput> : ITaskOrchestrator
{
    /// <inheritdoc />
    public Type InputType => typeof(TInput);

    /// <inheritdoc />
    public Type OutputType => typeof(TOutput);

    /// <summary>Runs the orchestration.</summary>
    public abstract Task<TOutput> RunAsync(TaskOrchestrationContext context, TInput input);

    // No ConfigureAwait(false): the continuation must stay on the orchestration's own scheduler.
    async Task<object?> ITaskOrchestrator.RunAsync(TaskOrchestrationContext context, object? input) =>
        await RunAsync(context, InputCoercion.Coerce<TInput>(input, context.Name));
}
