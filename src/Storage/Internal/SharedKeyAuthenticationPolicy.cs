using System.Globalization;
using System.Security.Cryptography;
using System.Text;
using Azure.Core;
using Azure.Core.Pipeline;

namespace Fleet.Storage;

/// <summary>
/// Signs each attempt with the account key per "Authorize with Shared Key" (Blob and Queue services,
/// version 2009-09-19 and later): a fresh <c>x-ms-date</c>, then <c>Authorization: SharedKey account:signature</c>.
/// Runs per retry, after Azure.Core has added its own <c>x-ms-client-request-id</c>, so every signed header is final.
/// </summary>
internal sealed class SharedKeyAuthenticationPolicy(string accountName, byte[] accountKey, TimeProvider timeProvider)
    : HttpPipelineSynchronousPolicy
{
    private static readonly string[] StandardHeaders =
    [
        "Content-Encoding", "Content-Language", "Content-Length", "Content-MD5", "Content-Type", "Date",
        "If-Modified-Since", "If-Match", "If-None-Match", "If-Unmodified-Since", "Range",
    ];

    public override void OnSendingRequest(HttpMessage message)
    {
        var request = message.Request;
        request.Headers.SetValue("x-ms-date", timeProvider.GetUtcNow().ToString("r", CultureInfo.InvariantCulture));
        var stringToSign = BuildStringToSign(request, accountName);
        var signature = Convert.ToBase64String(HMACSHA256.HashData(accountKey, Encoding.UTF8.GetBytes(stringToSign)));
        request.Headers.SetValue("Authorization", $"SharedKey {accountName}:{signature}");
    }

    /// <summary>The Shared Key string-to-sign of a request.</summary>
    internal static string BuildStringToSign(Request request, string accountName)
    {
        var builder = new StringBuilder(256);
        builder.Append(request.Method.Method.ToUpperInvariant()).Append('\n');
        foreach (var name in StandardHeaders)
        {
            builder.Append(StandardHeaderValue(request, name)).Append('\n');
        }

        builder.Append(BuildCanonicalizedHeaders(request.Headers.Select(h => (h.Name, h.Value))));
        builder.Append(BuildCanonicalizedResource(request.Uri.ToUri(), accountName));
        return builder.ToString();
    }

    /// <summary>Every <c>x-ms-</c> header, lower-cased, sorted, whitespace folded, one per line.</summary>
    internal static string BuildCanonicalizedHeaders(IEnumerable<(string Name, string Value)> headers)
    {
        var builder = new StringBuilder();
        var storageHeaders = headers
            .Where(h => h.Name.StartsWith("x-ms-", StringComparison.OrdinalIgnoreCase))
            .Select(h => (Name: h.Name.Trim().ToLowerInvariant(), h.Value))
            .OrderBy(h => h.Name, StringComparer.Ordinal);
        foreach (var (name, value) in storageHeaders)
        {
            builder.Append(name).Append(':').Append(FoldWhitespace(value)).Append('\n');
        }

        return builder.ToString();
    }

    /// <summary>
    /// <c>/account/encoded-path</c>, then one line per query parameter: lower-cased name, URL-decoded values
    /// sorted and comma-joined, parameters sorted by name.
    /// </summary>
    internal static string BuildCanonicalizedResource(Uri uri, string accountName)
    {
        var builder = new StringBuilder();
        builder.Append('/').Append(accountName).Append(uri.AbsolutePath.Length > 0 ? uri.AbsolutePath : "/");

        var parameters = new SortedDictionary<string, List<string>>(StringComparer.Ordinal);
        foreach (var pair in uri.Query.TrimStart('?').Split('&', StringSplitOptions.RemoveEmptyEntries))
        {
            var equals = pair.IndexOf('=', StringComparison.Ordinal);
            var name = Uri.UnescapeDataString(equals < 0 ? pair : pair[..equals]).ToLowerInvariant();
            var value = equals < 0 ? string.Empty : Uri.UnescapeDataString(pair[(equals + 1)..]);
            if (!parameters.TryGetValue(name, out var values))
            {
                parameters[name] = values = [];
            }

            values.Add(value);
        }

        foreach (var (name, values) in parameters)
        {
            values.Sort(StringComparer.Ordinal);
            builder.Append('\n').Append(name).Append(':').AppendJoin(',', values);
        }

        return builder.ToString();
    }

    private static string StandardHeaderValue(Request request, string name)
    {
        if (name == "Content-Length")
        {
            // Since 2015-02-21 a zero length signs as the empty string.
            return request.Content is not null && request.Content.TryComputeLength(out var length) && length > 0
                ? length.ToString(CultureInfo.InvariantCulture)
                : string.Empty;
        }

        return request.Headers.TryGetValue(name, out var value) ? value : string.Empty;
    }

    private static string FoldWhitespace(string value)
    {
        var builder = new StringBuilder(value.Length);
        var inWhitespace = false;
        foreach (var c in value.Trim())
        {
            if (c is ' ' or '\t' or '\r' or '\n')
            {
                if (!inWhitespace)
                {
                    builder.Append(' ');
                }

                inWhitespace = true;
            }
            else
            {
                builder.Append(c);
                inWhitespace = false;
            }
        }

        return builder.ToString();
    }
}
