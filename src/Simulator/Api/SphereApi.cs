using System.Globalization;
using System.Text.Json;
using Fleet.Simulator.Auth;
using Fleet.Simulator.Model;
using Fleet.Simulator.Traffic;
using Microsoft.Net.Http.Headers;

namespace Fleet.Simulator.Api;

/// <summary>The caller of an API request, set by the gate for the handlers.</summary>
internal sealed record CallerContext(Guid PrincipalId, Guid? TenantId);

/// <summary>Maps the Sphere public API v2 endpoints and turns <see cref="ApiResult"/>s into HTTP responses.</summary>
internal static class SphereApi
{
    public const string RequestIdHeader = "x-ms-request-id";
    public const string ClientRequestIdHeader = "x-ms-client-request-id";
    private const string CallerKey = "Fleet.Simulator.Caller";

    public static void MapSphereApi(this IEndpointRouteBuilder app, FleetState fleet, SettingsStore settings)
    {
        var v2 = app.MapGroup("/v2");

        v2.MapGet("/tenants", (HttpContext ctx) => Write(ctx, ApiResult.Ok(fleet.ListTenants(Caller(ctx).PrincipalId))));
        v2.MapGet("/tenants/{tenantId}", (HttpContext ctx) => Write(ctx, fleet.GetTenant(Tenant(ctx), Caller(ctx).PrincipalId)));
        v2.MapGet("/tenants/{tenantId}/users", (HttpContext ctx) => Write(ctx, fleet.GetTenantUsers(Tenant(ctx))));

        v2.MapGet("/tenants/{tenantId}/products", (HttpContext ctx) =>
            Paged(ctx, settings, page => fleet.ListProducts(Tenant(ctx), page)));
        v2.MapPost("/tenants/{tenantId}/products", async Task<IResult> (HttpContext ctx) =>
            await WithJson(ctx, body => RequestReader.ReadCreateProduct(body, out var r) ?? (object)fleet.CreateProduct(Tenant(ctx), r)));
        v2.MapGet("/tenants/{tenantId}/products/{productId}", (HttpContext ctx, string productId) =>
            WithId(ctx, productId, "Product", id => fleet.GetProduct(Tenant(ctx), id)));
        v2.MapPatch("/tenants/{tenantId}/products/{productId}", async (HttpContext ctx, string productId) =>
            await WithId(ctx, productId, "Product", id => WithJson(ctx, body =>
                RequestReader.ReadProductPatch(body, out var patch) ?? (object)fleet.PatchProduct(Tenant(ctx), id, patch))));
        v2.MapDelete("/tenants/{tenantId}/products/{productId}", (HttpContext ctx, string productId) =>
            WithId(ctx, productId, "Product", id => fleet.DeleteProduct(Tenant(ctx), id)));
        v2.MapGet("/tenants/{tenantId}/products/{productId}/devicegroups", (HttpContext ctx, string productId) =>
            WithId(ctx, productId, "Product", id => Paged(ctx, settings, page => fleet.ListProductGroups(Tenant(ctx), id, page))));
        v2.MapPost("/tenants/{tenantId}/products/{productId}/devicegroups", (HttpContext ctx, string productId) =>
            WithId(ctx, productId, "Product", id => fleet.CreateDefaultGroups(Tenant(ctx), id)));
        v2.MapGet("/tenants/{tenantId}/products/{productId}/devices", (HttpContext ctx, string productId) =>
            WithId(ctx, productId, "Product", id => Paged(ctx, settings, page => fleet.ListProductDevices(Tenant(ctx), id, page))));

        v2.MapGet("/tenants/{tenantId}/devicegroups", (HttpContext ctx) =>
            Paged(ctx, settings, page => fleet.ListGroups(Tenant(ctx), page)));
        v2.MapPost("/tenants/{tenantId}/devicegroups", async Task<IResult> (HttpContext ctx) =>
            await WithJson(ctx, body => RequestReader.ReadCreateGroup(body, out var r) ?? (object)fleet.CreateGroup(Tenant(ctx), r)));
        v2.MapGet("/tenants/{tenantId}/devicegroups/{deviceGroupId}", (HttpContext ctx, string deviceGroupId) =>
            WithId(ctx, deviceGroupId, "DeviceGroup", id => fleet.GetGroup(Tenant(ctx), id)));
        v2.MapPatch("/tenants/{tenantId}/devicegroups/{deviceGroupId}", async (HttpContext ctx, string deviceGroupId) =>
            await WithId(ctx, deviceGroupId, "DeviceGroup", id => WithJson(ctx, body =>
                RequestReader.ReadGroupPatch(body, out var patch) ?? (object)fleet.PatchGroup(Tenant(ctx), id, patch))));
        v2.MapDelete("/tenants/{tenantId}/devicegroups/{deviceGroupId}", (HttpContext ctx, string deviceGroupId) =>
            WithId(ctx, deviceGroupId, "DeviceGroup", id => fleet.DeleteGroup(Tenant(ctx), id)));
        v2.MapGet("/tenants/{tenantId}/devicegroups/{deviceGroupId}/devices", (HttpContext ctx, string deviceGroupId) =>
            WithId(ctx, deviceGroupId, "DeviceGroup", id => Paged(ctx, settings, page => fleet.ListGroupDevices(Tenant(ctx), id, page))));
        v2.MapPost("/tenants/{tenantId}/devicegroups/{deviceGroupId}/deployments", async (HttpContext ctx, string deviceGroupId) =>
            await WithId(ctx, deviceGroupId, "DeviceGroup", id => WithJson(ctx, body =>
                RequestReader.ReadImageIds(body, out var images) ?? (object)fleet.CreateDeployment(Tenant(ctx), id, images))));
        v2.MapGet("/tenants/{tenantId}/devicegroups/{deviceGroupId}/deployments", (HttpContext ctx, string deviceGroupId) =>
            WithId(ctx, deviceGroupId, "DeviceGroup", id => Paged(ctx, settings, page => fleet.ListDeployments(Tenant(ctx), id, page))));

        v2.MapGet("/tenants/{tenantId}/devices", (HttpContext ctx) =>
            Paged(ctx, settings, page => fleet.ListDevices(Tenant(ctx), page)));
        v2.MapGet("/tenants/{tenantId}/devices/{deviceId}", (HttpContext ctx, string deviceId) =>
            Write(ctx, fleet.GetDevice(Tenant(ctx), deviceId)));
        v2.MapPut("/tenants/{tenantId}/devices/{deviceId}/claim", (HttpContext ctx, string deviceId) =>
            Write(ctx, fleet.ClaimDevice(Tenant(ctx), deviceId)));
        v2.MapPut("/tenants/{tenantId}/devices/{deviceId}/devicegroup", async (HttpContext ctx, string deviceId) =>
            await WithJson(ctx, body => RequestReader.ReadMoveTarget(body, out var groupId) ?? (object)fleet.MoveDevice(Tenant(ctx), deviceId, groupId)));
        v2.MapGet("/tenants/{tenantId}/devices/{deviceId}/images", (HttpContext ctx, string deviceId) =>
            Write(ctx, fleet.GetDeviceImages(Tenant(ctx), deviceId)));

        v2.MapPost("/tenants/{tenantId}/images", UploadImage(fleet));
        v2.MapGet("/tenants/{tenantId}/images", (HttpContext ctx) =>
            Paged(ctx, settings, page => fleet.ListImages(Tenant(ctx), page)));
        v2.MapGet("/tenants/{tenantId}/images/{imageId}/metadata", (HttpContext ctx, string imageId) =>
            WithId(ctx, imageId, "Image", id => fleet.GetImageMetadata(Tenant(ctx), id)));

        v2.MapGet("/tenants/{tenantId}/operations/{operationId}", (HttpContext ctx, string operationId) =>
            WithId(ctx, operationId, "Operation", id => fleet.GetOperation(Tenant(ctx), id)));
        v2.MapGet("/tenants/{tenantId}/getDeviceInsights", (HttpContext ctx) =>
            Paged(ctx, settings, page => fleet.ListInsights(Tenant(ctx), page)));

        v2.MapFallback((HttpContext ctx) => Write(ctx, ApiError.NotFound(
            "EndpointNotFound", $"{ctx.Request.Method} {ctx.Request.Path} is not an endpoint of the Sphere public API v2.")));
    }

