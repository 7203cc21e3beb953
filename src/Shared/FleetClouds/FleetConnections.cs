using Microsoft.Extensions.DependencyInjection;

namespace Fleet.Shared.FleetClouds;

/// <summary>A scope names a connection the app has no settings for.</summary>
public sealed class FleetConnectionNotConfiguredException(FleetCloud cloud, string connection)
    : InvalidOperationException($"No {cloud} connection '{connection}' is configured: add settings under '{connection}__…' (see README, Settings).")
{
    /// <summary>Our error code.</summary>
    public const string ErrorCode = "ConnectionNotConfigured";

    /// <summary>The cloud.</summary>
    public FleetCloud Cloud { get; } = cloud;

    /// <summary>The connection asked for.</summary>
    public string Connection { get; } = connection;
}

/// <summary>Finds a connection's client (registered keyed by the connection name).</summary>
internal static class FleetConnections
{
    public static T Client<T>(IServiceProvider services, FleetCloud cloud, string connection)
        where T : class =>
        services.GetKeyedService<T>(connection) ?? throw new FleetConnectionNotConfiguredException(cloud, connection);

    /// <summary>The refusal of a scope that is not configured.</summary>
    public static FleetError? NotConfigured(Exception exception) =>
        exception is FleetConnectionNotConfiguredException missing
            ? new FleetError(0, FleetConnectionNotConfiguredException.ErrorCode, missing.Message)
            : null;
}
