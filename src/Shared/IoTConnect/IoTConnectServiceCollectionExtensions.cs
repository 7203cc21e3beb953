using Fleet.Shared.Configuration;
using Fleet.Shared.Identity;
using Fleet.Shared.Resilience;
using Microsoft.Extensions.Configuration;
using Microsoft.Extensions.DependencyInjection;
using Microsoft.Extensions.Logging;
using Microsoft.Extensions.Options;

namespace Fleet.Shared.IoTConnect;

/// <summary>Registers the IoTConnect client for dependency injection.</summary>
public static class IoTConnectServiceCollectionExtensions
{
    /// <summary>Name of the configuration section (and connection) read when none is given.</summary>
    public const string DefaultConnectionName = "IoTConnect";

    /// <summary>
    /// Registers one shared <see cref="IoTConnectClient"/> for the connection <paramref name="connectionName"/>:
    /// options bound from the section of that name and validated at start-up (an invalid setting fails start-up with
    /// an <see cref="OptionsValidationException"/> naming it), the connection's identity (as
    /// <see cref="ConnectionCredentials"/> reads it) for Key Vault secret references, and the process-wide
    /// <see cref="RateLimiterRegistry"/>. Resolvable keyed by the connection name, and unkeyed for the first one.
    /// </summary>
    public static IServiceCollection AddIoTConnect(this IServiceCollection services, IConfiguration configuration,
        string connectionName = DefaultConnectionName) =>
        CloudConnection.Register(services, configuration, connectionName, static (IoTConnectClientOptions o) => o.BindingErrors,
            static (name, config) => new IoTConnectClientOptionsValidator(name, config),
            (sp, options) => new IoTConnectClient(
                options,
                options.PasswordSecretUri is not null || options.SolutionKeySecretUri is not null
                    ? ConnectionCredentials.Create(configuration, connectionName)
                    : null,
                sp.GetRequiredService<RateLimiterRegistry>(),
                sp.GetRequiredService<TimeProvider>(),
                sp.GetService<ILoggerFactory>(),
                connectionName));
}
