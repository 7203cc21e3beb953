using Fleet.Shared.Resilience;
using Microsoft.Extensions.Configuration;
using Microsoft.Extensions.DependencyInjection;
using Microsoft.Extensions.DependencyInjection.Extensions;
using Microsoft.Extensions.Logging;
using Microsoft.Extensions.Options;

namespace Fleet.Shared.Configuration;

/// <summary>
/// What registering any cloud client's connection takes: the clock and the process-wide
/// <see cref="RateLimiterRegistry"/> every client shares, the connection's options bound from its section and
/// validated at start-up, and the client as a keyed service (unkeyed for the first connection registered).
/// </summary>
internal static class CloudConnection
{
    /// <summary>
    /// Registers one connection of a cloud client: its options (<see cref="AddOptions{TOptions}"/>) and the client
    /// (<see cref="AddClient{TClient}"/>), made by <paramref name="create"/> from the connection's validated options.
    /// </summary>
    public static IServiceCollection Register<TOptions, TClient>(IServiceCollection services, IConfiguration configuration, string connectionName,
        Func<TOptions, ICollection<string>> bindingErrors, Func<string, IConfiguration, IValidateOptions<TOptions>> validator,
        Func<IServiceProvider, TOptions, TClient> create)
        where TOptions : class
        where TClient : class
    {
        ArgumentNullException.ThrowIfNull(services);
        ArgumentNullException.ThrowIfNull(configuration);
        ArgumentException.ThrowIfNullOrWhiteSpace(connectionName);
        AddOptions(services, configuration, connectionName, bindingErrors, validator(connectionName, configuration));
        AddClient(services, connectionName, sp => create(sp, sp.GetRequiredService<IOptionsMonitor<TOptions>>().Get(connectionName)));
        return services;
    }

    /// <summary>Binds <typeparamref name="TOptions"/> from the section <paramref name="connectionName"/> and validates it at start-up.</summary>
    /// <param name="services">The service collection.</param>
    /// <param name="configuration">The configuration holding the section.</param>
    /// <param name="connectionName">Section and options name.</param>
    /// <param name="bindingErrors">Where a value the binder cannot read is reported, for the validator to name it.</param>
    /// <param name="validator">Checks the bound options; it names every bad setting.</param>
    public static void AddOptions<TOptions>(IServiceCollection services, IConfiguration configuration, string connectionName,
        Func<TOptions, ICollection<string>> bindingErrors, IValidateOptions<TOptions> validator)
        where TOptions : class
    {
        services.TryAddSingleton(TimeProvider.System);
        services.TryAddSingleton(sp => new RateLimiterRegistry(
            sp.GetRequiredService<TimeProvider>(), sp.GetService<ILoggerFactory>()));

        var section = configuration.GetSection(connectionName);
        services.AddOptions<TOptions>(connectionName)
            .Configure(options => SettingsBinding.Bind(section, options, bindingErrors(options), connectionName))
            .ValidateOnStart();
        services.AddSingleton(validator);
    }

    /// <summary>Registers the connection's client as a keyed singleton, and unkeyed when it is the first of its type.</summary>
    public static void AddClient<TClient>(IServiceCollection services, string connectionName, Func<IServiceProvider, TClient> create)
        where TClient : class
    {
        services.AddKeyedSingleton(connectionName, (sp, _) => create(sp));
        services.TryAddSingleton(sp => sp.GetRequiredKeyedService<TClient>(connectionName));
    }
}

/// <summary>
/// Start-up validation of one connection's options: skips other connections' options, reports what the binder could
/// not read, and words every failure as <c>Setting '{Connection}__{setting}' {rule}.</c>
/// </summary>
internal abstract class ConnectionOptionsValidator<TOptions>(string connectionName) : IValidateOptions<TOptions>
    where TOptions : class
{
    /// <summary>The connection (and section) name.</summary>
    protected string ConnectionName { get; } = connectionName;

    public ValidateOptionsResult Validate(string? name, TOptions options)
    {
        if (!string.Equals(name, ConnectionName, StringComparison.Ordinal))
        {
            return ValidateOptionsResult.Skip;
        }

        var failures = new List<string>(BindingErrors(options));
        void Check(bool ok, string setting, string rule)
        {
            if (!ok)
            {
                failures.Add($"Setting '{ConnectionName}__{setting}' {rule}.");
            }
        }

        Validate(options, Check, failures);
        return failures.Count == 0 ? ValidateOptionsResult.Success : ValidateOptionsResult.Fail(failures);
    }

    /// <summary>Values the binder could not read.</summary>
    protected abstract IEnumerable<string> BindingErrors(TOptions options);

    /// <summary>Checks the options: <paramref name="check"/> (ok, setting after the prefix, rule) or a whole message in <paramref name="failures"/>.</summary>
    protected abstract void Validate(TOptions options, Action<bool, string, string> check, List<string> failures);
}
