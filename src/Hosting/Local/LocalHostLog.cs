using Microsoft.Extensions.Logging;

namespace Fleet.Hosting.Local;

/// <summary>Log events of the local functions host (Hosting 4700–4799).</summary>
internal static partial class LocalHostLog
{
    [LoggerMessage(EventId = 4700, EventName = "FunctionExecuting", Level = LogLevel.Information, Message = "Executing 'Functions.{FunctionName}' (Id={InvocationId})")]
    public static partial void FunctionExecuting(this ILogger logger, string functionName, string invocationId);

    [LoggerMessage(EventId = 4701, EventName = "FunctionSucceeded", Level = LogLevel.Information, Message = "Executed 'Functions.{FunctionName}' (Succeeded, Id={InvocationId}, Duration={DurationMs}ms)")]
    public static partial void FunctionSucceeded(this ILogger logger, string functionName, string invocationId, long durationMs);

    [LoggerMessage(EventId = 4702, EventName = "FunctionFailed", Level = LogLevel.Error, Message = "Executed 'Functions.{FunctionName}' (Failed, Id={InvocationId}, Duration={DurationMs}ms)")]
    public static partial void FunctionFailed(this ILogger logger, string functionName, string invocationId, long durationMs, Exception exception);

    [LoggerMessage(EventId = 4703, EventName = "HttpUnauthorized", Level = LogLevel.Information, Message = "Request to function {FunctionName} refused: no valid key presented.")]
    public static partial void HttpUnauthorized(this ILogger logger, string functionName);

    [LoggerMessage(EventId = 4704, EventName = "HttpForwardFailed", Level = LogLevel.Error, Message = "Forwarding a request for {FunctionName} to the worker failed: {Error}")]
    public static partial void HttpForwardFailed(this ILogger logger, string functionName, string error);

    [LoggerMessage(EventId = 4705, EventName = "FunctionNotLoaded", Level = LogLevel.Warning, Message = "Function {FunctionName} was not loaded: {Reason}")]
    public static partial void FunctionNotLoaded(this ILogger logger, string functionName, string reason);

    [LoggerMessage(EventId = 4706, EventName = "HostStopping", Level = LogLevel.Information, Message = "Stopping: listeners stop, in-flight invocations ({InFlight}) drain for up to {Grace}.")]
    public static partial void HostStopping(this ILogger logger, int inFlight, TimeSpan grace);

    [LoggerMessage(EventId = 4707, EventName = "HostStopped", Level = LogLevel.Information, Message = "Stopped ({Abandoned} invocations still running were abandoned).")]
    public static partial void HostStopped(this ILogger logger, int abandoned);

    [LoggerMessage(EventId = 4708, EventName = "ListenerStopFailed", Level = LogLevel.Error, Message = "The listener of {FunctionName} failed to stop.")]
    public static partial void ListenerStopFailed(this ILogger logger, string functionName, Exception exception);

    [LoggerMessage(EventId = 4709, EventName = "HttpRequestRejectedStopping", Level = LogLevel.Debug, Message = "Request to {FunctionName} answered 503: the host is stopping.")]
    public static partial void HttpRequestRejectedStopping(this ILogger logger, string functionName);

    [LoggerMessage(EventId = 4710, EventName = "AdminInvokeAccepted", Level = LogLevel.Information, Message = "Running {FunctionName} by hand (admin API).")]
    public static partial void AdminInvokeAccepted(this ILogger logger, string functionName);

    [LoggerMessage(EventId = 4711, EventName = "AdminInvokeFailed", Level = LogLevel.Error, Message = "Running {FunctionName} by hand (admin API) failed in the host: {Reason}")]
    public static partial void AdminInvokeFailed(this ILogger logger, string functionName, string reason);
}
