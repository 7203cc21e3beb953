using System.Net;
using Azure.Core;
using Azure.Core.Pipeline;

namespace Fleet.Shared.Identity;

/// <summary>
/// Azure.Core's bearer-token policy (token cache, refresh before expiry) that also lets tokens travel over plain
/// http to a loopback address, where the local simulator listens; everything else still requires https.
/// </summary>
internal sealed class LoopbackAwareBearerTokenPolicy(TokenCredential credential, string scope)
    : BearerTokenAuthenticationPolicy(credential, scope)
{
    public override ValueTask ProcessAsync(HttpMessage message, ReadOnlyMemory<HttpPipelinePolicy> pipeline) =>
        IsLoopbackHttp(message.Request.Uri)
            ? ProcessLoopbackAsync(message, pipeline)
            : base.ProcessAsync(message, pipeline);

    public override void Process(HttpMessage message, ReadOnlyMemory<HttpPipelinePolicy> pipeline)
    {
        if (!IsLoopbackHttp(message.Request.Uri))
        {
            base.Process(message, pipeline);
            return;
        }

        AuthorizeRequest(message);
        ProcessNext(message, pipeline);
    }

    internal static bool IsLoopbackHttp(RequestUriBuilder uri) =>
        string.Equals(uri.Scheme, Uri.UriSchemeHttp, StringComparison.OrdinalIgnoreCase) && IsLoopbackHost(uri.Host);

    /// <summary>True for an absolute https URI, or plain http to a loopback host (the local simulator).</summary>
    internal static bool IsSecureOrLoopback(Uri? endpoint) =>
        endpoint is { IsAbsoluteUri: true }
        && (endpoint.Scheme == Uri.UriSchemeHttps
            || (endpoint.Scheme == Uri.UriSchemeHttp && IsLoopbackHost(endpoint.Host)));

    internal static bool IsLoopbackHost(string? host) =>
        string.Equals(host, "localhost", StringComparison.OrdinalIgnoreCase)
        || (IPAddress.TryParse(host?.Trim('[', ']'), out var address) && IPAddress.IsLoopback(address));

    private async ValueTask ProcessLoopbackAsync(HttpMessage message, ReadOnlyMemory<HttpPipelinePolicy> pipeline)
    {
        await AuthorizeRequestAsync(message).ConfigureAwait(false);
        await ProcessNextAsync(message, pipeline).ConfigureAwait(false);
    }
}
