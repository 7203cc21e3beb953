using System.Runtime.CompilerServices;
using Azure;

namespace Fleet.Shared.Paging;

/// <summary>
/// A list of pages linked by continuation tokens (Sphere's <c>ContinuationToken</c>, IoT Central's <c>nextLink</c>):
/// enumerating it fetches page after page, handing each page's token to the next fetch, until a page comes back
/// without one. Cancelled by the token given to the list call or to the enumeration (<c>WithCancellation</c>),
/// whichever fires first.
/// </summary>
internal sealed class ContinuationPageable<T>(
    Func<string?, int?, CancellationToken, Task<Page<T>>> fetchPage,
    CancellationToken cancellationToken) : AsyncPageable<T>(cancellationToken)
    where T : notnull
{
    public override IAsyncEnumerable<Page<T>> AsPages(string? continuationToken = null, int? pageSizeHint = null) =>
        EnumeratePagesAsync(continuationToken, pageSizeHint);

    private async IAsyncEnumerable<Page<T>> EnumeratePagesAsync(string? continuationToken, int? pageSizeHint,
        [EnumeratorCancellation] CancellationToken enumerationToken = default)
    {
        using var linked = enumerationToken.CanBeCanceled && CancellationToken.CanBeCanceled
            ? CancellationTokenSource.CreateLinkedTokenSource(CancellationToken, enumerationToken)
            : null;
        var token = linked?.Token ?? (enumerationToken.CanBeCanceled ? enumerationToken : CancellationToken);
        var continuation = continuationToken;
        do
        {
            var page = await fetchPage(continuation, pageSizeHint, token).ConfigureAwait(false);
            yield return page;
            continuation = page.ContinuationToken;
        }
        while (!string.IsNullOrEmpty(continuation));
    }
}
