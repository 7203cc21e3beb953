using System.Globalization;
using System.Security.Cryptography;
using System.Text;

namespace Fleet.Simulator.IoTConnect;

/// <summary>Discovery's accepted environments and the answer shape.</summary>
internal static class IoTConnectDiscovery
{
    /// <summary>The environment the description names (any of poc, prod and avnet is accepted).</summary>
    public const string Environment = "prod";

    public static readonly string[] Environments = ["poc", "prod", "avnet"];
}

/// <summary>Maps the simulated IoTConnect services: discovery, auth, device, user and firmware, each under its own prefix.</summary>
internal static class IoTConnectApi
{
    public static void MapIoTConnect(this IEndpointRouteBuilder app, IoTConnectSimulation sim)
    {
        var cloud = sim.Cloud;
        RouteGroupBuilder Service(string name, bool authenticated) =>
            app.MapGroup($"/{IoTConnectRoutes.Prefix}/{name}" + (name == "discovery" ? string.Empty : "/" + IoTConnectRoutes.Version))
                .AddEndpointFilter((context, next) => sim.Gate.InvokeAsync(context, next, authenticated));

        var discovery = Service("discovery", authenticated: false);
        discovery.MapGet("/api/uisdk/solutionkey/{solutionKey}/env/{env}", (HttpContext ctx, string solutionKey, string env) => Discover(ctx, sim, solutionKey, env));

        var auth = Service("auth", authenticated: false);
        auth.MapGet("/Auth/basic-token", () => IoTConnectWire.Write(new IoTConnectReply(200, "Success", sim.Sessions.BasicToken, 1, null)));
        auth.MapPost("/Auth/login", Task<IResult> (HttpContext ctx) => LoginAsync(ctx, sim));
        auth.MapPost("/Auth/refresh-token", async Task<IResult> (HttpContext ctx) =>
        {
            var body = await IoTConnectWire.ReadAsync<RefreshRequest>(ctx);
            if (sim.Sessions.TryRefresh(body?.RefreshToken, out var answer))
            {
                return Results.Json(answer, IoTConnectWire.Json);
            }

            sim.Logger.IoTConnectRefreshRejected();
            return IoTConnectWire.Error(401, "InvalidRefreshToken", "The refresh token is not valid (unknown, already used, revoked or expired).");
        });

        var device = Service("device", authenticated: true);
        device.MapGet("/Device", (HttpContext ctx) => Paged(ctx, sim, page => cloud.ListDevices(Solution(ctx), Filter(ctx, null), page)));
        device.MapPost("/Device", Task<IResult> (HttpContext ctx) => WithBody<CreateDeviceRequest>(ctx, r => cloud.CreateDevice(Solution(ctx), r)));
        device.MapGet("/Device/{deviceGuid:guid}", (HttpContext ctx, Guid deviceGuid) => Write(cloud.GetDevice(Solution(ctx), deviceGuid)));
        device.MapPut("/Device/{deviceGuid:guid}", Task<IResult> (HttpContext ctx, Guid deviceGuid) =>
            WithBody<UpdateDeviceRequest>(ctx, r => cloud.UpdateDevice(Solution(ctx), deviceGuid, r)));
        device.MapGet("/Device/uniqueId/{uniqueId}", (HttpContext ctx, string uniqueId) => Write(cloud.GetDeviceByUniqueId(Solution(ctx), uniqueId)));
        device.MapPut("/Device/{uniqueId}/acquire", (HttpContext ctx, string uniqueId) => Write(cloud.SetAcquired(Solution(ctx), uniqueId, acquire: true)));
        device.MapPut("/Device/{uniqueId}/release", (HttpContext ctx, string uniqueId) => Write(cloud.SetAcquired(Solution(ctx), uniqueId, acquire: false)));
        device.MapGet("/entity/{entityGuid:guid}/device", (HttpContext ctx, Guid entityGuid) =>
            Paged(ctx, sim, page => cloud.ListDevices(Solution(ctx), Filter(ctx, entityGuid), page)));
        device.MapGet("/device-template", (HttpContext ctx) => Paged(ctx, sim, page => cloud.ListTemplates(Solution(ctx), page)));
        device.MapGet("/device-template/{templateGuid:guid}", (HttpContext ctx, Guid templateGuid) => Write(cloud.GetTemplate(Solution(ctx), templateGuid)));
        device.MapGet("/device-template/template-code/{code}", (HttpContext ctx, string code) => Write(cloud.GetTemplateByCode(Solution(ctx), code)));

        var user = Service("user", authenticated: true);
        user.MapGet("/Entity", (HttpContext ctx) => Paged(ctx, sim, page => cloud.ListEntities(Solution(ctx), page)));
        user.MapGet("/Entity/lookup", (HttpContext ctx) => Write(cloud.LookupEntities(Solution(ctx))));
        user.MapGet("/Entity/{entityGuid:guid}", (HttpContext ctx, Guid entityGuid) => Write(cloud.GetEntity(Solution(ctx), entityGuid)));
        user.MapPost("/Entity", Task<IResult> (HttpContext ctx) => WithBody<CreateEntityRequest>(ctx, r => cloud.CreateEntity(Solution(ctx), r)));

        var firmware = Service("firmware", authenticated: true);
        firmware.MapGet("/Firmware", (HttpContext ctx) => Paged(ctx, sim, page => cloud.ListFirmware(Solution(ctx), Query(ctx, "Name"), page)));
        firmware.MapGet("/Firmware/{firmwareGuid:guid}", (HttpContext ctx, Guid firmwareGuid) => Write(cloud.GetFirmware(Solution(ctx), firmwareGuid)));
        firmware.MapPost("/Firmware", Task<IResult> (HttpContext ctx) => WithBody<CreateFirmwareRequest>(ctx, r => cloud.CreateFirmware(Solution(ctx), r)));
        firmware.MapGet("/firmware-upgrade", (HttpContext ctx) =>
            Guid.TryParse(Query(ctx, "firmwareGuid") ?? Guid.Empty.ToString(), out var firmwareGuid)
                ? Paged(ctx, sim, page => cloud.ListUpgrades(Solution(ctx), firmwareGuid == Guid.Empty ? null : firmwareGuid, page))
                : IoTConnectWire.Error(400, "firmwareGuid", "firmwareGuid must be a uuid."));
        firmware.MapGet("/firmware-upgrade/{upgradeGuid:guid}", (HttpContext ctx, Guid upgradeGuid) => Write(cloud.GetUpgrade(Solution(ctx), upgradeGuid)));
        firmware.MapPost("/firmware-upgrade", Task<IResult> (HttpContext ctx) => WithBody<CreateUpgradeRequest>(ctx, r => cloud.CreateUpgrade(Solution(ctx), r)));
        firmware.MapPut("/firmware-upgrade/{upgradeGuid:guid}/publish", (HttpContext ctx, Guid upgradeGuid) => Write(cloud.PublishUpgrade(Solution(ctx), upgradeGuid)));
        firmware.MapPost("/ota-update", Task<IResult> (HttpContext ctx) => WithBody<CreateOtaRequest>(ctx, r => cloud.CreateOta(Solution(ctx), r)));
        firmware.MapGet("/ota-update", (HttpContext ctx) => Paged(ctx, sim, page => cloud.ListOta(Solution(ctx), page)));
        firmware.MapGet("/ota-update/{otaGuid:guid}", (HttpContext ctx, Guid otaGuid) =>
            Paged(ctx, sim, page => cloud.ListOtaDevices(Solution(ctx), otaGuid, Query(ctx, "status"), page)));
        firmware.MapGet("/ota-update/{otaGuid:guid}/status/{status}", (HttpContext ctx, Guid otaGuid, string status) =>
            Paged(ctx, sim, page => cloud.ListOtaDevices(Solution(ctx), otaGuid, status, page)));
        firmware.MapPut("/ota-update/device/{device}/otaupdateitem/{itemGuid:guid}/status/{status}", (HttpContext ctx, string device, Guid itemGuid, string status) =>
            Write(cloud.SetOtaItemStatus(Solution(ctx), device, itemGuid, status)));

        app.MapFallback($"/{IoTConnectRoutes.Prefix}/{{**path}}", (HttpContext ctx) =>
            IoTConnectWire.Error(404, "EndpointNotFound", $"{ctx.Request.Method} {ctx.Request.Path} is not an endpoint of the simulated IoTConnect."));
    }

