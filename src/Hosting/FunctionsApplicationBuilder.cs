using System.Reflection;
using Fleet.Hosting.Configuration;
using Fleet.Hosting.Durable;
using Fleet.Hosting.Http;
using Fleet.Hosting.Indexing;
using Fleet.Hosting.Invocation;
using Fleet.Hosting.Queues;
using Fleet.Hosting.Timers;
using Microsoft.AspNetCore.Builder;
using Microsoft.AspNetCore.Hosting;
using Microsoft.Extensions.Configuration;
using Microsoft.Extensions.DependencyInjection;
using Microsoft.Extensions.Diagnostics.Metrics;
using Microsoft.Extensions.Hosting;
using Microsoft.Extensions.Logging;

namespace Fleet.Hosting;

/// <summary>
/// Builds a function host. <see cref="Configuration"/> already holds, lowest precedence first: host.json (under
/// <c>AzureFunctionsJobHost</c>), local.settings.json (<c>Values</c> with <c>__</c> nesting, <c>ConnectionStrings</c>,
/// <c>Host</c>), environment variables, command-line arguments and <see cref="FunctionsApplicationOptions.Settings"/>.
/// </summary>
public sealed class FunctionsApplicationBuilder : IHostApplicationBuilder
{
    private readonly WebApplicationBuilder _web;
    private readonly FunctionsApplicationOptions _options;
    private readonly string _contentRoot;
    private readonly string _applicationName;
    private bool _built;

    internal FunctionsApplicationBuilder(FunctionsApplicationOptions options)
    {
        _options = options;
        _contentRoot = Path.GetFullPath(
            options.ContentRoot ?? System.Environment.GetEnvironmentVariable("AzureWebJobsScriptRoot") ?? AppContext.BaseDirectory);
        _applicationName = options.ApplicationName ?? Assembly.GetEntryAssembly()?.GetName().Name ?? "functions";

        // Read the files first: a malformed host.json stops start-up before anything else happens.
        var hostJson = ConfigurationFiles.ReadHostJson(_contentRoot);
        var localSettings = ConfigurationFiles.ReadLocalSettings(_contentRoot);
        if (options.ExportLocalSettingsToEnvironment)
        {
            // Before anything reads the environment (the environment name, ASP.NET Core's host settings), as Core
            // Tools sets them before the worker starts.
            ConfigurationFiles.ExportToEnvironment(localSettings.Values);
        }

        _web = WebApplication.CreateBuilder(new WebApplicationOptions
        {
            Args = [.. options.Args],
            ContentRootPath = _contentRoot,
            EnvironmentName = options.EnvironmentName ?? System.Environment.GetEnvironmentVariable("AZURE_FUNCTIONS_ENVIRONMENT"),
        });

        var configuration = _web.Configuration;
        configuration.Sources.Clear();
        configuration.AddInMemoryCollection(hostJson);
        configuration.AddInMemoryCollection(localSettings.Configuration);
        configuration.AddEnvironmentVariables();
        configuration.AddCommandLine([.. options.Args], new Dictionary<string, string> { ["--port"] = HostSettingsReader.PortSetting });
        if (options.Settings is { } overrides)
        {
            configuration.AddInMemoryCollection(overrides);
        }

        _web.Logging.ClearProviders();
        _web.Logging.AddConfiguration(configuration.GetSection(ConfigurationFiles.HostJsonPrefix + ":logging"));
        _web.Logging.AddSimpleConsole(console =>
        {
            console.SingleLine = true;
            console.IncludeScopes = true;
            console.UseUtcTimestamp = true;
            console.TimestampFormat = "yyyy-MM-ddTHH:mm:ss.fffZ ";
        });

        _web.Services.AddSingleton(options.TimeProvider ?? TimeProvider.System);
    }

    /// <summary>The app's configuration (see the class remarks for the sources and their precedence).</summary>
    public ConfigurationManager Configuration => _web.Configuration;

    /// <summary>The app's services; function classes get their constructor dependencies from here.</summary>
    public IServiceCollection Services => _web.Services;

    /// <summary>Logging; levels come from host.json <c>logging.logLevel</c> (ASP.NET Core's request log, which would write keys, is always held at Warning).</summary>
    public ILoggingBuilder Logging => _web.Logging;

    /// <summary>The host environment (content root = the folder with host.json).</summary>
    public IHostEnvironment Environment => _web.Environment;

    /// <summary>Metrics.</summary>
    public IMetricsBuilder Metrics => _web.Metrics;

