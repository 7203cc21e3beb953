using System.Text.Json;
using System.Text.Json.Nodes;

namespace Fleet.Hosting.Local.Durable;

/// <summary>
/// The JSON the isolated worker's <c>DurableTaskClientConverter</c> (extension 1.22.0) turns into a
/// <c>DurableTaskClient</c>. Field names are exact and case-sensitive. Three traps: <c>maxGrpcMessageSizeInBytes</c>
/// must be a number (null fails the conversion, and absent reads as 0, a client that can receive no reply), and
/// <c>grpcHttpClientTimeout</c> is parsed as JSON a second time, so it holds a quoted TimeSpan (<c>"\"00:01:40\""</c>).
/// </summary>
/// <param name="RpcBaseUrl">The host's TaskHubSidecarService endpoint (h2c).</param>
/// <param name="TaskHubName">The task hub; the client sends it as the <c>Durable-TaskHub</c> header.</param>
/// <param name="ConnectionName">The binding's connection name, or null; sent as <c>Durable-ConnectionName</c>.</param>
/// <param name="RequiredQueryStringParameters">The query every management URL carries (<c>taskHub=..&amp;connection=..[&amp;code=..]</c>).</param>
/// <param name="HttpBaseUrl">The management API's base, <c>{host}/runtime/webhooks/durabletask</c>.</param>
/// <param name="MaxGrpcMessageSizeInBytes">The largest reply the client accepts.</param>
/// <param name="GrpcHttpClientTimeout">The client's HTTP timeout, or null for the SDK default (100 s).</param>
internal sealed record DurableClientBindingPayload(
    Uri RpcBaseUrl,
    string TaskHubName,
    string? ConnectionName,
    string RequiredQueryStringParameters,
    Uri HttpBaseUrl,
    int MaxGrpcMessageSizeInBytes,
    TimeSpan? GrpcHttpClientTimeout)
{
    /// <summary>The payload as the worker reads it.</summary>
    public string ToJson()
    {
        var json = new JsonObject
        {
            ["rpcBaseUrl"] = RpcBaseUrl.AbsoluteUri,
            ["taskHubName"] = TaskHubName,
            ["connectionName"] = ConnectionName,
            ["requiredQueryStringParameters"] = RequiredQueryStringParameters,
            ["httpBaseUrl"] = HttpBaseUrl.AbsoluteUri.TrimEnd('/'),
            ["maxGrpcMessageSizeInBytes"] = MaxGrpcMessageSizeInBytes,
        };

        if (GrpcHttpClientTimeout is { } timeout)
        {
            json["grpcHttpClientTimeout"] = JsonSerializer.Serialize(timeout);
        }

        return json.ToJsonString();
    }
}
