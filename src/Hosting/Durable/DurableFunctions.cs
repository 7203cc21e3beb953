using System.Reflection;
using Fleet.Durable;
using Fleet.Durable.Postgres;
using Fleet.Durable.Storage;
using Fleet.Durable.Worker;
using Fleet.Hosting.Configuration;
using Fleet.Hosting.Indexing;
using Fleet.Hosting.Invocation;
using Microsoft.Extensions.Configuration;
using Microsoft.Extensions.DependencyInjection;
using Microsoft.Extensions.Diagnostics.HealthChecks;

namespace Fleet.Hosting.Durable;

/// <summary>
/// Puts orchestrator and activity functions into the durable runtime (alongside any class-based tasks the app
/// registers with <c>AddDurableTask</c>), and configures the runtime from host.json <c>extensions.durableTask</c>.
/// </summary>
internal static class DurableFunctions
{
    /// <summary>The SQLite database used when host.json names no connection.</summary>
    public const string DefaultSqliteFile = "data/durabletask.db";

    /// <summary>The name of the durable store's entry in the host's health report (PostgreSQL only).</summary>
    public const string StoreHealthCheckName = "durable-store";

    /// <summary>Whether the app needs the durable runtime: durable functions, a durable client binding, or its own AddDurableTask.</summary>
    public static bool IsUsed(IReadOnlyList<FunctionDescriptor> functions, IServiceCollection services) =>
        functions.Any(f => f.Kind is TriggerKind.Orchestration or TriggerKind.Activity || f.UsesDurableClient)
        || services.Any(d => d.ServiceType == typeof(DurableTaskWorker));

    /// <summary>Registers the runtime, the function-based tasks and the store host.json selects.</summary>
    /// <exception cref="HostConfigurationException">The store's connection setting is missing or unusable.</exception>
    public static void Register(IServiceCollection services, IConfiguration configuration, HostSettings settings, IReadOnlyList<FunctionDescriptor> functions)
    {
        var durable = settings.Durable;
        var databasePath = durable.StorageType == DurableStorageType.Sqlite ? SqlitePath(configuration, settings) : null;
        var postgres = durable.StorageType == DurableStorageType.Postgres ? ReadPostgres(configuration, settings) : null;
        if (postgres is not null)
        {
            // Unhealthy (503 from /admin/host/status) while the database cannot be reached; the host keeps running.
            services.AddHealthChecks().AddCheck<DurableStoreHealthCheck>(StoreHealthCheckName);
        }

        services.AddDurableTask(builder =>
        {
            builder.Configure(options =>
            {
                options.HubName = durable.HubName;
                if (durable.MaxConcurrentActivityFunctions is { } activities)
                {
                    options.MaxConcurrentActivities = activities;
                }

                if (durable.MaxConcurrentOrchestratorFunctions is { } orchestrations)
                {
                    options.MaxConcurrentOrchestrations = orchestrations;
                }
            });
            builder.AddTasks(registry =>
            {
                foreach (var function in functions)
                {
                    if (function.Kind == TriggerKind.Orchestration)
                    {
                        registry.AddOrchestrator(function.Name, sp => new FunctionOrchestrator(function, sp));
                    }
                    else if (function.Kind == TriggerKind.Activity)
                    {
                        registry.AddActivity(function.Name, sp => new FunctionActivity(function, sp));
                    }
                }
            });
            if (postgres is not null)
            {
                postgres.Apply(builder);
            }
            else
            {
                builder.UseSqlite(databasePath!);
            }
        });
    }

    /// <summary>
    /// The SQLite file: from the setting (or <c>ConnectionStrings</c> entry) named by
    /// <c>storageProvider.connectionStringName</c>, as a path or <c>Data Source=…</c>; else <c>data/durabletask.db</c>
    /// under the content root.
    /// </summary>
    private static string SqlitePath(IConfiguration configuration, HostSettings settings)
    {
        var name = settings.Durable.ConnectionStringName;
        if (name is null)
        {
            return Path.Combine(settings.ContentRoot, DefaultSqliteFile);
        }

        var value = configuration.GetConnectionString(name) is { Length: > 0 } connectionString ? connectionString : configuration[name];
        if (string.IsNullOrWhiteSpace(value))
        {
            throw new HostConfigurationException(
                name, $"Setting '{name}' (named by extensions.durableTask.storageProvider.connectionStringName) is not set: give it the SQLite database path or 'Data Source=<path>'.");
        }

        return DurableStoreConnection.SqliteFile(name, value, settings.ContentRoot);
    }

