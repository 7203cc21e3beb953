using System.Collections.Concurrent;
using Azure.Core;
using Azure.Core.Pipeline;

namespace Fleet.Hosting.Tests;

/// <summary>
/// Fault injection between one host and the real Azurite: an Azure.Core policy placed just before the transport
/// (inside the client's network timeout, as a real network would be). It records every request and can make
/// requests hang or hold their responses.
/// </summary>
public sealed class StorageFaults : HttpPipelinePolicy
{
    /// <summary>Requests that hang (until the client gives up on them) instead of reaching Azurite.</summary>
    public Func<HttpMessage, bool>? Hang { get; set; }

    /// <summary>Runs after Azurite answered and before the client sees the answer (to hold a response back).</summary>
    public Func<HttpMessage, Task>? AfterResponse { get; set; }

    /// <summary>Runs before a request is sent.</summary>
    public Action<HttpMessage>? BeforeRequest { get; set; }

    /// <summary>Every request sent so far, as <c>METHOD path?query</c> (lease requests as <c>LEASE-action path</c>).</summary>
    public ConcurrentQueue<string> Requests { get; } = new();

    public static bool IsLease(HttpMessage message, string action) =>
        message.Request.Headers.TryGetValue("x-ms-lease-action", out var value) && value == action;

    public static bool IsMessageUpdate(HttpMessage message, int visibilitySeconds) =>
        message.Request.Method == RequestMethod.Put && message.Request.Uri.Path.Contains("/messages/", StringComparison.Ordinal)
        && message.Request.Uri.Query.Contains($"visibilitytimeout={visibilitySeconds}", StringComparison.Ordinal);

    public static bool IsMessageDelete(HttpMessage message) =>
        message.Request.Method == RequestMethod.Delete && message.Request.Uri.Path.Contains("/messages/", StringComparison.Ordinal);

    public override async ValueTask ProcessAsync(HttpMessage message, ReadOnlyMemory<HttpPipelinePolicy> pipeline)
    {
        var request = message.Request;

        // The Azure SDK keeps the path without its leading '/', the project's own storage client with it: one form
        // (the same URI) for every test that looks at paths.
        if (!request.Uri.Path.StartsWith('/'))
        {
            request.Uri.Path = "/" + request.Uri.Path;
        }

        Requests.Enqueue(request.Headers.TryGetValue("x-ms-lease-action", out var action)
            ? $"LEASE-{action} {request.Uri.Path}"
            : $"{request.Method} {request.Uri.Path}{request.Uri.Query}");
        BeforeRequest?.Invoke(message);
        if (Hang?.Invoke(message) == true)
        {
            await Task.Delay(Timeout.InfiniteTimeSpan, message.CancellationToken);
        }

        await ProcessNextAsync(message, pipeline);
        if (AfterResponse is { } after)
        {
            await after(message);
        }
    }

    public override void Process(HttpMessage message, ReadOnlyMemory<HttpPipelinePolicy> pipeline) =>
        ProcessAsync(message, pipeline).AsTask().GetAwaiter().GetResult();
}
