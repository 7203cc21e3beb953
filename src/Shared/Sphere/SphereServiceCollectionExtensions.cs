using Fleet.Shared.Configuration;
using Fleet.Shared.Identity;
using Fleet.Shared.Resilience;
using Microsoft.Extensions.Configuration;
using Microsoft.Extensions.DependencyInjection;
using Microsoft.Extensions.DependencyInjection.Extensions;
using Microsoft.Extensions.Logging;
using Microsoft.Extensions.Options;

namespace Fleet.Shared.Sphere;

/// <summary>Registers the Sphere client for dependency injection.</summary>
public static class SphereServiceCollectionExtensions
{
    /// <summary>Name of the configuration section (and connection) read when none is given.</summary>
    public const string DefaultConnectionName = "Sphere";

    /// <summary>
    /// Registers one shared <see cref="SphereClient"/> for the connection <paramref name="connectionName"/>: options
    /// bound from the section of that name and validated at start-up (an invalid setting fails start-up with an
    /// <see cref="OptionsValidationException"/> naming it), the credential chosen by
    /// <see cref="ConnectionCredentials"/>, and the process-wide <see cref="RateLimiterRegistry"/>. The client is
    /// resolvable as a keyed service under the connection name, and unkeyed for the first connection registered.
    /// </summary>
    public static IServiceCollection AddSphereClient(this IServiceCollection services, IConfiguration configuration,
        string connectionName = DefaultConnectionName)
    {
        ArgumentNullException.ThrowIfNull(services);
        ArgumentNullException.ThrowIfNull(configuration);
        ArgumentException.ThrowIfNullOrWhiteSpace(connectionName);

        services.TryAddSingleton(TimeProvider.System);
        services.TryAddSingleton(sp => new RateLimiterRegistry(
            sp.GetRequiredService<TimeProvider>(), sp.GetService<ILoggerFactory>()));

        var section = configuration.GetSection(connectionName);
        services.AddOptions<SphereClientOptions>(connectionName)
            // A value the binder cannot read is reported by the validator, so start-up fails with every bad setting
            // named at once.
            .Configure(options => SettingsBinding.Bind(section, options, options.BindingErrors, connectionName))
            .ValidateOnStart();
        services.AddSingleton<IValidateOptions<SphereClientOptions>>(
            new SphereClientOptionsValidator(connectionName, configuration));

        services.AddKeyedSingleton(connectionName, (sp, _) => new SphereClient(
            ConnectionCredentials.Create(configuration, connectionName),
            sp.GetRequiredService<IOptionsMonitor<SphereClientOptions>>().Get(connectionName),
            sp.GetRequiredService<RateLimiterRegistry>(),
            sp.GetRequiredService<TimeProvider>(),
            sp.GetService<ILoggerFactory>()));
        services.TryAddSingleton(sp => sp.GetRequiredKeyedService<SphereClient>(connectionName));
        return services;
    }
}
