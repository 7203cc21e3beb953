using System.Globalization;
using System.Net;
using System.Security.Cryptography;
using System.Text;

namespace Fleet.ServiceBus.Amqp;

/// <summary>
/// Checks shared access signatures as the service does: the key name, the HMAC-SHA256 signature over the resource and
/// expiry, the expiry itself, and that the token's resource covers the audience. The scheme of either is ignored
/// (clients sign <c>amqps://…</c> or <c>sb://…</c> resources even over plain AMQP).
/// </summary>
internal sealed class SasTokenValidator(string keyName, string key, TimeProvider time)
{
    private const string Prefix = "SharedAccessSignature ";

    /// <summary>Returns null for a valid token, else why it is refused (never echoing the token or key).</summary>
    public string? Validate(string? token, string audience, out DateTimeOffset expiresAt)
    {
        expiresAt = default;
        if (token is null || !token.StartsWith(Prefix, StringComparison.Ordinal))
        {
            return "The token is not a shared access signature.";
        }

        var fields = new Dictionary<string, string>(StringComparer.OrdinalIgnoreCase);
        foreach (var pair in token[Prefix.Length..].Split('&', StringSplitOptions.RemoveEmptyEntries | StringSplitOptions.TrimEntries))
        {
            var eq = pair.IndexOf('=', StringComparison.Ordinal);
            if (eq > 0)
            {
                fields[pair[..eq]] = pair[(eq + 1)..];
            }
        }

        if (!fields.TryGetValue("sr", out var encodedResource) || !fields.TryGetValue("sig", out var signature) ||
            !fields.TryGetValue("se", out var expiry) || !fields.TryGetValue("skn", out var name))
        {
            return "The shared access signature lacks one of sr, sig, se and skn.";
        }

        if (!string.Equals(WebUtility.UrlDecode(name), keyName, StringComparison.Ordinal))
        {
            return $"The shared access key name '{WebUtility.UrlDecode(name)}' is not known to this namespace.";
        }

        var decodedExpiry = WebUtility.UrlDecode(expiry);
        if (!long.TryParse(decodedExpiry, NumberStyles.None, CultureInfo.InvariantCulture, out var unixSeconds))
        {
            return "The shared access signature's expiry (se) is not a number.";
        }

        var resource = WebUtility.UrlDecode(encodedResource);
        if (!SignatureMatches(WebUtility.UrlDecode(signature), encodedResource, decodedExpiry) &&
            !SignatureMatches(WebUtility.UrlDecode(signature), WebUtility.UrlEncode(resource), decodedExpiry))
        {
            return "The shared access signature's signature does not match the key.";
        }

        expiresAt = DateTimeOffset.FromUnixTimeSeconds(unixSeconds);
        if (expiresAt <= time.GetUtcNow())
        {
            return "The shared access signature has expired.";
        }

        return Covers(resource, audience) ? null : $"The token's resource does not grant access to '{audience}'.";
    }

    /// <summary>Whether a token for <paramref name="resource"/> grants access to <paramref name="audience"/>.</summary>
    public static bool Covers(string resource, string audience)
    {
        var granted = WithoutScheme(resource).TrimEnd('/');
        var wanted = WithoutScheme(audience).TrimEnd('/');
        return granted.Length == 0 || wanted.Equals(granted, StringComparison.OrdinalIgnoreCase) ||
            wanted.StartsWith(granted + "/", StringComparison.OrdinalIgnoreCase);
    }

    private bool SignatureMatches(string signature, string signedResource, string expiry)
    {
        byte[] expected;
        try
        {
            expected = Convert.FromBase64String(signature);
        }
        catch (FormatException)
        {
            return false;
        }

        var actual = HMACSHA256.HashData(Encoding.UTF8.GetBytes(key), Encoding.UTF8.GetBytes(signedResource + "\n" + expiry));
        return CryptographicOperations.FixedTimeEquals(expected, actual);
    }

    private static string WithoutScheme(string uri)
    {
        var index = uri.IndexOf("://", StringComparison.Ordinal);
        var rest = index >= 0 ? uri[(index + 3)..] : uri;
        // A port in the host part does not change the namespace a token is for.
        var slash = rest.IndexOf('/', StringComparison.Ordinal);
        var host = slash >= 0 ? rest[..slash] : rest;
        var colon = host.IndexOf(':', StringComparison.Ordinal);
        return (colon >= 0 ? host[..colon] : host) + (slash >= 0 ? rest[slash..] : string.Empty);
    }
}
