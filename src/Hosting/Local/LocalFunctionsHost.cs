using System.Globalization;
using System.Net;
using System.Text.Json;
using System.Text.Json.Nodes;
using Fleet.Hosting.Configuration;
using Fleet.Hosting.Http;
using Fleet.Hosting.Rpc;
using Microsoft.AspNetCore.Builder;
using Microsoft.AspNetCore.Hosting;
using Microsoft.AspNetCore.Hosting.Server;
using Microsoft.AspNetCore.Hosting.Server.Features;
using Microsoft.AspNetCore.Server.Kestrel.Core;
using Microsoft.Extensions.Configuration;
using Microsoft.Extensions.DependencyInjection;
using Microsoft.Extensions.Diagnostics.HealthChecks;
using Microsoft.Extensions.Hosting;
using Microsoft.Extensions.Logging;

namespace Fleet.Hosting.Local;

/// <summary>
/// The local functions host (what <c>func start</c> is for Core Tools users): starts a built .NET isolated app's
/// real worker process, speaks the host↔worker gRPC protocol to it, serves its HTTP functions and runs its other
/// triggers through the registered listener factories. <see cref="StartAsync"/> throws a one-line
/// <see cref="HostStartupException"/> or <see cref="HostConfigurationException"/> when it cannot start.
/// </summary>
public sealed class LocalFunctionsHost : IAsyncDisposable
{
    /// <summary>How long the worker may take to connect, initialize and announce its functions (default 60 s).</summary>
    public const string WorkerStartupTimeoutSetting = "Host:WorkerStartupTimeout";
    private readonly ServiceProvider _services;
    private readonly WebApplication _rpc;
    private readonly ILogger _logger;
    private readonly List<(string Function, ITriggerListener Listener)> _listeners = [];
    private WebApplication? _front;
    private HttpFunctionRouter? _router;
    private AdminFunctionEndpoints? _admin;
    private bool _stopped;

    private LocalFunctionsHost(ServiceProvider services, WebApplication rpc, WorkerSupervisor supervisor, HostSettings settings)
    {
        _services = services;
        _rpc = rpc;
        Supervisor = supervisor;
        Settings = settings;
        _logger = services.GetRequiredService<ILoggerFactory>().CreateLogger("Fleet.Hosting.Local");
    }

    /// <summary>Where the HTTP functions are served, e.g. <c>http://127.0.0.1:7071/</c>.</summary>
    public Uri BaseAddress { get; private set; } = new("http://127.0.0.1/");

    /// <summary>Every function the worker announced, loaded or not (with the reason).</summary>
    internal IReadOnlyList<RegisteredFunction> Functions { get; private set; } = [];

    /// <summary>The worker-facing HTTP/2 listener (FunctionRpc and the endpoints bindings add, e.g. the TaskHubSidecarService).</summary>
    public Uri RpcAddress { get; private init; } = new("http://127.0.0.1/");

    internal WorkerSupervisor Supervisor { get; }

    internal HostSettings Settings { get; }

    internal FunctionInvoker Invoker { get; private set; } = null!;

