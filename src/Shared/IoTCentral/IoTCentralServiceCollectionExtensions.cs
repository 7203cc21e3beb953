using Fleet.Shared.Configuration;
using Fleet.Shared.Identity;
using Fleet.Shared.Resilience;
using Microsoft.Extensions.Configuration;
using Microsoft.Extensions.DependencyInjection;
using Microsoft.Extensions.Logging;
using Microsoft.Extensions.Options;

namespace Fleet.Shared.IoTCentral;

/// <summary>Registers the IoT Central client for dependency injection.</summary>
public static class IoTCentralServiceCollectionExtensions
{
    /// <summary>Name of the configuration section (and connection) read when none is given.</summary>
    public const string DefaultConnectionName = "IoTCentral";

    /// <summary>
    /// Registers one shared <see cref="IoTCentralClient"/> for the connection <paramref name="connectionName"/>:
    /// options bound from the section of that name and validated at start-up (an invalid setting fails start-up with
    /// an <see cref="OptionsValidationException"/> naming it), an API token from <c>apiToken</c>/<c>apiTokenFile</c>
    /// or else the Entra credential <see cref="ConnectionCredentials"/> chooses, and the process-wide
    /// <see cref="RateLimiterRegistry"/>. The client is resolvable as a keyed service under the connection name, and
    /// unkeyed for the first connection registered.
    /// </summary>
    public static IServiceCollection AddIoTCentral(this IServiceCollection services, IConfiguration configuration,
        string connectionName = DefaultConnectionName) =>
        CloudConnection.Register(services, configuration, connectionName, static (IoTCentralClientOptions o) => o.BindingErrors,
            static (name, config) => new IoTCentralClientOptionsValidator(name, config),
            (sp, options) => new IoTCentralClient(
                options,
                !string.IsNullOrWhiteSpace(options.ApiToken) || !string.IsNullOrWhiteSpace(options.ApiTokenFile)
                    ? null
                    : ConnectionCredentials.Create(configuration, connectionName),
                sp.GetRequiredService<RateLimiterRegistry>(),
                sp.GetRequiredService<TimeProvider>(),
                sp.GetService<ILoggerFactory>()));
}
