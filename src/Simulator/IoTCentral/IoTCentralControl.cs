using System.Text.Json;
using System.Text.Json.Nodes;
using Fleet.Simulator.Control;

namespace Fleet.Simulator.IoTCentral;

/// <summary>The IoT Central part of the control API, under <c>/_sim/iotc/…</c> (loopback callers only, no auth).</summary>
internal static class IoTCentralControl
{
    public static void MapIoTCentralControl(this IEndpointRouteBuilder routes, IoTCentralCloud cloud, ILogger logger)
    {
        var sim = routes.MapGroup("/_sim/iotc").AddEndpointFilter(ControlApi.LoopbackOnly);

        sim.MapGet("/apps", () => ControlApi.Json(cloud.Apps.Values.Select(Describe).ToList()));
        sim.MapGet("/settings", () => ControlApi.Json(cloud.Settings.Current));
        sim.MapPatch("/settings", async Task<IResult> (HttpContext ctx) =>
        {
            var update = await ControlApi.ReadAsync<IoTCentralSimulatorSettingsUpdate>(ctx);
            if (update is null)
            {
                return ControlApi.Error(400, "The body must be a JSON object of IoTCentralSimulatorSettingsUpdate.");
            }

            var failures = cloud.Settings.Update(update);
            if (failures.Count > 0)
            {
                return ControlApi.Error(400, string.Join(" ", failures));
            }

            logger.IoTCentralSettingsChanged(cloud.Settings.Current);
            return ControlApi.Json(cloud.Settings.Current);
        });
        sim.MapPost("/reset", () =>
        {
            cloud.Reset();
            return Results.NoContent();
        });
        sim.MapPost("/counters/reset", () =>
        {
            cloud.ResetCounters();
            return Results.NoContent();
        });
        sim.MapGet("/apps/{app}/counters", (string app) =>
            cloud.Apps.ContainsKey(app) ? ControlApi.Json(cloud.CountersOf(app)) : NoApp(app));

        sim.MapPost("/apps/{app}/apiTokens", async Task<IResult> (HttpContext ctx, string app) =>
        {
            var body = await ControlApi.ReadAsync<IoTCentralApiTokenRequest>(ctx);
            if (!cloud.Apps.TryGetValue(app, out var application))
            {
                return NoApp(app);
            }

            if (body is null || string.IsNullOrWhiteSpace(body.Id))
            {
                return ControlApi.Error(400, "The body must be { \"Id\": <token id>, \"Role\": <role id, default Administrator>, \"Organization\": <optional>, \"Expiry\": <optional date> }.");
            }

            try
            {
                var (token, value) = application.CreateToken(body.Id,
                    [new RoleAssignment(body.Role ?? IoTCentralRoles.Administrator, body.Organization)], body.Expiry, cloud.Auth.Sign);
                logger.IoTCentralApiTokenIssued(token.Id, app, token.Expiry);
                return ControlApi.Json(new IoTCentralIssuedApiToken(token.Id, value, token.Expiry));
            }
            catch (IoTCentralFault fault)
            {
                return ControlApi.Error(400, fault.Message);
            }
        });

        sim.MapPut("/apps/{app}/users/{objectId:guid}", async Task<IResult> (HttpContext ctx, string app, Guid objectId) =>
        {
            var body = await ControlApi.ReadAsync<IoTCentralUserRequest>(ctx);
            if (!cloud.Apps.TryGetValue(app, out var application))
            {
                return NoApp(app);
            }

            if (body is null || !IoTCentralRoles.Names.ContainsKey(body.Role))
            {
                return ControlApi.Error(400, $"The body must be {{ \"Role\": one of {string.Join(", ", IoTCentralRoles.Names.Keys)}, \"Organization\": <optional> }}.");
            }

            application.SetUser(new IoTCentralUserEntity(objectId.ToString(), "servicePrincipal", objectId,
                [new RoleAssignment(body.Role, body.Organization)]));
            return Results.NoContent();
        });
        sim.MapDelete("/apps/{app}/users/{objectId:guid}", (string app, Guid objectId) =>
            !cloud.Apps.TryGetValue(app, out var application) ? NoApp(app)
            : application.RemoveUser(objectId) ? Results.NoContent()
            : ControlApi.Error(404, $"The principal {objectId} is not a user of '{app}'."));

        sim.MapGet("/apps/{app}/devices/{deviceId}", (string app, string deviceId) =>
        {
            if (!cloud.Apps.TryGetValue(app, out var application))
            {
                return NoApp(app);
            }

            return application.FindDevice(deviceId) is { } device
                ? Results.Json(new JsonObject
                {
                    ["device"] = JsonSerializer.SerializeToNode(device, IoTCentralWire.Json),
                    ["properties"] = application.GetProperties(deviceId, [new RoleAssignment(IoTCentralRoles.Administrator, null)]),
                }, IoTCentralWire.Json)
                : ControlApi.Error(404, $"No device '{deviceId}' in '{app}'.");
        });
    }

    private static IoTCentralAppDescription Describe(IoTCentralApp app) =>
        new(app.Name, app.DisplayName, app.ApplicationId, IoTCentralApi.Prefix(app.Name) + "/api/", app.DeviceCount,
            [.. app.ListTemplates().Select(t => t.Id)], [.. app.ListOrganizations().Select(o => o.Id)],
            [.. app.GroupIds()]);

    private static IResult NoApp(string app) => ControlApi.Error(404, $"No IoT Central application '{app}'.");
}