    /// <inheritdoc />
    IConfigurationManager IHostApplicationBuilder.Configuration => _web.Configuration;

    /// <inheritdoc />
    IDictionary<object, object> IHostApplicationBuilder.Properties => ((IHostApplicationBuilder)_web).Properties;

    /// <inheritdoc />
    void IHostApplicationBuilder.ConfigureContainer<TContainerBuilder>(IServiceProviderFactory<TContainerBuilder> factory, Action<TContainerBuilder>? configure) =>
        ((IHostApplicationBuilder)_web).ConfigureContainer(factory, configure);

    /// <summary>
    /// Validates every setting and function, wires the listeners, HTTP endpoints and the durable runtime, and returns
    /// the host (not started).
    /// </summary>
    /// <exception cref="HostConfigurationException">A setting is missing, unknown or invalid; <see cref="HostConfigurationException.Setting"/> names it.</exception>
    /// <exception cref="FunctionIndexingException">A function cannot be used; the exception names the function and parameter.</exception>
    public FunctionsHost Build()
    {
        if (_built)
        {
            throw new InvalidOperationException("Build() can be called only once.");
        }

        _built = true;
        var configuration = _web.Configuration;
        var settings = HostSettingsReader.Read(configuration, _contentRoot, _applicationName, _options.HostId, _options.HttpPort);
        var functions = FunctionIndexer.Index(FunctionTypes(), configuration, settings);
        var active = functions.Where(f => !f.Disabled).ToList();
        CheckConnections(configuration, active);

        var services = _web.Services;
        services.AddSingleton(settings);
        services.AddSingleton(new FunctionIndex(functions));
        services.AddSingleton(sp => new HostStorage(configuration, sp.GetRequiredService<ILoggerFactory>(), settings, _options.ConfigureStorage));
        services.AddSingleton(sp => new PoisonMessageLog(sp.GetRequiredService<HostStorage>().Blobs, settings.HostId));
        services.AddSingleton(sp => new FunctionExecutor(sp, sp.GetRequiredService<ILoggerFactory>(), sp.GetRequiredService<TimeProvider>(), settings));
        services.AddSingleton<IReadOnlyList<IFunctionListener>>(sp => CreateListeners(sp, active, settings));
        var usesDurable = DurableFunctions.IsUsed(functions, services);
        if (usesDurable)
        {
            DurableFunctions.Register(services, configuration, settings, active);
        }

        services.AddHostedService<FunctionListenerService>();

        // After host.json's levels and the app's own filters: its request log would write ?code=<key>.
        RequestLogging.KeepUrlsOutOfAspNetCoreLogs(services);
        services.Configure<HostOptions>(o => o.ShutdownTimeout = settings.ShutdownTimeout);
        services.AddMvcCore();
        services.AddHealthChecks().AddCheck<HostHealthCheck>(AdminEndpoints.CheckName);
        if (settings.Http.CorsOrigins.Count > 0)
        {
            services.AddCors();
        }

        // All interfaces, as the Functions host and Core Tools do (containers need it); nothing anonymous says more
        // than whether the host is up.
        _web.WebHost.ConfigureKestrel(kestrel => kestrel.ListenAnyIP(settings.Http.Port));

        var app = _web.Build();
        CheckFunctionClasses(app.Services, active);
        RequestLogging.UseRequestLog(app);
        if (settings.Http.CorsOrigins.Count > 0)
        {
            app.UseCors(policy =>
            {
                if (settings.Http.CorsOrigins.Contains("*"))
                {
                    policy.AllowAnyOrigin();
                }
                else
                {
                    policy.WithOrigins([.. settings.Http.CorsOrigins]);
                    if (settings.Http.CorsCredentials)
                    {
                        policy.AllowCredentials();
                    }
                }

                policy.AllowAnyHeader().AllowAnyMethod();
            });
        }

        HttpFunctionEndpoints.Map(app, active);
        AdminEndpoints.Map(app);
        if (usesDurable)
        {
            DurableHttpApi.Map(app);
        }

        return new FunctionsHost(app, settings, functions, usesDurable);
    }

    private IEnumerable<Type> FunctionTypes()
    {
        if (_options.FunctionTypes is { } types)
        {
            return types;
        }

        var assemblies = _options.Assemblies
            ?? (Assembly.GetEntryAssembly() is { } entry ? [entry] : []);
        return assemblies.SelectMany(a => a.GetExportedTypes());
    }

