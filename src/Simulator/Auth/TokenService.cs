using System.Buffers.Text;
using System.Collections.Concurrent;
using System.Security.Cryptography;
using System.Text;
using System.Text.Json;
using Fleet.Simulator.Model;

namespace Fleet.Simulator.Auth;

/// <summary>Why a bearer token was refused (each maps to a 401 ErrorCode).</summary>
internal enum TokenFault
{
    None,
    MissingToken,
    MalformedToken,
    InvalidTokenSignature,
    TokenExpired,
    InvalidAudience,
}

/// <summary>The caller a valid token names.</summary>
internal readonly record struct TokenPrincipal(Guid PrincipalId, Guid ClientId);

/// <summary>
/// Issues and checks compact JWTs (header.payload.signature, HMAC-SHA256) with aud, iss, iat, nbf, exp, oid, sub,
/// tid and appid. Expiry is read from the injected clock.
/// </summary>
internal sealed class TokenService
{
    /// <summary>The audience the Sphere API accepts (managed identities ask for <c>…/api/.default</c>).</summary>
    public const string SphereAudience = "https://firstparty.sphere.azure.net/api";

    private const int MaxCachedTokens = 4096;
    private static readonly string Header = Base64Url.EncodeToString("""{"alg":"HS256","typ":"JWT"}"""u8);

    private readonly byte[] _key;
    private readonly TimeProvider _time;
    private readonly SettingsStore _settings;
    private readonly ConcurrentDictionary<string, ParsedToken> _validated = new(StringComparer.Ordinal);

    public TokenService(string? signingKey, TimeProvider time, SettingsStore settings)
    {
        _key = signingKey is null ? RandomNumberGenerator.GetBytes(32) : Encoding.UTF8.GetBytes(signingKey);
        _time = time;
        _settings = settings;
    }

    private sealed record ParsedToken(Guid PrincipalId, Guid ClientId, string Audience, long ExpiresUnix);

    public (string Token, DateTimeOffset ExpiresOn) Issue(Guid principalId, Guid clientId, string audience, TimeSpan? lifetime = null, string? resourceId = null)
    {
        var now = _time.GetUtcNow();
        var expiresOn = now + (lifetime ?? _settings.Current.TokenLifetime);
        var payload = JsonSerializer.SerializeToUtf8Bytes(new Dictionary<string, object?>
        {
            ["aud"] = audience,
            ["iss"] = $"https://sts.windows.net/{KnownIdentities.EntraTenantId}/",
            ["iat"] = now.ToUnixTimeSeconds(),
            ["nbf"] = now.ToUnixTimeSeconds(),
            ["exp"] = expiresOn.ToUnixTimeSeconds(),
            ["oid"] = principalId.ToString(),
            ["sub"] = principalId.ToString(),
            ["tid"] = KnownIdentities.EntraTenantId.ToString(),
            ["appid"] = clientId.ToString(),
            ["idtyp"] = "app",
            ["xms_mirid"] = resourceId,
            ["uti"] = Base64Url.EncodeToString(RandomNumberGenerator.GetBytes(12)),
        });
        var signingInput = Header + "." + Base64Url.EncodeToString(payload);
        var signature = HMACSHA256.HashData(_key, Encoding.ASCII.GetBytes(signingInput));
        return (signingInput + "." + Base64Url.EncodeToString(signature), expiresOn);
    }

    /// <summary>The audience IoT Central accepts (identities ask for <c>https://apps.azureiotcentral.com/.default</c>).</summary>
    public const string IoTCentralAudience = "https://apps.azureiotcentral.com";

    /// <summary>Checks an Authorization header value for the Sphere API; on success returns the principal.</summary>
    public TokenFault Validate(string? authorization, out TokenPrincipal principal) =>
        Validate(authorization, SphereAudience, out principal);

