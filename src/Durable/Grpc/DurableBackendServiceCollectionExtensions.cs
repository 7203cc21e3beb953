using Fleet.Durable.Storage;
using Microsoft.AspNetCore.Builder;
using Microsoft.AspNetCore.Routing;
using Microsoft.Extensions.Configuration;
using Microsoft.Extensions.DependencyInjection;
using Microsoft.Extensions.DependencyInjection.Extensions;
using Microsoft.Extensions.Hosting;
using Microsoft.Extensions.Options;

namespace Fleet.Durable.Grpc;

/// <summary>Registers the sidecar backend and maps its gRPC endpoint on the host's own Kestrel.</summary>
public static class DurableBackendServiceCollectionExtensions
{
    /// <summary>
    /// Adds the <see cref="DurableBackend"/> (started with the host), gRPC and the <see cref="TaskHubSidecarService"/>,
    /// with the store chosen in <paramref name="configure"/> (<c>UseSqlite</c>, <c>UsePostgres</c>, <c>UseStore</c>) and
    /// settings from <see cref="DurableTaskOptions"/> and <see cref="DurableBackendOptions"/>. The SDK needs HTTP/2:
    /// serve the endpoint on a Kestrel listener with <c>Protocols = Http2</c> (cleartext on loopback).
    /// </summary>
    public static IServiceCollection AddDurableBackend(this IServiceCollection services, Action<DurableTaskBuilder> configure, Action<DurableBackendOptions>? backend = null)
    {
        ArgumentNullException.ThrowIfNull(services);
        ArgumentNullException.ThrowIfNull(configure);
        configure(new DurableTaskBuilder(services));
        if (backend is not null)
        {
            services.Configure(backend);
        }

        services.AddOptions<DurableTaskOptions>().ValidateOnStart();
        services.TryAddEnumerable(ServiceDescriptor.Singleton<IValidateOptions<DurableTaskOptions>, DurableTaskOptionsValidator>());
        services.AddOptions<DurableBackendOptions>().ValidateDataAnnotations().ValidateOnStart();
        services.TryAddSingleton(TimeProvider.System);
        services.TryAddSingleton<IOrchestrationStore>(_ => throw new InvalidOperationException(
            "No durable store is configured: call builder.UseSqlite(...) or builder.UsePostgres(...) inside AddDurableBackend."));
        services.TryAddSingleton(sp => new DurableBackend(
            sp.GetRequiredService<IOrchestrationStore>(),
            sp.GetRequiredService<IOptions<DurableTaskOptions>>().Value,
            sp.GetRequiredService<IOptions<DurableBackendOptions>>().Value,
            sp.GetRequiredService<TimeProvider>(),
            DurableTaskBuilder.LoggerFactoryOf(sp)));
        services.AddHostedService<BackendStarter>();
        services.AddGrpc();

        // One instance: the completion tokens of the work-item streams live in it.
        services.TryAddSingleton<TaskHubSidecarService>();
        return services;
    }

    /// <summary>
    /// Adds the backend with everything from configuration: <c>DurableTask</c> (hub, lock timeout, attempts),
    /// <c>DurableTask:Backend</c> (extended sessions, cache) and the store, PostgreSQL when
    /// <c>DurableTask:Backend:PostgresConnectionString</c> is set, else SQLite at <c>DurableTask:Backend:SqlitePath</c>.
    /// </summary>
    public static IServiceCollection AddDurableBackend(this IServiceCollection services, IConfiguration configuration)
    {
        ArgumentNullException.ThrowIfNull(configuration);
        services.AddOptions<DurableTaskOptions>().Bind(configuration.GetSection(DurableTaskOptions.SectionName));
        services.AddOptions<DurableBackendOptions>().Bind(configuration.GetSection(DurableBackendOptions.SectionName));
        var store = configuration.GetSection(DurableBackendOptions.SectionName).Get<DurableBackendStoreOptions>() ?? new DurableBackendStoreOptions();
        return services.AddDurableBackend(b =>
        {
            if (!string.IsNullOrWhiteSpace(store.PostgresConnectionString))
            {
                b.UsePostgres(store.PostgresConnectionString);
            }
            else if (string.IsNullOrWhiteSpace(store.SqlitePath))
            {
                throw new OptionsValidationException(DurableBackendOptions.SectionName, typeof(DurableBackendStoreOptions), ["DurableTask:Backend:SqlitePath is empty and no DurableTask:Backend:PostgresConnectionString is set: the backend has no store."]);
            }
            else
            {
                b.UseSqlite(store.SqlitePath);
            }
        });
    }

    /// <summary>Maps the <c>TaskHubSidecarService</c> gRPC endpoint.</summary>
    public static GrpcServiceEndpointConventionBuilder MapDurableTaskSidecar(this IEndpointRouteBuilder endpoints) =>
        endpoints.MapGrpcService<TaskHubSidecarService>();

    /// <summary>Prepares the store when the host starts, so a bad store setting stops start-up with its error.</summary>
    private sealed class BackendStarter(DurableBackend backend) : IHostedService
    {
        public Task StartAsync(CancellationToken cancellationToken) => backend.StartAsync(cancellationToken);

        public Task StopAsync(CancellationToken cancellationToken) => Task.CompletedTask;
    }
}
