using Fleet.ServiceBus.Amqp;
using Fleet.ServiceBus.Config;
using Fleet.ServiceBus.Entities;
using Fleet.ServiceBus.Persistence;
using Microsoft.Extensions.Logging.Abstractions;

namespace Fleet.ServiceBus;

/// <summary>
/// A running local Service Bus: the namespace, queues, topics and subscriptions of an official-shape <c>Config.json</c>,
/// served over AMQP 1.0 on 127.0.0.1 to Service Bus clients using the emulator connection string
/// (<see cref="ConnectionString"/>). State is kept in SQLite when a data directory is given, else in memory.
/// </summary>
public sealed class ServiceBusEmulator : IAsyncDisposable
{
    private readonly BrokerListener _listener;
    private readonly BrokerNamespace _namespace;
    private readonly IMessageStore _store;
    private readonly ILogger _logger;
    private int _stopped;

    private ServiceBusEmulator(BrokerListener listener, BrokerNamespace ns, IMessageStore store, ILogger logger, string keyName, string key)
    {
        _listener = listener;
        _namespace = ns;
        _store = store;
        _logger = logger;
        ConnectionString = $"Endpoint=sb://127.0.0.1:{listener.Port};SharedAccessKeyName={keyName};SharedAccessKey={key};UseDevelopmentEmulator=true";
    }

    /// <summary>The port the emulator listens on (127.0.0.1).</summary>
    public int Port => _listener.Port;

    /// <summary>The namespace name from the configuration.</summary>
    public string NamespaceName => _namespace.Name;

    /// <summary>
    /// <c>Endpoint=sb://127.0.0.1:PORT;SharedAccessKeyName=…;SharedAccessKey=…;UseDevelopmentEmulator=true</c>: with
    /// <c>UseDevelopmentEmulator</c> the client connects without TLS to the endpoint's port.
    /// </summary>
    public string ConnectionString { get; }

    /// <summary>Validates the options and configuration, loads stored state and starts listening.</summary>
    /// <param name="options">Settings; read once.</param>
    /// <param name="timeProvider">The clock of locks, expiry and scheduling; the system clock when null.</param>
    /// <param name="loggerFactory">Where logs go; none when null.</param>
    /// <exception cref="ArgumentException">An option is invalid; the message names it.</exception>
    /// <exception cref="EmulatorConfigException">The configuration is invalid or uses a refused feature.</exception>
    /// <exception cref="IOException">The port is taken and no fallback was allowed.</exception>
    public static Task<ServiceBusEmulator> StartAsync(ServiceBusEmulatorOptions options, TimeProvider? timeProvider = null, ILoggerFactory? loggerFactory = null)
    {
        ArgumentNullException.ThrowIfNull(options);
        var failures = options.Validate();
        if (failures.Count > 0)
        {
            throw new ArgumentException(string.Join(Environment.NewLine, failures), nameof(options));
        }

        var definition = options.ConfigPath is { } path
            ? EntityConfigParser.Load(path)
            : EntityConfigParser.Parse(options.ConfigJson!, "ConfigJson");
        var time = timeProvider ?? TimeProvider.System;
        var logger = (loggerFactory ?? NullLoggerFactory.Instance).CreateLogger("Fleet.ServiceBus");
        IMessageStore store = options.DataDirectory is { } directory ? SqliteMessageStore.Open(directory) : NoStore.Instance;
        try
        {
            var context = new QueueContext(store, time, AmqpMessageCodec.Instance);
            var ns = new BrokerNamespace(definition, context, store.Load(), logger.StoredEntityIgnored);
            var runtime = new BrokerRuntime(ns, new SasTokenValidator(options.SharedAccessKeyName, options.SharedAccessKey, time),
                options.MaxMessageSizeBytes, time, logger);
            var listener = BrokerListener.Start(options.Port, options.FallBackToFreePort, definition.Name, runtime, logger);
            ns.StartClock(options.ClockInterval);
            var entities = string.Join(", ", ns.Paths.Where(p => !p.EndsWith(MessageQueue.DeadLetterSuffix, StringComparison.Ordinal)));
            logger.EmulatorStarted(definition.Name, listener.Port, options.DataDirectory is null ? "in memory" : $"SQLite in {options.DataDirectory}", entities);
            return Task.FromResult(new ServiceBusEmulator(listener, ns, store, logger, options.SharedAccessKeyName, options.SharedAccessKey));
        }
        catch
        {
            store.DisposeAsync().AsTask().GetAwaiter().GetResult();
            throw;
        }
    }

    /// <summary>Stops listening, closes client connections and flushes the store.</summary>
    public async ValueTask DisposeAsync()
    {
        if (Interlocked.Exchange(ref _stopped, 1) == 1)
        {
            return;
        }

        _namespace.Dispose();
        _listener.Dispose();
        await _store.DisposeAsync().ConfigureAwait(false);
        _logger.EmulatorStopped(Port);
    }
}
