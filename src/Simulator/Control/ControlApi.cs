using System.Net;
using System.Text.Json;
using System.Text.Json.Serialization;
using Fleet.Simulator.Auth;
using Fleet.Simulator.Model;
using Fleet.Simulator.Traffic;

namespace Fleet.Simulator.Control;

/// <summary>JSON of the control API: PascalCase like the Sphere API, but enums as names for readability.</summary>
internal static class ControlJson
{
    public static JsonSerializerOptions Options { get; } = new()
    {
        PropertyNamingPolicy = null,
        PropertyNameCaseInsensitive = true,
        Converters = { new JsonStringEnumConverter() },
    };
}

/// <summary>The control API under <c>/_sim/</c>: no auth, loopback callers only.</summary>
internal static class ControlApi
{
    public static void MapControlApi(
        this IEndpointRouteBuilder app,
        FleetState fleet,
        SettingsStore settings,
        RequestCounters counters,
        Throttle throttle,
        FaultInjector faults,
        TokenService tokens,
        ILogger logger,
        Action? alsoReset = null)
    {
        var sim = app.MapGroup("/_sim").AddEndpointFilter(LoopbackOnly);

        sim.MapGet("/fleet", () => Json(fleet.Describe()));
        sim.MapGet("/devices/{deviceId}", (string deviceId) =>
            fleet.DescribeDevice(deviceId) is { } view ? Json(view) : Error(404, $"No device '{deviceId}' (device ids are 128 hex characters)."));

        sim.MapGet("/counters", () => Json(counters.Snapshot()));
        sim.MapPost("/counters/reset", () =>
        {
            counters.Reset();
            return Results.NoContent();
        });

        sim.MapPost("/reset", () =>
        {
            settings.Reset();
            fleet.Reset();
            throttle.Clear();
            faults.Reset();
            counters.Reset();
            alsoReset?.Invoke();
            logger.FleetReset(settings.StartOptions.Seed);
            return Results.NoContent();
        });

        sim.MapGet("/settings", () => Json(settings.Current));
        sim.MapPatch("/settings", async Task<IResult> (HttpContext ctx) =>
        {
            var update = await ReadAsync<SimulatorSettingsUpdate>(ctx);
            if (update is null)
            {
                return Error(400, "The body must be a JSON object of SimulatorSettingsUpdate.");
            }

            var failures = settings.Update(update);
            if (failures.Count > 0)
            {
                return Error(400, string.Join(" ", failures));
            }

            logger.SettingsChanged(settings.Current);
            return Json(settings.Current);
        });

        sim.MapGet("/devicegroups/{deviceGroupId:guid}/install-status", (Guid deviceGroupId) =>
            fleet.GetGroupInstallStatus(deviceGroupId) is { } status ? Json(status) : Error(404, $"No device group '{deviceGroupId}'."));
        sim.MapPut("/devicegroups/{deviceGroupId:guid}/install-failure-rate", async (HttpContext ctx, Guid deviceGroupId) =>
        {
            var body = await ReadAsync<GroupFailureRateRequest>(ctx);
            if (body is null || body.Rate is < 0 or > 1 || (body.Rate is { } r && !double.IsFinite(r)))
            {
                return Error(400, "The body must be { \"Rate\": <0..1 or null> }.");
            }

            return fleet.SetGroupInstallFailureRate(deviceGroupId, body.Rate)
                ? Results.NoContent()
                : Error(404, $"No device group '{deviceGroupId}'.");
        });

        sim.MapPut("/tenants/{tenantId:guid}/users/{principalId:guid}", async (HttpContext ctx, Guid tenantId, Guid principalId) =>
        {
            var body = await ReadAsync<TenantUserRequest>(ctx);
            if (body is null || !Enum.IsDefined(body.Role))
            {
                return Error(400, "The body must be { \"Role\": \"Reader\" | \"Contributor\" | \"Administrator\", \"DisplayName\": <optional> }.");
            }

            return fleet.SetTenantUser(tenantId, principalId, body.Role, body.DisplayName)
                ? Results.NoContent()
                : Error(404, $"No tenant '{tenantId}'.");
        });
        sim.MapDelete("/tenants/{tenantId:guid}/users/{principalId:guid}", (Guid tenantId, Guid principalId) =>
            fleet.SetTenantUser(tenantId, principalId, null, null) ? Results.NoContent() : Error(404, $"No tenant '{tenantId}'."));

        sim.MapPost("/operations/failures", async Task<IResult> (HttpContext ctx) =>
        {
            var body = await ReadAsync<OperationFailureInjection>(ctx);
            if (body is null || body.Count < 1 || body.ErrorCode is < 0 or > 8)
            {
                return Error(400, "The body must be { \"Count\": >=1, \"OperationType\": <optional int>, \"ErrorCode\": 0..8, \"Message\": <optional>, \"CompleteWithErrors\": <bool> }.");
            }

            fleet.InjectOperationFailures(body);
            return Results.NoContent();
        });

        sim.MapPost("/tokens", async Task<IResult> (HttpContext ctx) =>
        {
            var body = await ReadAsync<TokenRequest>(ctx) ?? new TokenRequest();
            if (body.LifetimeSeconds is <= -86_400 * 365 or > 86_400 * 365)
            {
                return Error(400, "LifetimeSeconds must be within a year either way.");
            }

            var principal = body.PrincipalId ?? KnownIdentities.SystemAssigned.PrincipalId;
            var lifetime = body.LifetimeSeconds is { } seconds ? TimeSpan.FromSeconds(seconds) : (TimeSpan?)null;
            var (token, expiresOn) = tokens.Issue(principal, body.ClientId ?? Guid.Empty, body.Audience ?? TokenService.SphereAudience, lifetime);
            return Json(new IssuedToken(token, expiresOn));
        });

        sim.MapFallback((HttpContext ctx) => Error(404, $"{ctx.Request.Method} {ctx.Request.Path} is not a control endpoint."));
    }

    /// <summary>The control API's filter: it answers loopback callers only.</summary>
    public static async ValueTask<object?> LoopbackOnly(EndpointFilterInvocationContext context, EndpointFilterDelegate next)
    {
        var remote = context.HttpContext.Connection.RemoteIpAddress;
        return remote is not null && !IPAddress.IsLoopback(remote)
            ? Error(403, "The control API answers loopback callers only.")
            : await next(context);
    }

    internal static IResult Json<T>(T value) => Results.Json(value, ControlJson.Options);

    internal static IResult Error(int status, string message) =>
        Results.Json(new ControlError(message), ControlJson.Options, statusCode: status);

    internal static async Task<T?> ReadAsync<T>(HttpContext ctx)
        where T : class
    {
        try
        {
            return await JsonSerializer.DeserializeAsync<T>(ctx.Request.Body, ControlJson.Options, ctx.RequestAborted);
        }
        catch (JsonException)
        {
            return null;
        }
    }
}
