using Fleet.Durable.Postgres;
using Microsoft.Extensions.DependencyInjection;
using Microsoft.Extensions.Options;
using Npgsql;

namespace Fleet.Durable;

/// <summary>Selects the PostgreSQL store inside <c>AddDurableBackend</c>.</summary>
public static class PostgresDurableTaskBuilderExtensions
{
    /// <summary>Uses the PostgreSQL store on the database of <paramref name="connectionString"/>.</summary>
    /// <param name="builder">The backend builder.</param>
    /// <param name="connectionString">An Npgsql connection string (a direct session connection, not a transaction pooler).</param>
    /// <param name="configure">Changes further settings (schema, Entra token provider, batch sizes).</param>
    public static DurableTaskBuilder UsePostgres(this DurableTaskBuilder builder, string connectionString, Action<PostgresStoreOptions>? configure = null)
    {
        ArgumentException.ThrowIfNullOrWhiteSpace(connectionString);
        return builder.UsePostgres(options =>
        {
            options.ConnectionString = connectionString;
            configure?.Invoke(options);
        });
    }

    /// <summary>
    /// Uses the PostgreSQL store on a data source that <paramref name="dataSource"/> gets from the services (built and
    /// disposed by the app, for example with its own password provider).
    /// </summary>
    public static DurableTaskBuilder UsePostgres(this DurableTaskBuilder builder, Func<IServiceProvider, NpgsqlDataSource> dataSource, Action<PostgresStoreOptions>? configure = null)
    {
        ArgumentNullException.ThrowIfNull(dataSource);
        return builder.UsePostgres((services, options) =>
        {
            options.DataSource = dataSource(services);
            configure?.Invoke(options);
        });
    }

    /// <summary>Uses the PostgreSQL store with settings given by <paramref name="configure"/>.</summary>
    public static DurableTaskBuilder UsePostgres(this DurableTaskBuilder builder, Action<PostgresStoreOptions> configure)
    {
        ArgumentNullException.ThrowIfNull(configure);
        return builder.UsePostgres((_, options) => configure(options));
    }

    /// <summary>Uses the PostgreSQL store with settings that may depend on other services (for example a token credential).</summary>
    public static DurableTaskBuilder UsePostgres(this DurableTaskBuilder builder, Action<IServiceProvider, PostgresStoreOptions> configure)
    {
        ArgumentNullException.ThrowIfNull(builder);
        ArgumentNullException.ThrowIfNull(configure);
        return builder.UseStore(services =>
        {
            var options = new PostgresStoreOptions();
            configure(services, options);
            return new PostgresOrchestrationStore(
                options,
                services.GetRequiredService<IOptions<DurableTaskOptions>>().Value,
                services.GetRequiredService<TimeProvider>(),
                DurableTaskBuilder.LoggerFactoryOf(services));
        });
    }
}
