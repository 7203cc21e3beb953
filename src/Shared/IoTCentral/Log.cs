using Microsoft.Extensions.Logging;

namespace Fleet.Shared.IoTCentral;

/// <summary>Log events of the IoT Central client (Shared range, 1300–1399). No event carries a token value.</summary>
internal static partial class Log
{
    [LoggerMessage(EventId = 1300, EventName = "IoTCentralRequestRetrying", Level = LogLevel.Warning,
        Message = "IoT Central {Method} {Path} failed ({Reason}); retry {Retry} in {Delay}.")]
    public static partial void RequestRetrying(this ILogger logger, string method, string path, string reason, int retry,
        TimeSpan delay);

    [LoggerMessage(EventId = 1301, EventName = "IoTCentralRequestThrottled", Level = LogLevel.Information,
        Message = "IoT Central {Method} {Path} was throttled (429) by application {Application}; retry {Retry} in {Delay}.")]
    public static partial void RequestThrottled(this ILogger logger, string method, string path, string application,
        int retry, TimeSpan delay);

    [LoggerMessage(EventId = 1302, EventName = "IoTCentralRetriesExhausted", Level = LogLevel.Warning,
        Message = "IoT Central {Method} {Path} gave up after {Attempts} attempts in {Elapsed}: {Reason}.")]
    public static partial void RetriesExhausted(this ILogger logger, string method, string path, int attempts,
        TimeSpan elapsed, string reason);

    [LoggerMessage(EventId = 1303, EventName = "IoTCentralRequestFailed", Level = LogLevel.Debug,
        Message = "IoT Central {Method} {Path} answered {Status} {ErrorCode} (request id {RequestId}).")]
    public static partial void RequestFailed(this ILogger logger, string method, string path, int status,
        string? errorCode, string? requestId);

    [LoggerMessage(EventId = 1304, EventName = "IoTCentralApiTokenExpiring", Level = LogLevel.Warning,
        Message = "The IoT Central API token {TokenId} of application {Application} expires on {ExpiresOn:O} (in {Remaining}); rotate it (PUT /apiTokens/{{id}}) before then.")]
    public static partial void ApiTokenExpiring(this ILogger logger, string tokenId, string application,
        DateTimeOffset expiresOn, TimeSpan remaining);

    [LoggerMessage(EventId = 1305, EventName = "IoTCentralApiTokenExpired", Level = LogLevel.Error,
        Message = "The IoT Central API token {TokenId} of application {Application} expired on {ExpiresOn:O}; calls fail with 401 until a new token is configured.")]
    public static partial void ApiTokenExpired(this ILogger logger, string tokenId, string application,
        DateTimeOffset expiresOn);

    [LoggerMessage(EventId = 1306, EventName = "IoTCentralApiTokenRotated", Level = LogLevel.Information,
        Message = "Rotated the IoT Central API token of application {Application}: {PreviousTokenId} replaced by {TokenId}, which expires on {ExpiresOn:O}; stored in {StoredIn}.")]
    public static partial void ApiTokenRotated(this ILogger logger, string application, string previousTokenId,
        string tokenId, DateTimeOffset? expiresOn, string storedIn);

    [LoggerMessage(EventId = 1307, EventName = "IoTCentralJobWaiting", Level = LogLevel.Debug,
        Message = "IoT Central job {JobId} is {Status}: {Completed} completed, {Failed} failed, {Pending} pending of {Total}.")]
    public static partial void JobWaiting(this ILogger logger, string jobId, string? status, int completed, int failed,
        int pending, int total);

    [LoggerMessage(EventId = 1308, EventName = "IoTCentralJobFinished", Level = LogLevel.Information,
        Message = "IoT Central job {JobId} ended {Status} after {Elapsed}: {Completed} completed, {Failed} failed of {Total}.")]
    public static partial void JobFinished(this ILogger logger, string jobId, string? status, TimeSpan elapsed,
        int completed, int failed, int total);

    [LoggerMessage(EventId = 1309, EventName = "IoTCentralJobStoppedByHealthGate", Level = LogLevel.Warning,
        Message = "IoT Central job {JobId} was stopped because its health gate failed ({Completed} completed, {Failed} failed of {Total}).")]
    public static partial void JobStoppedByHealthGate(this ILogger logger, string jobId, int completed, int failed,
        int total);

    [LoggerMessage(EventId = 1310, EventName = "IoTCentralNotAppUser", Level = LogLevel.Warning,
        Message = "The Entra identity {ObjectId} (tenant {TenantId}) is not a user of IoT Central application {Application}; add it with PUT /api/users/{ObjectId}.")]
    public static partial void NotAppUser(this ILogger logger, string objectId, string? tenantId, string application);

    [LoggerMessage(EventId = 1311, EventName = "IoTCentralDeviceProvisioned", Level = LogLevel.Debug,
        Message = "IoT Central device {DeviceId} provisioned ({Change}); listed in device group {DeviceGroupId}: {Listed}.")]
    public static partial void DeviceProvisioned(this ILogger logger, string deviceId, ProvisioningChange change,
        string deviceGroupId, bool listed);

    [LoggerMessage(EventId = 1312, EventName = "IoTCentralDeviceNotInGroup", Level = LogLevel.Warning,
        Message = "IoT Central device group {DeviceGroupId} does not list device {DeviceId} after {Elapsed}; its filter is: {Filter}")]
    public static partial void DeviceNotInGroup(this ILogger logger, string deviceGroupId, string deviceId,
        TimeSpan elapsed, string? filter);
}
