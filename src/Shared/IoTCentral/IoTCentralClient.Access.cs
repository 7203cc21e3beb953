using System.Buffers.Text;
using System.Text.Json;
using Azure;
using Azure.Core;
using Azure.Identity;

namespace Fleet.Shared.IoTCentral;

public partial class IoTCentralClient
{
    // ---- API tokens ----

    /// <summary>API tokens of the application, every page (values are never returned).</summary>
    public virtual AsyncPageable<IoTCentralApiToken> GetApiTokensAsync(CancellationToken cancellationToken = default) =>
        Pageable<IoTCentralApiToken>("apiTokens", null, cancellationToken);

    /// <summary>One API token (its value is never returned).</summary>
    public virtual Task<IoTCentralApiToken> GetApiTokenAsync(string tokenId, CancellationToken cancellationToken = default) =>
        GetAsync<IoTCentralApiToken>(PathOf("apiTokens", tokenId), cancellationToken);

    /// <summary>
    /// Creates an API token (<c>PUT /apiTokens/{id}</c>). The answer carries the value, shown only this once: store it,
    /// never log it. Without <paramref name="expiry"/> the service chooses (about a year).
    /// </summary>
    public virtual Task<IoTCentralApiToken> CreateApiTokenAsync(string tokenId, IReadOnlyList<IoTCentralRoleAssignment> roles,
        DateTimeOffset? expiry = null, CancellationToken cancellationToken = default)
    {
        ArgumentNullException.ThrowIfNull(roles);
        if (roles.Count == 0)
        {
            throw new ArgumentException("An API token needs at least one role.", nameof(roles));
        }

        return SendForAsync<IoTCentralApiToken>(RequestMethod.Put, PathOf("apiTokens", tokenId),
            JsonBody(new ApiTokenRequest(roles, expiry)), cancellationToken);
    }

    /// <summary>Deletes an API token; it stops working at once.</summary>
    public virtual async Task DeleteApiTokenAsync(string tokenId, CancellationToken cancellationToken = default) =>
        await SendAsync(new Call(RequestMethod.Delete, PathOf("apiTokens", tokenId)), cancellationToken)
            .ConfigureAwait(false);

    /// <summary>
    /// Replaces the API token this client uses: creates a new one with the current token's roles
    /// (<c>PUT /apiTokens/{newTokenId}</c>), writes its value to <see cref="IoTCentralClientOptions.ApiTokenFile"/>
    /// when one is configured, switches this client to it, and with <paramref name="deletePrevious"/> deletes the old
    /// one. The value is returned to the caller and never logged; with an inline <c>apiToken</c> setting the caller
    /// stores it (e.g. in the Key Vault secret the setting references).
    /// </summary>
    /// <param name="newTokenId">Id of the new token; default <c>fleet-{yyyyMMddHHmmss}</c> of now.</param>
    /// <param name="expiry">Expiry of the new token; null lets the service choose (about a year).</param>
    /// <param name="deletePrevious">Delete the previous token once the new one is in use (other hosts still using it then fail).</param>
    /// <param name="cancellationToken">Cancels the rotation.</param>
    /// <exception cref="InvalidOperationException">The client authenticates with an Entra identity.</exception>
    public virtual async Task<IoTCentralApiTokenRotation> RotateApiTokenAsync(string? newTokenId = null,
        DateTimeOffset? expiry = null, bool deletePrevious = false, CancellationToken cancellationToken = default)
    {
        if (_apiToken is null)
        {
            throw new InvalidOperationException(
                "This IoT Central client authenticates with an Entra identity; it has no API token to rotate.");
        }

        var previous = _apiToken.Current;
        var current = await GetApiTokenAsync(previous.TokenId, cancellationToken).ConfigureAwait(false);
        if (current.Roles is not { Count: > 0 } roles)
        {
            throw new InvalidOperationException($"IoT Central reports no roles for API token {previous.TokenId}.");
        }

        newTokenId ??= "fleet-" + _time.GetUtcNow().ToString("yyyyMMddHHmmss", System.Globalization.CultureInfo.InvariantCulture);
        var created = await CreateApiTokenAsync(newTokenId, roles, expiry, cancellationToken).ConfigureAwait(false);
        var value = ApiTokenValue.TryParse(created.Token, out var problem)
            ?? throw new IoTCentralApiException(200, null, null, null,
                $"IoT Central created API token {newTokenId} but its answer's token value {problem}; delete the token " +
                "and rotate again.");

        string? storedIn = null;
        if (!string.IsNullOrWhiteSpace(_options.ApiTokenFile))
        {
            ApiTokenSource.Write(_options.ApiTokenFile, value.Value);
            storedIn = Path.GetFullPath(_options.ApiTokenFile);
        }

        _apiToken.Replace(value);
        Interlocked.Exchange(ref _nextExpiryCheckTicks, long.MinValue);
        if (deletePrevious)
        {
            await DeleteApiTokenAsync(previous.TokenId, cancellationToken).ConfigureAwait(false);
        }

        _logger.ApiTokenRotated(_endpoint.AbsoluteUri, previous.TokenId, value.TokenId, value.ExpiresOn,
            storedIn ?? "(not stored: no apiTokenFile setting)");
        return new IoTCentralApiTokenRotation(created, previous.TokenId, storedIn, deletePrevious);
    }

