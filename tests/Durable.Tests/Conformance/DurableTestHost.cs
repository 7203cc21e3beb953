using Fleet.Durable.Client;
using Fleet.Durable.Storage;
using Fleet.Durable.Worker;
using Fleet.Testing;
using Microsoft.Extensions.DependencyInjection;
using Microsoft.Extensions.Hosting;
using Microsoft.Extensions.Logging;

namespace Fleet.Durable.Tests.Conformance;

/// <summary>Creates stores for the conformance suite; each store implementation provides one.</summary>
public interface IStoreFactory : IAsyncDisposable
{
    /// <summary>A store for <paramref name="options"/>.HubName on this factory's database (the same database on every call).</summary>
    IOrchestrationStore Create(DurableTaskOptions options, TimeProvider time, ILoggerFactory loggerFactory);
}

/// <summary>A started worker and client over a store, with a fake clock, for one test.</summary>
public sealed class DurableTestHost : IAsyncDisposable
{
    private readonly ServiceProvider _services;
    private readonly List<IHostedService> _hosted;

    private DurableTestHost(ServiceProvider services, FakeTimeProvider time, LogCapture logs)
    {
        _services = services;
        _hosted = services.GetServices<IHostedService>().ToList();
        Time = time;
        Logs = logs;
        Client = services.GetRequiredService<DurableTaskClient>();
        Worker = services.GetRequiredService<DurableTaskWorker>();
        Store = services.GetRequiredService<IOrchestrationStore>();
    }

    public DurableTaskClient Client { get; }

    public DurableTaskWorker Worker { get; }

    public IOrchestrationStore Store { get; }

    public FakeTimeProvider Time { get; }

    public LogCapture Logs { get; }

    public IServiceProvider Services => _services;

    public static async Task<DurableTestHost> StartAsync(
        IStoreFactory stores,
        Action<DurableTaskRegistry> tasks,
        Action<DurableTaskOptions>? configure = null,
        FakeTimeProvider? time = null,
        bool startWorker = true)
    {
        time ??= new FakeTimeProvider();
        var logs = new LogCapture();
        var services = new ServiceCollection();
        services.AddLogging(b => b.AddProvider(logs).SetMinimumLevel(LogLevel.Debug));
        services.AddSingleton<TimeProvider>(time);
        services.AddDurableTask(b =>
        {
            b.AddTasks(tasks);
            b.Configure(o =>
            {
                o.HubName = "test";
                configure?.Invoke(o);
            });
            b.UseStore(sp => stores.Create(
                sp.GetRequiredService<Microsoft.Extensions.Options.IOptions<DurableTaskOptions>>().Value,
                sp.GetRequiredService<TimeProvider>(),
                sp.GetRequiredService<ILoggerFactory>()));
        });
        var provider = services.BuildServiceProvider(new ServiceProviderOptions { ValidateOnBuild = true });
        var host = new DurableTestHost(provider, time, logs);
        if (startWorker)
        {
            using var cts = new CancellationTokenSource(TimeSpan.FromSeconds(30));
            foreach (var hosted in host._hosted)
            {
                await hosted.StartAsync(cts.Token);
            }
        }

        return host;
    }

    /// <summary>Stops the worker, giving in-flight work <paramref name="grace"/> to finish.</summary>
    public async Task StopWorkerAsync(TimeSpan grace)
    {
        using var cts = new CancellationTokenSource(grace);
        foreach (var hosted in _hosted)
        {
            await hosted.StopAsync(cts.Token);
        }
    }

    public async ValueTask DisposeAsync()
    {
        await StopWorkerAsync(TimeSpan.FromSeconds(5));
        await _services.DisposeAsync();
    }
}

/// <summary>Bounded waiting helpers: a hang fails the test instead of blocking the run.</summary>
public static class DurableWait
{
    public static readonly TimeSpan Default = TimeSpan.FromSeconds(20);

    public static CancellationToken Token(TimeSpan? timeout = null) => new CancellationTokenSource(timeout ?? Default).Token;

    /// <summary>Polls (in real time) until <paramref name="condition"/> holds.</summary>
    public static Task UntilAsync(Func<Task<bool>> condition, string what, TimeSpan? timeout = null) =>
        Wait.UntilAsync(condition, what, timeout ?? Default);

    public static async Task<OrchestrationMetadata> CompletionAsync(DurableTaskClient client, string instanceId, TimeSpan? timeout = null)
    {
        try
        {
            return await client.WaitForInstanceCompletionAsync(instanceId, getInputsAndOutputs: true, Token(timeout));
        }
        catch (OperationCanceledException)
        {
            var status = await client.GetInstanceAsync(instanceId, true);
            throw new TimeoutException($"Instance {instanceId} did not complete in time; it is {status?.RuntimeStatus}.");
        }
    }
}

/// <summary>Collects log messages for assertions.</summary>
public sealed class LogCapture : ILoggerProvider
{
    private readonly List<(string Category, LogLevel Level, EventId EventId, string Message)> _entries = [];

    public IReadOnlyList<(string Category, LogLevel Level, EventId EventId, string Message)> Entries
    {
        get
        {
            lock (_entries)
            {
                return _entries.ToList();
            }
        }
    }

    public ILogger CreateLogger(string categoryName) => new Logger(this, categoryName);

    public void Dispose()
    {
    }

    private sealed class Logger(LogCapture owner, string category) : ILogger
    {
        public IDisposable? BeginScope<TState>(TState state)
            where TState : notnull => null;

        public bool IsEnabled(LogLevel logLevel) => true;

        public void Log<TState>(LogLevel logLevel, EventId eventId, TState state, Exception? exception, Func<TState, Exception?, string> formatter)
        {
            lock (owner._entries)
            {
                owner._entries.Add((category, logLevel, eventId, formatter(state, exception)));
            }
        }
    }
}
