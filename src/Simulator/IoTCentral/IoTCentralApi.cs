using System.Text.Json.Nodes;

namespace Fleet.Simulator.IoTCentral;

/// <summary>
/// The IoT Central data plane (2022-07-31) of each simulated application under <c>/iotc/{app}/api/</c>: devices,
/// templates, filter-based device groups, jobs, organizations, users and API tokens, with the documented status
/// codes (GET/PUT/PATCH 200, DELETE 204, stop/resume 204, rerun 200).
/// </summary>
internal static class IoTCentralApi
{
    /// <summary>The route prefix of application <paramref name="app"/> (its API base is this plus <c>/api/</c>).</summary>
    public static string Prefix(string app) => "iotc/" + app;

    public static void MapIoTCentralApi(this IEndpointRouteBuilder routes, IoTCentralCloud cloud, ILogger logger)
    {
        var api = routes.MapGroup("/iotc/{app}/api");

        api.MapGet("/devices", (HttpContext ctx, string app) =>
            cloud.RunAsync(ctx, app, Permission.Read, (a, c) => IoTCentralWire.Ok(a.ListDevices(ctx, c.Roles))));
        api.MapGet("/devices/{deviceId}", (HttpContext ctx, string app, string deviceId) =>
            cloud.RunAsync(ctx, app, Permission.Read, (a, c) => IoTCentralWire.Ok(a.GetDevice(deviceId, c.Roles))));
        api.MapPut("/devices/{deviceId}", (HttpContext ctx, string app, string deviceId) =>
            cloud.RunAsync(ctx, app, Permission.ManageDevices, async (a, c) =>
                IoTCentralWire.Ok(a.PutDevice(deviceId, await IoTCentralWire.ReadObjectAsync(ctx), IfMatch(ctx), c.Roles))));
        api.MapPatch("/devices/{deviceId}", (HttpContext ctx, string app, string deviceId) =>
            cloud.RunAsync(ctx, app, Permission.ManageDevices, async (a, c) =>
                IoTCentralWire.Ok(a.PatchDevice(deviceId, await IoTCentralWire.ReadObjectAsync(ctx), IfMatch(ctx), c.Roles))));
        api.MapDelete("/devices/{deviceId}", (HttpContext ctx, string app, string deviceId) =>
            cloud.RunAsync(ctx, app, Permission.ManageDevices, (a, c) =>
            {
                a.DeleteDevice(deviceId, c.Roles);
                return Results.NoContent();
            }));
        api.MapGet("/devices/{deviceId}/properties", (HttpContext ctx, string app, string deviceId) =>
            cloud.RunAsync(ctx, app, Permission.Read, (a, c) => IoTCentralWire.Ok(a.GetProperties(deviceId, c.Roles))));
        api.MapPatch("/devices/{deviceId}/properties", (HttpContext ctx, string app, string deviceId) =>
            cloud.RunAsync(ctx, app, Permission.ManageDevices, async (a, c) =>
                IoTCentralWire.Ok(a.PatchProperties(deviceId, await IoTCentralWire.ReadObjectAsync(ctx), c.Roles))));

        api.MapGet("/deviceTemplates", (HttpContext ctx, string app) =>
            cloud.RunAsync(ctx, app, Permission.Read, (a, _) => IoTCentralWire.Ok(IoTCentralWire.Page(ctx, "deviceTemplates",
                a.ListTemplates(), static t => t.Id, TemplateWire.From, takesTop: true))));
        api.MapGet("/deviceTemplates/{templateId}", (HttpContext ctx, string app, string templateId) =>
            cloud.RunAsync(ctx, app, Permission.Read, (a, _) => IoTCentralWire.Ok(TemplateWire.From(a.GetTemplate(templateId)))));

        api.MapGet("/deviceGroups", (HttpContext ctx, string app) =>
            cloud.RunAsync(ctx, app, Permission.Read, (a, _) => IoTCentralWire.Ok(a.ListGroups(ctx))));
        api.MapGet("/deviceGroups/{groupId}", (HttpContext ctx, string app, string groupId) =>
            cloud.RunAsync(ctx, app, Permission.Read, (a, _) => IoTCentralWire.Ok(a.GetGroup(groupId))));
        api.MapGet("/deviceGroups/{groupId}/devices", (HttpContext ctx, string app, string groupId) =>
            cloud.RunAsync(ctx, app, Permission.Read, (a, c) => IoTCentralWire.Ok(a.GroupDevices(ctx, groupId, c.Roles))));

        api.MapGet("/jobs", (HttpContext ctx, string app) =>
            cloud.RunAsync(ctx, app, Permission.Read, (a, _) => IoTCentralWire.Ok(a.ListJobs(ctx))));
        api.MapGet("/jobs/{jobId}", (HttpContext ctx, string app, string jobId) =>
            cloud.RunAsync(ctx, app, Permission.Read, (a, _) => IoTCentralWire.Ok(a.GetJob(jobId))));
        api.MapPut("/jobs/{jobId}", (HttpContext ctx, string app, string jobId) =>
            cloud.RunAsync(ctx, app, Permission.ManageJobs, async (a, c) =>
                IoTCentralWire.Ok(a.CreateJob(jobId, await IoTCentralWire.ReadObjectAsync(ctx), c.Roles))));
        api.MapGet("/jobs/{jobId}/devices", (HttpContext ctx, string app, string jobId) =>
            cloud.RunAsync(ctx, app, Permission.Read, (a, _) => IoTCentralWire.Ok(a.JobDevices(ctx, jobId))));
        api.MapPost("/jobs/{jobId}/stop", (HttpContext ctx, string app, string jobId) =>
            cloud.RunAsync(ctx, app, Permission.ManageJobs, (a, _) =>
            {
                a.StopJob(jobId);
                return Results.NoContent();
            }));
        api.MapPost("/jobs/{jobId}/resume", (HttpContext ctx, string app, string jobId) =>
            cloud.RunAsync(ctx, app, Permission.ManageJobs, (a, _) =>
            {
                a.ResumeJob(jobId);
                return Results.NoContent();
            }));
        api.MapPut("/jobs/{jobId}/rerun/{rerunId}", (HttpContext ctx, string app, string jobId, string rerunId) =>
            cloud.RunAsync(ctx, app, Permission.ManageJobs, (a, _) => IoTCentralWire.Ok(a.RerunJob(jobId, rerunId))));

        api.MapGet("/organizations", (HttpContext ctx, string app) =>
            cloud.RunAsync(ctx, app, Permission.Read, (a, _) => IoTCentralWire.Ok(IoTCentralWire.Page(ctx, "organizations",
                a.ListOrganizations(), static o => o.Id, OrganizationWire.From, takesTop: false))));
        api.MapGet("/organizations/{organizationId}", (HttpContext ctx, string app, string organizationId) =>
            cloud.RunAsync(ctx, app, Permission.Read, (a, _) => IoTCentralWire.Ok(OrganizationWire.From(a.GetOrganization(organizationId)))));

        api.MapGet("/users", (HttpContext ctx, string app) =>
            cloud.RunAsync(ctx, app, Permission.ManageAccess, (a, _) => IoTCentralWire.Ok(IoTCentralWire.Page(ctx, "users",
                a.ListUsers(), static u => u.Id, UserWire.From, takesTop: false))));
        // Any user may read its own user record (how a principal learns its roles); others need user management.
        api.MapGet("/users/{userId}", (HttpContext ctx, string app, string userId) =>
            cloud.RunAsync(ctx, app, Permission.Read, (a, c) =>
            {
                var user = a.GetUser(userId);
                if (user.ObjectId != c.ObjectId)
                {
                    c.Require(Permission.ManageAccess);
                }

                return IoTCentralWire.Ok(UserWire.From(user));
            }));

        api.MapGet("/apiTokens", (HttpContext ctx, string app) =>
            cloud.RunAsync(ctx, app, Permission.ManageAccess, (a, _) => IoTCentralWire.Ok(IoTCentralWire.Page(ctx, "apiTokens",
                a.ListTokens(), static t => t.Id, t => ApiTokenWire.From(t), takesTop: false))));
        api.MapGet("/apiTokens/{tokenId}", (HttpContext ctx, string app, string tokenId) =>
            cloud.RunAsync(ctx, app, Permission.ManageAccess, (a, _) => IoTCentralWire.Ok(ApiTokenWire.From(a.GetToken(tokenId)))));
        api.MapPut("/apiTokens/{tokenId}", (HttpContext ctx, string app, string tokenId) =>
            cloud.RunAsync(ctx, app, Permission.ManageAccess, async (a, _) =>
            {
                var (roles, expiry) = ReadTokenRequest(await IoTCentralWire.ReadObjectAsync(ctx));
                var (token, value) = a.CreateToken(tokenId, roles, expiry, cloud.Auth.Sign);
                logger.IoTCentralApiTokenIssued(token.Id, a.Name, token.Expiry);
                return IoTCentralWire.Ok(ApiTokenWire.From(token, value));
            }));
        api.MapDelete("/apiTokens/{tokenId}", (HttpContext ctx, string app, string tokenId) =>
            cloud.RunAsync(ctx, app, Permission.ManageAccess, (a, _) =>
            {
                a.DeleteToken(tokenId);
                return Results.NoContent();
            }));
    }

