using Microsoft.Extensions.Logging;

namespace Fleet.Hosting.Rpc;

/// <summary>Log events of the worker process and its channel (Hosting 4600–4649).</summary>
internal static partial class RpcLogMessages
{
    [LoggerMessage(EventId = 4600, EventName = "WorkerProcessStarted", Level = LogLevel.Information, Message = "Worker process {ProcessId} started (worker id {WorkerId}).")]
    public static partial void WorkerProcessStarted(this ILogger logger, int processId, string workerId);

    [LoggerMessage(EventId = 4601, EventName = "WorkerProcessExited", Level = LogLevel.Information, Message = "Worker process {ProcessId} exited with code {ExitCode}.")]
    public static partial void WorkerProcessExited(this ILogger logger, int processId, int exitCode);

    [LoggerMessage(EventId = 4602, EventName = "WorkerProcessKilled", Level = LogLevel.Warning, Message = "Worker process {ProcessId} did not exit within {Grace}; killing it.")]
    public static partial void WorkerProcessKilled(this ILogger logger, int processId, TimeSpan grace);

    [LoggerMessage(EventId = 4603, EventName = "WorkerStandardOutput", Level = LogLevel.Information, Message = "{Line}")]
    public static partial void WorkerStandardOutput(this ILogger logger, string line);

    [LoggerMessage(EventId = 4604, EventName = "WorkerStandardError", Level = LogLevel.Warning, Message = "{Line}")]
    public static partial void WorkerStandardError(this ILogger logger, string line);

    [LoggerMessage(EventId = 4605, EventName = "WorkerLog", Message = "{Message}")]
    public static partial void WorkerLog(this ILogger logger, LogLevel level, string message);

    [LoggerMessage(EventId = 4606, EventName = "WorkerLogWithException", Message = "{Message}")]
    public static partial void WorkerLogWithException(this ILogger logger, LogLevel level, string message, Exception exception);

    [LoggerMessage(EventId = 4607, EventName = "WorkerMessageDropped", Level = LogLevel.Debug, Message = "A {Content} message was not sent: the worker's stream has ended.")]
    public static partial void WorkerMessageDropped(this ILogger logger, Protocol.StreamingMessage.ContentOneofCase content);

    [LoggerMessage(EventId = 4608, EventName = "UnexpectedWorkerStream", Level = LogLevel.Warning, Message = "Refused a worker stream opening with {Content} for worker id '{WorkerId}': no worker of that id was started.")]
    public static partial void UnexpectedWorkerStream(this ILogger logger, string content, string workerId);

    [LoggerMessage(EventId = 4609, EventName = "WorkerInitialized", Level = LogLevel.Information, Message = "Worker process {ProcessId} initialized (worker {WorkerVersion}); it announced {Count} functions.")]
    public static partial void WorkerInitialized(this ILogger logger, int processId, string workerVersion, int count);

    [LoggerMessage(EventId = 4610, EventName = "WorkerDied", Level = LogLevel.Error, Message = "Worker process {ProcessId} stopped unexpectedly (exit code {ExitCode}); its in-flight invocations failed.")]
    public static partial void WorkerDied(this ILogger logger, int processId, int? exitCode);

    [LoggerMessage(EventId = 4611, EventName = "WorkerRestarting", Level = LogLevel.Warning, Message = "Restarting the worker in {Delay}.")]
    public static partial void WorkerRestarting(this ILogger logger, TimeSpan delay);

    [LoggerMessage(EventId = 4612, EventName = "WorkerRestarted", Level = LogLevel.Information, Message = "Worker process {ProcessId} is live again.")]
    public static partial void WorkerRestarted(this ILogger logger, int processId);

    [LoggerMessage(EventId = 4613, EventName = "WorkerRestartFailed", Level = LogLevel.Error, Message = "The worker could not be restarted: {Reason}")]
    public static partial void WorkerRestartFailed(this ILogger logger, string reason);

    [LoggerMessage(EventId = 4614, EventName = "FunctionReloadFailed", Level = LogLevel.Error, Message = "The restarted worker did not load function {FunctionId}: {Reason}")]
    public static partial void FunctionReloadFailed(this ILogger logger, string functionId, string reason);
}