    /// <summary>Checks an Authorization header value for <paramref name="audience"/>; on success returns the principal.</summary>
    public TokenFault Validate(string? authorization, string audience, out TokenPrincipal principal)
    {
        principal = default;
        if (string.IsNullOrWhiteSpace(authorization))
        {
            return TokenFault.MissingToken;
        }

        const string Scheme = "Bearer ";
        if (!authorization.StartsWith(Scheme, StringComparison.OrdinalIgnoreCase))
        {
            return TokenFault.MalformedToken;
        }

        var token = authorization[Scheme.Length..].Trim();
        if (!_validated.TryGetValue(token, out var parsed))
        {
            var fault = Parse(token, out parsed);
            if (fault != TokenFault.None)
            {
                return fault;
            }

            if (_validated.Count >= MaxCachedTokens)
            {
                _validated.Clear();
            }

            _validated[token] = parsed!;
        }

        if (parsed!.ExpiresUnix <= _time.GetUtcNow().ToUnixTimeSeconds())
        {
            return TokenFault.TokenExpired;
        }

        if (!string.Equals(parsed.Audience.TrimEnd('/'), audience, StringComparison.OrdinalIgnoreCase))
        {
            return TokenFault.InvalidAudience;
        }

        principal = new TokenPrincipal(parsed.PrincipalId, parsed.ClientId);
        return TokenFault.None;
    }

    private TokenFault Parse(string token, out ParsedToken? parsed)
    {
        parsed = null;
        var parts = token.Split('.');
        if (parts.Length != 3 || parts.Any(p => p.Length == 0 || !Base64Url.IsValid(p)))
        {
            return TokenFault.MalformedToken;
        }

        try
        {
            using (var header = JsonDocument.Parse(Base64Url.DecodeFromChars(parts[0])))
            {
                if (!header.RootElement.TryGetProperty("alg", out var alg) || alg.ValueKind != JsonValueKind.String)
                {
                    return TokenFault.MalformedToken;
                }

                if (alg.GetString() != "HS256")
                {
                    return TokenFault.InvalidTokenSignature;
                }
            }

            var expected = HMACSHA256.HashData(_key, Encoding.ASCII.GetBytes(parts[0] + "." + parts[1]));
            if (!CryptographicOperations.FixedTimeEquals(expected, Base64Url.DecodeFromChars(parts[2])))
            {
                return TokenFault.InvalidTokenSignature;
            }

            using var payload = JsonDocument.Parse(Base64Url.DecodeFromChars(parts[1]));
            var root = payload.RootElement;
            if (root.ValueKind != JsonValueKind.Object
                || !root.TryGetProperty("aud", out var aud) || aud.ValueKind != JsonValueKind.String
                || !root.TryGetProperty("exp", out var exp) || !exp.TryGetInt64(out var expires)
                || !root.TryGetProperty("oid", out var oid) || !Guid.TryParse(oid.GetString(), out var principalId))
            {
                return TokenFault.MalformedToken;
            }

            var clientId = root.TryGetProperty("appid", out var appid) && Guid.TryParse(appid.GetString(), out var c) ? c : Guid.Empty;
            parsed = new ParsedToken(principalId, clientId, aud.GetString()!, expires);
            return TokenFault.None;
        }
        catch (JsonException)
        {
            return TokenFault.MalformedToken;
        }
        catch (InvalidOperationException)
        {
            return TokenFault.MalformedToken;
        }
    }

    public static string Describe(TokenFault fault) => Describe(fault, SphereAudience);

    public static string Describe(TokenFault fault, string audience) => fault switch
    {
        TokenFault.MissingToken => "The request has no Authorization header; send 'Authorization: Bearer <token>'.",
        TokenFault.MalformedToken => "The Authorization header is not 'Bearer <JWT>' or the token cannot be read.",
        TokenFault.InvalidTokenSignature => "The token's signature is not valid for this service.",
        TokenFault.TokenExpired => "The token has expired; acquire a new one.",
        TokenFault.InvalidAudience => $"The token's audience is not {audience}; request a token for {audience}/.default.",
        _ => "The token is valid.",
    };
}