    /// <summary>
    /// The IoT Central error envelope for a request no route answers (404) or a method a route lacks (405); the
    /// host's status-code pages call it for paths under <c>/iotc</c>.
    /// </summary>
    public static Task WriteUnmatched(HttpContext ctx, int status, TimeProvider time) =>
        IoTCentralWire.WriteErrorAsync(ctx, time, status, status == 405 ? "MethodNotAllowed" : "NotFound",
            $"{ctx.Request.Method} {ctx.Request.Path} is not an operation of the IoT Central API {IoTCentralWire.ApiVersion}.");

    private static string? IfMatch(HttpContext ctx) => ctx.Request.Headers.IfMatch.FirstOrDefault();

    private static (IReadOnlyList<RoleAssignment> Roles, DateTimeOffset? Expiry) ReadTokenRequest(JsonObject body)
    {
        if (body["roles"] is not JsonArray { Count: > 0 } roles)
        {
            throw IoTCentralFault.Invalid("roles must be an array of at least one { \"role\", \"organization\"? }.");
        }

        var assignments = new List<RoleAssignment>();
        foreach (var node in roles)
        {
            if (node is not JsonObject role || IoTCentralApp.OptionalString(role, "role") is not { } id)
            {
                throw IoTCentralFault.Invalid("Each role needs a role id.");
            }

            assignments.Add(new RoleAssignment(id, IoTCentralApp.OptionalString(role, "organization")));
        }

        DateTimeOffset? expiry = null;
        if (IoTCentralApp.OptionalString(body, "expiry") is { } text)
        {
            expiry = DateTimeOffset.TryParse(text, System.Globalization.CultureInfo.InvariantCulture,
                System.Globalization.DateTimeStyles.AssumeUniversal, out var parsed)
                ? parsed
                : throw IoTCentralFault.Invalid("expiry must be an ISO 8601 date-time.");
        }

        return (assignments, expiry);
    }
}
