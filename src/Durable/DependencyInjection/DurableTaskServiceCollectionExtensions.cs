using Fleet.Durable.Client;
using Fleet.Durable.Sqlite;
using Fleet.Durable.Storage;
using Fleet.Durable.Worker;
using Microsoft.Extensions.DependencyInjection;
using Microsoft.Extensions.DependencyInjection.Extensions;
using Microsoft.Extensions.Hosting;
using Microsoft.Extensions.Logging;
using Microsoft.Extensions.Logging.Abstractions;
using Microsoft.Extensions.Options;

namespace Fleet.Durable;

/// <summary>Registers the durable task runtime: options, registry, store, client and worker.</summary>
public static class DurableTaskServiceCollectionExtensions
{
    /// <summary>
    /// Adds the runtime: a singleton <see cref="DurableTaskClient"/>, the <see cref="DurableTaskWorker"/> as a hosted
    /// service, and the store chosen with <see cref="DurableTaskBuilder.UseSqlite(string)"/> or
    /// <see cref="DurableTaskBuilder.UseStore"/>. May be called several times: tasks and settings add up.
    /// </summary>
    public static IServiceCollection AddDurableTask(this IServiceCollection services, Action<DurableTaskBuilder> configure)
    {
        ArgumentNullException.ThrowIfNull(services);
        ArgumentNullException.ThrowIfNull(configure);
        var builder = new DurableTaskBuilder(services);
        configure(builder);

        if (services.Any(d => d.ServiceType == typeof(DurableTaskMarker)))
        {
            return services;
        }

        services.AddSingleton<DurableTaskMarker>();
        services.AddOptions<DurableTaskOptions>().ValidateOnStart();
        services.TryAddEnumerable(ServiceDescriptor.Singleton<IValidateOptions<DurableTaskOptions>, DurableTaskOptionsValidator>());
        services.AddOptions<DurableTaskRegistry>();
        services.TryAddSingleton(TimeProvider.System);
        services.TryAddSingleton<IOrchestrationStore>(sp => throw new InvalidOperationException(
            "No durable task store is configured: call builder.UseSqlite(...) or builder.UseStore(...) inside AddDurableTask."));
        services.TryAddSingleton<DurableTaskClient>(sp => new StoreDurableTaskClient(
            sp.GetRequiredService<IOrchestrationStore>(),
            sp.GetRequiredService<IOptions<DurableTaskOptions>>(),
            sp.GetRequiredService<TimeProvider>()));
        services.TryAddSingleton(sp => new DurableTaskWorker(
            sp.GetRequiredService<IOrchestrationStore>(),
            sp.GetRequiredService<IOptions<DurableTaskOptions>>(),
            sp.GetRequiredService<IOptions<DurableTaskRegistry>>(),
            sp,
            LoggerFactoryOf(sp),
            sp.GetRequiredService<TimeProvider>()));
        services.AddSingleton<IHostedService>(sp => sp.GetRequiredService<DurableTaskWorker>());
        return services;
    }

    /// <summary>The app's logger factory; none registered (logging is optional) means no logs.</summary>
    internal static ILoggerFactory LoggerFactoryOf(IServiceProvider services) =>
        services.GetService<ILoggerFactory>() ?? NullLoggerFactory.Instance;

    private sealed class DurableTaskMarker;
}

/// <summary>Configures the runtime inside <see cref="DurableTaskServiceCollectionExtensions.AddDurableTask"/>.</summary>
public sealed class DurableTaskBuilder
{
    internal DurableTaskBuilder(IServiceCollection services) => Services = services;

    /// <summary>The service collection being configured.</summary>
    public IServiceCollection Services { get; }

    /// <summary>Registers orchestrators and activities.</summary>
    public DurableTaskBuilder AddTasks(Action<DurableTaskRegistry> configure)
    {
        Services.Configure(configure);
        return this;
    }

    /// <summary>Changes runtime settings (hub name, concurrency, lock timeout, payload limit, attempts, cache, polling).</summary>
    public DurableTaskBuilder Configure(Action<DurableTaskOptions> configure)
    {
        Services.Configure(configure);
        return this;
    }

    /// <summary>Uses the embedded SQLite store with the database at <paramref name="databasePath"/>.</summary>
    public DurableTaskBuilder UseSqlite(string databasePath) =>
        UseSqlite(options => options.DatabasePath = databasePath);

    /// <summary>Uses the embedded SQLite store.</summary>
    public DurableTaskBuilder UseSqlite(Action<SqliteStoreOptions> configure)
    {
        ArgumentNullException.ThrowIfNull(configure);
        return UseStore(sp =>
        {
            var options = new SqliteStoreOptions();
            configure(options);
            return new SqliteOrchestrationStore(
                options,
                sp.GetRequiredService<IOptions<DurableTaskOptions>>().Value,
                sp.GetRequiredService<TimeProvider>(),
                DurableTaskServiceCollectionExtensions.LoggerFactoryOf(sp));
        });
    }

    /// <summary>Uses a store created by <paramref name="factory"/> (for example the PostgreSQL store); one store per container.</summary>
    public DurableTaskBuilder UseStore(Func<IServiceProvider, IOrchestrationStore> factory)
    {
        ArgumentNullException.ThrowIfNull(factory);
        Services.RemoveAll<IOrchestrationStore>();
        Services.AddSingleton(factory);
        return this;
    }
}
