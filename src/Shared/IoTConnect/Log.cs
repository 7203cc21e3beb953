using Microsoft.Extensions.Logging;

namespace Fleet.Shared.IoTConnect;

/// <summary>Log events of the IoTConnect client (Shared range, 1700–1799). Tokens, passwords and solution keys are never logged.</summary>
internal static partial class Log
{
    [LoggerMessage(EventId = 1700, EventName = "IoTConnectRequestRetrying", Level = LogLevel.Warning,
        Message = "IoTConnect {Method} {Service}/{Path} failed ({Reason}); retry {Retry} in {Delay}.")]
    public static partial void RequestRetrying(this ILogger logger, string method, string service, string path, string reason,
        int retry, TimeSpan delay);

    [LoggerMessage(EventId = 1701, EventName = "IoTConnectRequestThrottled", Level = LogLevel.Information,
        Message = "IoTConnect {Method} {Service}/{Path} was throttled ({Status}); retry {Retry} in {Delay}.")]
    public static partial void RequestThrottled(this ILogger logger, string method, string service, string path, int status,
        int retry, TimeSpan delay);

    [LoggerMessage(EventId = 1702, EventName = "IoTConnectRetriesExhausted", Level = LogLevel.Warning,
        Message = "IoTConnect {Method} {Service}/{Path} gave up after {Attempts} attempts in {Elapsed}: {Reason}.")]
    public static partial void RetriesExhausted(this ILogger logger, string method, string service, string path, int attempts,
        TimeSpan elapsed, string reason);

    [LoggerMessage(EventId = 1703, EventName = "IoTConnectRequestFailed", Level = LogLevel.Debug,
        Message = "IoTConnect {Method} {Service}/{Path} answered {Status} {ErrorCode} (request id {RequestId}).")]
    public static partial void RequestFailed(this ILogger logger, string method, string service, string path, int status,
        string? errorCode, string? requestId);

    [LoggerMessage(EventId = 1704, EventName = "IoTConnectLoggedIn", Level = LogLevel.Information,
        Message = "IoTConnect login of {Username} succeeded; the access token is valid for {Lifetime}.")]
    public static partial void LoggedIn(this ILogger logger, string username, TimeSpan lifetime);

    [LoggerMessage(EventId = 1705, EventName = "IoTConnectTokenRefreshed", Level = LogLevel.Debug,
        Message = "IoTConnect access token of {Username} refreshed; valid for {Lifetime}.")]
    public static partial void TokenRefreshed(this ILogger logger, string username, TimeSpan lifetime);

    [LoggerMessage(EventId = 1706, EventName = "IoTConnectRefreshRejected", Level = LogLevel.Warning,
        Message = "IoTConnect refused the refresh token of {Username} ({Status} {ErrorCode}); logging in again.")]
    public static partial void RefreshRejected(this ILogger logger, string username, int status, string? errorCode);

    [LoggerMessage(EventId = 1707, EventName = "IoTConnectAccessTokenRejected", Level = LogLevel.Information,
        Message = "IoTConnect refused the access token of {Username} (401); the session is renewed.")]
    public static partial void AccessTokenRejected(this ILogger logger, string username);

    [LoggerMessage(EventId = 1708, EventName = "IoTConnectServicesDiscovered", Level = LogLevel.Information,
        Message = "IoTConnect services discovered for environment {Environment}: auth {AuthUrl}, device {DeviceUrl}, user {UserUrl}, firmware {FirmwareUrl}.")]
    public static partial void ServicesDiscovered(this ILogger logger, string environment, Uri authUrl, Uri deviceUrl, Uri userUrl,
        Uri firmwareUrl);

    [LoggerMessage(EventId = 1709, EventName = "IoTConnectBackgroundRefreshFailed", Level = LogLevel.Warning,
        Message = "IoTConnect token refresh ahead of expiry failed ({Reason}); the next call after expiry logs in again.")]
    public static partial void BackgroundRefreshFailed(this ILogger logger, string reason);

    [LoggerMessage(EventId = 1710, EventName = "IoTConnectSecretRead", Level = LogLevel.Debug,
        Message = "IoTConnect setting {Setting} read from Key Vault secret {SecretPath}.")]
    public static partial void SecretRead(this ILogger logger, string setting, string secretPath);
}
