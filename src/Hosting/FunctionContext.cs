using Microsoft.Extensions.DependencyInjection;
using Microsoft.Extensions.Logging;

namespace Fleet.Hosting;

/// <summary>What a function knows about its invocation: id, definition, services, cancellation and binding data.</summary>
public sealed class FunctionContext
{
    internal FunctionContext(
        string invocationId, FunctionDefinition definition, IServiceProvider services,
        IReadOnlyDictionary<string, object?> bindingData, CancellationToken cancellationToken)
    {
        InvocationId = invocationId;
        FunctionDefinition = definition;
        InstanceServices = services;
        BindingContext = new BindingContext(bindingData);
        CancellationToken = cancellationToken;
    }

    /// <summary>This invocation's id (also in every log line of the invocation).</summary>
    public string InvocationId { get; }

    /// <summary>The function being run.</summary>
    public FunctionDefinition FunctionDefinition { get; }

    /// <summary>The invocation's DI scope.</summary>
    public IServiceProvider InstanceServices { get; }

    /// <summary>Trigger metadata (e.g. a queue message's <c>Id</c> and <c>DequeueCount</c>, HTTP route values).</summary>
    public BindingContext BindingContext { get; }

    /// <summary>Signalled when the invocation must stop: function timeout, host shutdown after the drain period, or
    /// the HTTP client going away.</summary>
    public CancellationToken CancellationToken { get; }

    /// <summary>Per-invocation state for the app's own use.</summary>
    public IDictionary<object, object> Items { get; } = new Dictionary<object, object>();
}

/// <summary>Static facts about a function.</summary>
/// <param name="Name">The function name (from <see cref="FunctionAttribute"/>).</param>
/// <param name="EntryPoint">The method, as <c>Namespace.Type.Method</c>.</param>
/// <param name="TriggerType">The trigger: <c>timerTrigger</c>, <c>queueTrigger</c>, <c>httpTrigger</c>,
/// <c>orchestrationTrigger</c> or <c>activityTrigger</c>.</param>
public sealed record FunctionDefinition(string Name, string EntryPoint, string TriggerType);

/// <summary>The trigger's binding data.</summary>
public sealed class BindingContext
{
    internal BindingContext(IReadOnlyDictionary<string, object?> bindingData) => BindingData = bindingData;

    /// <summary>Trigger metadata by name (case-insensitive).</summary>
    public IReadOnlyDictionary<string, object?> BindingData { get; }
}

/// <summary>Loggers for function code, as in the isolated worker.</summary>
public static class FunctionContextLoggerExtensions
{
    /// <summary>A logger with the given category; log scopes carry the function name and invocation id.</summary>
    public static ILogger GetLogger(this FunctionContext context, string categoryName)
    {
        ArgumentNullException.ThrowIfNull(context);
        return context.InstanceServices.GetRequiredService<ILoggerFactory>().CreateLogger(categoryName);
    }

    /// <summary>A logger whose category is <typeparamref name="T"/>'s name.</summary>
    public static ILogger<T> GetLogger<T>(this FunctionContext context)
    {
        ArgumentNullException.ThrowIfNull(context);
        return context.InstanceServices.GetRequiredService<ILogger<T>>();
    }
}
