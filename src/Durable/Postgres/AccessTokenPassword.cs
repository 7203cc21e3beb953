using Microsoft.Extensions.Logging;

namespace Fleet.Durable.Postgres;

/// <summary>
/// Turns an access-token provider into the password of new physical connections. A token is reused until its refresh
/// time (5 minutes before expiry, or half way through a shorter lifetime), so a new connection never logs in with a
/// token about to expire; one caller fetches while others wait. If fetching fails while the cached token is still
/// valid, the cached one is used and the next connection tries again. Open connections are unaffected by expiry:
/// Azure Database for PostgreSQL checks the token only at login.
/// </summary>
internal sealed class AccessTokenPassword : IDisposable
{
    private static readonly TimeSpan RefreshMargin = TimeSpan.FromMinutes(5);
    private readonly PostgresAccessTokenProvider _provider;
    private readonly TimeProvider _time;
    private readonly ILogger _logger;
    private readonly SemaphoreSlim _gate = new(1, 1);
    private volatile Cached? _cached;

    public AccessTokenPassword(PostgresAccessTokenProvider provider, TimeProvider time, ILogger logger)
    {
        _provider = provider;
        _time = time;
        _logger = logger;
    }

    /// <summary>When the cached token will be replaced (for tests and diagnostics).</summary>
    public DateTimeOffset? RefreshAt => _cached?.RefreshAt;

    /// <summary>How many tokens were fetched so far.</summary>
    public int Fetches { get; private set; }

    public async ValueTask<string> GetAsync(CancellationToken cancellationToken)
    {
        if (Fresh() is { } fresh)
        {
            return fresh;
        }

        await _gate.WaitAsync(cancellationToken).ConfigureAwait(false);
        try
        {
            if (Fresh() is { } fetchedMeanwhile)
            {
                return fetchedMeanwhile;
            }

            PostgresAccessToken token;
            try
            {
                token = await _provider(cancellationToken).ConfigureAwait(false);
            }
            catch (Exception ex) when (ex is not OperationCanceledException && _cached is { } cached && cached.ExpiresOn > _time.GetUtcNow())
            {
                _logger.AccessTokenRefreshFailed(ex, cached.ExpiresOn);
                return cached.Token;
            }

            if (string.IsNullOrEmpty(token.Token))
            {
                throw new InvalidOperationException("The access token provider returned an empty token.");
            }

            var now = _time.GetUtcNow();
            var lifetime = token.ExpiresOn - now;
            var margin = lifetime > RefreshMargin * 2 ? RefreshMargin : lifetime / 2;
            var refreshAt = token.ExpiresOn - (margin > TimeSpan.Zero ? margin : TimeSpan.Zero);
            _cached = new Cached(token.Token, token.ExpiresOn, refreshAt);
            Fetches++;
            _logger.AccessTokenFetched(token.ExpiresOn, refreshAt);
            return token.Token;
        }
        finally
        {
            _gate.Release();
        }
    }

    public void Dispose() => _gate.Dispose();

    private string? Fresh() =>
        _cached is { } cached && _time.GetUtcNow() < cached.RefreshAt ? cached.Token : null;

    private sealed record Cached(string Token, DateTimeOffset ExpiresOn, DateTimeOffset RefreshAt);
}