    private static void CheckConnections(IConfiguration configuration, IReadOnlyList<FunctionDescriptor> functions)
    {
        var names = new HashSet<string>(StringComparer.OrdinalIgnoreCase);
        if (functions.Any(f => f.Kind is TriggerKind.Timer or TriggerKind.Queue))
        {
            // Timer leases and status, and poison records, live in the host's own storage.
            names.Add(HostStorage.HostConnectionName);
        }

        foreach (var function in functions.Where(f => f.Queue is not null))
        {
            names.Add(function.Queue!.ConnectionName);
        }

        foreach (var name in names)
        {
            try
            {
                var connection = Fleet.Storage.StorageConnection.FromConfiguration(configuration, name);
                var usedForQueues = functions.Any(f => string.Equals(f.Queue?.ConnectionName, name, StringComparison.OrdinalIgnoreCase));
                if (usedForQueues && connection.QueueEndpoint is null)
                {
                    throw new HostConfigurationException(name, $"Storage connection '{name}' names no queue endpoint, but queue-triggered functions use it.");
                }

                if (string.Equals(name, HostStorage.HostConnectionName, StringComparison.OrdinalIgnoreCase) && connection.BlobEndpoint is null)
                {
                    throw new HostConfigurationException(name, $"Storage connection '{name}' names no blob endpoint, which the host needs for timer leases and poison records.");
                }
            }
            catch (InvalidOperationException ex)
            {
                throw new HostConfigurationException(name, ex.Message, ex);
            }
        }
    }

    private static void CheckFunctionClasses(IServiceProvider services, IReadOnlyList<FunctionDescriptor> functions)
    {
        var isService = services.GetRequiredService<IServiceProviderIsService>();
        foreach (var function in functions.Where(f => !f.Method.IsStatic))
        {
            var type = function.Method.DeclaringType!;
            var constructors = type.GetConstructors();
            if (constructors.Length == 0)
            {
                throw new FunctionIndexingException(function.Name, null, $"Class {type.FullName} of function '{function.Name}' has no public constructor.");
            }

            var usable = constructors.Any(c => c.GetParameters().All(p => p.HasDefaultValue || isService.IsService(p.ParameterType)));
            if (!usable)
            {
                var longest = constructors.MaxBy(c => c.GetParameters().Length)!;
                var missing = longest.GetParameters().First(p => !p.HasDefaultValue && !isService.IsService(p.ParameterType));
                throw new FunctionIndexingException(
                    function.Name, missing.Name,
                    $"Class {type.FullName} of function '{function.Name}' needs constructor parameter '{missing.Name}' ({missing.ParameterType.Name}), which is not a registered service.");
            }
        }
    }

    private static List<IFunctionListener> CreateListeners(IServiceProvider services, IReadOnlyList<FunctionDescriptor> functions, HostSettings settings)
    {
        var storage = services.GetRequiredService<HostStorage>();
        var executor = services.GetRequiredService<FunctionExecutor>();
        var time = services.GetRequiredService<TimeProvider>();
        var loggers = services.GetRequiredService<ILoggerFactory>();
        var listeners = new List<IFunctionListener>();
        ScheduleMonitor? monitor = null;
        foreach (var function in functions)
        {
            var logger = loggers.CreateLogger("Host.Triggers." + function.Name);
            if (function.Queue is not null)
            {
                listeners.Add(new QueueListener(
                    function, storage, services.GetRequiredService<PoisonMessageLog>(), executor, settings, time, logger, Random.Shared.NextDouble));
            }
            else if (function.Timer is { } timer)
            {
                monitor ??= new ScheduleMonitor(storage.Blobs, settings.HostId, logger);
                var lease = new SingletonLease(storage.Blobs, $"locks/{settings.HostId}/{function.Name}.Listener", time, logger);
                listeners.Add(new TimerListener(function, new TimerSchedule(timer.Schedule, settings.TimeZone), monitor, lease, executor, time, logger));
            }
        }

        return listeners;
    }
}

/// <summary>The indexed functions, for the host's own services.</summary>
internal sealed class FunctionIndex(IReadOnlyList<FunctionDescriptor> functions)
{
    public IReadOnlyList<FunctionDescriptor> Functions { get; } = functions;

    public FunctionDescriptor? Find(string name) =>
        Functions.FirstOrDefault(f => string.Equals(f.Name, name, StringComparison.OrdinalIgnoreCase));
}
