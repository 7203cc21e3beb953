using Fleet.Simulator.Control;

namespace Fleet.Simulator.IoTConnect;

/// <summary>The IoTConnect part of the control API, under <c>/_sim/iotconnect/…</c> (loopback callers only, no auth).</summary>
internal static class IoTConnectControl
{
    public static void MapIoTConnectControl(this IEndpointRouteBuilder routes, IoTConnectSimulation iotConnect)
    {
        var group = routes.MapGroup("/_sim/iotconnect").AddEndpointFilter(ControlApi.LoopbackOnly);
        group.MapGet("/", (HttpContext ctx) =>
            ControlApi.Json(iotConnect.Cloud.Describe(IoTConnectBaseUrls.For(new Uri($"{ctx.Request.Scheme}://{ctx.Request.Host}/")))));
        group.MapGet("/devices/{uniqueId}", (string uniqueId) =>
            iotConnect.Cloud.DescribeDevice(uniqueId) is { } view ? ControlApi.Json(view) : ControlApi.Error(404, $"No IoTConnect device '{uniqueId}'."));

        group.MapGet("/settings", () => ControlApi.Json(iotConnect.Settings.Current));
        group.MapPatch("/settings", async Task<IResult> (HttpContext ctx) =>
        {
            var update = await ControlApi.ReadAsync<IoTConnectSettingsUpdate>(ctx);
            if (update is null)
            {
                return ControlApi.Error(400, "The body must be a JSON object of IoTConnectSettingsUpdate.");
            }

            var failures = iotConnect.Settings.Update(update);
            if (failures.Count > 0)
            {
                return ControlApi.Error(400, string.Join(" ", failures));
            }

            iotConnect.Logger.IoTConnectSettingsChanged(iotConnect.Settings.Current);
            return ControlApi.Json(iotConnect.Settings.Current);
        });

        group.MapPost("/access-tokens/expire", Task<IResult> (HttpContext ctx) =>
            TokenActionAsync(ctx, iotConnect, "expired access tokens", key => iotConnect.Sessions.ExpireAccessTokens(key)));
        group.MapPost("/refresh-tokens/revoke", Task<IResult> (HttpContext ctx) =>
            TokenActionAsync(ctx, iotConnect, "revoked refresh tokens", key => iotConnect.Sessions.RevokeRefreshTokens(key)));
    }

    private static async Task<IResult> TokenActionAsync(HttpContext ctx, IoTConnectSimulation iotConnect, string action, Func<string?, int> apply)
    {
        // No body at all means every solution (a chunked body has no Content-Length, so only an explicit 0 says so).
        var scope = ctx.Request.ContentLength == 0 || (ctx.Request.ContentLength is null && !ctx.Request.Headers.ContainsKey("Transfer-Encoding"))
            ? new IoTConnectTokenScope()
            : await ControlApi.ReadAsync<IoTConnectTokenScope>(ctx);
        if (scope is null)
        {
            return ControlApi.Error(400, "The body must be { \"Solution\": <key, name or null> } or empty.");
        }

        if (!iotConnect.TryResolveScope(scope.Solution, out var solutionKey))
        {
            return ControlApi.Error(404, $"No IoTConnect solution '{scope.Solution}'.");
        }

        var count = apply(solutionKey);
        iotConnect.Logger.IoTConnectTokensChanged(action, count, scope.Solution ?? "every solution");
        return ControlApi.Json(new IoTConnectTokenActionResult(count));
    }
}
