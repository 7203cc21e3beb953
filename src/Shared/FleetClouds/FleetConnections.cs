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

    /// <summary>The page of <paramref name="pageable"/> that <paramref name="continuation"/> names, each item mapped to a device.</summary>
    public static async Task<FleetDevicePage> PageAsync<T>(Azure.AsyncPageable<T> pageable, string? continuation, int pageSize, Func<T, Task<FleetDevice>> map)
        where T : notnull
    {
        await foreach (var page in pageable.AsPages(continuation, pageSize).ConfigureAwait(false))
        {
            var devices = new List<FleetDevice>(page.Values.Count);
            foreach (var item in page.Values)
            {
                devices.Add(await map(item).ConfigureAwait(false));
            }

            return new FleetDevicePage(devices, string.IsNullOrEmpty(page.ContinuationToken) ? null : page.ContinuationToken);
        }

        return new FleetDevicePage([], null);
    }

    /// <summary>The refusal of a scope that is not configured.</summary>
    public static FleetError? NotConfigured(Exception exception) =>
        exception is FleetConnectionNotConfiguredException missing
            ? new FleetError(0, FleetConnectionNotConfiguredException.ErrorCode, missing.Message)
            : null;
}
