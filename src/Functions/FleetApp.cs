using Fleet.Functions.Compliance;
using Fleet.Functions.Provisioning;
using Fleet.Functions.Settings;
using Fleet.Functions.Sphere;
using Fleet.Hosting;
using Fleet.Shared.Sphere;
using Fleet.Storage;
using Microsoft.Extensions.Configuration;
using Microsoft.Extensions.Configuration.Memory;
using Microsoft.Extensions.DependencyInjection;
using Microsoft.Extensions.Logging;
using Microsoft.Extensions.Options;

namespace Fleet.Functions;

/// <summary>
/// Builds the fleet automation app: the function host with this assembly's functions, the Sphere client, the report
/// store and the app's settings (validated at start-up). <c>Program</c> runs it as a process; tests and tools start it
/// in-process with <see cref="CreateBuilder(FunctionsApplicationOptions)"/>.
/// </summary>
public static class FleetApp
{
    /// <summary>A builder for the app as a process (host.json and local.settings.json from the app's folder).</summary>
    public static FunctionsApplicationBuilder CreateBuilder(string[] args) =>
        CreateBuilder(new FunctionsApplicationOptions { Args = args ?? [] });

    /// <summary>
    /// A builder with explicit host options (content root, port, settings, clock). Unless the options name other
    /// function types or assemblies, the functions are this assembly's.
    /// </summary>
    public static FunctionsApplicationBuilder CreateBuilder(FunctionsApplicationOptions options)
    {
        ArgumentNullException.ThrowIfNull(options);
        if (options.Assemblies is null && options.FunctionTypes is null)
        {
            // In-process callers (tests, benchmarks) have another entry assembly. The options are init-only, so they are
            // copied with the assembly added: a public property added to FunctionsApplicationOptions must be added here.
            options = new FunctionsApplicationOptions
            {
                Args = options.Args,
                ContentRoot = options.ContentRoot,
                Assemblies = [typeof(FleetApp).Assembly],
                ApplicationName = options.ApplicationName ?? typeof(FleetApp).Assembly.GetName().Name,
                HostId = options.HostId,
                HttpPort = options.HttpPort,
                TimeProvider = options.TimeProvider,
                Settings = options.Settings,
                EnvironmentName = options.EnvironmentName,
                ExportLocalSettingsToEnvironment = options.ExportLocalSettingsToEnvironment,
            };
        }

        var builder = FunctionsApplication.CreateBuilder(options);
        builder.AddFleetServices();
        return builder;
    }

    /// <summary>Adds the app's defaults (lowest precedence), settings, clients and services to a function host builder.</summary>
    public static FunctionsApplicationBuilder AddFleetServices(this FunctionsApplicationBuilder builder)
    {
        ArgumentNullException.ThrowIfNull(builder);
        var configuration = builder.Configuration;
        ((IList<IConfigurationSource>)configuration.Sources).Insert(0, new MemoryConfigurationSource { InitialData = SettingDefaults.Values });

        var services = builder.Services;
        services.AddFleetSettings(configuration);
        services.AddSphereClient(configuration);
        services.AddSingleton<TenantDirectory>();
        services.AddSingleton<PolicyProvider>();
        services.AddSingleton(sp => StorageConnection.FromConfiguration(configuration, "AzureWebJobsStorage")
            .CreateBlobServiceClient(new StorageClientOptions { LoggerFactory = sp.GetService<ILoggerFactory>() }));
        services.AddSingleton(sp => new ReportStore(
            sp.GetRequiredService<Fleet.Storage.BlobServiceClient>()
                .GetBlobContainerClient(sp.GetRequiredService<IOptions<ComplianceSweepOptions>>().Value.ReportContainer)));
        services.AddSingleton<SweepContextCache>();
        services.AddSingleton<ProvisioningStarter>();
        services.AddSingleton<SweepStarter>();
        return builder;
    }
}
