using System.Globalization;
using Azure.Storage.Queues.Models;
using Microsoft.Azure.Functions.Worker;

namespace StorageApp;

/// <summary>A device request as queue messages and blobs carry it (JSON).</summary>
public sealed class DeviceRequest
{
    /// <summary>The device.</summary>
    public string? DeviceId { get; set; }

    /// <summary>Its priority.</summary>
    public int Priority { get; set; }
}

/// <summary>Two outputs of one function: a queue message and a blob.</summary>
public sealed class PocoOutputs
{
    /// <summary>The queue message.</summary>
    [QueueOutput("results")]
    public string? Result { get; set; }

    /// <summary>The blob content.</summary>
    [BlobOutput("%OutboxBlob%")]
    public string? Blob { get; set; }
}

/// <summary>Queue-triggered functions, one per parameter type; each reports what it got on queue <c>results</c>.</summary>
public static class QueueFunctions
{
    /// <summary>A string parameter (queue name from a setting) with trigger metadata; the result goes out as <c>$return</c>.</summary>
    [Function("QueueString")]
    [QueueOutput("results")]
    public static string QueueString([QueueTrigger("%StringQueue%")] string text, string id, long dequeueCount, DateTimeOffset insertionTime, string popReceipt) =>
        string.Create(CultureInfo.InvariantCulture, $"string|{text}|{id}|{dequeueCount}|{insertionTime.Year}|{!string.IsNullOrEmpty(popReceipt)}");

    /// <summary>A byte[] parameter.</summary>
    [Function("QueueBytes")]
    [QueueOutput("results")]
    public static string QueueBytes([QueueTrigger("bytes-in")] byte[] body)
    {
        ArgumentNullException.ThrowIfNull(body);
        return $"bytes|{Convert.ToHexString(body)}";
    }

    /// <summary>A POCO from JSON, with a named queue output and a blob output.</summary>
    [Function("QueuePoco")]
    public static PocoOutputs QueuePoco([QueueTrigger("poco-in")] DeviceRequest request)
    {
        ArgumentNullException.ThrowIfNull(request);
        return new PocoOutputs
        {
            Result = string.Create(CultureInfo.InvariantCulture, $"poco|{request.DeviceId}|{request.Priority}"),
            Blob = $"written by QueuePoco for {request.DeviceId}",
        };
    }

    /// <summary>The SDK's QueueMessage (ModelBindingData).</summary>
    [Function("QueueSdkMessage")]
    [QueueOutput("results")]
    public static string QueueSdkMessage([QueueTrigger("sdk-in")] QueueMessage message)
    {
        ArgumentNullException.ThrowIfNull(message);
        return string.Create(CultureInfo.InvariantCulture, $"sdk|{message.MessageText}|{message.MessageId}|{message.DequeueCount}");
    }

    /// <summary>Fails for messages starting with "fail" (retries, then poison); reports each attempt.</summary>
    [Function("QueueFailing")]
    [QueueOutput("attempts")]
    public static string QueueFailing([QueueTrigger("fail-in")] string text, long dequeueCount)
    {
        ArgumentNullException.ThrowIfNull(text);
        if (text.StartsWith("fail", StringComparison.Ordinal))
        {
            throw new InvalidOperationException($"Failing on purpose: {text} (attempt {dequeueCount})");
        }

        return text;
    }

    /// <summary>Takes <c>SlowMs</c> per message and reports it on <c>slow-out</c> (the crash test kills the worker meanwhile).</summary>
    [Function("QueueSlow")]
    [QueueOutput("slow-out")]
    public static async Task<string> QueueSlowAsync([QueueTrigger("slow-in")] string text)
    {
        var delay = int.Parse(Environment.GetEnvironmentVariable("SlowMs") ?? "200", CultureInfo.InvariantCulture);
        await Task.Delay(delay).ConfigureAwait(false);
        return text;
    }

    /// <summary>Does nothing: the benchmark measures the host's own cost per message.</summary>
    [Function("QueueNoop")]
    public static void QueueNoop([QueueTrigger("noop-in")] string text) => ArgumentNullException.ThrowIfNull(text);

    /// <summary>Reports the worker's process id (the crash test kills it).</summary>
    [Function("QueuePid")]
    [QueueOutput("pids")]
    public static string QueuePid([QueueTrigger("pid-in")] string text) =>
        string.Create(CultureInfo.InvariantCulture, $"{text}|{Environment.ProcessId}");
}
