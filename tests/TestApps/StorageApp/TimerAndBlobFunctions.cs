using System.Globalization;
using Azure.Storage.Blobs;
using Microsoft.Azure.Functions.Worker;

namespace StorageApp;

/// <summary>Timer functions; each reports its TimerInfo on a queue.</summary>
public static class TimerFunctions
{
    /// <summary>An NCRONTAB schedule from a setting (yearly by default), monitored: the past-due test's function.</summary>
    [Function("Tick")]
    [QueueOutput("ticks")]
    public static string Tick([TimerTrigger("%TickSchedule%")] TimerInfo timer) => Describe("tick", timer);

    /// <summary>Runs on startup (then yearly, unmonitored).</summary>
    [Function("Startup")]
    [QueueOutput("startup-ticks")]
    public static string Startup([TimerTrigger("0 0 0 1 1 *", RunOnStartup = true, UseMonitor = false)] TimerInfo timer) => Describe("startup", timer);

    /// <summary>A TimeSpan schedule.</summary>
    [Function("Interval")]
    [QueueOutput("interval-ticks")]
    public static string Interval([TimerTrigger("00:00:02")] TimerInfo timer) => Describe("interval", timer);

    private static string Describe(string name, TimerInfo timer)
    {
        ArgumentNullException.ThrowIfNull(timer);
        return string.Create(
            CultureInfo.InvariantCulture,
            $"{name}|{timer.IsPastDue}|{timer.ScheduleStatus?.Last:O}|{timer.ScheduleStatus?.Next:O}|{Environment.ProcessId}");
    }
}

/// <summary>Blob input and output bindings for the common parameter types; each reports on queue <c>blob-results</c>.</summary>
public static class BlobFunctions
{
    /// <summary>A string blob input named by the message.</summary>
    [Function("BlobString")]
    [QueueOutput("blob-results")]
    public static string BlobString([QueueTrigger("blob-string")] string name, [BlobInput("inbox/{queueTrigger}")] string? content) =>
        $"string|{name}|{content ?? "<null>"}";

    /// <summary>A byte[] blob input.</summary>
    [Function("BlobBytes")]
    [QueueOutput("blob-results")]
    public static string BlobBytes([QueueTrigger("blob-bytes")] string name, [BlobInput("inbox/{queueTrigger}")] byte[]? content) =>
        $"bytes|{name}|{(content is null ? "<null>" : Convert.ToHexString(content))}";

    /// <summary>A Stream blob input.</summary>
    [Function("BlobStream")]
    [QueueOutput("blob-results")]
    public static async Task<string> BlobStreamAsync([QueueTrigger("blob-stream")] string name, [BlobInput("inbox/{queueTrigger}")] Stream? content)
    {
        if (content is null)
        {
            return $"stream|{name}|<null>";
        }

        using var reader = new StreamReader(content);
        return $"stream|{name}|{await reader.ReadToEndAsync().ConfigureAwait(false)}";
    }

    /// <summary>A POCO blob input (JSON).</summary>
    [Function("BlobPoco")]
    [QueueOutput("blob-results")]
    public static string BlobPoco([QueueTrigger("blob-poco")] string name, [BlobInput("inbox/{queueTrigger}")] DeviceRequest? request) =>
        string.Create(CultureInfo.InvariantCulture, $"poco|{name}|{request?.DeviceId ?? "<null>"}|{request?.Priority}");

    /// <summary>The SDK's BlobClient (ModelBindingData; the worker reads the blob itself).</summary>
    [Function("BlobSdkClient")]
    [QueueOutput("blob-results")]
    public static async Task<string> BlobSdkClientAsync([QueueTrigger("blob-client")] string name, [BlobInput("inbox/{queueTrigger}")] BlobClient blob)
    {
        ArgumentNullException.ThrowIfNull(blob);
        var content = await blob.DownloadContentAsync().ConfigureAwait(false);
        return $"client|{name}|{blob.BlobContainerName}/{blob.Name}|{content.Value.Content}";
    }

    /// <summary>Writes the message text to a blob (string) and its bytes to another (byte[]).</summary>
    [Function("BlobWrite")]
    [BlobOutput("%OutboxBlob%")]
    public static string BlobWrite([QueueTrigger("blob-write")] string text) => $"written: {text}";

    /// <summary>A byte[] blob output.</summary>
    [Function("BlobWriteBytes")]
    [BlobOutput("outbox/bytes.bin")]
    public static byte[] BlobWriteBytes([QueueTrigger("blob-write-bytes")] string text) => Convert.FromHexString(text);
}
