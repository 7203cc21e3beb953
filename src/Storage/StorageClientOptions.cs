using Azure.Core;
using Microsoft.Extensions.Logging;

namespace Fleet.Storage;

/// <summary>How queue message text is carried on the wire.</summary>
public enum QueueMessageEncoding
{
    /// <summary>
    /// Base64 of the UTF-8 bytes: the format the Azure Functions queue trigger and the official Storage SDKs
    /// expect by default, so any Storage client can enqueue work for this host. The default.
    /// </summary>
    Base64,

    /// <summary>The text as is (XML-escaped on the wire); it must contain only characters valid in XML.</summary>
    None,
}

/// <summary>
/// Options for the Storage clients: retry and network timeout (<see cref="ClientOptions.Retry"/>), transport,
/// diagnostics, queue message encoding and logging.
/// </summary>
public class StorageClientOptions : ClientOptions
{
    /// <summary>The Storage REST API version sent as <c>x-ms-version</c> on every request.</summary>
    public const string ServiceVersion = "2025-01-05";

    /// <summary>Creates options with the Azure.Core defaults and Storage's non-secret headers allowed in logs.</summary>
    public StorageClientOptions()
    {
        foreach (var header in LoggedHeaders)
        {
            Diagnostics.LoggedHeaderNames.Add(header);
        }

        // Only parameters that never carry secrets: "sig" (SAS signature) and "popreceipt" stay redacted.
        foreach (var parameter in LoggedParameters)
        {
            Diagnostics.LoggedQueryParameters.Add(parameter);
        }
    }

    /// <summary>Encoding of queue message text. <value>Default: <see cref="QueueMessageEncoding.Base64"/>.</value></summary>
    public QueueMessageEncoding MessageEncoding { get; set; } = QueueMessageEncoding.Base64;

    /// <summary>Where the clients log (event ids 2000–2999). <value>Default: no logging.</value></summary>
    public ILoggerFactory? LoggerFactory { get; set; }

    /// <summary>The clock that stamps <c>x-ms-date</c> for Shared Key signing. <value>Default: the system clock.</value></summary>
    public TimeProvider TimeProvider { get; set; } = TimeProvider.System;

    private static readonly string[] LoggedHeaders =
    [
        "x-ms-version", "x-ms-date", "x-ms-error-code", "x-ms-request-id", "x-ms-blob-type", "x-ms-lease-action",
        "x-ms-lease-duration", "x-ms-lease-state", "x-ms-lease-status", "x-ms-lease-time",
        "x-ms-approximate-messages-count", "x-ms-time-next-visible", "ETag", "Last-Modified",
    ];

    private static readonly string[] LoggedParameters =
    [
        "comp", "restype", "timeout", "numofmessages", "visibilitytimeout", "messagettl", "peekonly", "maxresults",
        "prefix", "marker",
    ];
}
