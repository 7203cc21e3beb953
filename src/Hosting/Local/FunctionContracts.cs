using System.Text.Json.Nodes;
using Fleet.Hosting.Rpc.Protocol;
using Microsoft.Extensions.Configuration;
using Microsoft.Extensions.Logging;

namespace Fleet.Hosting.Local;

/// <summary>One entry of a function's <c>raw_bindings</c>: name, type, direction, data type and every setting.</summary>
/// <param name="Name">The binding name (<c>$return</c> for the return value).</param>
/// <param name="Type">The binding type, e.g. <c>httpTrigger</c>, <c>queue</c>, <c>blob</c>.</param>
/// <param name="Direction"><c>In</c>, <c>Out</c> or <c>InOut</c>, as the worker wrote it.</param>
/// <param name="DataType">The declared data type (<c>String</c>, <c>Binary</c>, <c>Stream</c>) or null.</param>
/// <param name="Raw">The whole JSON object: queueName, connection, schedule, path, route, authLevel, ...</param>
public sealed record BindingSpec(string Name, string Type, string Direction, string? DataType, JsonObject Raw);

/// <summary>A function the worker announced, with its trigger and the other bindings split by direction.</summary>
/// <param name="FunctionId">The worker's id for the function (used in every InvocationRequest).</param>
/// <param name="Name">The function name.</param>
/// <param name="Trigger">The one trigger binding.</param>
/// <param name="Inputs">Input bindings other than the trigger.</param>
/// <param name="Outputs">Output bindings, <c>$return</c> included.</param>
/// <param name="Metadata">The worker's metadata as it sent it (echoed in FunctionLoadRequest).</param>
public sealed record FunctionSpec(
    string FunctionId, string Name, BindingSpec Trigger, IReadOnlyList<BindingSpec> Inputs, IReadOnlyList<BindingSpec> Outputs,
    RpcFunctionMetadata Metadata);

/// <summary>What a trigger hands the invoker: the trigger's value, its binding data and, on a retry, the retry context.</summary>
/// <param name="TriggerValue">The trigger binding's value (RpcHttp, a queue message, timer info JSON, ...).</param>
/// <param name="TriggerMetadata">Binding data (route values, DequeueCount, ...), read by the worker as BindingData.</param>
/// <param name="Retry">The retry context, or null on a first attempt.</param>
public sealed record TriggerInvocation(
    TypedData TriggerValue, IReadOnlyDictionary<string, TypedData> TriggerMetadata, RetryContext? Retry);

/// <summary>
/// The result of one invocation. Failed means the user's code threw, the worker died mid-invocation, or the
/// invocation ran past <c>functionTimeout</c>; <see cref="Exception"/> then says which.
/// </summary>
/// <param name="Succeeded">Whether the function completed and its outputs were written.</param>
/// <param name="Response">The worker's response, when one arrived.</param>
/// <param name="Exception">The failure (the user's exception with type, message and stack), when failed.</param>
public sealed record InvocationOutcome(bool Succeeded, InvocationResponse? Response, RpcException? Exception);

/// <summary>
/// Runs a function in the worker: fills invocation and function ids and the trace context, reads input bindings,
/// sends the InvocationRequest, awaits the response, writes output bindings and enforces <c>functionTimeout</c>.
/// While the worker restarts it waits for a live one.
/// </summary>
public interface IFunctionInvoker
{
    /// <summary>Invokes <paramref name="function"/> once.</summary>
    Task<InvocationOutcome> InvokeAsync(FunctionSpec function, TriggerInvocation invocation, CancellationToken cancellationToken);
}

/// <summary>Reads an input binding (e.g. <c>blob</c>) before an invocation.</summary>
public interface IInputBindingProvider
{
    /// <summary>The binding type this provider reads, as in raw_bindings (e.g. <c>blob</c>).</summary>
    string BindingType { get; }

    /// <summary>Reads the value the worker gets for <paramref name="binding"/>.</summary>
    Task<TypedData> ReadAsync(FunctionSpec function, BindingSpec binding, TriggerInvocation invocation, CancellationToken cancellationToken);
}

/// <summary>Writes an output binding's value (e.g. <c>queue</c>, <c>blob</c>) after a successful invocation.</summary>
public interface IOutputBindingHandler
{
    /// <summary>The binding type this handler writes, as in raw_bindings (e.g. <c>queue</c>).</summary>
    string BindingType { get; }

    /// <summary>Writes <paramref name="value"/> to the binding's target.</summary>
    Task WriteAsync(FunctionSpec function, BindingSpec binding, TypedData value, CancellationToken cancellationToken);
}

/// <summary>A running trigger source for one function (a timer, a queue poller).</summary>
public interface ITriggerListener : IAsyncDisposable
{
    /// <summary>Starts taking work.</summary>
    Task StartAsync(CancellationToken cancellationToken);

    /// <summary>Stops taking new work and drains in-flight invocations until <paramref name="cancellationToken"/> fires.</summary>
    Task StopAsync(CancellationToken cancellationToken);
}

/// <summary>Creates listeners for one trigger type (e.g. <c>timerTrigger</c>, <c>queueTrigger</c>).</summary>
public interface ITriggerListenerFactory
{
    /// <summary>The trigger type, as in raw_bindings.</summary>
    string TriggerType { get; }

    /// <summary>Creates the listener, or says (in <paramref name="notLoadedReason"/>) why the function cannot load.</summary>
    bool TryCreate(FunctionSpec function, TriggerListenerContext context, out ITriggerListener? listener, out string? notLoadedReason);
}

/// <summary>What a trigger listener factory gets from the host.</summary>
/// <param name="Invoker">Runs the function.</param>
/// <param name="AppSettings">App settings: local.settings.json <c>Values</c>, then the environment.</param>
/// <param name="HostJson">host.json as written.</param>
/// <param name="ScriptRoot">The app's output folder.</param>
/// <param name="LoggerFactory">The host's logging.</param>
/// <param name="Time">The clock.</param>
public sealed record TriggerListenerContext(
    IFunctionInvoker Invoker, IConfiguration AppSettings, JsonObject HostJson, string ScriptRoot, ILoggerFactory LoggerFactory,
    TimeProvider Time);

/// <summary>
/// Builds what a function of one trigger type gets when an operator runs it by hand through
/// <c>POST /admin/functions/{name}</c> with <c>{"input": "..."}</c> (as the Functions host's admin API does for
/// non-HTTP functions). Implemented by the trigger listener factories whose triggers can be run that way.
/// </summary>
public interface IAdminInvocationFactory
{
    /// <summary>The trigger type, as in raw_bindings.</summary>
    string TriggerType { get; }

    /// <summary>The invocation for <paramref name="input"/> (null when the request gave none).</summary>
    TriggerInvocation ForAdminInput(FunctionSpec function, string? input, TimeProvider time);
}