    /// <summary>The PostgreSQL connection host.json names through <c>storageProvider.connectionStringName</c>.</summary>
    private static DurableStoreConnection.Postgres ReadPostgres(IConfiguration configuration, HostSettings settings)
    {
        var name = settings.Durable.ConnectionStringName
            ?? throw new HostConfigurationException("extensions.durableTask.storageProvider.connectionStringName", "The 'postgres' durable store needs a connectionStringName.");
        var value = configuration.GetConnectionString(name) is { Length: > 0 } connectionString ? connectionString : configuration[name];
        if (string.IsNullOrWhiteSpace(value))
        {
            throw new HostConfigurationException(
                name, $"Setting '{name}' (named by extensions.durableTask.storageProvider.connectionStringName) is not set: give it the PostgreSQL connection string ('Host=...;Database=...;Username=...').");
        }

        return DurableStoreConnection.Postgres.Parse(configuration, name, value);
    }

    /// <summary>Reports the PostgreSQL store's health (reachable database, working connections) in the host's health report.</summary>
    private sealed class DurableStoreHealthCheck(IOrchestrationStore store) : IHealthCheck
    {
        public async Task<HealthCheckResult> CheckHealthAsync(HealthCheckContext context, CancellationToken cancellationToken = default)
        {
            if (store is not PostgresOrchestrationStore postgres)
            {
                return HealthCheckResult.Healthy($"Durable store {store.GetType().Name}.");
            }

            var health = await postgres.CheckHealthAsync(cancellationToken).ConfigureAwait(false);
            return health.Status switch
            {
                PostgresHealthStatus.Healthy => HealthCheckResult.Healthy(health.Description),
                PostgresHealthStatus.Degraded => HealthCheckResult.Degraded(health.Description),
                _ => HealthCheckResult.Unhealthy(health.Description),
            };
        }
    }

    /// <summary>An orchestrator function as the runtime sees it. Its class is created per execution from the root services.</summary>
    private sealed class FunctionOrchestrator(FunctionDescriptor function, IServiceProvider services) : ITaskOrchestrator
    {
        public Type InputType => typeof(object);

        public Type OutputType => function.ResultType == typeof(void) ? typeof(object) : function.ResultType;

        // No ConfigureAwait(false) anywhere here: the code must stay on the orchestration's scheduler.
        public async Task<object?> RunAsync(TaskOrchestrationContext context, object? input)
        {
            var instance = function.CreateInstance?.Invoke(services, null);
            var bindingData = new Dictionary<string, object?>(StringComparer.OrdinalIgnoreCase) { ["InstanceId"] = context.InstanceId };
            var functionContext = new FunctionContext(context.InstanceId, function.Definition, services, bindingData, CancellationToken.None);
            var state = new InvocationState(functionContext, context, bindingData, null);
            var arguments = function.Parameters.Select(p => p.Bind(state)).ToArray();
            var returned = function.Method.Invoke(instance, BindingFlags.DoNotWrapExceptions, null, arguments, null);
            return await function.AwaitResult(returned);
        }
    }

    /// <summary>An activity function as the runtime sees it: run through the executor (logs, timeout) in the worker's DI scope.</summary>
    private sealed class FunctionActivity(FunctionDescriptor function, IServiceProvider scope) : ITaskActivity
    {
        public Type InputType => function.ActivityInputType ?? typeof(object);

        public Type OutputType => function.ResultType == typeof(void) ? typeof(object) : function.ResultType;

        public async Task<object?> RunAsync(TaskActivityContext context, object? input)
        {
            var bindingData = new Dictionary<string, object?>(StringComparer.OrdinalIgnoreCase)
            {
                ["InstanceId"] = context.InstanceId,
                [nameof(TaskActivityContext)] = context,
            };
            var executor = scope.GetRequiredService<FunctionExecutor>();

            // The worker cancels this token when its shutdown drain runs out; it becomes the function's CancellationToken
            // (and FunctionContext.CancellationToken).
            var result = await executor.ExecuteAsync(
                function, new TriggerInput(input, bindingData, $"Activity called by orchestration '{context.InstanceId}'.", Services: scope), context.CancellationToken)
                .ConfigureAwait(false);
            return result.Outcome switch
            {
                FunctionOutcome.Succeeded => result.Value,

                // Whatever the function threw on its way out, a cancellation on the worker's token is what tells the
                // worker to hand the activity back instead of recording a failure.
                FunctionOutcome.Canceled => throw new OperationCanceledException(
                    $"Activity '{function.Name}' was cancelled by the host's shutdown.", result.Exception, context.CancellationToken),
                _ => throw result.Exception ?? new InvalidOperationException($"Activity '{function.Name}' did not complete ({result.Outcome})."),
            };
        }
    }
}
