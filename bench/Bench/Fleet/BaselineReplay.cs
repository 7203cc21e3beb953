using System.Collections.Concurrent;
using System.Diagnostics;
using System.Net;
using System.Net.Http.Headers;
using System.Text.Json;

namespace Fleet.Bench.Fleet;

/// <summary>
/// What a user would write instead of the app: the same HTTP calls (methods, paths, continuation tokens, bodies, in
/// the order the app made them) sent by 32 parallel workers over a plain <see cref="HttpClient"/>, retrying only on
/// 429 and honouring Retry-After. A write that starts an operation is followed by polling that operation (at once,
/// then every second) as a script would; the app's own polls are not replayed.
/// </summary>
internal sealed class BaselineReplay(Uri endpoint, string token, int workers = 32)
{
    private const int MaxAttempts = 100;

    /// <summary>Replays <paramref name="calls"/>; returns when every call (and its operation) has finished.</summary>
    public async Task<BaselineResult> RunAsync(IReadOnlyList<RecordedCall> calls, CancellationToken cancellationToken)
    {
        using var handler = new SocketsHttpHandler { MaxConnectionsPerServer = workers * 2, PooledConnectionLifetime = TimeSpan.FromMinutes(10) };
        using var http = new HttpClient(handler) { BaseAddress = endpoint, Timeout = TimeSpan.FromSeconds(60) };
        http.DefaultRequestHeaders.Authorization = new AuthenticationHeaderValue("Bearer", token);

        var queue = new ConcurrentQueue<RecordedCall>(calls.Where(c => !c.IsOperationPoll));
        var lastDone = new ConcurrentDictionary<Guid, TimeSpan>();
        var sent = 0L;
        var throttled = 0L;
        var unexpected = new ConcurrentBag<string>();
        var started = Stopwatch.GetTimestamp();

        async Task<HttpResponseMessage> SendAsync(Func<HttpRequestMessage> create)
        {
            for (var attempt = 1; ; attempt++)
            {
                using var request = create();
                var response = await http.SendAsync(request, cancellationToken);
                Interlocked.Increment(ref sent);
                if (response.StatusCode != HttpStatusCode.TooManyRequests || attempt == MaxAttempts)
                {
                    return response;
                }

                Interlocked.Increment(ref throttled);
                var wait = response.Headers.RetryAfter switch
                {
                    { Delta: { } delta } => delta,
                    { Date: { } date } => date - DateTimeOffset.UtcNow,
                    _ => TimeSpan.FromSeconds(1),
                };
                response.Dispose();
                await Task.Delay(wait > TimeSpan.Zero ? wait : TimeSpan.Zero, cancellationToken);
            }
        }

        async Task WorkAsync()
        {
            while (queue.TryDequeue(out var call))
            {
                using var response = await SendAsync(() => Build(call));
                var body = await response.Content.ReadAsStringAsync(cancellationToken);
                if ((int)response.StatusCode != call.Status)
                {
                    unexpected.Add($"{call.Method} {call.PathAndQuery.Split('?')[0]}: {(int)response.StatusCode} (the app got {call.Status})");
                }

                if (OperationOf(body) is { } operationId && call.TenantId is { } tenant)
                {
                    await PollAsync(tenant, operationId);
                }

                if (call.TenantId is { } t)
                {
                    var now = Stopwatch.GetElapsedTime(started);
                    lastDone.AddOrUpdate(t, now, (_, before) => now > before ? now : before);
                }
            }
        }

        async Task PollAsync(Guid tenant, string operationId)
        {
            while (true)
            {
                using var response = await SendAsync(() => new HttpRequestMessage(HttpMethod.Get, $"v2/tenants/{tenant}/operations/{operationId}"));
                using var json = JsonDocument.Parse(await response.Content.ReadAsStringAsync(cancellationToken));
                if (!response.IsSuccessStatusCode || json.RootElement.GetProperty("State").GetInt32() >= 2)
                {
                    return;
                }

                await Task.Delay(TimeSpan.FromSeconds(1), cancellationToken);
            }
        }

        await Task.WhenAll(Enumerable.Range(0, workers).Select(_ => Task.Run(WorkAsync, cancellationToken)));
        return new BaselineResult(Stopwatch.GetElapsedTime(started), lastDone, sent, throttled, [.. unexpected]);
    }

    private static HttpRequestMessage Build(RecordedCall call)
    {
        var request = new HttpRequestMessage(new HttpMethod(call.Method), call.PathAndQuery.TrimStart('/'));
        if (call.Continuation is not null)
        {
            request.Headers.Add("Sphere-Continuation", call.Continuation);
        }

        if (call.Body is not null)
        {
            request.Content = new ByteArrayContent(call.Body);
            request.Content.Headers.ContentType = MediaTypeHeaderValue.Parse(call.ContentType ?? "application/json");
        }

        return request;
    }

    /// <summary>The operation id of an Operation answer (<c>{ "OperationId": …, "State": … }</c>), else null.</summary>
    private static string? OperationOf(string body)
    {
        if (body.Length == 0 || body[0] != '{')
        {
            return null;
        }

        using var json = JsonDocument.Parse(body);
        return json.RootElement.TryGetProperty("OperationId", out var id) && json.RootElement.TryGetProperty("State", out _) ? id.GetString() : null;
    }
}

/// <summary>What the baseline did.</summary>
/// <param name="Elapsed">From the first call to the last answer.</param>
/// <param name="TenantSpans">Per tenant: from the start to its last answer.</param>
/// <param name="Requests">Requests sent (retries included).</param>
/// <param name="Throttled">Of them, answered 429.</param>
/// <param name="Unexpected">Calls answered with another status than the app got (should be none).</param>
internal sealed record BaselineResult(TimeSpan Elapsed, IReadOnlyDictionary<Guid, TimeSpan> TenantSpans, long Requests, long Throttled, IReadOnlyList<string> Unexpected);