    private static Func<HttpContext, Task<IResult>> UploadImage(FleetState fleet) => async ctx =>
    {
        var contentType = ctx.Request.ContentType;
        if (contentType is null || !MediaTypeHeaderValue.TryParse(contentType, out var media)
            || !string.Equals(media.MediaType.Value, "application/octet-stream", StringComparison.OrdinalIgnoreCase))
        {
            return Write(ctx, new ApiError(415, "UnsupportedMediaType", "Unsupported Media Type",
                "Upload the image package as application/octet-stream."));
        }

        using var buffer = new MemoryStream();
        await ctx.Request.Body.CopyToAsync(buffer, ctx.RequestAborted);
        return Write(ctx, fleet.UploadImage(Tenant(ctx), buffer.ToArray()));
    };

    public static CallerContext Caller(HttpContext ctx) => (CallerContext)ctx.Items[CallerKey]!;

    public static void SetCaller(HttpContext ctx, CallerContext caller) => ctx.Items[CallerKey] = caller;

    private static Guid Tenant(HttpContext ctx) => Caller(ctx).TenantId!.Value;

    private static IResult WithId(HttpContext ctx, string raw, string what, Func<Guid, IResult> handle) =>
        Guid.TryParse(raw, out var id) ? handle(id) : Write(ctx, Errors.InvalidId(what, raw));

