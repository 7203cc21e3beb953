using Fleet.Shared.Configuration;
using Fleet.Shared.Identity;
using Fleet.Shared.Resilience;
using Microsoft.Extensions.Configuration;
using Microsoft.Extensions.DependencyInjection;
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
        string connectionName = DefaultConnectionName) =>
        CloudConnection.Register(services, configuration, connectionName, static (SphereClientOptions o) => o.BindingErrors,
            static (name, config) => new SphereClientOptionsValidator(name, config),
            (sp, options) => new SphereClient(
                ConnectionCredentials.Create(configuration, connectionName),
                options,
                sp.GetRequiredService<RateLimiterRegistry>(),
                sp.GetRequiredService<TimeProvider>(),
                sp.GetService<ILoggerFactory>()));
}
