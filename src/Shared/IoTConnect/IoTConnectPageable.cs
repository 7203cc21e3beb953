using System.Globalization;
using System.Runtime.CompilerServices;
using Azure;

namespace Fleet.Shared.IoTConnect;

/// <summary>One page as read: its items, the envelope's <c>count</c> and the raw response.</summary>
internal sealed record IoTConnectPage<T>(IReadOnlyList<T> Items, long? Count, Response Raw);

/// <summary>
/// An IoTConnect list: enumerating it fetches <c>pageNumber</c> 1, 2, … of <c>pageSize</c> items. The list ends
/// with a page shorter than the page size, or once the pages read cover <c>count</c> when <c>count</c> is clearly
/// the total (larger than one page's items). What <c>count</c> means is not documented, so a full last page whose
/// count equals its own size costs one more (empty) request rather than a missed page. The continuation token of a
/// page is the next page number.
/// </summary>
internal sealed class IoTConnectPageable<T>(
    Func<int, int, CancellationToken, Task<IoTConnectPage<T>>> fetchPage,
    int pageSize,
    CancellationToken cancellationToken) : AsyncPageable<T>(cancellationToken)
    where T : notnull
{
    public override IAsyncEnumerable<Page<T>> AsPages(string? continuationToken = null, int? pageSizeHint = null)
    {
        var first = 1;
        if (continuationToken is not null
            && (!int.TryParse(continuationToken, NumberStyles.None, CultureInfo.InvariantCulture, out first) || first < 1))
        {
            throw new ArgumentException("An IoTConnect continuation token is a page number (1 or more).", nameof(continuationToken));
        }

        return EnumeratePagesAsync(first, pageSizeHint is > 0 ? pageSizeHint.Value : pageSize);
    }

    /// <summary>Whether a page after <paramref name="page"/> (number <paramref name="number"/>) can hold items.</summary>
    internal static bool HasMore(IoTConnectPage<T> page, int number, int size) =>
        page.Items.Count >= size && !(page.Count is { } count && count > page.Items.Count && (long)number * size >= count);

    private async IAsyncEnumerable<Page<T>> EnumeratePagesAsync(int number, int size,
        [EnumeratorCancellation] CancellationToken enumerationToken = default)
    {
        using var linked = enumerationToken.CanBeCanceled && CancellationToken.CanBeCanceled
            ? CancellationTokenSource.CreateLinkedTokenSource(CancellationToken, enumerationToken)
            : null;
        var token = linked?.Token ?? (enumerationToken.CanBeCanceled ? enumerationToken : CancellationToken);
        while (true)
        {
            var page = await fetchPage(number, size, token).ConfigureAwait(false);
            var more = HasMore(page, number, size);
            yield return Page<T>.FromValues(page.Items, more ? (number + 1).ToString(CultureInfo.InvariantCulture) : null, page.Raw);
            if (!more)
            {
                yield break;
            }

            number++;
        }
    }
}
