using Azure.Core;
using Azure.Core.Pipeline;

namespace Fleet.Shared.IoTConnect;

/// <summary>
/// Puts the session's access token on each attempt (<c>Authorization: Bearer …</c>) and tells the authenticator
/// when the service refused it, so the client's one re-send after a 401 goes out with a renewed session.
/// </summary>
internal sealed class IoTConnectBearerPolicy(IoTConnectAuthenticator authenticator) : HttpPipelinePolicy
{
    public override async ValueTask ProcessAsync(HttpMessage message, ReadOnlyMemory<HttpPipelinePolicy> pipeline)
    {
        var token = await authenticator.GetAccessTokenAsync(message.CancellationToken).ConfigureAwait(false);
        message.Request.Headers.SetValue(HttpHeader.Names.Authorization, "Bearer " + token);
        await ProcessNextAsync(message, pipeline).ConfigureAwait(false);
        if (message.HasResponse && message.Response.Status == 401)
        {
            authenticator.RejectAccessToken(token);
        }
    }

    // The client only sends asynchronously; the synchronous path exists because the base type demands it.
    public override void Process(HttpMessage message, ReadOnlyMemory<HttpPipelinePolicy> pipeline) =>
        ProcessAsync(message, pipeline).AsTask().GetAwaiter().GetResult();
}
