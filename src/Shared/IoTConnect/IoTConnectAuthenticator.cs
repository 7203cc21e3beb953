using System.Text.Json.Serialization;
using Azure.Core;
using Microsoft.Extensions.Logging;

namespace Fleet.Shared.IoTConnect;

/// <summary>
/// The session of one IoTConnect connection, shared by every call of its client. A session starts with
/// <c>GET Auth/basic-token</c> and <c>POST Auth/login</c> (<c>Authorization: Basic &lt;token&gt;</c>, the
/// <c>solution-key</c> header, <c>{ username, password }</c>) and gives a bearer token with <c>expires_in</c> and a
/// refresh token. Before the access token expires (<see cref="IoTConnectClientOptions.TokenRefreshMargin"/>) one
/// <c>POST Auth/refresh-token</c> renews it while calls go on with the old one; when the service refuses a token
/// (401) the session is renewed by refresh, and by a full login when the refresh token is refused too. Renewals are
/// single-flight: however many calls need a token at once, one login or refresh runs and all of them wait for it.
/// </summary>
public class IoTConnectAuthenticator
{
    private readonly object _gate = new();
    private readonly IoTConnectCaller _caller = null!;
    private readonly IoTConnectServiceLocator _services = null!;
    private readonly IoTConnectCredentialSource _credentials = null!;
    private readonly SecretRedactor _redactor = null!;
    private readonly TimeProvider _time = null!;
    private readonly TimeSpan _refreshMargin;
    private readonly ILogger _logger = null!;
    private Session? _session;
    private Task<Session>? _renewal;

    /// <summary>For mocking.</summary>
    protected IoTConnectAuthenticator()
    {
    }

    internal IoTConnectAuthenticator(IoTConnectCaller caller, IoTConnectServiceLocator services, IoTConnectCredentialSource credentials,
        SecretRedactor redactor, TimeProvider time, TimeSpan refreshMargin, ILogger logger)
    {
        _caller = caller;
        _services = services;
        _credentials = credentials;
        _redactor = redactor;
        _time = time;
        _refreshMargin = refreshMargin;
        _logger = logger;
    }

    /// <summary>When the current access token expires (service clock as seen here), or null before the first login.</summary>
    public virtual DateTimeOffset? ExpiresAt
    {
        get
        {
            lock (_gate)
            {
                return _session?.ExpiresAt;
            }
        }
    }

    /// <summary>
    /// A usable access token: the current one, or the one a renewal (started here or by a concurrent call) produces.
    /// </summary>
    /// <exception cref="IoTConnectApiException">Login failed (e.g. 401 <c>InvalidCredentials</c>) or the auth service did not answer.</exception>
    public virtual async ValueTask<string> GetAccessTokenAsync(CancellationToken cancellationToken = default)
    {
        Task<Session> renewal;
        lock (_gate)
        {
            var now = _time.GetUtcNow();
            if (_session is { Rejected: false } current && now < current.ExpiresAt)
            {
                if (now >= current.RefreshAt && _renewal is null)
                {
                    // Ahead of expiry: renew in the background and go on with the token that still works.
                    _renewal = StartRenewal(current);
                    _ = _renewal.ContinueWith(t => _logger.BackgroundRefreshFailed(t.Exception!.InnerException?.GetType().Name ?? "unknown"),
                        CancellationToken.None, TaskContinuationOptions.OnlyOnFaulted | TaskContinuationOptions.ExecuteSynchronously, TaskScheduler.Default);
                }

                return current.AccessToken;
            }

            renewal = _renewal ??= StartRenewal(_session);
        }

        return (await renewal.WaitAsync(cancellationToken).ConfigureAwait(false)).AccessToken;
    }

    /// <summary>
    /// Reports that the service answered 401 to a call made with <paramref name="accessToken"/>; if it is still the
    /// current token, the next call renews the session (a token renewed meanwhile is kept).
    /// </summary>
    public virtual void RejectAccessToken(string accessToken)
    {
        lock (_gate)
        {
            if (_session is not { Rejected: false } current || !string.Equals(current.AccessToken, accessToken, StringComparison.Ordinal))
            {
                return;
            }

            _session = current with { Rejected = true };
            _logger.AccessTokenRejected(current.Username);
        }
    }