    /// <summary>Reads the app's settings, starts the worker, loads the functions and starts serving.</summary>
    public static async Task<LocalFunctionsHost> StartAsync(LocalHostOptions options, CancellationToken cancellationToken)
    {
        ArgumentNullException.ThrowIfNull(options);
        var scriptRoot = Path.GetFullPath(options.ScriptRoot);
        if (!Directory.Exists(scriptRoot))
        {
            throw new HostStartupException($"The script root '{scriptRoot}' does not exist (--script-root).");
        }

        var workerConfig = WorkerConfig.Read(scriptRoot);
        var hostJsonValues = ConfigurationFiles.ReadHostJson(scriptRoot);
        var local = ConfigurationFiles.ReadLocalSettings(scriptRoot);
        var configuration = new ConfigurationBuilder()
            .AddInMemoryCollection(hostJsonValues)
            .AddInMemoryCollection(local.Configuration)
            .AddEnvironmentVariables()
            .AddInMemoryCollection(options.AppSettings.Select(s => KeyValuePair.Create(s.Key.Replace("__", ":", StringComparison.Ordinal), s.Value)))
            .Build();
        var appName = Path.GetFileNameWithoutExtension(workerConfig.WorkerPath);
        var settings = HostSettingsReader.Read(configuration, scriptRoot, appName, null, options.Port, durableStoreFromLocalSettings: true);
        var startupTimeout = ReadStartupTimeout(configuration);
        var hostJson = JsonNode.Parse(
            File.ReadAllText(Path.Combine(scriptRoot, ConfigurationFiles.HostJsonFileName)),
            documentOptions: new JsonDocumentOptions { CommentHandling = JsonCommentHandling.Skip, AllowTrailingCommas = true }) as JsonObject ?? [];

        var services = ComposeServices(options, configuration, settings);
        var loggerFactory = services.GetRequiredService<ILoggerFactory>();
        var time = services.GetRequiredService<TimeProvider>();
        var connections = new WorkerConnections();
        var rpc = BuildRpcServer(connections, loggerFactory, services.GetServices<ILocalHostEndpoints>());
        await rpc.StartAsync(cancellationToken).ConfigureAwait(false);
        var rpcUri = new Uri(ListeningAddress(rpc));
        var supervisor = new WorkerSupervisor(
            new WorkerSupervisorOptions
            {
                ScriptRoot = scriptRoot,
                Config = workerConfig,
                Environment = WorkerEnvironment(scriptRoot, local, options.AppSettings),
                StartupTimeout = startupTimeout,
                StartupTimeoutSetting = WorkerStartupTimeoutSetting,
            },
            connections, rpcUri, loggerFactory, time);
        var host = new LocalFunctionsHost(services, rpc, supervisor, settings) { RpcAddress = rpcUri };
        try
        {
            await host.StartCoreAsync(options, configuration, hostJson, scriptRoot, cancellationToken).ConfigureAwait(false);
            return host;
        }
        catch
        {
            await host.DisposeAsync().ConfigureAwait(false);
            throw;
        }
    }

    /// <summary>
    /// Stops gracefully: HTTP stops taking requests, trigger listeners stop, in-flight invocations drain for up to
    /// <c>Host:ShutdownTimeout</c> (default 30 s), then WorkerTerminate, then the worker process is killed.
    /// </summary>
    public async Task StopAsync()
    {
        if (_stopped)
        {
            return;
        }

        _stopped = true;
        var grace = Settings.ShutdownTimeout;
        _logger.HostStopping(Invoker?.InFlight ?? 0, grace);
        using var drain = new CancellationTokenSource(grace);
        _router?.StopAccepting();
        _admin?.StopAccepting();
        var stopFront = _front is null ? Task.CompletedTask : _front.StopAsync(drain.Token);
        var stopListeners = _listeners.Select(async l =>
        {
            try
            {
                await l.Listener.StopAsync(drain.Token).ConfigureAwait(false);
            }
            catch (Exception ex) when (ex is not OutOfMemoryException)
            {
                _logger.ListenerStopFailed(l.Function, ex);
            }
        });
        await Task.WhenAll(stopListeners.Append(stopFront)).ConfigureAwait(false);
        if (Invoker is not null)
        {
            await Invoker.DrainAsync(drain.Token).ConfigureAwait(false);
        }

        _logger.HostStopped(Invoker?.InFlight ?? 0);
        await Supervisor.StopAsync(TimeSpan.FromSeconds(5)).ConfigureAwait(false);
        await _rpc.StopAsync(CancellationToken.None).ConfigureAwait(false);
    }

    /// <summary>Kills the worker and releases everything (use <see cref="StopAsync"/> first for a graceful stop).</summary>
    public async ValueTask DisposeAsync()
    {
        foreach (var (_, listener) in _listeners)
        {
            await listener.DisposeAsync().ConfigureAwait(false);
        }

        await Supervisor.DisposeAsync().ConfigureAwait(false);
        if (_front is not null)
        {
            await _front.DisposeAsync().ConfigureAwait(false);
        }

        _router?.Dispose();
        await _rpc.DisposeAsync().ConfigureAwait(false);
        await _services.DisposeAsync().ConfigureAwait(false);
    }

