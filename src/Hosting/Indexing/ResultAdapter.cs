using System.Reflection;

namespace Fleet.Hosting.Indexing;

/// <summary>Awaits whatever a function returns (void, T, Task, Task&lt;T&gt;, ValueTask, ValueTask&lt;T&gt;) and yields the result.</summary>
internal static class ResultAdapter
{
    /// <param name="returnType">The method's return type.</param>
    /// <param name="continueOnCapturedContext">True for orchestrators: their code must resume on the orchestration's scheduler.</param>
    public static (Type ResultType, Func<object?, ValueTask<object?>> Await) For(Type returnType, bool continueOnCapturedContext)
    {
        if (returnType == typeof(void))
        {
            return (typeof(void), _ => ValueTask.FromResult<object?>(null));
        }

        if (returnType == typeof(Task))
        {
            return (typeof(void), async value =>
            {
                await ((Task)value!).ConfigureAwait(continueOnCapturedContext);
                return null;
            });
        }

        if (returnType == typeof(ValueTask))
        {
            return (typeof(void), async value =>
            {
                await ((ValueTask)value!).ConfigureAwait(continueOnCapturedContext);
                return null;
            });
        }

        if (returnType.IsGenericType && returnType.GetGenericTypeDefinition() == typeof(Task<>))
        {
            var result = returnType.GetProperty(nameof(Task<int>.Result))!;
            return (returnType.GetGenericArguments()[0], async value =>
            {
                var task = (Task)value!;
                await task.ConfigureAwait(continueOnCapturedContext);
                return result.GetValue(task);
            });
        }

        if (returnType.IsGenericType && returnType.GetGenericTypeDefinition() == typeof(ValueTask<>))
        {
            var asTask = returnType.GetMethod(nameof(ValueTask<int>.AsTask))!;
            var result = typeof(Task<>).MakeGenericType(returnType.GetGenericArguments()[0]).GetProperty(nameof(Task<int>.Result))!;
            return (returnType.GetGenericArguments()[0], async value =>
            {
                var task = (Task)asTask.Invoke(value, BindingFlags.DoNotWrapExceptions, null, null, null)!;
                await task.ConfigureAwait(continueOnCapturedContext);
                return result.GetValue(task);
            });
        }

        return (returnType, value => ValueTask.FromResult(value));
    }
}
