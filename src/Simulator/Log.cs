using Fleet.Simulator.Api;
using Fleet.Simulator.Auth;


namespace Fleet.Simulator;

/// <summary>The simulator's log messages (event ids 6000–6999).</summary>
internal static partial class Log
{
    [LoggerMessage(EventId = 6000, EventName = "SimulatorStarted", Level = LogLevel.Debug,
        Message = "Fleet simulator listening on {BaseAddress}: {FleetSummary}")]
    public static partial void SimulatorStarted(this ILogger logger, Uri baseAddress, string fleetSummary);

    [LoggerMessage(EventId = 6001, EventName = "SimulatorStopped", Level = LogLevel.Information,
        Message = "Fleet simulator on {BaseAddress} stopped")]
    public static partial void SimulatorStopped(this ILogger logger, Uri baseAddress);

    [LoggerMessage(EventId = 6002, EventName = "OperationFinished", Level = LogLevel.Debug,
        Message = "Operation {OperationId} ({OperationType}) finished: {State}")]
    public static partial void OperationFinished(this ILogger logger, Guid operationId, OperationType operationType, OperationState state);

    [LoggerMessage(EventId = 6003, EventName = "RequestThrottled", Level = LogLevel.Debug,
        Message = "Throttled a request of {ThrottleKey}; retry after {RetryAfterSeconds} s")]
    public static partial void RequestThrottled(this ILogger logger, string throttleKey, int retryAfterSeconds);

    [LoggerMessage(EventId = 6004, EventName = "FaultInjected", Level = LogLevel.Debug,
        Message = "Injected {Status} into {Method} {Path}")]
    public static partial void FaultInjected(this ILogger logger, int status, string method, string path);

    [LoggerMessage(EventId = 6005, EventName = "TokenRejected", Level = LogLevel.Debug,
        Message = "Rejected the bearer token of {Method} {Path}: {Reason}")]
    public static partial void TokenRejected(this ILogger logger, string method, string path, TokenFault reason);

    [LoggerMessage(EventId = 6006, EventName = "TokenIssued", Level = LogLevel.Debug,
        Message = "Issued a token for {IdentityName} with audience {Resource}, valid until {ExpiresOn}")]
    public static partial void TokenIssued(this ILogger logger, string identityName, string resource, DateTimeOffset expiresOn);

    [LoggerMessage(EventId = 6007, EventName = "TokenRequestRejected", Level = LogLevel.Debug,
        Message = "Rejected a managed-identity token request: {Reason}")]
    public static partial void TokenRequestRejected(this ILogger logger, string reason);

    [LoggerMessage(EventId = 6008, EventName = "SettingsChanged", Level = LogLevel.Information,
        Message = "Simulator settings changed: {Settings}")]
    public static partial void SettingsChanged(this ILogger logger, SimulatorSettings settings);

    [LoggerMessage(EventId = 6009, EventName = "FleetReset", Level = LogLevel.Information,
        Message = "Fleet reset to seed {Seed}")]
    public static partial void FleetReset(this ILogger logger, int seed);
}