    private async Task StartCoreAsync(LocalHostOptions options, IConfiguration configuration, JsonObject hostJson, string scriptRoot, CancellationToken cancellationToken)
    {
        var loggerFactory = _services.GetRequiredService<ILoggerFactory>();
        var time = _services.GetRequiredService<TimeProvider>();
        var factories = LastByType(_services.GetServices<ITriggerListenerFactory>(), f => f.TriggerType);
        var inputs = LastByType(_services.GetServices<IInputBindingProvider>(), p => p.BindingType);
        var outputs = LastByType(_services.GetServices<IOutputBindingHandler>(), h => h.BindingType);

        var session = await Supervisor.StartAsync(cancellationToken).ConfigureAwait(false);
        var capabilities = new FunctionRegistry.Capabilities(
            factories.Keys.ToHashSet(StringComparer.OrdinalIgnoreCase), inputs.Keys.ToHashSet(StringComparer.OrdinalIgnoreCase), outputs.Keys.ToHashSet(StringComparer.OrdinalIgnoreCase));
        var registered = FunctionRegistry.Register(session.Metadata, capabilities, Settings, configuration).ToList();
        var loadResults = await Supervisor.LoadAndSuperviseAsync(registered.Where(f => f.Loaded).Select(f => f.Spec.Metadata).ToList(), cancellationToken).ConfigureAwait(false);
        registered = registered
            .Select(f => f.Loaded && loadResults.TryGetValue(f.Spec.FunctionId, out var reason) && reason is not null ? f with { NotLoadedReason = "the worker could not load it: " + reason } : f)
            .ToList();

        Invoker = new FunctionInvoker(Supervisor, inputs, outputs, Settings.FunctionTimeout, loggerFactory, time);
        var context = new TriggerListenerContext(Invoker, configuration, hostJson, scriptRoot, loggerFactory, time);
        for (var i = 0; i < registered.Count; i++)
        {
            var function = registered[i];
            if (!function.Loaded || function.Http is not null)
            {
                continue;
            }

            if (factories[function.Spec.Trigger.Type].TryCreate(function.Spec, context, out var listener, out var notLoaded) && listener is not null)
            {
                _listeners.Add((function.Spec.Name, listener));
            }
            else
            {
                registered[i] = function with { NotLoadedReason = notLoaded ?? "its trigger listener could not be created" };
            }
        }

        Functions = registered;
        var hostLogger = loggerFactory.CreateLogger("Fleet.Hosting.Local");
        foreach (var function in registered.Where(f => !f.Loaded))
        {
            hostLogger.FunctionNotLoaded(function.Spec.Name, function.NotLoadedReason!);
        }

        _admin = new AdminFunctionEndpoints(
            Invoker, registered, Settings, LastByType(factories.Values.OfType<IAdminInvocationFactory>(), f => f.TriggerType), loggerFactory, time);
        _router = new HttpFunctionRouter(Invoker, Supervisor, Settings, _services.GetRequiredService<Yarp.ReverseProxy.Forwarder.IHttpForwarder>(), loggerFactory);
        _front = BuildFront(options, loggerFactory, time);
        await _front.StartAsync(cancellationToken).ConfigureAwait(false);
        BaseAddress = new Uri(ListeningAddress(_front));
        foreach (var endpoints in _services.GetServices<ILocalHostEndpoints>())
        {
            endpoints.Listening(RpcAddress, BaseAddress);
        }

        foreach (var (_, listener) in _listeners)
        {
            await listener.StartAsync(cancellationToken).ConfigureAwait(false);
        }

        StartupSummary.Write(options.Output, registered, BaseAddress, session, configuration);
    }

