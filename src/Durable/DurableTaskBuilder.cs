using Fleet.Durable.Sqlite;
using Fleet.Durable.Storage;
using Microsoft.Extensions.DependencyInjection;
using Microsoft.Extensions.DependencyInjection.Extensions;
using Microsoft.Extensions.Logging;
using Microsoft.Extensions.Logging.Abstractions;
using Microsoft.Extensions.Options;

namespace Fleet.Durable;

/// <summary>
/// Chooses the store and settings of the sidecar backend inside <c>AddDurableBackend</c>
/// (<see cref="UseSqlite(string)"/>, <c>UsePostgres</c>, <see cref="UseStore"/>, <see cref="Configure"/>).
/// </summary>
public sealed class DurableTaskBuilder
{
    internal DurableTaskBuilder(IServiceCollection services) => Services = services;

    /// <summary>The service collection being configured.</summary>
    public IServiceCollection Services { get; }

    /// <summary>Changes settings (hub name, lock timeout, attempts, polling, the PostgreSQL store's claim limits).</summary>
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
                LoggerFactoryOf(sp));
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

    /// <summary>The app's logger factory; none registered (logging is optional) means no logs.</summary>
    internal static ILoggerFactory LoggerFactoryOf(IServiceProvider services) =>
        services.GetService<ILoggerFactory>() ?? NullLoggerFactory.Instance;
}
