namespace Fleet.Durable;

/// <summary>
/// An activity in its non-generic form, as the worker sees it. Implement <see cref="TaskActivity{TInput,TOutput}"/>
/// in application code; the function host adapts reflected methods through this interface.
/// </summary>
public interface ITaskActivity
{
    /// <summary>The type the input is deserialized to.</summary>
    Type InputType { get; }

    /// <summary>The type of the value the activity returns.</summary>
    Type OutputType { get; }

    /// <summary>Runs the activity with an input already deserialized to <see cref="InputType"/>.</summary>
    Task<object?> RunAsync(TaskActivityContext context, object? input);
}

/// <summary>Base class for activities: the unit of work that may do I/O. Activities run at least once.</summary>
/// <typeparam name="TInput">The input type.</typeparam>
/// <typeparam name="TOutput">The output type.</typeparam>
public abstract class TaskActivity<TInput, TOutput> : ITaskActivity
{
    /// <inheritdoc />
    public Type InputType => typeof(TInput);

    /// <inheritdoc />
    public Type OutputType => typeof(TOutput);

    /// <summary>Runs the activity.</summary>
    public abstract Task<TOutput> RunAsync(TaskActivityContext context, TInput input);

    async Task<object?> ITaskActivity.RunAsync(TaskActivityContext context, object? input) =>
        await RunAsync(context, InputCoercion.Coerce<TInput>(input, context.Name)).ConfigureAwait(false);
}

internal static class InputCoercion
{
    // A null input becomes default(T); any other mismatch is a caller error, as in Microsoft.DurableTask.
    public static T Coerce<T>(object? input, TaskName name) => input switch
    {
        null => default!,
        T typed => typed,
        _ => throw new ArgumentException(
            $"Input of type '{input.GetType()}' does not match the input type '{typeof(T)}' of '{name}'.",
            nameof(input)),
    };
}
