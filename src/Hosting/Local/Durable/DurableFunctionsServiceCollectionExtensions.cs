using System.Text.Json.Nodes;
using Fleet.Durable;
using Fleet.Durable.Grpc;
using Microsoft.AspNetCore.Routing;
using Microsoft.Extensions.Configuration;
using Microsoft.Extensions.DependencyInjection;
using Microsoft.Extensions.Hosting;
using Microsoft.Extensions.Logging;

namespace Fleet.Hosting.Local.Durable;

/// <summary>Durable Functions on the local host: the three Durable triggers, the durableClient binding, the backend.</summary>
public static class DurableFunctionsServiceCollectionExtensions
{
    /// <summary>
    /// Adds the Durable trigger listener factories (orchestrationTrigger, activityTrigger), the durableClient input
    /// binding and the durable backend on the store the local settings choose (SQLite file by default; PostgreSQL when
    /// <c>DurableTask__Backend__PostgresConnectionString</c> is set), with task hub and limits from host.json.
    /// Map the endpoints with <see cref="MapDurableFunctions"/> on an HTTP/2 cleartext listener.
    /// </summary>
    /// <param name="services">The host's services.</param>
    /// <param name="appSettings">App settings (local.settings.json Values, then the environment).</param>
    /// <param name="hostJson">host.json as written.</param>
    /// <param name="scriptRoot">The app's output folder (the default SQLite file lives under its <c>.data/</c>).</param>
    /// <param name="configure">Endpoints and system key of the durableClient binding.</param>
    /// <exception cref="HostConfigurationException">A Durable setting is invalid; the exception names it.</exception>
    public static IServiceCollection AddDurableFunctions(
        this IServiceCollection services, IConfiguration appSettings, JsonObject hostJson, string scriptRoot, Action<DurableFunctionsOptions>? configure = null)
    {
        ArgumentNullException.ThrowIfNull(services);
        var settings = DurableFunctionsSettings.Read(appSettings, hostJson, scriptRoot);
        services.AddSingleton(settings);
        services.AddOptions<DurableFunctionsOptions>().Configure(o => configure?.Invoke(o));
        services.AddSingleton<DurableFunctionCatalog>();
        services.AddSingleton(sp => new DurableFunctionsRuntime(
            sp.GetRequiredService<DurableBackend>(), sp.GetRequiredService<DurableFunctionCatalog>(), settings,
            sp.GetRequiredService<ILoggerFactory>(), sp.GetRequiredService<TimeProvider>()));
        services.AddSingleton<ITriggerListenerFactory, OrchestrationTriggerListenerFactory>();
        services.AddSingleton<ITriggerListenerFactory, ActivityTriggerListenerFactory>();
        services.AddSingleton<DurableClientBindingProvider>();
        services.AddSingleton<IInputBindingProvider>(sp => sp.GetRequiredService<DurableClientBindingProvider>());

        // Registered before the backend's own starter, so the store is named before it is opened.
        services.AddHostedService<DurableStoreStartup>();
        services.AddOptions<DurableTaskOptions>().Bind(appSettings.GetSection(DurableTaskOptions.SectionName)).Configure(o => o.HubName = settings.HubName);
        services.AddDurableBackend(
            builder =>
            {
                if (settings.Postgres is { } postgres)
                {
                    postgres.Apply(builder);
                }
                else
                {
                    Directory.CreateDirectory(Path.GetDirectoryName(settings.SqlitePath!)!);
                    builder.UseSqlite(settings.SqlitePath!);
                }
            },
            backend => backend.ExtendedSessionIdleTimeoutSeconds = settings.ExtendedSessionIdleTimeoutSeconds);
        return services;
    }

    /// <summary>Maps the TaskHubSidecarService (for the worker's durableClient).</summary>
    public static IEndpointRouteBuilder MapDurableFunctions(this IEndpointRouteBuilder endpoints)
    {
        ArgumentNullException.ThrowIfNull(endpoints);
        endpoints.MapDurableTaskSidecar();
        return endpoints;
    }

    /// <summary>Says which store runs and why, then opens it, so an unreachable store stops start-up with its name.</summary>
    private sealed class DurableStoreStartup(DurableFunctionsSettings settings, DurableBackend backend, DurableFunctionsRuntime runtime, ILoggerFactory loggerFactory)
        : IHostedService
    {
        public async Task StartAsync(CancellationToken cancellationToken)
        {
            var store = settings.Store == LocalDurableStore.Postgres ? "PostgreSQL" : "SQLite";
            loggerFactory.CreateLogger("Fleet.Hosting.Local.Durable")
                .DurableStoreSelected(settings.HubName, store, settings.StoreLocation, settings.StoreReason, settings.HostJsonStorageProvider);
            try
            {
                await backend.StartAsync(cancellationToken).ConfigureAwait(false);
            }
            catch (Exception ex) when (ex is not OperationCanceledException)
            {
                throw new InvalidOperationException(
                    $"The durable store cannot be opened: {store} at {settings.StoreLocation} ({settings.StoreReason}): {ex.Message}", ex);
            }
        }

        public Task StopAsync(CancellationToken cancellationToken) => runtime.StopAsync(cancellationToken);
    }
}
