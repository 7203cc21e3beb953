using Azure.Core;
using Azure.Core.Pipeline;

namespace Fleet.Bench.Fleet;

/// <summary>One HTTP exchange of the app's Sphere client, as sent (the token left out) and how it was answered.</summary>
/// <param name="Method">HTTP method.</param>
/// <param name="PathAndQuery">Path and query, e.g. <c>/v2/tenants/{id}/devices?maxPageSize=500</c>.</param>
/// <param name="Continuation">The <c>Sphere-Continuation</c> header, when sent.</param>
/// <param name="ContentType">The body's content type, when there is a body.</param>
/// <param name="Body">The body, when there is one.</param>
/// <param name="Status">The answer's status.</param>
internal sealed record RecordedCall(string Method, string PathAndQuery, string? Continuation, string? ContentType, byte[]? Body, int Status)
{
    /// <summary>The tenant of a <c>v2/tenants/{tenantId}/…</c> call.</summary>
    public Guid? TenantId
    {
        get
        {
            var parts = PathAndQuery.Split('?')[0].Split('/', StringSplitOptions.RemoveEmptyEntries);
            return parts.Length > 2 && parts[0] == "v2" && parts[1] == "tenants" && Guid.TryParse(parts[2], out var id) ? id : null;
        }
    }

    /// <summary>When the answer arrived (<see cref="System.Diagnostics.Stopwatch"/> timestamp).</summary>
    public long At { get; init; } = System.Diagnostics.Stopwatch.GetTimestamp();

    /// <summary>A poll of an operation (<c>GET v2/tenants/{id}/operations/{operationId}</c>).</summary>
    public bool IsOperationPoll => Method == "GET" && PathAndQuery.Split('?')[0].Contains("/operations/", StringComparison.OrdinalIgnoreCase);
}

/// <summary>Calls written down while <see cref="Recording"/> is on, in the order they were added.</summary>
internal sealed class CallLog
{
    private readonly Lock _gate = new();
    private readonly List<RecordedCall> _calls = [];

    /// <summary>Whether calls are being written down.</summary>
    public bool Recording { get; set; }

    /// <summary>What was recorded.</summary>
    public IReadOnlyList<RecordedCall> Calls
    {
        get
        {
            lock (_gate)
            {
                return [.. _calls];
            }
        }
    }

    /// <summary>Writes a call down.</summary>
    public void Add(RecordedCall call)
    {
        lock (_gate)
        {
            _calls.Add(call);
        }
    }
}

/// <summary>
/// The Azure.Core transport of the app's Sphere client with a tap: every exchange is passed on unchanged and, while
/// <see cref="Recording"/>, written down, so a baseline can send the very same calls.
/// </summary>
internal sealed class RecordingTransport(HttpPipelineTransport inner) : HttpPipelineTransport
{
    private readonly CallLog _log = new();

    /// <summary>Whether exchanges are being written down.</summary>
    public bool Recording
    {
        get => _log.Recording;
        set => _log.Recording = value;
    }

    /// <summary>What was recorded, in the order the answers arrived.</summary>
    public IReadOnlyList<RecordedCall> Calls => _log.Calls;

    public override Request CreateRequest() => inner.CreateRequest();

    public override void Process(HttpMessage message)
    {
        inner.Process(message);
        Record(message);
    }

    public override async ValueTask ProcessAsync(HttpMessage message)
    {
        await inner.ProcessAsync(message);
        Record(message);
    }

    private void Record(HttpMessage message)
    {
        if (!Recording || !message.HasResponse)
        {
            return;
        }

        var request = message.Request;
        byte[]? body = null;
        if (request.Content is { } content)
        {
            using var buffer = new MemoryStream();
            content.WriteTo(buffer, CancellationToken.None);
            body = buffer.ToArray();
        }

        var call = new RecordedCall(
            request.Method.Method,
            request.Uri.PathAndQuery,
            request.Headers.TryGetValue("Sphere-Continuation", out var token) ? token : null,
            request.Headers.TryGetValue("Content-Type", out var type) ? type : null,
            body,
            message.Response.Status);
        _log.Add(call);
    }
}
