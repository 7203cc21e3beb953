using Fleet.Shared.IoTCentral;
using Fleet.Shared.IoTConnect;
using Fleet.Shared.Sphere;
using Microsoft.Extensions.Configuration;
using Microsoft.Extensions.DependencyInjection;
using Microsoft.Extensions.DependencyInjection.Extensions;

namespace Fleet.Shared.FleetClouds;

/// <summary>The adapters of the port, one per cloud.</summary>
public sealed class FleetCloudAdapters(IEnumerable<IFleetCloudAdapter> adapters)
{
    private readonly Dictionary<FleetCloud, IFleetCloudAdapter> _byCloud = adapters.ToDictionary(a => a.Cloud);

    /// <summary>The connections configured per cloud (Sphere: the one Sphere connection).</summary>
    public required IReadOnlyDictionary<FleetCloud, IReadOnlyList<string>> Connections { get; init; }

    /// <summary>The adapter of <paramref name="cloud"/>.</summary>
    public IFleetCloudAdapter Get(FleetCloud cloud) =>
        _byCloud.TryGetValue(cloud, out var adapter) ? adapter : throw new ArgumentOutOfRangeException(nameof(cloud), cloud, "No adapter for this cloud.");
}

/// <summary>Registers the fleet clouds: the Sphere client, every IoT Central and IoTConnect connection, and the port's adapters.</summary>
public static class FleetCloudServiceCollectionExtensions
{
    /// <summary>
    /// The Sphere connection (section <c>Sphere</c>), and one connection per top-level section named <c>IoTCentral</c>
    /// or <c>IoTCentral_{name}</c> (an application each), <c>IoTConnect</c> or <c>IoTConnect_{name}</c> (a solution
    /// each) that has settings; each connection's settings are validated at start-up as its client documents.
    /// </summary>
    public static IServiceCollection AddFleetClouds(this IServiceCollection services, IConfiguration configuration)
    {
        ArgumentNullException.ThrowIfNull(services);
        ArgumentNullException.ThrowIfNull(configuration);
        services.TryAddSingleton(TimeProvider.System);
        services.AddSphereClient(configuration);
        var iotCentral = ConnectionsOf(configuration, IoTCentralServiceCollectionExtensions.DefaultConnectionName);
        foreach (var connection in iotCentral)
        {
            services.AddIoTCentral(configuration, connection);
        }

        var iotConnect = ConnectionsOf(configuration, IoTConnectServiceCollectionExtensions.DefaultConnectionName);
        foreach (var connection in iotConnect)
        {
            services.AddIoTConnect(configuration, connection);
        }

        services.TryAddSingleton<SphereTenantDirectory>();
        services.AddSingleton<IFleetCloudAdapter, SphereFleetAdapter>();
        services.AddSingleton<IFleetCloudAdapter, IoTCentralFleetAdapter>();
        services.AddSingleton<IFleetCloudAdapter, IoTConnectFleetAdapter>();
        services.TryAddSingleton(sp => new FleetCloudAdapters(sp.GetServices<IFleetCloudAdapter>())
        {
            Connections = new Dictionary<FleetCloud, IReadOnlyList<string>>
            {
                [FleetCloud.Sphere] = [SphereServiceCollectionExtensions.DefaultConnectionName],
                [FleetCloud.IoTCentral] = iotCentral,
                [FleetCloud.IoTConnect] = iotConnect,
            },
        });
        return services;
    }

    /// <summary>Top-level sections <paramref name="prefix"/> and <c>{prefix}_{name}</c> that hold settings.</summary>
    internal static IReadOnlyList<string> ConnectionsOf(IConfiguration configuration, string prefix) =>
        [.. configuration.GetChildren()
            .Where(s => (string.Equals(s.Key, prefix, StringComparison.OrdinalIgnoreCase)
                         || s.Key.StartsWith(prefix + "_", StringComparison.OrdinalIgnoreCase))
                        && s.GetChildren().Any())
            .Select(s => s.Key)
            .Distinct(StringComparer.OrdinalIgnoreCase)
            .Order(StringComparer.OrdinalIgnoreCase)];
}

/// <summary>Reads and writes <see cref="FleetCloud"/> as <c>sphere</c>, <c>iotcentral</c>, <c>iotconnect</c> (case-insensitive).</summary>
public sealed class FleetCloudJsonConverter : System.Text.Json.Serialization.JsonConverter<FleetCloud>
{
    /// <summary>The wire name of a cloud.</summary>
    public static string NameOf(FleetCloud cloud) => cloud.ToString().ToLowerInvariant();

    /// <summary>Parses a wire name (case-insensitive).</summary>
    public static bool TryParse(string? text, out FleetCloud cloud)
    {
        foreach (var candidate in Enum.GetValues<FleetCloud>())
        {
            if (string.Equals(text?.Trim(), NameOf(candidate), StringComparison.OrdinalIgnoreCase))
            {
                cloud = candidate;
                return true;
            }
        }

        cloud = default;
        return false;
    }

    /// <inheritdoc />
    public override FleetCloud Read(ref System.Text.Json.Utf8JsonReader reader, Type typeToConvert, System.Text.Json.JsonSerializerOptions options) =>
        reader.TokenType == System.Text.Json.JsonTokenType.String && TryParse(reader.GetString(), out var cloud)
            ? cloud
            : throw new System.Text.Json.JsonException("use sphere, iotcentral or iotconnect.");

    /// <inheritdoc />
    public override void Write(System.Text.Json.Utf8JsonWriter writer, FleetCloud value, System.Text.Json.JsonSerializerOptions options)
    {
        ArgumentNullException.ThrowIfNull(writer);
        writer.WriteStringValue(NameOf(value));
    }

    /// <inheritdoc />
    public override FleetCloud ReadAsPropertyName(ref System.Text.Json.Utf8JsonReader reader, Type typeToConvert, System.Text.Json.JsonSerializerOptions options) =>
        TryParse(reader.GetString(), out var cloud) ? cloud : throw new System.Text.Json.JsonException("use sphere, iotcentral or iotconnect.");

    /// <inheritdoc />
    public override void WriteAsPropertyName(System.Text.Json.Utf8JsonWriter writer, FleetCloud value, System.Text.Json.JsonSerializerOptions options)
    {
        ArgumentNullException.ThrowIfNull(writer);
        writer.WritePropertyName(NameOf(value));
    }
}