    private WebApplication BuildFront(LocalHostOptions options, ILoggerFactory loggerFactory, TimeProvider time)
    {
        var builder = WebApplication.CreateSlimBuilder(new WebApplicationOptions { Args = [], ContentRootPath = Settings.ContentRoot });
        builder.WebHost.ConfigureKestrel(k => k.Listen(options.ListenAddress, Settings.Http.Port, l => l.Protocols = HttpProtocols.Http1));
        ShareHostServices(builder.Services, loggerFactory, time);
        builder.Services.AddSingleton(Settings);
        builder.Services.AddRouting();
        builder.Services.AddCors();
        builder.Services.AddHealthChecks().AddCheck(AdminEndpoints.CheckName, new WorkerHealthCheck(Supervisor));
        RequestLogging.KeepUrlsOutOfAspNetCoreLogs(builder.Services);
        var app = builder.Build();
        RequestLogging.UseRequestLog(app);
        app.UseRouting();
        if (Settings.Http.CorsOrigins.Count > 0)
        {
            app.UseCors(policy =>
            {
                var origins = Settings.Http.CorsOrigins;
                if (origins.Contains("*"))
                {
                    policy.AllowAnyOrigin();
                }
                else
                {
                    policy.WithOrigins([.. origins]);
                    if (Settings.Http.CorsCredentials)
                    {
                        policy.AllowCredentials();
                    }
                }

                policy.AllowAnyHeader().AllowAnyMethod();
            });
        }

        AdminEndpoints.Map(app);
        _admin!.Map(app);
        foreach (var endpoints in _services.GetServices<ILocalHostEndpoints>())
        {
            endpoints.MapFront(app);
        }

        _router!.Map(app, Functions);
        return app;
    }

    private static WebApplication BuildRpcServer(WorkerConnections connections, ILoggerFactory loggerFactory, IEnumerable<ILocalHostEndpoints> endpoints)
    {
        var builder = WebApplication.CreateSlimBuilder(new WebApplicationOptions { Args = [] });

        // The worker's GrpcChannel speaks HTTP/2 cleartext (prior knowledge), on loopback only (pitfall 4).
        builder.WebHost.ConfigureKestrel(k => k.Listen(IPAddress.Loopback, 0, l => l.Protocols = HttpProtocols.Http2));
        ShareHostServices(builder.Services, loggerFactory, TimeProvider.System);
        builder.Services.AddGrpc(o =>
        {
            o.MaxReceiveMessageSize = null;
            o.MaxSendMessageSize = null;
        });
        builder.Services.AddSingleton(connections);
        var contributors = endpoints.ToList();
        foreach (var contributor in contributors)
        {
            contributor.ConfigureWorkerFacingServices(builder.Services);
        }

        var app = builder.Build();
        app.MapGrpcService<FunctionRpcService>();
        foreach (var contributor in contributors)
        {
            contributor.MapWorkerFacing(app);
        }

        return app;
    }

    private static void ShareHostServices(IServiceCollection services, ILoggerFactory loggerFactory, TimeProvider time)
    {
        services.AddSingleton(loggerFactory);
        services.AddSingleton(time);

        // The CLI owns Ctrl+C and SIGTERM: it stops the host in order (see StopAsync).
        services.AddSingleton<IHostLifetime, CallerOwnedLifetime>();
    }

    private static ServiceProvider ComposeServices(LocalHostOptions options, IConfiguration configuration, HostSettings settings)
    {
        var services = new ServiceCollection();
        services.AddSingleton(configuration);
        services.AddSingleton(settings);
        services.AddSingleton(TimeProvider.System);
        services.AddLogging(logging =>
        {
            logging.SetMinimumLevel(options.Verbose ? LogLevel.Debug : LogLevel.Information);
            foreach (var (category, level) in settings.LogLevels)
            {
                if (string.Equals(category, "default", StringComparison.OrdinalIgnoreCase))
                {
                    logging.SetMinimumLevel(options.Verbose ? LogLevel.Debug : level);
                }
                else
                {
                    logging.AddFilter(category, options.Verbose ? LogLevel.Debug : level);
                }
            }

            // Kestrel's and gRPC's own chatter stays below Warning unless asked for.
            logging.AddFilter("Microsoft", options.Verbose ? LogLevel.Information : LogLevel.Warning);

            // YARP logs every forwarded URL, keys in ?code= included: held at Warning always.
            logging.AddFilter("Yarp", LogLevel.Warning);
            if (options.ConsoleLogs)
            {
                logging.AddSimpleConsole(c =>
                {
                    c.SingleLine = true;
                    c.TimestampFormat = "HH:mm:ss.fff ";
                });
            }

            options.ConfigureLogging?.Invoke(logging);
        });
        services.AddHttpForwarder();
        services.AddLocalHostBindings();
        options.ConfigureServices?.Invoke(services);
        return services.BuildServiceProvider();
    }

