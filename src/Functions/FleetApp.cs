using Fleet.Functions.Compliance;
using Fleet.Functions.Provisioning;
using Fleet.Functions.Settings;
using Fleet.Functions.Sphere;
using Fleet.Functions.Storage;
using Fleet.Shared.FleetClouds;
using Microsoft.Extensions.Configuration;
using Microsoft.Extensions.Configuration.Memory;
using Microsoft.Extensions.DependencyInjection;
using Microsoft.Extensions.DependencyInjection.Extensions;
using Microsoft.Extensions.Options;

namespace Fleet.Functions;

/// <summary>The app's services: settings (validated at start-up), the fleet clouds' clients and adapters, the report store, the starters.</summary>
public static class FleetApp
{
    /// <summary>Adds the app's defaults (lowest precedence), settings, clients and services.</summary>
    public static void AddFleetServices(this IServiceCollection services, IConfigurationManager configuration)
    {
        ArgumentNullException.ThrowIfNull(services);
        ArgumentNullException.ThrowIfNull(configuration);
        configuration.Sources.Insert(0, new MemoryConfigurationSource { InitialData = SettingDefaults.Values });

        services.TryAddSingleton(TimeProvider.System);
        services.AddFleetSettings(configuration);
        services.AddFleetClouds(configuration);
        services.AddSingleton<TenantDirectory>();
        services.AddSingleton<Clouds.FleetActivities>();
        services.AddSingleton<PolicyProvider>();
        services.AddSingleton(_ => BlobConnection.Create(configuration, "AzureWebJobsStorage"));
        services.AddSingleton(sp => new ReportStore(
            sp.GetRequiredService<Azure.Storage.Blobs.BlobServiceClient>()
                .GetBlobContainerClient(sp.GetRequiredService<IOptions<ComplianceSweepOptions>>().Value.ReportContainer)));
        services.AddSingleton<SweepContextCache>();
        services.AddSingleton<DeviceSetSweep>();
        services.AddSingleton<ProvisioningStarter>();
        services.AddSingleton<SweepStarter>();
        services.AddHostedService<LearnedRateMemory>();
    }
}