    private static IResult WithId(HttpContext ctx, string raw, string what, Func<Guid, ApiResult> handle) =>
        Guid.TryParse(raw, out var id) ? Write(ctx, handle(id)) : Write(ctx, Errors.InvalidId(what, raw));

    private static Task<IResult> WithId(HttpContext ctx, string raw, string what, Func<Guid, Task<IResult>> handle) =>
        Guid.TryParse(raw, out var id) ? handle(id) : Task.FromResult(Write(ctx, Errors.InvalidId(what, raw)));

    /// <summary>Reads the JSON body; <paramref name="handle"/> returns an <see cref="ApiError"/> or an <see cref="ApiResult"/>.</summary>
    private static async Task<IResult> WithJson(HttpContext ctx, Func<JsonElement, object> handle)
    {
        var contentType = ctx.Request.ContentType;
        if (contentType is not null && (!MediaTypeHeaderValue.TryParse(contentType, out var media)
                                        || !media.MediaType.Value!.Contains("json", StringComparison.OrdinalIgnoreCase)))
        {
            return Write(ctx, new ApiError(415, "UnsupportedMediaType", "Unsupported Media Type", "Send the request body as application/json."));
        }

        JsonDocument document;
        try
        {
            document = await JsonDocument.ParseAsync(ctx.Request.Body, cancellationToken: ctx.RequestAborted);
        }
        catch (JsonException)
        {
            return Write(ctx, Errors.InvalidBody("The request body is not valid JSON."));
        }

        using (document)
        {
            return handle(document.RootElement) switch
            {
                ApiError error => Write(ctx, error),
                ApiResult result => Write(ctx, result),
                var other => throw new InvalidOperationException($"Unexpected handler result {other.GetType()}."),
            };
        }
    }

    private static IResult Paged(HttpContext ctx, SettingsStore settings, Func<PageRequest, ApiResult> list)
    {
        var s = settings.Current;
        var size = s.DefaultPageSize;
        if (ctx.Request.Query.TryGetValue("maxPageSize", out var raw) && raw.Count > 0)
        {
            if (!int.TryParse(raw[0], NumberStyles.Integer, CultureInfo.InvariantCulture, out size) || size < 1)
            {
                return Write(ctx, ApiError.BadRequest("InvalidPageSize", $"maxPageSize must be a positive integer (was '{raw[0]}')."));
            }

            size = Math.Min(size, s.MaxPageSize);
        }

        var token = ctx.Request.Headers[Paging.ContinuationHeader].FirstOrDefault();
        return Write(ctx, list(new PageRequest(size, string.IsNullOrEmpty(token) ? null : token)));
    }

    public static IResult Write(HttpContext ctx, ApiResult result) =>
        result.Error is { } error
            ? Write(ctx, error)
            : Results.Json(result.Body, SphereJson.Options, statusCode: result.Status);

    public static IResult Write(HttpContext ctx, ApiError error) =>
        Results.Json(new[] { Details(ctx, error) }, SphereJson.Options, statusCode: error.Status);

    public static PublicApiErrorDetails Details(HttpContext ctx, ApiError error) => new(
        error.ErrorCode,
        error.Title,
        error.Detail,
        error.Status,
        $"urn:fleet-simulator:error:{error.ErrorCode}",
        ctx.Request.Path.Value ?? "/",
        new Dictionary<string, object?> { ["requestId"] = ctx.Response.Headers[RequestIdHeader].ToString() });

    /// <summary>Writes an error array directly (the gate answers before any endpoint runs).</summary>
    public static Task WriteErrorAsync(HttpContext ctx, ApiError error)
    {
        ctx.Response.StatusCode = error.Status;
        return ctx.Response.WriteAsJsonAsync(new[] { Details(ctx, error) }, SphereJson.Options, ctx.RequestAborted);
    }
}

