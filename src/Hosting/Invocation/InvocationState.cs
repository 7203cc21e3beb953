using Microsoft.AspNetCore.Http;

namespace Fleet.Hosting.Invocation;

/// <summary>What parameter binders read from: the trigger value, binding data, services and cancellation.</summary>
internal sealed class InvocationState(
    FunctionContext context, object? triggerValue, IReadOnlyDictionary<string, object?> bindingData, HttpContext? httpContext)
{
    public FunctionContext Context { get; } = context;

    /// <summary>The raw trigger value: a QueueMessage, TimerInfo, HttpRequest, activity input or orchestration context.</summary>
    public object? TriggerValue { get; } = triggerValue;

    public IReadOnlyDictionary<string, object?> BindingData { get; } = bindingData;

    public HttpContext? HttpContext { get; } = httpContext;

    public IServiceProvider Services => Context.InstanceServices;

    public CancellationToken CancellationToken => Context.CancellationToken;
}

/// <summary>
/// The trigger input could not be bound to the function's parameters (bad JSON, failed validation, an unconvertible
/// route value): the function never ran, and running it again would fail the same way.
/// </summary>
internal sealed class FunctionBindingException(string parameterName, string message, Exception? innerException = null)
    : Exception(message, innerException)
{
    public string ParameterName { get; } = parameterName;
}
