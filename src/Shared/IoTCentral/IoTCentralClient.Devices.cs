using System.Text.Json;
using Azure;
using Azure.Core;

namespace Fleet.Shared.IoTCentral;

public partial class IoTCentralClient
{
    // ---- Devices ----

    /// <summary>Devices of the application, every page; <paramref name="filter"/> is an OData <c>$filter</c> (e.g. <c>template eq 'dtmi:…'</c>).</summary>
    public virtual AsyncPageable<IoTCentralDevice> GetDevicesAsync(string? filter = null,
        CancellationToken cancellationToken = default) =>
        Pageable<IoTCentralDevice>("devices", ODataQuery(filter), cancellationToken);

    /// <summary>One device.</summary>
    public virtual Task<IoTCentralDevice> GetDeviceAsync(string deviceId, CancellationToken cancellationToken = default) =>
        GetAsync<IoTCentralDevice>(PathOf("devices", deviceId), cancellationToken);

    /// <summary>
    /// Creates the device or replaces it (<c>PUT /devices/{id}</c>): template, organization, enabled state, display
    /// name. With <see cref="IoTCentralDevice.ETag"/> set, the change applies only to that version (else 412,
    /// <see cref="IoTCentralApiException.IsPreconditionFailed"/>).
    /// </summary>
    public virtual async Task<IoTCentralDevice> CreateOrUpdateDeviceAsync(string deviceId, IoTCentralDevice device,
        CancellationToken cancellationToken = default)
    {
        ArgumentNullException.ThrowIfNull(device);
        var body = device with { Id = null, Provisioned = null };
        var call = new Call(RequestMethod.Put, PathOf("devices", deviceId), Body: JsonBody(body), IfMatch: device.ETag);
        return Read<IoTCentralDevice>(call, await SendAsync(call, cancellationToken).ConfigureAwait(false));
    }

    /// <summary>Changes some of a device's fields (<c>PATCH /devices/{id}</c>, a JSON merge patch).</summary>
    public virtual async Task<IoTCentralDevice> UpdateDeviceAsync(string deviceId, IoTCentralDevicePatch patch,
        CancellationToken cancellationToken = default)
    {
        ArgumentNullException.ThrowIfNull(patch);
        var call = new Call(RequestMethod.Patch, PathOf("devices", deviceId),
            Body: JsonBody(patch, "application/merge-patch+json"), IfMatch: patch.ETag);
        return Read<IoTCentralDevice>(call, await SendAsync(call, cancellationToken).ConfigureAwait(false));
    }

    /// <summary>Deletes a device.</summary>
    public virtual async Task DeleteDeviceAsync(string deviceId, CancellationToken cancellationToken = default) =>
        await SendAsync(new Call(RequestMethod.Delete, PathOf("devices", deviceId)), cancellationToken)
            .ConfigureAwait(false);

    /// <summary>The device's properties (a free-form object of components and properties).</summary>
    public virtual Task<JsonElement> GetDevicePropertiesAsync(string deviceId,
        CancellationToken cancellationToken = default) =>
        GetAsync<JsonElement>(PathOf("devices", deviceId, "properties"), cancellationToken);

    /// <summary>
    /// Sets writable properties of a device (<c>PATCH /devices/{id}/properties</c>, a merge of the given values)
    /// and returns its properties as the service answers them.
    /// </summary>
    public virtual async Task<JsonElement> UpdateDevicePropertiesAsync(string deviceId, IReadOnlyDictionary<string, System.Text.Json.Nodes.JsonNode?> properties,
        CancellationToken cancellationToken = default)
    {
        ArgumentNullException.ThrowIfNull(properties);
        var call = new Call(RequestMethod.Patch, PathOf("devices", deviceId, "properties"),
            Body: JsonBody(new System.Text.Json.Nodes.JsonObject(properties.Select(p => KeyValuePair.Create(p.Key, p.Value?.DeepClone()))), "application/merge-patch+json"));
        return Read<JsonElement>(call, await SendAsync(call, cancellationToken).ConfigureAwait(false));
    }

    // ---- Device templates ----

