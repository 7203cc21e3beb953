using System.Net;
using System.Security.Cryptography;
using Fleet.Simulator.Api;
using Fleet.Simulator.Auth;
using Fleet.Simulator.Control;
using Fleet.Simulator.IoTCentral;
using Fleet.Simulator.IoTConnect;
using Fleet.Simulator.Model;
using Fleet.Simulator.Traffic;
using Microsoft.AspNetCore.Hosting.Server;
using Microsoft.AspNetCore.Hosting.Server.Features;
using Microsoft.AspNetCore.WebUtilities;
using Microsoft.Extensions.Options;

namespace Fleet.Simulator;

/// <summary>
/// A running fleet simulator: the Azure Sphere public API v2 under <c>v2/…</c>, the Avnet IoTConnect services under
/// <c>iotconnect/{service}/api/v2/…</c>, an App Service-style managed-identity endpoint at <c>msi/token</c> and the
/// control API under <c>_sim/…</c>, on Kestrel bound to 127.0.0.1.
/// </summary>
public sealed class SimulatorHost : IAsyncDisposable
{
    private readonly WebApplication _app;
    private readonly FleetState _fleet;
    private readonly ILogger _logger;
    private int _stopped;

    private SimulatorHost(WebApplication app, FleetState fleet, ILogger logger, Uri baseAddress, string identityHeader)
    {
        _app = app;
        _fleet = fleet;
        _logger = logger;
        BaseAddress = baseAddress;
        IdentityEndpoint = new Uri(baseAddress, ManagedIdentityEndpoint.Path.TrimStart('/'));
        IdentityHeader = identityHeader;
        Control = new SimulatorControlClient(baseAddress);
    }

    /// <summary>The simulator's root, e.g. <c>http://127.0.0.1:5080/</c>.</summary>
    public Uri BaseAddress { get; }

    /// <summary>The value for <c>IDENTITY_ENDPOINT</c>, e.g. <c>http://127.0.0.1:5080/msi/token</c>.</summary>
    public Uri IdentityEndpoint { get; }

    /// <summary>The value for <c>IDENTITY_HEADER</c>.</summary>
    public string IdentityHeader { get; }

    /// <summary>Base URLs of the simulated IoTConnect services (for the IoTConnect client's settings).</summary>
    public IoTConnectBaseUrls IoTConnect => IoTConnectBaseUrls.For(BaseAddress);

    /// <summary>A typed client of the <c>/_sim/</c> control API.</summary>
    public SimulatorControlClient Control { get; }

    /// <summary>A one-line description of the current fleet (as the start-up banner prints it).</summary>
    public string FleetSummary => _fleet.Summary();

    /// <summary>Validates the options, builds the seeded fleet and starts listening.</summary>
    /// <param name="options">Settings; copied, so later edits have no effect.</param>
    /// <param name="timeProvider">The clock of operations, installs, token expiry and throttling; the system clock when null.</param>
    /// <param name="cancellationToken">Cancels start-up.</param>
    /// <exception cref="OptionsValidationException">An option is invalid; the message names it.</exception>
    public static Task<SimulatorHost> StartAsync(SimulatorOptions options, TimeProvider? timeProvider = null, CancellationToken cancellationToken = default) =>
        StartAsync(options, timeProvider, configureLogging: null, cancellationToken);

