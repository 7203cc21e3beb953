
namespace Fleet.Simulator.Auth;

/// <summary>
/// The App Service managed-identity protocol (api-version 2019-08-01), as <c>IDENTITY_ENDPOINT</c> /
/// <c>IDENTITY_HEADER</c> describe it to Azure.Identity: <c>GET /msi/token?resource=…&amp;api-version=2019-08-01</c>
/// with <c>X-IDENTITY-HEADER</c>; <c>client_id</c>, <c>object_id</c>/<c>principal_id</c> or <c>mi_res_id</c> select a
/// user-assigned identity.
/// </summary>
internal static class ManagedIdentityEndpoint
{
    public const string Path = "/msi/token";
    public const string ApiVersion = "2019-08-01";
    public const string SecretHeader = "X-IDENTITY-HEADER";

    public static void MapManagedIdentity(this IEndpointRouteBuilder app, TokenService tokens, string identityHeader, ILogger logger)
    {
        app.MapGet(Path, (HttpContext ctx) =>
        {
            var query = ctx.Request.Query;
            var secret = ctx.Request.Headers[SecretHeader].FirstOrDefault();
            if (string.IsNullOrEmpty(secret) || !string.Equals(secret, identityHeader, StringComparison.Ordinal))
            {
                return Fail(logger, 401, string.IsNullOrEmpty(secret)
                    ? $"The {SecretHeader} header is missing."
                    : $"The {SecretHeader} header does not match IDENTITY_HEADER.");
            }

            if (!string.Equals(query["api-version"].FirstOrDefault(), ApiVersion, StringComparison.Ordinal))
            {
                return Fail(logger, 400, $"api-version must be {ApiVersion}.");
            }

            var resource = query["resource"].FirstOrDefault();
            if (string.IsNullOrWhiteSpace(resource))
            {
                return Fail(logger, 400, "The resource query parameter is required.");
            }

            var clientId = query["client_id"].FirstOrDefault();
            var objectId = query["object_id"].FirstOrDefault() ?? query["principal_id"].FirstOrDefault();
            var resourceId = query["mi_res_id"].FirstOrDefault();
            ManagedIdentityDescription identity;
            if (clientId is null && objectId is null && resourceId is null)
            {
                identity = KnownIdentities.SystemAssigned;
            }
            else if (KnownIdentities.FindUserAssigned(clientId, objectId, resourceId) is { } userAssigned)
            {
                identity = userAssigned;
            }
            else
            {
                return Fail(logger, 400, "Unable to load the proper Managed Identity: no user-assigned identity matches the requested id.");
            }

            var (token, expiresOn) = tokens.Issue(identity.PrincipalId, identity.ClientId, resource, resourceId: identity.ResourceId);
            logger.TokenIssued(identity.Name, resource, expiresOn);
            return Results.Json(new Dictionary<string, string>
            {
                ["access_token"] = token,
                ["expires_on"] = expiresOn.ToUnixTimeSeconds().ToString(System.Globalization.CultureInfo.InvariantCulture),
                ["resource"] = resource,
                ["token_type"] = "Bearer",
                ["client_id"] = identity.ClientId.ToString(),
            });
        });
    }

    private static IResult Fail(ILogger logger, int status, string message)
    {
        logger.TokenRequestRejected(message);
        return Results.Json(
            new Dictionary<string, object> { ["statusCode"] = status, ["message"] = message, ["correlationId"] = Guid.NewGuid().ToString() },
            statusCode: status);
    }
}
