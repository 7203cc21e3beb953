using System.Data.Common;
using Fleet.Hosting.Local.Durable;
using Fleet.Hosting.Local.Storage;
using Microsoft.Extensions.Configuration;
using Microsoft.Extensions.DependencyInjection;

namespace Fleet.Hosting.Local;

/// <summary>
/// The bindings the local host offers beyond HTTP, resolved from DI: <see cref="ITriggerListenerFactory"/>,
/// <see cref="IInputBindingProvider"/> and <see cref="IOutputBindingHandler"/> registrations. A binding type
/// registered twice is served by the last registration.
/// </summary>
public static class LocalHostComposition
{
    /// <summary>Registers the bindings this build of the host ships.</summary>
    public static IServiceCollection AddLocalHostBindings(this IServiceCollection services) => services.AddStorageBindings().AddDurableFunctions();

    /// <summary>What AzureWebJobsStorage points at, without any secret: for the start-up summary.</summary>
    public static string DescribeStorage(IConfiguration configuration)
    {
        ArgumentNullException.ThrowIfNull(configuration);
        var value = configuration["AzureWebJobsStorage"];
        if (string.IsNullOrWhiteSpace(value))
        {
            return "AzureWebJobsStorage is not set";
        }

        if (value.Contains("UseDevelopmentStorage=true", StringComparison.OrdinalIgnoreCase))
        {
            return "AzureWebJobsStorage: development storage (Azurite on 127.0.0.1)";
        }

        try
        {
            var builder = new DbConnectionStringBuilder { ConnectionString = value };
            foreach (var key in new[] { "AccountName", "QueueEndpoint", "BlobEndpoint" })
            {
                if (builder.TryGetValue(key, out var found) && found is string text && text.Length > 0)
                {
                    return $"AzureWebJobsStorage: {key}={text}";
                }
            }
        }
        catch (ArgumentException)
        {
            // Not a connection string (e.g. an identity-based setting); say only that it is set.
        }

        return "AzureWebJobsStorage is set";
    }
}
