using Azure.Core;
using Azure.Core.Pipeline;

namespace Fleet.Storage;

/// <summary>Appends the connection's shared access signature to every request's query string.</summary>
internal sealed class SasAuthenticationPolicy(string sas) : HttpPipelineSynchronousPolicy
{
    private readonly string _sas = sas.TrimStart('?');

    public override void OnSendingRequest(HttpMessage message)
    {
        var uri = message.Request.Uri;
        var query = uri.Query;

        // A retried request already carries the signature.
        if (query.Contains(_sas, StringComparison.Ordinal))
        {
            return;
        }

        uri.Query = string.IsNullOrEmpty(query) || query == "?" ? "?" + _sas : query + "&" + _sas;
    }
}
