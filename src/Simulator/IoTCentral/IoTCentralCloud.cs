using System.Collections.Concurrent;
using System.Globalization;
using System.Runtime.CompilerServices;
using Fleet.Simulator.Auth;
using Fleet.Simulator.Traffic;

namespace Fleet.Simulator.IoTCentral;

/// <summary>
/// The simulated IoT Central applications and what every request to them passes: the application, the
/// <c>api-version</c> check (a duplicate of the right value is tolerated), authentication and the caller's role, the
/// per-application throttle, injected 5xx faults and dropped connections. Requests are counted per application.
/// </summary>
internal sealed class IoTCentralCloud
{
    private readonly TimeProvider _time;
    private readonly ILogger _logger;
    private readonly FaultInjector _faults;
    private readonly FaultInjector _drops;
    private volatile ConcurrentDictionary<string, AppCounter> _counters = new(StringComparer.Ordinal);

    public IoTCentralCloud(IoTCentralSimulatorOptions options, int seed, string? signingKey, TokenService tokens,
        TimeProvider time, ILogger logger)
    {
        _time = time;
        _logger = logger;
        Settings = new IoTCentralSettingsStore(options);
        Auth = new IoTCentralAuth(tokens, time, signingKey);
        Throttle = new Throttle(time, () => (Settings.Current.RateLimit, Settings.Current.EffectiveBurst));
        _faults = new FaultInjector(unchecked(seed + 101), () => Settings.Current.FaultRate);
        _drops = new FaultInjector(unchecked(seed + 202), () => Settings.Current.DropRate);
        Settings.Changed += Throttle.Clear;
        Apps = IoTCentralSeed.Applications.ToDictionary(
            a => a.Name,
            a => new IoTCentralApp(a.Name, a.DisplayName, IoTCentralSeed.ApplicationIdOf(seed, a.Name),
                IoTCentralSeed.SeedOf(seed, a.Name), time, Settings),
            StringComparer.Ordinal);
    }

    public IReadOnlyDictionary<string, IoTCentralApp> Apps { get; }

    public IoTCentralSettingsStore Settings { get; }

    public IoTCentralAuth Auth { get; }

    public Throttle Throttle { get; }

    /// <summary>Back to the seeded applications and start-up settings; counters and buckets cleared.</summary>
    public void Reset()
    {
        Settings.Reset();
        foreach (var app in Apps.Values)
        {
            app.Reset();
        }

        _faults.Reset();
        _drops.Reset();
        ResetCounters();
    }

    public void ResetCounters() => _counters = new ConcurrentDictionary<string, AppCounter>(StringComparer.Ordinal);

    public IoTCentralAppCounters CountersOf(string app)
    {
        var counter = _counters.GetValueOrDefault(app);
        return counter is null
            ? new IoTCentralAppCounters(app, 0, 0, new Dictionary<int, long>())
            : new IoTCentralAppCounters(app, Interlocked.Read(ref counter.Total), Interlocked.Read(ref counter.Throttled),
                counter.ByStatus.OrderBy(s => s.Key).ToDictionary(s => s.Key, s => Interlocked.Read(ref s.Value.Value)));
    }

    /// <summary>Runs one API request: the gate, then <paramref name="handler"/>; faults become the error envelope.</summary>
    public async Task<IResult> RunAsync(HttpContext ctx, string appName, Permission permission,
        Func<IoTCentralApp, IoTCentralCaller, Task<IResult>> handler)
    {
        var counter = _counters.GetOrAdd(appName, static _ => new AppCounter());
        var dropped = false;
        ctx.Response.OnStarting(() =>
        {
            if (!dropped)
            {
                counter.Record(ctx.Response.StatusCode);
            }

            return Task.CompletedTask;
        });
        try
        {
            var app = Apps.GetValueOrDefault(appName)
                ?? throw new IoTCentralFault(404, "NotFound", $"The application '{appName}' does not exist.");
            CheckApiVersion(ctx);
            var caller = Auth.Authenticate(app, ctx.Request.Headers.Authorization.FirstOrDefault());
            if (!Throttle.TryAcquire(appName, out var wait))
            {
                return Throttled(ctx, appName, wait);
            }

            if (_drops.TryDraw(out _))
            {
                _logger.IoTCentralConnectionDropped(ctx.Request.Method, ctx.Request.Path.Value ?? "/");
                dropped = true;
                ctx.Abort();
                return Results.Empty;
            }

            if (_faults.TryDraw(out var status))
            {
                _logger.FaultInjected(status, ctx.Request.Method, ctx.Request.Path.Value ?? "/");
                throw new IoTCentralFault(status, status == 503 ? "ServiceUnavailable" : "InternalServerError",
                    status == 503 ? "The service is temporarily unavailable (injected fault)." : "An internal error occurred (injected fault).");
            }

            caller.Require(permission);
            return await handler(app, caller);
        }
        catch (IoTCentralFault fault)
        {
            await IoTCentralWire.WriteErrorAsync(ctx, _time, fault.Status, fault.Code, fault.Message);
            return Results.Empty;
        }
    }

    /// <summary>The synchronous form of <see cref="RunAsync(HttpContext, string, Permission, Func{IoTCentralApp, IoTCentralCaller, Task{IResult}})"/>.</summary>
    public Task<IResult> RunAsync(HttpContext ctx, string appName, Permission permission,
        Func<IoTCentralApp, IoTCentralCaller, IResult> handler) =>
        RunAsync(ctx, appName, permission, (app, caller) => Task.FromResult(handler(app, caller)));

    private static void CheckApiVersion(HttpContext ctx)
    {
        var versions = ctx.Request.Query["api-version"];
        if (versions.Count == 0)
        {
            throw IoTCentralFault.BadRequest("MissingApiVersion", $"The api-version query parameter is required; use {IoTCentralWire.ApiVersion}.");
        }

        if (versions.Any(v => !string.Equals(v, IoTCentralWire.ApiVersion, StringComparison.Ordinal)))
        {
            throw IoTCentralFault.BadRequest("InvalidApiVersion", $"The api-version must be {IoTCentralWire.ApiVersion}.");
        }
    }

    private IResult Throttled(HttpContext ctx, string appName, TimeSpan wait)
    {
        var settings = Settings.Current;
        var seconds = Math.Max(1, (int)Math.Ceiling(wait.TotalSeconds));
        _logger.RequestThrottled("iotc/" + appName, seconds);
        RetryAfterHeader.Set(ctx.Response, settings.RetryAfter, seconds, _time);

        throw new IoTCentralFault(429, "TooManyRequests",
            $"The number of requests exceeded the application's threshold of {settings.RateLimit.ToString(CultureInfo.InvariantCulture)} requests per second.");
    }

    private sealed class AppCounter
    {
        public long Total;
        public long Throttled;

        public ConcurrentDictionary<int, StrongBox<long>> ByStatus { get; } = new();

        public void Record(int status)
        {
            Interlocked.Increment(ref Total);
            if (status == 429)
            {
                Interlocked.Increment(ref Throttled);
            }

            Interlocked.Increment(ref ByStatus.GetOrAdd(status, static _ => new StrongBox<long>()).Value);
        }
    }
}
