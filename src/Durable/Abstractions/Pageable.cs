namespace Fleet.Durable;

/// <summary>One page of query results.</summary>
/// <typeparam name="T">The item type.</typeparam>
public sealed class Page<T>(IReadOnlyList<T> values, string? continuationToken = null)
    where T : notnull
{
    /// <summary>The items on this page.</summary>
    public IReadOnlyList<T> Values { get; } = values ?? throw new ArgumentNullException(nameof(values));

    /// <summary>The token for the next page, or null when this is the last.</summary>
    public string? ContinuationToken { get; } = continuationToken;
}

/// <summary>Results fetched a page at a time; enumerate items directly or page by page.</summary>
/// <typeparam name="T">The item type.</typeparam>
public abstract class AsyncPageable<T> : IAsyncEnumerable<T>
    where T : notnull
{
    /// <summary>Enumerates pages, starting after <paramref name="continuationToken"/> when given.</summary>
    public abstract IAsyncEnumerable<Page<T>> AsPages(string? continuationToken = null, int? pageSizeHint = null);

    /// <inheritdoc />
    public async IAsyncEnumerator<T> GetAsyncEnumerator(CancellationToken cancellationToken = default)
    {
        await foreach (var page in AsPages().WithCancellation(cancellationToken).ConfigureAwait(false))
        {
            foreach (var value in page.Values)
            {
                yield return value;
            }
        }
    }

    internal static AsyncPageable<T> Create(Func<string?, int?, CancellationToken, Task<Page<T>>> fetchPage) =>
        new FuncAsyncPageable(fetchPage);

    private sealed class FuncAsyncPageable(Func<string?, int?, CancellationToken, Task<Page<T>>> fetchPage) : AsyncPageable<T>
    {
        public override IAsyncEnumerable<Page<T>> AsPages(string? continuationToken = null, int? pageSizeHint = null) =>
            Enumerate(continuationToken, pageSizeHint, default);

        private async IAsyncEnumerable<Page<T>> Enumerate(
            string? continuationToken,
            int? pageSizeHint,
            [System.Runtime.CompilerServices.EnumeratorCancellation] CancellationToken cancellationToken)
        {
            var token = continuationToken;
            do
            {
                var page = await fetchPage(token, pageSizeHint, cancellationToken).ConfigureAwait(false);
                yield return page;
                token = page.ContinuationToken;
            }
            while (!string.IsNullOrEmpty(token));
        }
    }
}
