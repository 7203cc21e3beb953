using Azure.Core;
using Microsoft.Extensions.Configuration;
using Microsoft.Extensions.DependencyInjection;
using Microsoft.Extensions.DependencyInjection.Extensions;

namespace Fleet.Hosting.Local.Storage;

/// <summary>How the local functions host's storage bindings reach storage.</summary>
public sealed class StorageBindingOptions
{
    /// <summary>Adjusts the options of every storage client the bindings create (tests add fault-injecting policies or a transport).</summary>
    public Action<ClientOptions>? ConfigureClients { get; set; }

    /// <summary>
    /// Replaces the credential of identity-based connections (called with the app settings and the connection's setting
    /// name); null reads it from the <c>__credential</c> / <c>__clientId</c> / <c>__tenantId</c> / <c>__clientSecret</c> settings.
    /// </summary>
    public Func<IConfiguration, string, TokenCredential>? CredentialFactory { get; set; }

    /// <summary>Numbers in [0, 1) for the jitter of queue polling backoff. Default: <see cref="Random.Shared"/>.</summary>
    public Func<double> Random { get; set; } = System.Random.Shared.NextDouble;
}

/// <summary>Registers the timer, queue and blob triggers and bindings of the local functions host.</summary>
public static class StorageBindingsServiceCollectionExtensions
{
    /// <summary>
    /// Adds the <c>timerTrigger</c> and <c>queueTrigger</c> listener factories, the <c>blob</c> input provider and the
    /// <c>queue</c> and <c>blob</c> output handlers, all on the Azure SDK. The host must have registered its app
    /// settings as <see cref="IConfiguration"/>.
    /// </summary>
    public static IServiceCollection AddStorageBindings(this IServiceCollection services, Action<StorageBindingOptions>? configure = null)
    {
        ArgumentNullException.ThrowIfNull(services);
        var options = new StorageBindingOptions();
        configure?.Invoke(options);
        services.RemoveAll<StorageAccounts>();
        services.AddSingleton(sp => new StorageAccounts(sp.GetRequiredService<IConfiguration>(), options));
        services.AddSingleton<ITriggerListenerFactory, TimerTriggerListenerFactory>();
        services.AddSingleton<ITriggerListenerFactory, QueueTriggerListenerFactory>();
        services.AddSingleton<IOutputBindingHandler, QueueOutputHandler>();
        services.AddSingleton<IInputBindingProvider, BlobInputProvider>();
        services.AddSingleton<IOutputBindingHandler, BlobOutputHandler>();
        return services;
    }
}
