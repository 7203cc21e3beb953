using System.Net;
using Fleet.Hosting.Configuration;
using Fleet.Hosting.Indexing;
using Microsoft.AspNetCore.Builder;
using Microsoft.AspNetCore.Connections;
using Microsoft.AspNetCore.Hosting.Server;
using Microsoft.AspNetCore.Hosting.Server.Features;
using Microsoft.Extensions.DependencyInjection;
using Microsoft.Extensions.Hosting;
using Microsoft.Extensions.Logging;

namespace Fleet.Hosting;

/// <summary>
/// A built function host: Kestrel for HTTP functions, the admin and Durable management endpoints, queue and timer
/// listeners and (when the app uses it) the durable worker. <c>await host.RunAsync()</c> runs until Ctrl+C/SIGTERM,
/// then shuts down gracefully.
/// </summary>
public sealed class FunctionsHost : IHost, IAsyncDisposable
{
    private readonly WebApplication _app;
    private readonly HostSettings _settings;
    private readonly IReadOnlyList<FunctionDescriptor> _functions;
    private readonly ILogger _logger;

    internal FunctionsHost(WebApplication app, HostSettings settings, IReadOnlyList<FunctionDescriptor> functions, bool usesDurable)
    {
        _app = app;
        _settings = settings;
        _functions = functions;
        UsesDurable = usesDurable;
        _logger = app.Services.GetRequiredService<ILoggerFactory>().CreateLogger("Fleet.Hosting.Host");
    }

    /// <summary>The app's services.</summary>
    public IServiceProvider Services => _app.Services;

    /// <summary>The host id (timer leases, schedule status and poison records are kept per host id).</summary>
    public string HostId => _settings.HostId;

    /// <summary>The functions found, with their triggers and whether they are disabled.</summary>
    public IReadOnlyList<FunctionDefinition> Functions => _functions.Select(f => f.Definition).ToList();

    /// <summary>The names of functions disabled by <c>AzureWebJobs.&lt;name&gt;.Disabled</c>.</summary>
    public IReadOnlyList<string> DisabledFunctions => _functions.Where(f => f.Disabled).Select(f => f.Name).ToList();

    /// <summary>
    /// Where the host serves HTTP once started, on loopback (e.g. <c>http://127.0.0.1:7071/</c>); with port 0 this
    /// is the port the OS picked.
    /// </summary>
    /// <exception cref="InvalidOperationException">The host is not started.</exception>
    public Uri BaseAddress
    {
        get
        {
            var addresses = _app.Services.GetRequiredService<IServer>().Features.Get<IServerAddressesFeature>()?.Addresses;
            var first = addresses?.FirstOrDefault() ?? throw new InvalidOperationException("The host is not started.");
            var port = new Uri(first.Replace("[::]", "localhost", StringComparison.Ordinal).Replace("0.0.0.0", "localhost", StringComparison.Ordinal)).Port;
            return new Uri($"http://{IPAddress.Loopback}:{port}/");
        }
    }

    internal bool UsesDurable { get; }

    /// <summary>Starts listening: HTTP, queue and timer listeners, the durable worker.</summary>
    /// <exception cref="HostConfigurationException">The HTTP port is in use (<c>Host:LocalHttpPort</c>).</exception>
    public async Task StartAsync(CancellationToken cancellationToken = default)
    {
        try
        {
            await _app.StartAsync(cancellationToken).ConfigureAwait(false);
        }
        catch (Exception ex) when (ex is AddressInUseException || ex.InnerException is AddressInUseException)
        {
            throw new HostConfigurationException(
                HostSettingsReader.PortSetting,
                $"HTTP port {_settings.Http.Port} is already in use: set '{HostSettingsReader.PortSetting}' (or --port) to a free port.", ex);
        }

        foreach (var function in _functions.Where(f => !f.Disabled && f.Http is { Level: not AuthorizationLevel.Anonymous } && !_settings.Keys.HasKeyFor(f.Name)))
        {
            _logger.NoKeyForFunction(function.Name);
        }

        if (UsesDurable && _settings.Keys.DurableTaskKey is null)
        {
            _logger.NoDurableSystemKey();
        }

        if (!_logger.IsEnabled(LogLevel.Information))
        {
            return;
        }

        foreach (var function in _functions)
        {
            if (function.Disabled)
            {
                _logger.FunctionDisabled(function.Name);
                continue;
            }

            var detail = Describe(function);
            _logger.FunctionFound(function.Name, function.Definition.TriggerType, detail);
        }

        var address = BaseAddress.ToString();
        _logger.HostStarted(_settings.HostId, _functions.Count(f => !f.Disabled), address);
    }

    /// <summary>Stops gracefully: HTTP and listeners stop taking work, in-flight invocations get until
    /// <c>Host:ShutdownTimeout</c> (default 30 s), unfinished queue messages are released and leases given up.</summary>
    public Task StopAsync(CancellationToken cancellationToken = default) => _app.StopAsync(cancellationToken);

    /// <inheritdoc />
    public void Dispose() => ((IDisposable)_app).Dispose();

    /// <inheritdoc />
    public ValueTask DisposeAsync() => _app.DisposeAsync();

    private string Describe(FunctionDescriptor function) => function switch
    {
        { Queue: { } q } => $"queue '{q.QueueName}' ({q.ConnectionName})",
        { Timer: { } t } => $"schedule '{t.Expression}'",
        { Http: { } h } => $"{(h.Methods.Count == 0 ? "ANY" : string.Join(",", h.Methods))} {h.Pattern} ({h.Level})",
        _ => $"hub '{_settings.Durable.HubName}'",
    };
}
