using System.Globalization;
using System.Security.Cryptography;
using System.Text;
using Fleet.Simulator.Auth;

namespace Fleet.Simulator.IoTCentral;

/// <summary>Who is calling an application, and with which roles; <see cref="ObjectId"/> for an Entra principal.</summary>
internal sealed record IoTCentralCaller(string Name, IReadOnlyList<RoleAssignment> Roles, Guid? ObjectId = null)
{
    /// <summary>Throws 403 unless one of the caller's roles allows <paramref name="permission"/>.</summary>
    public void Require(Permission permission)
    {
        if (!Roles.Any(r => IoTCentralRoles.Allows(r.Role, permission)))
        {
            var names = string.Join(", ", Roles.Select(r => IoTCentralRoles.Names.GetValueOrDefault(r.Role, r.Role)));
            throw new IoTCentralFault(403, "Forbidden", $"The caller {Name} (role {names}) does not have the permission to {Describe(permission)}.");
        }
    }

    private static string Describe(Permission permission) => permission switch
    {
        Permission.ManageDevices => "manage devices",
        Permission.ManageJobs => "manage jobs",
        Permission.ManageTemplates => "manage device templates and groups",
        Permission.ManageAccess => "manage users and API tokens",
        _ => "read this application",
    };
}

/// <summary>
/// Both kinds of IoT Central authentication: Entra bearer tokens for <see cref="TokenService.IoTCentralAudience"/>
/// (from the simulator's token service, so the real ManagedIdentityCredential works) whose principal must be a user
/// of the application, and API tokens <c>SharedAccessSignature sr=&lt;app id&gt;&amp;sig=…&amp;skn=&lt;token
/// id&gt;&amp;se=&lt;expiry, epoch ms&gt;</c>, signed here with HMAC-SHA256 and valid while unexpired and not deleted.
/// </summary>
internal sealed class IoTCentralAuth(TokenService tokens, TimeProvider time, string? signingKey)
{
    private const string Scheme = "SharedAccessSignature ";

    private readonly byte[] _key = signingKey is null
        ? RandomNumberGenerator.GetBytes(32)
        : SHA256.HashData(Encoding.UTF8.GetBytes("iotc-api-tokens|" + signingKey));

    /// <summary>The token value of <paramref name="tokenId"/> (<c>se</c> in epoch milliseconds).</summary>
    public string Sign(IoTCentralApp app, string tokenId, DateTimeOffset expiry)
    {
        var se = expiry.ToUnixTimeMilliseconds().ToString(CultureInfo.InvariantCulture);
        var signature = Convert.ToBase64String(Signature(app.ApplicationId, tokenId, se));
        return $"{Scheme}sr={app.ApplicationId}&sig={Uri.EscapeDataString(signature)}&skn={Uri.EscapeDataString(tokenId)}&se={se}";
    }

    /// <summary>The caller of a request to <paramref name="app"/>; throws 401 or 403 with the reason.</summary>
    public IoTCentralCaller Authenticate(IoTCentralApp app, string? authorization)
    {
        if (string.IsNullOrWhiteSpace(authorization))
        {
            throw Unauthenticated("The request has no Authorization header; send 'Bearer <Entra token>' or an API token.");
        }

        if (authorization.StartsWith(Scheme, StringComparison.Ordinal))
        {
            return ApiTokenCaller(app, authorization[Scheme.Length..]);
        }

        var fault = tokens.Validate(authorization, TokenService.IoTCentralAudience, out var principal);
        if (fault != TokenFault.None)
        {
            throw Unauthenticated(TokenService.Describe(fault, TokenService.IoTCentralAudience));
        }

        return app.RolesOf(principal.PrincipalId) is { } roles
            ? new IoTCentralCaller($"principal {principal.PrincipalId}", roles, principal.PrincipalId)
            : throw new IoTCentralFault(403, "Forbidden",
                $"The principal {principal.PrincipalId} of tenant {KnownIdentities.EntraTenantId} is not a user of this application.");
    }

    private IoTCentralCaller ApiTokenCaller(IoTCentralApp app, string fields)
    {
        var values = new Dictionary<string, string>(StringComparer.Ordinal);
        foreach (var part in fields.Trim().Split('&'))
        {
            var equals = part.IndexOf('=', StringComparison.Ordinal);
            if (equals > 0)
            {
                values[part[..equals]] = Uri.UnescapeDataString(part[(equals + 1)..]);
            }
        }

        if (!values.TryGetValue("sr", out var sr) || !values.TryGetValue("sig", out var sig)
            || !values.TryGetValue("skn", out var skn) || !values.TryGetValue("se", out var se)
            || !long.TryParse(se, NumberStyles.None, CultureInfo.InvariantCulture, out var expiresMs)
            || expiresMs > DateTimeOffset.MaxValue.ToUnixTimeMilliseconds())
        {
            throw Unauthenticated("The API token is malformed (it needs sr, sig, skn and se).");
        }

        if (!Guid.TryParse(sr, out var appId) || appId != app.ApplicationId)
        {
            throw Unauthenticated("The API token belongs to another application.");
        }

        byte[] given;
        try
        {
            given = Convert.FromBase64String(sig);
        }
        catch (FormatException)
        {
            throw Unauthenticated("The API token's signature is not valid.");
        }

        if (!CryptographicOperations.FixedTimeEquals(given, Signature(appId, skn, se)))
        {
            throw Unauthenticated("The API token's signature is not valid.");
        }

        var expiry = DateTimeOffset.FromUnixTimeMilliseconds(expiresMs);
        if (expiry <= time.GetUtcNow())
        {
            throw Unauthenticated($"The API token {skn} expired on {expiry:R}.");
        }

        return app.RolesOfToken(skn, expiry) is { } roles
            ? new IoTCentralCaller($"API token {skn}", roles)
            : throw Unauthenticated($"The API token {skn} no longer exists in this application.");
    }

    private byte[] Signature(Guid appId, string tokenId, string se) =>
        HMACSHA256.HashData(_key, Encoding.UTF8.GetBytes($"{appId}\n{tokenId}\n{se}"));

    private static IoTCentralFault Unauthenticated(string reason) =>
        new(401, "Unauthenticated", $"The provided authentication token is invalid. {reason}");
}