    internal static async Task<SimulatorHost> StartAsync(
        SimulatorOptions options,
        TimeProvider? timeProvider,
        Action<ILoggingBuilder>? configureLogging,
        CancellationToken cancellationToken)
    {
        ArgumentNullException.ThrowIfNull(options);
        var opts = options.Clone();
        var validation = SimulatorOptionsValidator.Instance.Validate(null, opts);
        if (validation.Failed)
        {
            throw new OptionsValidationException(nameof(SimulatorOptions), typeof(SimulatorOptions), validation.Failures);
        }

        var identityHeader = string.IsNullOrEmpty(opts.IdentityHeader)
            ? Convert.ToHexStringLower(RandomNumberGenerator.GetBytes(16))
            : opts.IdentityHeader;
        var time = timeProvider ?? TimeProvider.System;

        var builder = WebApplication.CreateSlimBuilder(new WebApplicationOptions
        {
            ApplicationName = typeof(SimulatorHost).Assembly.GetName().Name,
            ContentRootPath = AppContext.BaseDirectory,
            EnvironmentName = "Production",
        });
        // Only the options passed in configure the simulator: no appsettings.json or ASPNETCORE_* variables of the host process.
        builder.Configuration.Sources.Clear();
        builder.Logging.ClearProviders();

        // The default console lifetime would take over SIGINT/SIGTERM of the whole process (a test runner's, or the
        // CLI's, which handles them itself); the owner stops the simulator through StopAsync/DisposeAsync instead.
        builder.Services.AddSingleton<IHostLifetime, OwnerControlledLifetime>();
        configureLogging?.Invoke(builder.Logging);
        builder.WebHost.ConfigureKestrel(kestrel =>
        {
            kestrel.AddServerHeader = false;
            kestrel.Listen(IPAddress.Loopback, opts.Port);
        });

        var app = builder.Build();
        var logger = app.Services.GetRequiredService<ILoggerFactory>().CreateLogger("Fleet.Simulator");
        var settings = new SettingsStore(opts);
        var fleet = new FleetState(settings, time, logger);
        var tokens = new TokenService(opts.SigningKey, time, settings);
        var throttle = new Throttle(time, settings);
        var faults = new FaultInjector(opts.Seed, settings);
        var counters = new RequestCounters(time);
        var gate = new ApiGate(fleet, tokens, throttle, faults, settings, time, logger);
        var iotCentral = new IoTCentralCloud(opts.IoTCentral, opts.Seed, opts.SigningKey, tokens, time, logger);
        var iotConnect = new IoTConnectSimulation(opts, time, faults, settings, logger);

        app.Use((ctx, next) =>
        {
            ctx.Response.Headers[SphereApi.RequestIdHeader] = Guid.NewGuid().ToString();
            if (ctx.Request.Headers.TryGetValue(SphereApi.ClientRequestIdHeader, out var clientRequestId))
            {
                ctx.Response.Headers[SphereApi.ClientRequestIdHeader] = clientRequestId;
            }

            if (!IsControl(ctx.Request.Path))
            {
                // Counted when the response starts, so a caller that has its response always sees it counted.
                ctx.Response.OnStarting(() =>
                {
                    Count(ctx, counters);
                    return Task.CompletedTask;
                });
            }

            return next(ctx);
        });
        app.UseStatusCodePages(async status =>
        {
            var ctx = status.HttpContext;
            var reason = ReasonPhrases.GetReasonPhrase(ctx.Response.StatusCode);
            if (ctx.Request.Path.StartsWithSegments("/v2", StringComparison.OrdinalIgnoreCase))
            {
                await SphereApi.WriteErrorAsync(ctx, new ApiError(ctx.Response.StatusCode, reason.Replace(" ", string.Empty, StringComparison.Ordinal), reason,
                    $"{ctx.Request.Method} {ctx.Request.Path} was answered {ctx.Response.StatusCode} {reason}."));
            }
            else if (ctx.Request.Path.StartsWithSegments("/iotc", StringComparison.OrdinalIgnoreCase))
            {
                await IoTCentralApi.WriteUnmatched(ctx, ctx.Response.StatusCode, time);
            }
            else
            {
                await ctx.Response.WriteAsJsonAsync(new ControlError($"{ctx.Request.Method} {ctx.Request.Path}: {reason}"), ControlJson.Options);
            }
        });
        app.UseRouting();
        app.UseWhen(
            ctx => ctx.Request.Path.StartsWithSegments("/v2", StringComparison.OrdinalIgnoreCase),
            api => api.Use((ctx, next) => gate.InvokeAsync(ctx, () => next(ctx))));

        app.MapSphereApi(fleet, settings);
        app.MapManagedIdentity(tokens, identityHeader, logger);
        app.MapControlApi(fleet, settings, counters, throttle, faults, tokens, logger, () =>
        {
            iotCentral.Reset();
            iotConnect.Reset();
        });
        app.MapIoTCentralApi(iotCentral, logger);
        app.MapIoTCentralControl(iotCentral, logger);
        app.MapIoTConnect(iotConnect);
        app.MapIoTConnectKeyVault(iotConnect, tokens);
        app.MapIoTConnectControl(iotConnect);

        try
        {
            await app.StartAsync(cancellationToken);
        }
        catch
        {
            await app.DisposeAsync();
            throw;
        }

        var address = app.Services.GetRequiredService<IServer>().Features.Get<IServerAddressesFeature>()!.Addresses.First();
        var port = new Uri(address).Port;
        var host = new SimulatorHost(app, fleet, logger, new Uri($"http://127.0.0.1:{port}/"), identityHeader);
        logger.SimulatorStarted(host.BaseAddress, host.FleetSummary);
        return host;
    }

    private static bool IsControl(PathString path) => path.StartsWithSegments("/_sim", StringComparison.OrdinalIgnoreCase);

    private static void Count(HttpContext ctx, RequestCounters counters)
    {
        var route = ctx.GetEndpoint() is RouteEndpoint endpoint
            ? (endpoint.RoutePattern.RawText ?? ctx.Request.Path.Value ?? "/").TrimStart('/')
            : "(unmatched)";
        Guid? tenantId = ctx.Request.RouteValues.TryGetValue("tenantId", out var raw) && raw is string text && Guid.TryParse(text, out var t)
            ? t
            : null;
        counters.Record(ctx.Request.Method, route, ctx.Response.StatusCode, tenantId);
    }

    /// <summary>Stops listening; pending requests get a short grace period.</summary>
    public async Task StopAsync(CancellationToken cancellationToken = default)
    {
        if (Interlocked.Exchange(ref _stopped, 1) == 0)
        {
            await _app.StopAsync(cancellationToken);
            _logger.SimulatorStopped(BaseAddress);
        }
    }

    /// <inheritdoc />
    public async ValueTask DisposeAsync()
    {
        using (var timeout = new CancellationTokenSource(TimeSpan.FromSeconds(5)))
        {
            await StopAsync(timeout.Token);
        }

        Control.Dispose();
        await _app.DisposeAsync();
    }
}

/// <summary>A host lifetime that ignores process signals: whoever started the simulator stops it.</summary>
internal sealed class OwnerControlledLifetime : IHostLifetime
{
    public Task WaitForStartAsync(CancellationToken cancellationToken) => Task.CompletedTask;

    public Task StopAsync(CancellationToken cancellationToken) => Task.CompletedTask;
}
