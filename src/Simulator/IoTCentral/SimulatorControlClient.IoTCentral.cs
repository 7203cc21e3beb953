using Fleet.Simulator.Control;

namespace Fleet.Simulator;

/// <summary>The IoT Central part of the control client.</summary>
public partial class SimulatorControlClient
{
    /// <summary>The simulated IoT Central applications.</summary>
    public virtual Task<IReadOnlyList<IoTCentralAppDescription>> GetIoTCentralAppsAsync(CancellationToken cancellationToken = default) =>
        GetAsync<IReadOnlyList<IoTCentralAppDescription>>("_sim/iotc/apps", cancellationToken);

    /// <summary>The IoT Central run-time settings.</summary>
    public virtual Task<IoTCentralSimulatorSettings> GetIoTCentralSettingsAsync(CancellationToken cancellationToken = default) =>
        GetAsync<IoTCentralSimulatorSettings>("_sim/iotc/settings", cancellationToken);

    /// <summary>Changes the given IoT Central settings; returns all of them after the change (buckets refill).</summary>
    public virtual async Task<IoTCentralSimulatorSettings> UpdateIoTCentralSettingsAsync(IoTCentralSimulatorSettingsUpdate update,
        CancellationToken cancellationToken = default)
    {
        using var response = await SendCoreAsync(HttpMethod.Patch, "_sim/iotc/settings", update, cancellationToken);
        return (await response.Content.ReadFromJsonAsync<IoTCentralSimulatorSettings>(ControlJson.Options, cancellationToken))!;
    }

    /// <summary>Back to the seeded applications and start-up IoT Central settings.</summary>
    public virtual Task ResetIoTCentralAsync(CancellationToken cancellationToken = default) =>
        SendAsync(HttpMethod.Post, "_sim/iotc/reset", null, cancellationToken);

    /// <summary>Requests one application answered since start or the last reset.</summary>
    public virtual Task<IoTCentralAppCounters> GetIoTCentralCountersAsync(string app, CancellationToken cancellationToken = default) =>
        GetAsync<IoTCentralAppCounters>($"_sim/iotc/apps/{Uri.EscapeDataString(app)}/counters", cancellationToken);

    /// <summary>Zeroes the IoT Central counters.</summary>
    public virtual Task ResetIoTCentralCountersAsync(CancellationToken cancellationToken = default) =>
        SendAsync(HttpMethod.Post, "_sim/iotc/counters/reset", null, cancellationToken);

    /// <summary>Mints an API token of an application directly (value included).</summary>
    public virtual async Task<IoTCentralIssuedApiToken> IssueIoTCentralApiTokenAsync(string app, IoTCentralApiTokenRequest request,
        CancellationToken cancellationToken = default)
    {
        using var response = await SendCoreAsync(HttpMethod.Post, $"_sim/iotc/apps/{Uri.EscapeDataString(app)}/apiTokens", request, cancellationToken);
        return (await response.Content.ReadFromJsonAsync<IoTCentralIssuedApiToken>(ControlJson.Options, cancellationToken))!;
    }

    /// <summary>Makes a principal a user of an application with a role.</summary>
    public virtual Task SetIoTCentralUserAsync(string app, Guid objectId, IoTCentralUserRequest request, CancellationToken cancellationToken = default) =>
        SendAsync(HttpMethod.Put, $"_sim/iotc/apps/{Uri.EscapeDataString(app)}/users/{objectId}", request, cancellationToken);

    /// <summary>Removes a principal from an application's users.</summary>
    public virtual Task RemoveIoTCentralUserAsync(string app, Guid objectId, CancellationToken cancellationToken = default) =>
        SendAsync(HttpMethod.Delete, $"_sim/iotc/apps/{Uri.EscapeDataString(app)}/users/{objectId}", null, cancellationToken);

    /// <summary>A device and its properties as the application has them (IoT Central wire JSON).</summary>
    public virtual Task<System.Text.Json.Nodes.JsonObject> GetIoTCentralDeviceAsync(string app, string deviceId, CancellationToken cancellationToken = default) =>
        GetAsync<System.Text.Json.Nodes.JsonObject>($"_sim/iotc/apps/{Uri.EscapeDataString(app)}/devices/{Uri.EscapeDataString(deviceId)}", cancellationToken);
}

/// <summary>Where a simulator's IoT Central applications live.</summary>
public static class SimulatorHostIoTCentralExtensions
{
    /// <summary>The API base of application <paramref name="app"/>, e.g. <c>http://127.0.0.1:5080/iotc/contoso/api/</c>.</summary>
    public static Uri IoTCentralEndpoint(this SimulatorHost host, string app)
    {
        ArgumentNullException.ThrowIfNull(host);
        return new Uri(host.BaseAddress, IoTCentral.IoTCentralApi.Prefix(app) + "/api/");
    }
}
