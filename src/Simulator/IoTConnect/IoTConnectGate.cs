using System.Globalization;
using Fleet.Simulator.Model;
using Fleet.Simulator.Traffic;

namespace Fleet.Simulator.IoTConnect;

/// <summary>
/// What every IoTConnect request passes before its handler, in order: added latency → (device, user and firmware
/// services only) bearer token → the solution's token bucket → dropped connection → injected 500/503.
/// The auth and discovery services are never rate-limited (nothing public says they are; a limited login would
/// only make every client's first call slower).
/// </summary>
internal sealed class IoTConnectGate(
    IoTConnectSimulation simulation,
    Throttle throttle,
    FaultInjector faults,
    SettingsStore simulatorSettings,
    int seed,
    TimeProvider time,
    ILogger logger)
{
    private const string SolutionItem = "Fleet.Simulator.IoTConnect.Solution";
    private const string ThrottleKeyPrefix = "iotconnect|";

    /// <summary>The status the request counters record for a dropped connection.</summary>
    public const int DroppedStatus = 444;

    private readonly object _dropGate = new();
    private Random _drops = new(unchecked((seed * 6367) + 3));

    /// <summary>The solution key the gate found in the request's token.</summary>
    public static string SolutionOf(HttpContext ctx) => (string)ctx.Items[SolutionItem]!;

    public void Reset()
    {
        lock (_dropGate)
        {
            _drops = new Random(unchecked((seed * 6367) + 3));
        }
    }

    public async ValueTask<object?> InvokeAsync(EndpointFilterInvocationContext context, EndpointFilterDelegate next, bool authenticated)
    {
        var ctx = context.HttpContext;
        var latency = simulatorSettings.Current.LatencyMs;
        if (latency > 0)
        {
            try
            {
                // Latency shapes wall-clock response time, so it uses the real clock even when the model runs on a fake one.
                await Task.Delay(TimeSpan.FromMilliseconds(latency), TimeProvider.System, ctx.RequestAborted);
            }
            catch (OperationCanceledException) when (ctx.RequestAborted.IsCancellationRequested)
            {
                return Results.Empty;
            }
        }

        var settings = simulation.Settings.Current;
        if (authenticated)
        {
            var fault = simulation.Sessions.Validate(ctx.Request.Headers.Authorization.FirstOrDefault(), out var solutionKey);
            if (fault != SessionFault.None)
            {
                logger.IoTConnectTokenRejected(ctx.Request.Method, ctx.Request.Path.Value ?? "/", fault);
                ctx.Response.Headers.WWWAuthenticate = $"Bearer error=\"invalid_token\", error_description=\"{fault}\"";
                return IoTConnectWire.Error(401, fault.ToString(), IoTConnectSessions.Describe(fault));
            }

            ctx.Items[SolutionItem] = solutionKey;
            if (!throttle.TryAcquire(ThrottleKeyPrefix + solutionKey, out var wait))
            {
                return Throttled(ctx, settings, solutionKey, wait);
            }
        }

        if (settings.DropRate > 0 && Draw() < settings.DropRate)
        {
            logger.IoTConnectConnectionDropped(ctx.Request.Method, ctx.Request.Path.Value ?? "/");

            // Counted under 444 (nginx's "closed without a response"): nothing reaches the caller, who sees a reset.
            ctx.Response.StatusCode = DroppedStatus;
            ctx.Abort();
            return Results.Empty;
        }

        if (faults.TryDraw(out var status))
        {
            logger.FaultInjected(status, ctx.Request.Method, ctx.Request.Path.Value ?? "/");
            return status == 503
                ? IoTConnectWire.Error(503, "ServiceUnavailable", "The service is temporarily unavailable (injected fault).")
                : IoTConnectWire.Error(500, "InternalServerError", "An internal error occurred (injected fault).");
        }

        return await next(context);
    }

    private IResult Throttled(HttpContext ctx, IoTConnectSettings settings, string solutionKey, TimeSpan wait)
    {
        var seconds = Math.Max(1, (int)Math.Ceiling(wait.TotalSeconds));
        RetryAfterHeader.Set(ctx.Response, settings.RetryAfter, seconds, time);

        // Logged by the solution's handle ("A"), not its key: a solution key is a credential.
        if (logger.IsEnabled(LogLevel.Debug))
        {
            logger.RequestThrottled(ThrottleKeyPrefix + (simulation.Cloud.FindLogin(solutionKey)?.Key ?? "?"), seconds);
        }

        var limit = $"The solution exceeded {settings.RateLimit.ToString(CultureInfo.InvariantCulture)} requests per second (burst {settings.EffectiveBurst}).";
        return settings.ThrottleResponse == IoTConnectThrottleResponse.ServiceUnavailable
            ? IoTConnectWire.Error(503, "ServiceUnavailable", limit)
            : IoTConnectWire.Error(429, "TooManyRequests", limit);
    }

    private double Draw()
    {
        lock (_dropGate)
        {
            return _drops.NextDouble();
        }
    }
}
