using System.Collections.Concurrent;
using System.Security.Cryptography;
using System.Text;

namespace Fleet.Simulator.IoTConnect;

/// <summary>Why an IoTConnect bearer token was refused (each is the <c>param</c> of the 401 body).</summary>
internal enum SessionFault
{
    None,
    MissingToken,
    MalformedToken,
    InvalidToken,
    TokenExpired,
}

/// <summary>
/// The auth service's sessions: the basic token, access tokens and refresh tokens, on the injected clock. Tokens are
/// opaque random strings (the real ones' format is not needed by any client). A refresh rotates the refresh token:
/// the one presented stops working, so a client must keep the newest.
/// </summary>
internal sealed class IoTConnectSessions(int seed, TimeProvider time, IoTConnectSettingsStore settings)
{
    // Expired and revoked grants are pruned once this many are held, so long runs stay bounded.
    private const int PruneThreshold = 10_000;

    private readonly ConcurrentDictionary<string, Grant> _access = new(StringComparer.Ordinal);
    private readonly ConcurrentDictionary<string, Grant> _refresh = new(StringComparer.Ordinal);

    /// <summary>
    /// What <c>GET Auth/basic-token</c> hands out and <c>Auth/login</c> requires as <c>Authorization: Basic …</c>.
    /// Derived from the seed: it identifies the calling platform, not a user, so it is no secret.
    /// </summary>
    public string BasicToken { get; } = Convert.ToBase64String(SHA256.HashData(Encoding.UTF8.GetBytes($"iotconnect-basic|{seed}"))[..18]);

    private sealed record Grant(string SolutionKey, string Username, DateTimeOffset ExpiresAt);

    /// <summary>A new access and refresh token pair for a solution's user.</summary>
    public LoginAnswer Issue(string solutionKey, string username)
    {
        var now = time.GetUtcNow();
        var current = settings.Current;
        Prune(now);
        var access = "ica_" + Convert.ToHexStringLower(RandomNumberGenerator.GetBytes(24));
        var refresh = "icr_" + Convert.ToHexStringLower(RandomNumberGenerator.GetBytes(24));
        _access[access] = new Grant(solutionKey, username, now + current.AccessTokenLifetime);
        _refresh[refresh] = new Grant(solutionKey, username, now + current.RefreshTokenLifetime);

        // expires_in is whole seconds on the wire; a lifetime under a second is reported as 1.
        var seconds = Math.Max(1, (long)Math.Floor(current.AccessTokenLifetime.TotalSeconds));
        return new LoginAnswer("Bearer", access, seconds, refresh, 200);
    }

    /// <summary>Exchanges a live refresh token for a new pair; false when it is unknown, revoked, used or expired.</summary>
    public bool TryRefresh(string? refreshToken, out LoginAnswer answer)
    {
        answer = null!;
        if (string.IsNullOrEmpty(refreshToken) || !_refresh.TryRemove(refreshToken, out var grant) || grant.ExpiresAt <= time.GetUtcNow())
        {
            return false;
        }

        answer = Issue(grant.SolutionKey, grant.Username);
        return true;
    }

    /// <summary>Checks an <c>Authorization</c> header; on success returns the token's solution key.</summary>
    public SessionFault Validate(string? authorization, out string solutionKey)
    {
        solutionKey = string.Empty;
        if (string.IsNullOrWhiteSpace(authorization))
        {
            return SessionFault.MissingToken;
        }

        const string Scheme = "Bearer ";
        if (!authorization.StartsWith(Scheme, StringComparison.OrdinalIgnoreCase) || authorization.Length == Scheme.Length)
        {
            return SessionFault.MalformedToken;
        }

        if (!_access.TryGetValue(authorization[Scheme.Length..].Trim(), out var grant))
        {
            return SessionFault.InvalidToken;
        }

        if (grant.ExpiresAt <= time.GetUtcNow())
        {
            return SessionFault.TokenExpired;
        }

        solutionKey = grant.SolutionKey;
        return SessionFault.None;
    }

    /// <summary>Makes every live access token (of one solution, or all) expired now; returns how many.</summary>
    public int ExpireAccessTokens(string? solutionKey)
    {
        var now = time.GetUtcNow();
        var count = 0;
        foreach (var (token, grant) in _access)
        {
            if ((solutionKey is null || grant.SolutionKey == solutionKey) && grant.ExpiresAt > now)
            {
                _access[token] = grant with { ExpiresAt = now };
                count++;
            }
        }

        return count;
    }

    /// <summary>Revokes every refresh token (of one solution, or all); returns how many.</summary>
    public int RevokeRefreshTokens(string? solutionKey)
    {
        var count = 0;
        foreach (var (token, grant) in _refresh)
        {
            if ((solutionKey is null || grant.SolutionKey == solutionKey) && _refresh.TryRemove(token, out _))
            {
                count++;
            }
        }

        return count;
    }

    public void Clear()
    {
        _access.Clear();
        _refresh.Clear();
    }

    public static string Describe(SessionFault fault) => fault switch
    {
        SessionFault.MissingToken => "The request has no Authorization header.",
        SessionFault.MalformedToken => "The Authorization header is not 'Bearer <token>'.",
        SessionFault.InvalidToken => "The access token is not valid.",
        SessionFault.TokenExpired => "The access token has expired.",
        _ => "The request is not authorized.",
    };

    private void Prune(DateTimeOffset now)
    {
        foreach (var store in new[] { _access, _refresh })
        {
            if (store.Count < PruneThreshold)
            {
                continue;
            }

            foreach (var (token, grant) in store)
            {
                if (grant.ExpiresAt <= now)
                {
                    store.TryRemove(token, out _);
                }
            }
        }
    }
}
