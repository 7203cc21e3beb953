using System.Collections.Concurrent;
using Fleet.Shared.IoTConnect;
using Fleet.Shared.Resilience;
using Fleet.Shared.Tests.Sphere;
using Fleet.Simulator;
using Fleet.Simulator.IoTConnect;
using Microsoft.Extensions.Logging;

namespace Fleet.Shared.Tests.IoTConnect;

/// <summary>A simulator with its IoTConnect description, and clients of it configured as an operator would.</summary>
internal sealed class IoTConnectTestHost : IAsyncDisposable
{
    private IoTConnectTestHost(SimulatorHost simulator, IoTConnectDescription description)
    {
        Simulator = simulator;
        Description = description;
    }

    public SimulatorHost Simulator { get; }

    public IoTConnectDescription Description { get; }

    public IoTConnectSolutionDescription Contoso => Description.Contoso;

    public SimulatorControlClient Control => Simulator.Control;

    public static async Task<IoTConnectTestHost> StartAsync(Action<SimulatorOptions>? configure = null, TimeProvider? time = null)
    {
        var options = new SimulatorOptions { Devices = 250 };
        configure?.Invoke(options);
        var simulator = await SimulatorFixture.StartSimulatorAsync(options, time);
        return new IoTConnectTestHost(simulator, await simulator.Control.GetIoTConnectAsync());
    }

    /// <summary>Settings for solution A with configured service URLs, fast retries and a limiter that starts fast.</summary>
    public IoTConnectClientOptions Options(Action<IoTConnectClientOptions>? configure = null)
    {
        var urls = Simulator.IoTConnect;
        var options = new IoTConnectClientOptions
        {
            AuthUrl = urls.Auth,
            DeviceUrl = urls.Device,
            UserUrl = urls.User,
            FirmwareUrl = urls.Firmware,
            Username = Contoso.Username,
            Password = Contoso.Password,
            SolutionKey = Contoso.SolutionKey,
            PageSize = 50,
        };
        options.Retry.Delay = TimeSpan.FromMilliseconds(10);
        options.Retry.MaxDelay = TimeSpan.FromMilliseconds(200);
        options.Retry.MaxElapsedTime = TimeSpan.FromSeconds(30);
        options.RateLimiter.InitialRate = 500;
        configure?.Invoke(options);
        return options;
    }

    public IoTConnectClient Client(Action<IoTConnectClientOptions>? configure = null, TimeProvider? time = null,
        RateLimiterRegistry? rateLimiters = null, ILoggerFactory? loggerFactory = null) =>
        new(Options(configure), secretCredential: null, rateLimiters, time, loggerFactory);

    /// <summary>Requests to a route template of the simulated IoTConnect with a status (any when null).</summary>
    public async Task<long> CountAsync(string route, int? status = null) => (await Control.GetCountersAsync()).CountFor(route, status);

    public ValueTask DisposeAsync() => Simulator.DisposeAsync();
}

/// <summary>Keeps every log line (formatted, with its exception) so tests can search them for secrets.</summary>
internal sealed class CapturingLoggerProvider : ILoggerProvider
{
    private readonly ConcurrentQueue<string> _lines = new();

    public IReadOnlyList<string> Lines => [.. _lines];

    public ILogger CreateLogger(string categoryName) => new Logger(this, categoryName);

    public void Dispose()
    {
    }

    private sealed class Logger(CapturingLoggerProvider owner, string category) : ILogger
    {
        public IDisposable? BeginScope<TState>(TState state)
            where TState : notnull => null;

        public bool IsEnabled(LogLevel logLevel) => true;

        public void Log<TState>(LogLevel logLevel, EventId eventId, TState state, Exception? exception, Func<TState, Exception?, string> formatter) =>
            owner._lines.Enqueue($"{logLevel} {category} [{eventId.Id}] {formatter(state, exception)} {exception}");
    }
}
