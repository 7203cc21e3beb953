using Fleet.Durable.Grpc;
using Fleet.Durable.Storage;
using Fleet.SidecarTests;
using Fleet.Testing;
using Microsoft.DurableTask;
using Microsoft.DurableTask.Client;
using Microsoft.DurableTask.Worker;
using Microsoft.Extensions.DependencyInjection;
using Microsoft.Extensions.Logging;

namespace Fleet.Durable.Tests.Conformance;

/// <summary>Creates stores for the conformance suite; each store implementation provides one.</summary>
public interface IStoreFactory : IAsyncDisposable
{
    /// <summary>A store for <paramref name="options"/>.HubName on this factory's database (the same database on every call).</summary>
    IOrchestrationStore Create(DurableTaskOptions options, TimeProvider time, ILoggerFactory loggerFactory);
}

/// <summary>
/// One test's durable stack, as an app runs it: the sidecar backend on a store (with a fake clock) served on loopback
/// Kestrel, a real Microsoft.DurableTask.Worker.Grpc worker and a Client.Grpc client connected to it.
/// </summary>
public sealed class SdkTestHost : IAsyncDisposable
{
    private readonly SidecarServer _server;
    private SdkWorkerHost? _worker;

    private SdkTestHost(SidecarServer server, SdkWorkerHost worker, FakeTimeProvider time, LogCapture logs)
    {
        _server = server;
        _worker = worker;
        Client = worker.Client;
        Time = time;
        Logs = logs;
    }

    /// <summary>The SDK client (it stays usable after <see cref="StopWorkerAsync"/> only while the server runs).</summary>
    public DurableTaskClient Client { get; }

    public DurableBackend Backend => _server.Backend;

    public IOrchestrationStore Store => _server.Store;

    public FakeTimeProvider Time { get; }

    /// <summary>The backend's and the store's logs, and the SDK's warnings and errors.</summary>
    public LogCapture Logs { get; }

    public static async Task<SdkTestHost> StartAsync(
        IStoreFactory stores,
        Action<DurableTaskRegistry> tasks,
        Action<DurableTaskOptions>? configure = null,
        FakeTimeProvider? time = null,
        bool startWorker = true,
        Func<IOrchestrationStore, IOrchestrationStore>? wrapStore = null,
        Action<DurableBackendOptions>? backend = null,
        Action<DurableTaskWorkerOptions>? worker = null)
    {
        time ??= new FakeTimeProvider();
        var logs = new LogCapture();
        var server = await SidecarServer.StartAsync(
            b => b.UseStore(sp => stores.Create(
                sp.GetRequiredService<Microsoft.Extensions.Options.IOptions<DurableTaskOptions>>().Value,
                sp.GetRequiredService<TimeProvider>(),
                sp.GetRequiredService<ILoggerFactory>())),
            backend,
            o =>
            {
                o.HubName = "test";
                configure?.Invoke(o);
            },
            time,
            logs,
            wrapStore);
        try
        {
            var sdk = await SdkWorkerHost.StartAsync(server.Address, tasks, startWorker, worker: worker, logs: logs);
            return new SdkTestHost(server, sdk, time, logs);
        }
        catch
        {
            await server.DisposeAsync();
            throw;
        }
    }

    /// <summary>Connects another SDK worker (with its own client) to this host's backend; the caller disposes it.</summary>
    public Task<SdkWorkerHost> StartWorkerAsync(Action<DurableTaskRegistry> tasks) => SdkWorkerHost.StartAsync(_server.Address, tasks);

    /// <summary>Stops the SDK worker (and its client): its work-item stream ends, so the backend gets back whatever it held.</summary>
    public async Task StopWorkerAsync()
    {
        if (_worker is { } worker)
        {
            _worker = null;
            await worker.DisposeAsync();
        }
    }

    public async ValueTask DisposeAsync()
    {
        await StopWorkerAsync();
        await _server.DisposeAsync();
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
