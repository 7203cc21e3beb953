namespace Fleet.Simulator.IoTConnect;

/// <summary>Log events of the simulated IoTConnect (Simulator range, 6700–6799). Tokens and passwords are never logged.</summary>
internal static partial class Log
{
    [LoggerMessage(EventId = 6700, EventName = "IoTConnectLogin", Level = LogLevel.Debug,
        Message = "IoTConnect login of {Username} to solution {Solution}")]
    public static partial void IoTConnectLogin(this ILogger logger, string username, string solution);

    [LoggerMessage(EventId = 6701, EventName = "IoTConnectLoginRejected", Level = LogLevel.Debug,
        Message = "Rejected an IoTConnect login: {Reason}")]
    public static partial void IoTConnectLoginRejected(this ILogger logger, string reason);

    [LoggerMessage(EventId = 6702, EventName = "IoTConnectRefreshRejected", Level = LogLevel.Debug,
        Message = "Rejected an IoTConnect token refresh (unknown, used, revoked or expired refresh token)")]
    public static partial void IoTConnectRefreshRejected(this ILogger logger);

    [LoggerMessage(EventId = 6703, EventName = "IoTConnectTokenRejected", Level = LogLevel.Debug,
        Message = "Rejected the IoTConnect access token of {Method} {Path}: {Reason}")]
    public static partial void IoTConnectTokenRejected(this ILogger logger, string method, string path, SessionFault reason);

    [LoggerMessage(EventId = 6704, EventName = "IoTConnectConnectionDropped", Level = LogLevel.Debug,
        Message = "Dropped the connection of {Method} {Path} (injected)")]
    public static partial void IoTConnectConnectionDropped(this ILogger logger, string method, string path);

    [LoggerMessage(EventId = 6705, EventName = "IoTConnectSettingsChanged", Level = LogLevel.Information,
        Message = "IoTConnect settings changed: {Settings}")]
    public static partial void IoTConnectSettingsChanged(this ILogger logger, IoTConnectSettings settings);

    [LoggerMessage(EventId = 6706, EventName = "IoTConnectTokensChanged", Level = LogLevel.Information,
        Message = "IoTConnect {Action}: {Count} token(s) of {Scope}")]
    public static partial void IoTConnectTokensChanged(this ILogger logger, string action, int count, string scope);
}