/// <summary>
/// What every API request passes before its handler: added latency, the bearer token (401), tenant membership and
/// role (404/403), the tenant's token bucket (429) and injected faults (500/503), in that order.
/// </summary>
internal sealed class ApiGate(
    FleetState fleet,
    TokenService tokens,
    Throttle throttle,
    FaultInjector faults,
    SettingsStore settings,
    TimeProvider time,
    ILogger logger)
{
    private const string TenantlessKey = "(no tenant)";

    public async Task InvokeAsync(HttpContext ctx, Func<Task> next)
    {
        var s = settings.Current;
        if (s.LatencyMs > 0)
        {
            try
            {
                // Latency shapes wall-clock response time, so it uses the real clock even when the model runs on a fake one.
                await Task.Delay(TimeSpan.FromMilliseconds(s.LatencyMs), TimeProvider.System, ctx.RequestAborted);
            }
            catch (OperationCanceledException) when (ctx.RequestAborted.IsCancellationRequested)
            {
                return; // the caller has gone
            }
        }

        var fault = tokens.Validate(ctx.Request.Headers.Authorization.FirstOrDefault(), out var principal);
        if (fault != TokenFault.None)
        {
            logger.TokenRejected(ctx.Request.Method, ctx.Request.Path.Value ?? "/", fault);
            ctx.Response.Headers.WWWAuthenticate =
                $"Bearer error=\"invalid_token\", error_description=\"{fault}\", resource=\"{TokenService.SphereAudience}\"";
            await SphereApi.WriteErrorAsync(ctx, new ApiError(401, fault.ToString(), "Unauthorized", TokenService.Describe(fault)));
            return;
        }

        Guid? tenantId = null;
        if (ctx.Request.RouteValues.TryGetValue("tenantId", out var rawTenant) && rawTenant is string tenantText)
        {
            if (!Guid.TryParse(tenantText, out var parsed))
            {
                await SphereApi.WriteErrorAsync(ctx, Errors.InvalidId("Tenant", tenantText));
                return;
            }

            switch (fleet.CheckAccess(parsed, principal.PrincipalId, out var role))
            {
                case TenantAccess.TenantNotFound:
                    await SphereApi.WriteErrorAsync(ctx, Errors.TenantNotFound(parsed));
                    return;
                case TenantAccess.NotAUser:
                    await SphereApi.WriteErrorAsync(ctx, new ApiError(403, "PrincipalNotTenantUser", "Forbidden",
                        $"Principal '{principal.PrincipalId}' is not a user of tenant '{parsed}'; register it and assign a role."));
                    return;
                case TenantAccess.Allowed when role == TenantRole.Reader && !HttpMethods.IsGet(ctx.Request.Method):
                    await SphereApi.WriteErrorAsync(ctx, new ApiError(403, "InsufficientRole", "Forbidden",
                        $"Principal '{principal.PrincipalId}' has the Reader role in tenant '{parsed}', which may only read."));
                    return;
                default:
                    tenantId = parsed;
                    break;
            }
        }

        var throttleKey = tenantId?.ToString() ?? TenantlessKey;
        if (!throttle.TryAcquire(throttleKey, out var wait))
        {
            var seconds = Math.Max(1, (int)Math.Ceiling(wait.TotalSeconds));
            logger.RequestThrottled(throttleKey, seconds);
            RetryAfterHeader.Set(ctx.Response, s.RetryAfter, seconds, time);

            await SphereApi.WriteErrorAsync(ctx, new ApiError(429, "TooManyRequests", "Too Many Requests",
                $"The tenant exceeded {s.RateLimit.ToString(CultureInfo.InvariantCulture)} requests per second (burst {s.EffectiveBurst})."));
            return;
        }

        if (faults.TryDraw(out var status))
        {
            logger.FaultInjected(status, ctx.Request.Method, ctx.Request.Path.Value ?? "/");
            await SphereApi.WriteErrorAsync(ctx, status == 503
                ? new ApiError(503, "ServiceUnavailable", "Service Unavailable", "The service is temporarily unavailable (injected fault).")
                : new ApiError(500, "InternalServerError", "Internal Server Error", "An internal error occurred (injected fault)."));
            return;
        }

        SphereApi.SetCaller(ctx, new CallerContext(principal.PrincipalId, tenantId));
        await next();
    }
}
