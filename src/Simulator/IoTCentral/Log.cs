namespace Fleet.Simulator;

/// <summary>Log events of the simulated IoT Central applications (Simulator range, 6300–6399).</summary>
internal static partial class Log
{
    [LoggerMessage(EventId = 6300, EventName = "IoTCentralConnectionDropped", Level = LogLevel.Debug,
        Message = "Dropped the connection of {Method} {Path} (injected fault)")]
    public static partial void IoTCentralConnectionDropped(this ILogger logger, string method, string path);

    [LoggerMessage(EventId = 6301, EventName = "IoTCentralSettingsChanged", Level = LogLevel.Information,
        Message = "IoT Central simulator settings changed: {Settings}")]
    public static partial void IoTCentralSettingsChanged(this ILogger logger, IoTCentralSimulatorSettings settings);

    [LoggerMessage(EventId = 6302, EventName = "IoTCentralApiTokenIssued", Level = LogLevel.Debug,
        Message = "Issued IoT Central API token {TokenId} of application {App}, valid until {Expiry:O}")]
    public static partial void IoTCentralApiTokenIssued(this ILogger logger, string tokenId, string app, DateTimeOffset expiry);
}