    /// <summary>Device templates, every page.</summary>
    public virtual AsyncPageable<IoTCentralDeviceTemplate> GetDeviceTemplatesAsync(string? filter = null,
        CancellationToken cancellationToken = default) =>
        Pageable<IoTCentralDeviceTemplate>("deviceTemplates", ODataQuery(filter), cancellationToken);

    /// <summary>One device template, by its DTMI.</summary>
    public virtual Task<IoTCentralDeviceTemplate> GetDeviceTemplateAsync(string templateId,
        CancellationToken cancellationToken = default) =>
        GetAsync<IoTCentralDeviceTemplate>(PathOf("deviceTemplates", templateId), cancellationToken);

    // ---- Device groups ----

    /// <summary>Device groups, every page.</summary>
    public virtual AsyncPageable<IoTCentralDeviceGroup> GetDeviceGroupsAsync(
        CancellationToken cancellationToken = default) =>
        Pageable<IoTCentralDeviceGroup>("deviceGroups", null, cancellationToken);

    /// <summary>One device group, with the filter that decides its membership.</summary>
    public virtual Task<IoTCentralDeviceGroup> GetDeviceGroupAsync(string deviceGroupId,
        CancellationToken cancellationToken = default) =>
        GetAsync<IoTCentralDeviceGroup>(PathOf("deviceGroups", deviceGroupId), cancellationToken);

    /// <summary>The devices a group's filter selects, every page.</summary>
    public virtual AsyncPageable<IoTCentralDevice> GetDeviceGroupDevicesAsync(string deviceGroupId,
        CancellationToken cancellationToken = default) =>
        Pageable<IoTCentralDevice>(PathOf("deviceGroups", deviceGroupId, "devices"), null, cancellationToken);

    // ---- Organizations and users ----

    /// <summary>Organizations of the application, every page.</summary>
    public virtual AsyncPageable<IoTCentralOrganization> GetOrganizationsAsync(
        CancellationToken cancellationToken = default) =>
        Pageable<IoTCentralOrganization>("organizations", null, cancellationToken);

    /// <summary>One organization.</summary>
    public virtual Task<IoTCentralOrganization> GetOrganizationAsync(string organizationId,
        CancellationToken cancellationToken = default) =>
        GetAsync<IoTCentralOrganization>(PathOf("organizations", organizationId), cancellationToken);

    /// <summary>One user of the application (for a service principal, its id is usually its object id).</summary>
    public virtual Task<IoTCentralUser> GetUserAsync(string userId, CancellationToken cancellationToken = default) =>
        GetAsync<IoTCentralUser>(PathOf("users", userId), cancellationToken);

    // ---- Provisioning ----

    /// <summary>
    /// Makes a device exist as asked (template, organization, enabled state) and checks that the target device
    /// group lists it. Idempotent: a device already as asked is not written again; one that differs is replaced with
    /// the etag just read (a concurrent change surfaces as 412). Device groups are filter-based, so membership
    /// follows from the device's fields; the group is re-read until it lists the device or
    /// <see cref="IoTCentralClientOptions.GroupMembershipTimeout"/> passes, and the result says which.
    /// </summary>
    public virtual async Task<IoTCentralProvisioningResult> ProvisionDeviceAsync(IoTCentralProvisioningRequest request,
        CancellationToken cancellationToken = default)
    {
        ArgumentNullException.ThrowIfNull(request);
        ArgumentException.ThrowIfNullOrWhiteSpace(request.DeviceId);
        ArgumentException.ThrowIfNullOrWhiteSpace(request.Template);
        ArgumentException.ThrowIfNullOrWhiteSpace(request.DeviceGroupId);

        // The group is read first: a missing group fails before anything is written.
        var group = await GetDeviceGroupAsync(request.DeviceGroupId, cancellationToken).ConfigureAwait(false);
        var (device, change) = await EnsureDeviceAsync(request, cancellationToken).ConfigureAwait(false);
        var listed = await WaitForGroupListingAsync(group, request.DeviceId, cancellationToken).ConfigureAwait(false);
        _logger.DeviceProvisioned(request.DeviceId, change, request.DeviceGroupId, listed);
        return new IoTCentralProvisioningResult(device, change, listed, group);
    }

