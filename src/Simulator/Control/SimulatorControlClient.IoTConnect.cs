using Fleet.Simulator.Control;
using Fleet.Simulator.IoTConnect;

namespace Fleet.Simulator;

public partial class SimulatorControlClient
{
    /// <summary>The simulated IoTConnect: base URLs, solutions (keys, credentials, entities, templates, firmware).</summary>
    public virtual Task<IoTConnectDescription> GetIoTConnectAsync(CancellationToken cancellationToken = default) =>
        GetAsync<IoTConnectDescription>("_sim/iotconnect/", cancellationToken);

    /// <summary>Everything known about one IoTConnect device.</summary>
    public virtual Task<IoTConnectDeviceView> GetIoTConnectDeviceAsync(string uniqueId, CancellationToken cancellationToken = default) =>
        GetAsync<IoTConnectDeviceView>($"_sim/iotconnect/devices/{Uri.EscapeDataString(uniqueId)}", cancellationToken);

    /// <summary>IoTConnect's run-time settings.</summary>
    public virtual Task<IoTConnectSettings> GetIoTConnectSettingsAsync(CancellationToken cancellationToken = default) =>
        GetAsync<IoTConnectSettings>("_sim/iotconnect/settings", cancellationToken);

    /// <summary>Changes the given IoTConnect settings (a change refills every token bucket); returns all of them after the change.</summary>
    public virtual async Task<IoTConnectSettings> UpdateIoTConnectSettingsAsync(IoTConnectSettingsUpdate update, CancellationToken cancellationToken = default)
    {
        using var response = await SendCoreAsync(HttpMethod.Patch, "_sim/iotconnect/settings", update, cancellationToken);
        return (await response.Content.ReadFromJsonAsync<IoTConnectSettings>(ControlJson.Options, cancellationToken))!;
    }

    /// <summary>Makes every live IoTConnect access token (of one solution, or all) expire now: their next call gets 401.</summary>
    public virtual Task<IoTConnectTokenActionResult> ExpireIoTConnectAccessTokensAsync(string? solution = null, CancellationToken cancellationToken = default) =>
        PostAsync<IoTConnectTokenActionResult>("_sim/iotconnect/access-tokens/expire", new IoTConnectTokenScope(solution), cancellationToken);

    /// <summary>Revokes every IoTConnect refresh token (of one solution, or all): refreshing then fails with 401.</summary>
    public virtual Task<IoTConnectTokenActionResult> RevokeIoTConnectRefreshTokensAsync(string? solution = null, CancellationToken cancellationToken = default) =>
        PostAsync<IoTConnectTokenActionResult>("_sim/iotconnect/refresh-tokens/revoke", new IoTConnectTokenScope(solution), cancellationToken);

    private async Task<T> PostAsync<T>(string path, object body, CancellationToken cancellationToken)
    {
        using var response = await SendCoreAsync(HttpMethod.Post, path, body, cancellationToken);
        return (await response.Content.ReadFromJsonAsync<T>(ControlJson.Options, cancellationToken))!;
    }
}