    private static string Solution(HttpContext ctx) => IoTConnectGate.SolutionOf(ctx);

    private static IResult Write(IoTConnectReply reply) => IoTConnectWire.Write(reply);

    private static string? Query(HttpContext ctx, string name) =>
        ctx.Request.Query.FirstOrDefault(q => string.Equals(q.Key, name, StringComparison.OrdinalIgnoreCase)).Value.FirstOrDefault() is { Length: > 0 } v ? v : null;

    private static DeviceFilter Filter(HttpContext ctx, Guid? entityGuid) =>
        new(Query(ctx, "UniqueId"), Query(ctx, "TemplateName"), Query(ctx, "EntityName"), Query(ctx, "Acquired"), entityGuid);

    /// <summary>Reads <c>pageNumber</c> (1-based, default 1) and <c>pageSize</c> (default and cap from the settings).</summary>
    private static IResult Paged(HttpContext ctx, IoTConnectSimulation sim, Func<PageSpec, IoTConnectReply> list)
    {
        var settings = sim.Settings.Current;
        var number = 1;
        var size = settings.DefaultPageSize;
        if (Query(ctx, "pageNumber") is { } n && (!int.TryParse(n, NumberStyles.None, CultureInfo.InvariantCulture, out number) || number < 1))
        {
            return IoTConnectWire.Error(400, "pageNumber", "pageNumber must be a whole number of at least 1.");
        }

        if (Query(ctx, "pageSize") is { } s && (!int.TryParse(s, NumberStyles.None, CultureInfo.InvariantCulture, out size) || size < 1))
        {
            return IoTConnectWire.Error(400, "pageSize", "pageSize must be a whole number of at least 1.");
        }

        return Write(list(new PageSpec(number, Math.Min(size, settings.MaxPageSize))));
    }

