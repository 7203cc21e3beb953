using Fleet.Durable.Grpc;
using Fleet.Durable.Postgres;
using Fleet.Durable.Storage;
using Microsoft.Extensions.DependencyInjection;
using Microsoft.Extensions.Logging;

namespace Fleet.Hosting.Local.Durable;

/// <summary>
/// Ties the Durable trigger listeners of one host to the backend: functions register as their listeners are created;
/// the orchestration, activity and entity dispatchers start once every created listener has started (so no episode meets an
/// orchestrator that is still loading and gets failed as unknown), and stop with the first listener that stops (the
/// host is shutting down).
/// </summary>
internal sealed class DurableFunctionsRuntime(
    IServiceProvider services, DurableFunctionCatalog catalog, DurableFunctionsSettings settings, ILoggerFactory loggerFactory, TimeProvider time)
    : IAsyncDisposable
{
    private readonly ILogger _logger = loggerFactory.CreateLogger("Fleet.Hosting.Local.Durable");

    // Resolved on first use, so an app without Durable functions gets no store (and no .data folder).
    private readonly Lazy<DurableBackend> _backend = new(services.GetRequiredService<DurableBackend>);
    private readonly Lock _gate = new();
    private IFunctionInvoker? _invoker;
    private OrchestrationDispatcher? _orchestrations;
    private ActivityDispatcher? _activities;
    private EntityDispatcher? _entities;
    private Task? _stopped;
    private Task? _opened;

    /// <summary>The functions known so far.</summary>
    public DurableFunctionCatalog Catalog => catalog;

    /// <summary>The task hub served.</summary>
    public string HubName => settings.HubName;

    /// <summary>
    /// Says which store runs and why, then opens it (once; a failed open is tried again by the next call), so an
    /// unreachable store stops start-up, or fails the invocation, with its name.
    /// </summary>
    public Task OpenStoreAsync(CancellationToken cancellationToken)
    {
        lock (_gate)
        {
            if (_opened is null)
            {
                _logger.DurableStoreSelected(settings.HubName, StoreName, settings.StoreLocation, settings.StoreReason, settings.HostJsonStorageProvider);
            }

            if (_opened is null || _opened.IsFaulted || _opened.IsCanceled)
            {
                _opened = OpenCoreAsync(cancellationToken);
            }

            return _opened;
        }
    }

    /// <summary>Adds a function whose listener the host is creating.</summary>
    public bool TryRegister(DurableFunctionKind kind, FunctionSpec function, IFunctionInvoker invoker, out string? notLoadedReason)
    {
        lock (_gate)
        {
            _invoker ??= invoker;
        }

        if (!catalog.TryAdd(kind, function, out var name))
        {
            notLoadedReason = $"another {kind.ToString().ToLowerInvariant()} function is already named '{name}' for the Durable Task runtime.";
            _logger.DurableFunctionNotLoaded(function.Name, notLoadedReason);
            return false;
        }

        notLoadedReason = null;
        return true;
    }

    /// <summary>A listener starts: the store is opened; the dispatchers start with the last listener.</summary>
    public async Task ListenerStartedAsync(CancellationToken cancellationToken)
    {
        await OpenStoreAsync(cancellationToken).ConfigureAwait(false);
        if (!catalog.MarkStarted())
        {
            return;
        }

        lock (_gate)
        {
            if (_orchestrations is not null || _stopped is not null)
            {
                return;
            }

            var invoker = _invoker ?? throw new InvalidOperationException("A Durable trigger listener started before any was created.");
            _orchestrations = new OrchestrationDispatcher(
                _backend.Value, catalog, invoker, settings.ExtendedSessionIdleTimeoutSeconds > 0, settings.MaxConcurrentOrchestratorFunctions, _logger, time);
            _activities = new ActivityDispatcher(_backend.Value, catalog, invoker, settings.MaxConcurrentActivityFunctions, _logger, time);

            // Runs even when the app has no entity function, so that a message to an entity fails its callers with
            // the reason instead of waiting for a function that never comes.
            _entities = new EntityDispatcher(_backend.Value, catalog, invoker, settings.MaxConcurrentOrchestratorFunctions, _logger, time);
            _orchestrations.Start();
            _activities.Start();
            _entities.Start();
        }

        if (_logger.IsEnabled(LogLevel.Information))
        {
            _logger.DurableDispatchStarted("orchestration", catalog.Count(DurableFunctionKind.Orchestrator), settings.MaxConcurrentOrchestratorFunctions);
            _logger.DurableDispatchStarted("activity", catalog.Count(DurableFunctionKind.Activity), settings.MaxConcurrentActivityFunctions);
            _logger.DurableDispatchStarted("entity", catalog.Count(DurableFunctionKind.Entity), settings.MaxConcurrentOrchestratorFunctions);
        }
    }

    /// <summary>A listener stops: the dispatchers stop taking work and drain until <paramref name="cancellationToken"/> fires.</summary>
    public Task StopAsync(CancellationToken cancellationToken)
    {
        lock (_gate)
        {
            return _stopped ??= StopCoreAsync(_orchestrations, _activities, _entities, cancellationToken);
        }
    }

    /// <inheritdoc />
    public async ValueTask DisposeAsync()
    {
        await StopAsync(new CancellationToken(canceled: true)).ConfigureAwait(false);
        if (_orchestrations is not null)
        {
            await _orchestrations.DisposeAsync().ConfigureAwait(false);
        }

        if (_activities is not null)
        {
            await _activities.DisposeAsync().ConfigureAwait(false);
        }

        if (_entities is not null)
        {
            await _entities.DisposeAsync().ConfigureAwait(false);
        }
    }

    private string StoreName => settings.Store == LocalDurableStore.Postgres ? "PostgreSQL" : "SQLite";

    private async Task OpenCoreAsync(CancellationToken cancellationToken)
    {
        try
        {
            await _backend.Value.StartAsync(cancellationToken).ConfigureAwait(false);
        }
        catch (Exception ex) when (ex is not OperationCanceledException)
        {
            throw new HostStartupException(
                $"The durable store cannot be opened: {StoreName} at {settings.StoreLocation} ({settings.StoreReason}): {ex.Message}", ex);
        }

        // A PostgreSQL server that is not reachable yet is not fatal (the store keeps trying and dispatching starts
        // when it answers), but the user hears about it now, with the store's name.
        if (services.GetRequiredService<IOrchestrationStore>() is PostgresOrchestrationStore postgres
            && await postgres.CheckHealthAsync(cancellationToken).ConfigureAwait(false) is { Status: not PostgresHealthStatus.Healthy } health)
        {
            _logger.DurableStoreNotReachable(StoreName, settings.StoreLocation, health.Description);
        }
    }

    private static Task StopCoreAsync(OrchestrationDispatcher? orchestrations, ActivityDispatcher? activities, EntityDispatcher? entities, CancellationToken cancellationToken) =>
        Task.WhenAll(
            orchestrations?.StopAsync(cancellationToken) ?? Task.CompletedTask,
            activities?.StopAsync(cancellationToken) ?? Task.CompletedTask,
            entities?.StopAsync(cancellationToken) ?? Task.CompletedTask);
}
