using System.Globalization;
using Azure;
using Fleet.Shared.Paging;

namespace Fleet.Shared.IoTConnect;

/// <summary>One page as read: its items, the envelope's <c>count</c> and the raw response.</summary>
internal sealed record IoTConnectPage<T>(IReadOnlyList<T> Items, long? Count, Response Raw);

/// <summary>
/// IoTConnect lists as <see cref="AsyncPageable{T}"/>: enumerating one fetches <c>pageNumber</c> 1, 2, … of
/// <c>pageSize</c> items, the page number serving as continuation token. The list ends with a page shorter than the
/// page size, or once the pages read cover <c>count</c> when <c>count</c> is clearly the total (larger than one page's
/// items). What <c>count</c> means is not documented, so a full last page whose count equals its own size costs one
/// more (empty) request rather than a missed page.
/// </summary>
internal static class IoTConnectPaging
{
    public static AsyncPageable<T> Create<T>(Func<int, int, CancellationToken, Task<IoTConnectPage<T>>> fetchPage, int pageSize,
        CancellationToken cancellationToken)
        where T : notnull =>
        new ContinuationPageable<T>(async (continuation, pageSizeHint, token) =>
        {
            var number = 1;
            if (continuation is not null
                && (!int.TryParse(continuation, NumberStyles.None, CultureInfo.InvariantCulture, out number) || number < 1))
            {
                throw new ArgumentException("An IoTConnect continuation token is a page number (1 or more).", nameof(continuation));
            }

            var size = pageSizeHint is > 0 ? pageSizeHint.Value : pageSize;
            var page = await fetchPage(number, size, token).ConfigureAwait(false);
            var next = HasMore(page.Items.Count, page.Count, number, size) ? (number + 1).ToString(CultureInfo.InvariantCulture) : null;
            return Page<T>.FromValues(page.Items, next, page.Raw);
        }, cancellationToken);

    /// <summary>Whether a page after page <paramref name="number"/> (of <paramref name="items"/> items) can hold items.</summary>
    internal static bool HasMore(int items, long? count, int number, int size) =>
        items >= size && !(count is { } total && total > items && (long)number * size >= total);
}