    private static async Task<IResult> WithBody<T>(HttpContext ctx, Func<T, IoTConnectReply> call)
        where T : class
    {
        var body = await IoTConnectWire.ReadAsync<T>(ctx);
        return body is null
            ? IoTConnectWire.Error(400, "body", "The request body must be a JSON object of the documented shape.")
            : Write(call(body));
    }

    private static async Task<IResult> LoginAsync(HttpContext ctx, IoTConnectSimulation sim)
    {
        var authorization = ctx.Request.Headers.Authorization.FirstOrDefault() ?? string.Empty;
        const string Basic = "Basic ";
        if (!authorization.StartsWith(Basic, StringComparison.OrdinalIgnoreCase) || !Same(authorization[Basic.Length..].Trim(), sim.Sessions.BasicToken))
        {
            sim.Logger.IoTConnectLoginRejected("missing or wrong basic token");
            return IoTConnectWire.Error(401, "InvalidBasicToken", "Authorization must be 'Basic <token from Auth/basic-token>'.");
        }

        var login = sim.Cloud.FindLogin(ctx.Request.Headers["solution-key"].FirstOrDefault());
        if (login is null)
        {
            sim.Logger.IoTConnectLoginRejected("unknown solution key");
            return IoTConnectWire.Error(401, "InvalidSolutionKey", "The solution-key header does not name a solution.");
        }

        var body = await IoTConnectWire.ReadAsync<LoginRequest>(ctx);
        if (body is null || string.IsNullOrEmpty(body.Username) || string.IsNullOrEmpty(body.Password))
        {
            return IoTConnectWire.Error(400, "body", "The body must be { \"username\", \"password\" }.");
        }

        if (!string.Equals(body.Username, login.Username, StringComparison.OrdinalIgnoreCase) || !Same(body.Password, login.Password))
        {
            sim.Logger.IoTConnectLoginRejected("wrong username or password");
            return IoTConnectWire.Error(401, "InvalidCredentials", "The username or password is not correct.");
        }

        sim.Logger.IoTConnectLogin(login.Username, login.Key);
        return Results.Json(sim.Sessions.Issue(login.SolutionKey, login.Username), IoTConnectWire.Json);
    }

    private static IResult Discover(HttpContext ctx, IoTConnectSimulation sim, string solutionKey, string env)
    {
        if (!IoTConnectDiscovery.Environments.Contains(env, StringComparer.OrdinalIgnoreCase))
        {
            return IoTConnectWire.Error(404, "EnvironmentNotFound", $"Environment '{env}' does not exist (poc, prod or avnet).");
        }

        if (Query(ctx, "version") is { } version && version != "2")
        {
            return IoTConnectWire.Error(404, "VersionNotFound", "The simulator serves API version 2 (pf=az) only.");
        }

        if (Query(ctx, "pf") is { } pf && !pf.Equals("az", StringComparison.OrdinalIgnoreCase))
        {
            return IoTConnectWire.Error(404, "PlatformNotFound", "The simulator serves the Azure platform (pf=az) only.");
        }

        if (sim.Cloud.FindLogin(solutionKey) is null)
        {
            return IoTConnectWire.Error(404, "SolutionNotFound", "No solution has this key.");
        }

        var root = new Uri($"{ctx.Request.Scheme}://{ctx.Request.Host}/");
        var urls = new Dictionary<string, string>(StringComparer.Ordinal);
        foreach (var service in new[] { "master", "auth", "user", "device", "firmware", "event", "telemetry", "file" })
        {
            urls[service + "BaseUrl"] = IoTConnectBaseUrls.Service(root, service).AbsoluteUri;
        }

        return IoTConnectWire.Write(new IoTConnectReply(200, "Success", urls, 1, null));
    }

    private static bool Same(string given, string expected) =>
        CryptographicOperations.FixedTimeEquals(Encoding.UTF8.GetBytes(given), Encoding.UTF8.GetBytes(expected));
}