    private Task<Session> StartRenewal(Session? previous) => Task.Run(async () =>
    {
        try
        {
            var next = await RenewAsync(previous).ConfigureAwait(false);
            lock (_gate)
            {
                _session = next;
                _renewal = null;
            }

            return next;
        }
        catch
        {
            lock (_gate)
            {
                _renewal = null;
            }

            throw;
        }
    });

    private async Task<Session> RenewAsync(Session? previous)
    {
        var credentials = await _credentials.GetAsync(CancellationToken.None).ConfigureAwait(false);
        var auth = (await _services.GetAsync(CancellationToken.None).ConfigureAwait(false)).Auth;
        var limiterKey = "IoTConnect-auth|" + auth.Authority;
        if (previous is { RefreshToken.Length: > 0 })
        {
            var started = _time.GetUtcNow();
            try
            {
                var call = new IoTConnectCall("auth", RequestMethod.Post, auth, "Auth/refresh-token",
                    BinaryData.FromObjectAsJson(new { refreshtoken = previous.RefreshToken }, IoTConnectEnvelope.Json));
                var refreshed = Start(credentials.Username, started,
                    IoTConnectEnvelope.ReadBody<LoginAnswer>(await _caller.SendAsync(limiterKey, call, CancellationToken.None).ConfigureAwait(false), "a login answer"));
                _logger.TokenRefreshed(credentials.Username, refreshed.ExpiresAt - started);
                return refreshed;
            }
            catch (IoTConnectApiException ex) when (ex.Status is 400 or 401 or 403 or 404)
            {
                // The refresh token is revoked, used or expired: only a full login can start a new session.
                _logger.RefreshRejected(credentials.Username, ex.Status, ex.ErrorCode);
            }
        }

        var basic = IoTConnectEnvelope.ReadData<string>(
            await _caller.SendAsync(limiterKey, new IoTConnectCall("auth", RequestMethod.Get, auth, "Auth/basic-token"), CancellationToken.None)
                .ConfigureAwait(false),
            "a basic token");
        _redactor.Add(basic);
        var loginStarted = _time.GetUtcNow();
        var login = new IoTConnectCall("auth", RequestMethod.Post, auth, "Auth/login",
            BinaryData.FromObjectAsJson(new { username = credentials.Username, password = credentials.Password }, IoTConnectEnvelope.Json),
            [new("Authorization", "Basic " + basic), new("solution-key", credentials.SolutionKey)]);
        var session = Start(credentials.Username, loginStarted,
            IoTConnectEnvelope.ReadBody<LoginAnswer>(await _caller.SendAsync(limiterKey, login, CancellationToken.None).ConfigureAwait(false), "a login answer"));
        _logger.LoggedIn(credentials.Username, session.ExpiresAt - loginStarted);
        return session;
    }

    /// <summary>A session from a login answer; its lifetime counts from when the request was sent (the safe side).</summary>
    private Session Start(string username, DateTimeOffset sent, LoginAnswer answer)
    {
        if (string.IsNullOrEmpty(answer.AccessToken) || answer.ExpiresIn is not > 0)
        {
            throw new IoTConnectApiException(200, null, null, null,
                "IoTConnect answered a login or refresh without access_token or a positive expires_in.")
            {
                Service = "auth",
            };
        }

        _redactor.Add(answer.AccessToken);
        _redactor.Add(answer.RefreshToken);
        var lifetime = TimeSpan.FromSeconds(answer.ExpiresIn.Value);
        var margin = _refreshMargin < lifetime / 2 ? _refreshMargin : lifetime / 2;
        return new Session(username, answer.AccessToken, answer.RefreshToken ?? string.Empty, sent + lifetime, sent + lifetime - margin, Rejected: false);
    }

    private sealed record Session(string Username, string AccessToken, string RefreshToken, DateTimeOffset ExpiresAt,
        DateTimeOffset RefreshAt, bool Rejected);

    /// <summary>The login and refresh answer (top level, snake_case).</summary>
    private sealed record LoginAnswer(
        [property: JsonPropertyName("access_token")] string? AccessToken,
        [property: JsonPropertyName("refresh_token")] string? RefreshToken,
        [property: JsonPropertyName("expires_in")] long? ExpiresIn,
        [property: JsonPropertyName("token_type")] string? TokenType);
}