    /// <summary>Warns from <see cref="IoTCentralClientOptions.ApiTokenExpiryWarning"/> before expiry, at most once a day.</summary>
    private void CheckApiTokenExpiry()
    {
        if (_apiToken is null)
        {
            return;
        }

        var now = _time.GetUtcNow();
        var due = Interlocked.Read(ref _nextExpiryCheckTicks);
        if (now.UtcTicks < due)
        {
            return;
        }

        var token = _apiToken.Current;
        var warnFrom = token.ExpiresOn - _options.ApiTokenExpiryWarning;
        var next = now >= warnFrom ? now.AddDays(1) : warnFrom;
        if (Interlocked.CompareExchange(ref _nextExpiryCheckTicks, next.UtcTicks, due) != due)
        {
            return; // another caller checked at the same moment
        }

        if (now >= token.ExpiresOn)
        {
            _logger.ApiTokenExpired(token.TokenId, _endpoint.AbsoluteUri, token.ExpiresOn);
        }
        else if (now >= warnFrom)
        {
            _logger.ApiTokenExpiring(token.TokenId, _endpoint.AbsoluteUri, token.ExpiresOn, token.ExpiresOn - now);
        }
    }

    // ---- Entra identities that are not app users ----

    /// <summary>
    /// A 403 for an Entra identity most often means it was never added as a user of the application. The identity's
    /// object id is read from its token and looked up as a user: a user that exists lacks the role; one that does not
    /// gets an error that says how to add it.
    /// </summary>
    private async Task<IoTCentralApiException> DiagnoseForbiddenAsync(Call call, IoTCentralApiException failure,
        CancellationToken cancellationToken)
    {
        (string ObjectId, string? TenantId)? identity;
        try
        {
            var token = await _credential!.GetTokenAsync(new TokenRequestContext([_options.Scope]), cancellationToken)
                .ConfigureAwait(false);
            identity = IdentityOf(token.Token);
        }
        catch (Exception ex) when (ex is AuthenticationFailedException or RequestFailedException)
        {
            return failure;
        }

        if (identity is not { } id)
        {
            return failure;
        }

        var method = call.Method.Method;
        var path = call.LogPath(_endpoint);
        int lookup;
        try
        {
            var userCall = new Call(RequestMethod.Get, PathOf("users", id.ObjectId), IsDiagnosis: true);
            var user = Read<IoTCentralUser>(userCall, await SendAsync(userCall, cancellationToken).ConfigureAwait(false));
            var roles = string.Join(", ", user.Roles?.Select(r => r.Organization is null ? r.Role : $"{r.Role} in {r.Organization}") ?? []);
            return new IoTCentralApiException(failure.Status, failure.ErrorCode, failure.ErrorMessage, failure.RequestId,
                failure.Message + $" The identity {id.ObjectId} is user '{user.Id}' of the application with role(s) " +
                $"{roles}, which do not allow {method} {path}.")
            {
                Method = method,
                Path = path,
            };
        }
        catch (IoTCentralApiException ex) when (ex.Status is 401 or 403 or 404)
        {
            lookup = ex.Status;
        }

        _logger.NotAppUser(id.ObjectId, id.TenantId, _endpoint.AbsoluteUri);
        var tenant = id.TenantId ?? "<tenant id>";
        return new IoTCentralApiException(failure.Status, failure.ErrorCode, failure.ErrorMessage, failure.RequestId,
            $"IoT Central refused {method} {path} ({failure.Status}{(failure.ErrorCode is null ? string.Empty : " " + failure.ErrorCode)}" +
            $"{(failure.RequestId is null ? string.Empty : ", request id " + failure.RequestId)}) for the Entra identity " +
            $"{id.ObjectId} of tenant {tenant}, which is not a user of the application (GET /users/{id.ObjectId} answered " +
            $"{lookup}). An administrator adds it: PUT /api/users/{id.ObjectId}?api-version={_options.ApiVersion} with " +
            $"{{\"type\":\"servicePrincipal\",\"tenantId\":\"{tenant}\",\"objectId\":\"{id.ObjectId}\"," +
            "\"roles\":[{\"role\":\"<role id>\"}]} (or Permissions > Users in the application).")
        {
            Method = method,
            Path = path,
            IsNotAppUser = true,
        };
    }

    /// <summary>The <c>oid</c> and <c>tid</c> claims of a JWT (read, not validated: only to name the caller).</summary>
    private static (string ObjectId, string? TenantId)? IdentityOf(string jwt)
    {
        var parts = jwt.Split('.');
        if (parts.Length != 3 || !Base64Url.IsValid(parts[1]))
        {
            return null;
        }

        try
        {
            using var payload = JsonDocument.Parse(Base64Url.DecodeFromChars(parts[1]));
            var root = payload.RootElement;
            if (root.ValueKind != JsonValueKind.Object
                || !root.TryGetProperty("oid", out var oid) || oid.ValueKind != JsonValueKind.String)
            {
                return null;
            }

            var tid = root.TryGetProperty("tid", out var t) && t.ValueKind == JsonValueKind.String ? t.GetString() : null;
            return (oid.GetString()!, tid);
        }
        catch (JsonException)
        {
            return null;
        }
    }
}
