using Fleet.Simulator.Auth;

namespace Fleet.Simulator.IoTConnect;

/// <summary>
/// A Key Vault secrets endpoint holding the IoTConnect solutions' credentials, so identity-based secret references
/// can be used against the simulator: <c>GET keyvault/secrets/{name}[/{version}]?api-version=7.x</c> with a bearer
/// token of audience <c>https://vault.azure.net</c> from the managed-identity endpoint answers
/// <c>{ "value", "id", "attributes" }</c>. Secrets: <c>iotconnect-{a|b}-password</c> and
/// <c>iotconnect-{a|b}-solution-key</c>. Every identity the simulator issues tokens for may read them.
/// </summary>
internal static class IoTConnectKeyVault
{
    /// <summary>Path prefix of the endpoint (a secret URI is <c>{simulator}keyvault/secrets/{name}</c>).</summary>
    public const string Prefix = "/keyvault";

    public const string Audience = "https://vault.azure.net";

    public static void MapIoTConnectKeyVault(this IEndpointRouteBuilder app, IoTConnectSimulation sim, TokenService tokens)
    {
        IResult Read(HttpContext ctx, string name)
        {
            var fault = tokens.Validate(ctx.Request.Headers.Authorization.FirstOrDefault(), Audience, out _);
            if (fault != TokenFault.None)
            {
                ctx.Response.Headers.WWWAuthenticate = $"Bearer authorization=\"https://login.microsoftonline.com/{KnownIdentities.EntraTenantId}\", resource=\"{Audience}\"";
                return Error(401, "Unauthorized", TokenService.Describe(fault, Audience));
            }

            if (!ctx.Request.Query.ContainsKey("api-version"))
            {
                return Error(400, "BadParameter", "The api-version query parameter is required.");
            }

            var value = Secret(sim, name);
            return value is null
                ? Error(404, "SecretNotFound", $"A secret with (name/id) {name} was not found in this key vault.")
                : Results.Json(new { value, id = $"{ctx.Request.Scheme}://{ctx.Request.Host}{Prefix}/secrets/{name}/1", attributes = new { enabled = true } });
        }

        app.MapGet(Prefix + "/secrets/{name}", (HttpContext ctx, string name) => Read(ctx, name));
        app.MapGet(Prefix + "/secrets/{name}/{version}", (HttpContext ctx, string name) => Read(ctx, name));
    }

    /// <summary>The secret's value: a seeded solution's password or solution key.</summary>
    private static string? Secret(IoTConnectSimulation sim, string name)
    {
        foreach (var key in new[] { "A", "B" })
        {
            if (sim.Cloud.ResolveSolutionKey(key) is not { } solutionKey || sim.Cloud.FindLogin(solutionKey) is not { } login)
            {
                continue;
            }

            var prefix = $"iotconnect-{key.ToLowerInvariant()}-";
            if (string.Equals(name, prefix + "password", StringComparison.OrdinalIgnoreCase))
            {
                return login.Password;
            }

            if (string.Equals(name, prefix + "solution-key", StringComparison.OrdinalIgnoreCase))
            {
                return login.SolutionKey;
            }
        }

        return null;
    }

    private static IResult Error(int status, string code, string message) =>
        Results.Json(new { error = new { code, message } }, statusCode: status);
}
