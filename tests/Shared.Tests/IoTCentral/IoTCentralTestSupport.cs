using System.Collections.Concurrent;
using Azure.Core;
using Azure.Core.Pipeline;
using Azure.Identity;
using Fleet.Shared.IoTCentral;
using Fleet.Shared.Resilience;
using Fleet.Shared.Tests.Sphere;
using Fleet.Simulator;
using Microsoft.Extensions.Logging;

namespace Fleet.Shared.Tests.IoTCentral;

/// <summary>Simulators and clients for the IoT Central tests (the identity endpoint is the Sphere collection's).</summary>
internal static class IoTCentralTestSupport
{
    public const string App = "contoso";

    public static Task<SimulatorHost> StartAsync(Action<IoTCentralSimulatorOptions>? configure = null, TimeProvider? time = null)
    {
        var options = new SimulatorOptions { Devices = 20 };
        options.IoTCentral.Devices = 60;
        options.IoTCentral.RateLimit = 0;
        options.IoTCentral.JobStartDelayMs = 0;
        options.IoTCentral.JobBatchDurationMs = 50;
        configure?.Invoke(options.IoTCentral);
        return SimulatorFixture.StartSimulatorAsync(options, time);
    }

    /// <summary>Client settings for tests: the simulator's app, fast backoff and polls, a limiter that starts fast.</summary>
    public static IoTCentralClientOptions Options(SimulatorHost sim, Action<IoTCentralClientOptions>? configure = null, string app = App)
    {
        var options = new IoTCentralClientOptions
        {
            Endpoint = sim.IoTCentralEndpoint(app),
            JobPollInterval = TimeSpan.FromMilliseconds(20),
            JobTimeout = TimeSpan.FromSeconds(30),
            GroupMembershipPollInterval = TimeSpan.FromMilliseconds(20),
            GroupMembershipTimeout = TimeSpan.FromMilliseconds(100),
        };
        options.Retry.Delay = TimeSpan.FromMilliseconds(10);
        options.Retry.MaxDelay = TimeSpan.FromMilliseconds(200);
        options.Retry.MaxElapsedTime = TimeSpan.FromSeconds(30);
        options.RateLimiter.InitialRate = 500;
        configure?.Invoke(options);
        return options;
    }

    /// <summary>A client authenticated by the real ManagedIdentityCredential (system-assigned: Administrator) unless told otherwise.</summary>
    public static IoTCentralClient Client(SimulatorHost sim, Action<IoTCentralClientOptions>? configure = null,
        TokenCredential? credential = null, LogSink? logs = null, TimeProvider? time = null, RateLimiterRegistry? limiters = null) =>
        new(Options(sim, configure), credential ?? new ManagedIdentityCredential(ManagedIdentityId.SystemAssigned), limiters, time, logs?.Factory);

    /// <summary>A client authenticated by an API token.</summary>
    public static IoTCentralClient TokenClient(SimulatorHost sim, string apiToken, Action<IoTCentralClientOptions>? configure = null,
        LogSink? logs = null, TimeProvider? time = null) =>
        new(Options(sim, o =>
        {
            o.ApiToken = apiToken;
            configure?.Invoke(o);
        }), null, null, time, logs?.Factory);
}

/// <summary>Keeps every log entry of the loggers it creates (event id, level, formatted message).</summary>
internal sealed class LogSink : ILoggerProvider
{
    public LogSink() => Factory = LoggerFactory.Create(b => b.AddProvider(this).SetMinimumLevel(LogLevel.Trace));

    public ILoggerFactory Factory { get; }

    public ConcurrentQueue<(EventId EventId, LogLevel Level, string Message)> Entries { get; } = new();

    public string AllText => string.Join('\n', Entries.Select(e => e.Message));

    public ILogger CreateLogger(string categoryName) => new Logger(this);

    public void Dispose()
    {
    }

    private sealed class Logger(LogSink sink) : ILogger
    {
        public IDisposable? BeginScope<TState>(TState state)
            where TState : notnull => null;

        public bool IsEnabled(LogLevel logLevel) => true;

        public void Log<TState>(LogLevel logLevel, EventId eventId, TState state, Exception? exception,
            Func<TState, Exception?, string> formatter) =>
            sink.Entries.Enqueue((eventId, logLevel, formatter(state, exception) + (exception is null ? string.Empty : " " + exception)));
    }
}

/// <summary>The real HTTP transport, writing down every request URI and Authorization header it sends.</summary>
internal sealed class UriRecorder : HttpClientTransport
{
    public ConcurrentQueue<(Uri Uri, string? Authorization)> Requests { get; } = new();

    public override async ValueTask ProcessAsync(HttpMessage message)
    {
        message.Request.Headers.TryGetValue("Authorization", out var authorization);
        Requests.Enqueue((message.Request.Uri.ToUri(), authorization));
        await base.ProcessAsync(message);
    }

    public override void Process(HttpMessage message)
    {
        message.Request.Headers.TryGetValue("Authorization", out var authorization);
        Requests.Enqueue((message.Request.Uri.ToUri(), authorization));
        base.Process(message);
    }
}
