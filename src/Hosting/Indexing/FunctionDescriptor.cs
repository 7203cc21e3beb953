using System.Reflection;
using Fleet.Hosting.Invocation;
using Fleet.Storage;
using Microsoft.Extensions.DependencyInjection;
using NCrontab;

namespace Fleet.Hosting.Indexing;

/// <summary>The kind of trigger a function has.</summary>
internal enum TriggerKind
{
    Timer,
    Queue,
    Http,
    Orchestration,
    Activity,
}

/// <summary>One indexed function: its method, trigger, parameter binders and result adapter.</summary>
internal sealed class FunctionDescriptor
{
    public required string Name { get; init; }

    public required MethodInfo Method { get; init; }

    public required TriggerKind Kind { get; init; }

    public required FunctionDefinition Definition { get; init; }

    public required IReadOnlyList<ParameterBinding> Parameters { get; init; }

    /// <summary>Turns the method's return value (Task, ValueTask, Task&lt;T&gt;, T, void) into the result.</summary>
    public required Func<object?, ValueTask<object?>> AwaitResult { get; init; }

    /// <summary>The result type with Task/ValueTask unwrapped; <see cref="void"/> for none.</summary>
    public required Type ResultType { get; init; }

    /// <summary>Creates the declaring class per invocation; null for static methods.</summary>
    public ObjectFactory? CreateInstance { get; init; }

    /// <summary>Disabled by <c>AzureWebJobs.&lt;name&gt;.Disabled</c>: indexed, never run.</summary>
    public bool Disabled { get; init; }

    public bool UsesDurableClient { get; init; }

    public TimerTrigger? Timer { get; init; }

    public QueueTrigger? Queue { get; init; }

    public HttpTrigger? Http { get; init; }

    /// <summary>The activity's input type (activity functions only).</summary>
    public Type? ActivityInputType { get; init; }

    public override string ToString() => $"{Name} ({Definition.TriggerType})";
}

/// <summary>A timer trigger after <c>%Setting%</c> resolution.</summary>
internal sealed record TimerTrigger(string Expression, CrontabSchedule Schedule, bool RunOnStartup, bool UseMonitor);

/// <summary>A queue trigger after <c>%Setting%</c> resolution.</summary>
internal sealed record QueueTrigger(string QueueName, string ConnectionName)
{
    public const int MaxQueueNameLength = 63;
    public const string PoisonSuffix = "-poison";

    /// <summary>The poison queue, or null for a queue that is itself a poison queue.</summary>
    public string? PoisonQueueName => QueueName.EndsWith(PoisonSuffix, StringComparison.Ordinal) ? null : QueueName + PoisonSuffix;
}

/// <summary>An HTTP trigger after <c>%Setting%</c> resolution.</summary>
internal sealed record HttpTrigger(string Route, string Pattern, IReadOnlyList<string> Methods, AuthorizationLevel Level, IReadOnlyCollection<string> RouteParameters);

/// <summary>Produces one argument of an invocation.</summary>
/// <param name="Name">The parameter name.</param>
/// <param name="Bind">Returns the value; throws <see cref="FunctionBindingException"/> when the input cannot be bound.</param>
internal sealed record ParameterBinding(string Name, Func<InvocationState, object?> Bind);

/// <summary>Queue message metadata a function parameter can bind by name.</summary>
internal static class QueueBindingData
{
    public static readonly IReadOnlyDictionary<string, Type> Names = new Dictionary<string, Type>(StringComparer.OrdinalIgnoreCase)
    {
        ["Id"] = typeof(string),
        ["PopReceipt"] = typeof(string),
        ["QueueTrigger"] = typeof(string),
        ["DequeueCount"] = typeof(long),
        ["InsertionTime"] = typeof(DateTimeOffset),
        ["ExpirationTime"] = typeof(DateTimeOffset),
        ["NextVisibleTime"] = typeof(DateTimeOffset),
    };

    public static Dictionary<string, object?> For(QueueMessage message) => new(StringComparer.OrdinalIgnoreCase)
    {
        ["Id"] = message.MessageId,
        ["PopReceipt"] = message.PopReceipt,
        ["QueueTrigger"] = message.MessageText,
        ["DequeueCount"] = message.DequeueCount,
        ["InsertionTime"] = message.InsertedOn,
        ["ExpirationTime"] = message.ExpiresOn,
        ["NextVisibleTime"] = message.NextVisibleOn,
    };
}
