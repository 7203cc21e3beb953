using System.Text.Json;
using Fleet.Hosting.Configuration;
using Microsoft.AspNetCore.Builder;
using Microsoft.AspNetCore.Diagnostics.HealthChecks;
using Microsoft.AspNetCore.Http;
using Microsoft.AspNetCore.Routing;
using Microsoft.Extensions.DependencyInjection;
using Microsoft.Extensions.Diagnostics.HealthChecks;
using Microsoft.Extensions.Hosting;

namespace Fleet.Hosting.Http;

/// <summary>
/// The host's own anonymous endpoints: <c>GET /admin/host/ping</c> (200 while the process serves HTTP) and
/// <c>GET /admin/host/status</c> (health: 200 Healthy or Degraded, 503 Unhealthy while starting or stopping). Anonymous callers learn only the state and status; the host id and the checks
/// (queue names, storage errors) need the master key.
/// </summary>
internal static class AdminEndpoints
{
    public const string PingPath = "/admin/host/ping";
    public const string StatusPath = "/admin/host/status";
    public const string CheckName = "functions-host";

    private static readonly JsonSerializerOptions JsonOptions = new(JsonSerializerDefaults.Web);

    public static void Map(IEndpointRouteBuilder endpoints)
    {
        endpoints.MapGet(PingPath, () => Results.Ok()).WithDisplayName("HostPing");
        endpoints.MapHealthChecks(StatusPath, new HealthCheckOptions
        {
            ResponseWriter = WriteStatusAsync,
        }).WithDisplayName("HostStatus");
    }

    private static Task WriteStatusAsync(HttpContext context, HealthReport report)
    {
        var settings = context.RequestServices.GetRequiredService<HostSettings>();
        var lifetime = context.RequestServices.GetRequiredService<IHostApplicationLifetime>();
        var state = lifetime.ApplicationStopping.IsCancellationRequested ? "Stopping"
            : lifetime.ApplicationStarted.IsCancellationRequested ? "Running"
            : "Starting";
        object body = settings.Keys.Authorizes(PresentedKeys.Of(context.Request), AuthorizationLevel.Admin, CheckName)
            ? new
            {
                id = settings.HostId,
                state,
                status = report.Status.ToString(),
                checks = report.Entries.Select(e => new { name = e.Key, status = e.Value.Status.ToString(), description = e.Value.Description }),
            }
            : new { state, status = report.Status.ToString() };
        context.Response.ContentType = "application/json; charset=utf-8";
        return context.Response.WriteAsJsonAsync(body, JsonOptions, context.RequestAborted);
    }
}
