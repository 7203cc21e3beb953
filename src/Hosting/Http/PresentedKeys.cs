using Microsoft.AspNetCore.Http;

namespace Fleet.Hosting.Http;

/// <summary>Where a caller presents a function key, as Azure Functions reads it: the header first, then <c>?code=</c>.</summary>
internal static class PresentedKeys
{
    public const string KeyHeader = "x-functions-key";
    public const string KeyQuery = "code";

    /// <summary>The key the request presents, or null/empty when it presents none.</summary>
    public static string? Of(HttpRequest request)
    {
        var header = request.Headers[KeyHeader].ToString();
        return string.IsNullOrEmpty(header) ? request.Query[KeyQuery].ToString() : header;
    }
}