    private static IReadOnlyDictionary<string, string> WorkerEnvironment(
        string scriptRoot, LocalSettings local, IReadOnlyDictionary<string, string?> appSettings)
    {
        // As Core Tools does: local.settings.json Values become environment variables unless the environment has them.
        var environment = new Dictionary<string, string>(StringComparer.Ordinal);
        foreach (var (name, value) in local.Values)
        {
            if (string.IsNullOrEmpty(Environment.GetEnvironmentVariable(name)))
            {
                environment[name] = value;
            }
        }

        foreach (var (name, value) in appSettings)
        {
            // App settings win over both, as in Azure; a null one hides what local.settings.json says.
            environment[name.Replace(":", "__", StringComparison.Ordinal)] = value ?? string.Empty;
        }

        environment["FUNCTIONS_WORKER_RUNTIME"] = "dotnet-isolated";
        environment["FUNCTIONS_WORKER_DIRECTORY"] = scriptRoot;
        environment["FUNCTIONS_APPLICATION_DIRECTORY"] = scriptRoot;
        environment["AzureWebJobsScriptRoot"] = scriptRoot;
        return environment;
    }

    private static TimeSpan ReadStartupTimeout(IConfiguration configuration)
    {
        var raw = configuration[WorkerStartupTimeoutSetting];
        if (string.IsNullOrWhiteSpace(raw))
        {
            return TimeSpan.FromSeconds(60);
        }

        if (TimeSpan.TryParse(raw, CultureInfo.InvariantCulture, out var value) && value > TimeSpan.Zero && value <= TimeSpan.FromMinutes(10))
        {
            return value;
        }

        throw new HostConfigurationException(
            WorkerStartupTimeoutSetting, $"Setting '{WorkerStartupTimeoutSetting}' ('{raw}') is invalid: use a duration (hh:mm:ss) above zero and at most 00:10:00.");
    }

    private static Dictionary<string, T> LastByType<T>(IEnumerable<T> items, Func<T, string> type)
    {
        var byType = new Dictionary<string, T>(StringComparer.OrdinalIgnoreCase);
        foreach (var item in items)
        {
            byType[type(item)] = item;
        }

        return byType;
    }

    private static string ListeningAddress(WebApplication app)
    {
        var address = app.Services.GetRequiredService<IServer>().Features.Get<IServerAddressesFeature>()!.Addresses.First();
        return address.EndsWith('/') ? address : address + "/";
    }

    /// <summary>Leaves start and stop to the caller (no console signal handling of its own).</summary>
    private sealed class CallerOwnedLifetime : IHostLifetime
    {
        public Task WaitForStartAsync(CancellationToken cancellationToken) => Task.CompletedTask;

        public Task StopAsync(CancellationToken cancellationToken) => Task.CompletedTask;
    }

    /// <summary>Healthy while a worker is live; Unhealthy while it (re)starts.</summary>
    private sealed class WorkerHealthCheck(WorkerSupervisor supervisor) : IHealthCheck
    {
        public Task<HealthCheckResult> CheckHealthAsync(HealthCheckContext context, CancellationToken cancellationToken = default) =>
            Task.FromResult(supervisor.Current is { } session
                ? HealthCheckResult.Healthy($"Worker process {session.Process.ProcessId} is live ({supervisor.Restarts} restarts).")
                : HealthCheckResult.Unhealthy("The worker is (re)starting."));
    }
}
