using Fleet.Durable;
using Fleet.Durable.Grpc;
using Fleet.Durable.Postgres;
using Fleet.Durable.Sqlite;
using Fleet.Durable.Storage;
using Fleet.Hosting.Configuration;
using Microsoft.Extensions.Configuration;
using Microsoft.Extensions.DependencyInjection;
using Microsoft.Extensions.DependencyInjection.Extensions;
using Microsoft.Extensions.Logging;
using Microsoft.Extensions.Options;

namespace Fleet.Hosting.Local.Durable;

/// <summary>Durable Functions on the local host: the Durable triggers, the durableClient binding, the backend and its endpoints.</summary>
public static class DurableFunctionsServiceCollectionExtensions
{
    /// <summary>
    /// Adds the Durable trigger listener factories (orchestrationTrigger, activityTrigger, entityTrigger), the durableClient input
    /// binding, the durable backend on the store the local settings choose (SQLite file under the script root's
    /// <c>.data/</c> by default; PostgreSQL when <c>DurableTask__Backend__PostgresConnectionString</c> is set), and its
    /// endpoints (<see cref="ILocalHostEndpoints"/>): the TaskHubSidecarService on the worker-facing HTTP/2 listener and
    /// the management API under <c>/runtime/webhooks/durabletask</c> on the front door. Task hub and limits come from
    /// host.json; settings are read (and refused, naming the setting) when the host first resolves them. Needs the
    /// host's <see cref="IConfiguration"/> and <see cref="HostSettings"/> in the container.
    /// </summary>
    public static IServiceCollection AddDurableFunctions(this IServiceCollection services, Action<DurableFunctionsOptions>? configure = null)
    {
        ArgumentNullException.ThrowIfNull(services);
        services.TryAddSingleton(TimeProvider.System);
        services.AddSingleton(sp => DurableFunctionsSettings.Read(sp.GetRequiredService<IConfiguration>(), sp.GetRequiredService<HostSettings>().ContentRoot));
        services.AddOptions<DurableFunctionsOptions>().Configure(o => configure?.Invoke(o));
        services.AddSingleton<DurableFunctionCatalog>();
        services.AddSingleton<DurableFunctionsRuntime>();
        services.AddSingleton<DurableEndpoints>();
        services.AddSingleton<ILocalHostEndpoints>(sp => sp.GetRequiredService<DurableEndpoints>());
        services.AddSingleton<ITriggerListenerFactory, OrchestrationTriggerListenerFactory>();
        services.AddSingleton<ITriggerListenerFactory, ActivityTriggerListenerFactory>();
        services.AddSingleton<ITriggerListenerFactory, EntityTriggerListenerFactory>();
        services.AddSingleton<DurableClientBindingProvider>();
        services.AddSingleton<IInputBindingProvider>(sp => sp.GetRequiredService<DurableClientBindingProvider>());

        services.AddOptions<DurableTaskOptions>().Configure<IConfiguration, DurableFunctionsSettings>((options, configuration, settings) =>
        {
            configuration.GetSection(DurableTaskOptions.SectionName).Bind(options);
            options.HubName = settings.HubName;
        });
        services.AddOptions<DurableBackendOptions>().Configure<DurableFunctionsSettings>((options, settings) =>
            options.ExtendedSessionIdleTimeoutSeconds = settings.ExtendedSessionIdleTimeoutSeconds);

        // Registered before AddDurableBackend, whose own registration is only a fallback.
        services.AddSingleton(CreateStore);
        services.AddDurableBackend(_ => { });
        return services;
    }

    private static IOrchestrationStore CreateStore(IServiceProvider services)
    {
        var settings = services.GetRequiredService<DurableFunctionsSettings>();
        var taskOptions = services.GetRequiredService<IOptions<DurableTaskOptions>>().Value;
        var time = services.GetRequiredService<TimeProvider>();
        var loggerFactory = services.GetRequiredService<ILoggerFactory>();
        if (settings.Postgres is { } postgres)
        {
            var options = new PostgresStoreOptions();
            postgres.Configure(services, options);
            return new PostgresOrchestrationStore(options, taskOptions, time, loggerFactory);
        }

        Directory.CreateDirectory(Path.GetDirectoryName(settings.SqlitePath!)!);
        return new SqliteOrchestrationStore(new SqliteStoreOptions { DatabasePath = settings.SqlitePath! }, taskOptions, time, loggerFactory);
    }
}
