using System.Buffers.Text;
using System.Text;

namespace Fleet.Simulator.Api;

/// <summary>The page a list call asks for: its size and the continuation token it sent, if any.</summary>
internal readonly record struct PageRequest(int Size, string? Token);

/// <summary>
/// Opaque continuation tokens: base64url of "scope|key", where the scope names the list (so a token of one list
/// is rejected by another) and the key is the sort key of the last item returned. Keyset paging stays stable when
/// items are added or removed between pages.
/// </summary>
internal static class Paging
{
    public const string ContinuationHeader = "Sphere-Continuation";

    public static string Encode(string scope, string key) =>
        Base64Url.EncodeToString(Encoding.UTF8.GetBytes(scope + "|" + key));

    public static bool TryDecode(string? token, string scope, out string? key)
    {
        key = null;
        if (string.IsNullOrEmpty(token))
        {
            return true;
        }

        if (token.Length > 2048 || !Base64Url.IsValid(token))
        {
            return false;
        }

        var text = Encoding.UTF8.GetString(Base64Url.DecodeFromChars(token));
        var bar = text.LastIndexOf('|');
        if (bar < 0 || !string.Equals(text[..bar], scope, StringComparison.Ordinal))
        {
            return false;
        }

        key = text[(bar + 1)..];
        return key.Length > 0;
    }

    public static ApiError InvalidToken() =>
        ApiError.BadRequest("InvalidContinuationToken", $"The {ContinuationHeader} header does not hold a continuation token of this list.");
}