    /// <summary>
    /// The write half of <see cref="ProvisionDeviceAsync"/>: makes the device exist with the template, organization,
    /// enabled state (and display name) asked for, writing only when it is missing or differs, with the etag just
    /// read (a concurrent change is a 412). Does not read or wait for the device group.
    /// </summary>
    public virtual async Task<(IoTCentralDevice Device, ProvisioningChange Change)> EnsureDeviceAsync(IoTCentralProvisioningRequest request,
        CancellationToken cancellationToken = default)
    {
        ArgumentNullException.ThrowIfNull(request);
        ArgumentException.ThrowIfNullOrWhiteSpace(request.DeviceId);
        ArgumentException.ThrowIfNullOrWhiteSpace(request.Template);
        IoTCentralDevice? existing;
        try
        {
            existing = await GetDeviceAsync(request.DeviceId, cancellationToken).ConfigureAwait(false);
        }
        catch (IoTCentralApiException ex) when (ex.IsNotFound)
        {
            existing = null;
        }

        if (existing is not null && Matches(existing, request))
        {
            return (existing, ProvisioningChange.Unchanged);
        }

        IReadOnlyList<string>? organizations = request.Organization is null ? null : [request.Organization];
        var device = await CreateOrUpdateDeviceAsync(request.DeviceId, new IoTCentralDevice
        {
            ETag = existing?.ETag,
            DisplayName = request.DisplayName ?? existing?.DisplayName ?? request.DeviceId,
            Template = request.Template,
            Enabled = request.Enabled,
            Simulated = existing?.Simulated ?? false,
            Organizations = organizations ?? [],
        }, cancellationToken).ConfigureAwait(false);
        return (device, existing is null ? ProvisioningChange.Created : ProvisioningChange.Updated);
    }

    /// <summary>Whether the device group lists the device now (one pass over its members).</summary>
    public virtual async Task<bool> IsInDeviceGroupAsync(string deviceGroupId, string deviceId, CancellationToken cancellationToken = default)
    {
        await foreach (var member in GetDeviceGroupDevicesAsync(deviceGroupId, cancellationToken).ConfigureAwait(false))
        {
            if (string.Equals(member.Id, deviceId, StringComparison.Ordinal))
            {
                return true;
            }
        }

        return false;
    }

    private static bool Matches(IoTCentralDevice device, IoTCentralProvisioningRequest request) =>
        string.Equals(device.Template, request.Template, StringComparison.Ordinal)
        && device.Enabled == request.Enabled
        && (request.DisplayName is null || string.Equals(device.DisplayName, request.DisplayName, StringComparison.Ordinal))
        && (request.Organization is null
            ? device.Organizations is null or { Count: 0 }
            : device.Organizations is { Count: 1 } orgs && string.Equals(orgs[0], request.Organization, StringComparison.Ordinal));

    private async Task<bool> WaitForGroupListingAsync(IoTCentralDeviceGroup group, string deviceId,
        CancellationToken cancellationToken)
    {
        var started = _time.GetTimestamp();
        while (true)
        {
            if (await IsInDeviceGroupAsync(group.Id!, deviceId, cancellationToken).ConfigureAwait(false))
            {
                return true;
            }

            var elapsed = _time.GetElapsedTime(started);
            if (elapsed + _options.GroupMembershipPollInterval > _options.GroupMembershipTimeout)
            {
                _logger.DeviceNotInGroup(group.Id!, deviceId, elapsed, group.Filter);
                return false;
            }

            await Task.Delay(_options.GroupMembershipPollInterval, _time, cancellationToken).ConfigureAwait(false);
        }
    }

    private string? ODataQuery(string? filter)
    {
        var parts = new List<string>(2);
        if (_options.PageSize is { } top)
        {
            parts.Add("$top=" + top.ToString(System.Globalization.CultureInfo.InvariantCulture));
        }

        if (!string.IsNullOrWhiteSpace(filter))
        {
            parts.Add("$filter=" + Uri.EscapeDataString(filter));
        }

        return parts.Count == 0 ? null : string.Join('&', parts);
    }
}
