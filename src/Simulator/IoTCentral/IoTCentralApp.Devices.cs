using System.Text.Json;
using System.Text.Json.Nodes;
using System.Text.RegularExpressions;

namespace Fleet.Simulator.IoTCentral;

internal sealed partial class IoTCentralApp
{
    private readonly Dictionary<string, Func<IoTCentralDeviceEntity, bool>> _groupFilters = new(StringComparer.Ordinal);

    /// <summary>Devices the caller may see, in list order (<c>$orderby=displayName [desc]</c> or by id), filtered.</summary>
    public Collection<DeviceWire> ListDevices(HttpContext ctx, IReadOnlyList<RoleAssignment> roles)
    {
        var query = ctx.Request.Query;
        Func<IoTCentralDeviceEntity, bool> filter = static _ => true;
        if (query["$filter"].FirstOrDefault() is { Length: > 0 } text)
        {
            filter = IoTCentralFilters.ParseODataFilter(text, out var problem)
                ?? throw IoTCentralFault.BadRequest("InvalidFilter", problem!);
        }

        var order = query["$orderby"].FirstOrDefault()?.Trim();
        Func<IoTCentralDeviceEntity, string> key = order switch
        {
            null or "" => static d => d.Id,
            _ when OrderBy().Match(order) is { Success: true } m && m.Groups["desc"].Success =>
                static d => Invert(d.DisplayName) + "\uffff" + d.Id,
            _ when OrderBy().IsMatch(order) => static d => d.DisplayName + "\u0000" + d.Id,
            _ => throw IoTCentralFault.BadRequest("InvalidOrderBy", "$orderby supports only 'displayName [asc|desc]'."),
        };

        lock (_gate)
        {
            Advance();
            var visible = _devices.Values.Where(d => InScope(d.Organization, roles) && filter(d))
                .OrderBy(key, StringComparer.Ordinal);
            return IoTCentralWire.Page(ctx, "devices|" + (order ?? string.Empty), visible, key, DeviceWire.From, takesTop: true);
        }
    }

    public DeviceWire GetDevice(string id, IReadOnlyList<RoleAssignment> roles)
    {
        lock (_gate)
        {
            Advance();
            return DeviceWire.From(Visible(id, roles));
        }
    }

    public JsonObject GetProperties(string id, IReadOnlyList<RoleAssignment> roles)
    {
        lock (_gate)
        {
            Advance();
            return CloneObject(Visible(id, roles).Properties);
        }
    }

    /// <summary>
    /// Merges writable property values into a device's properties (<c>PATCH /devices/{id}/properties</c>); the
    /// simulated device accepts them at once, so the next read reports them. A null value removes the property.
    /// </summary>
    public JsonObject PatchProperties(string id, JsonObject body, IReadOnlyList<RoleAssignment> roles)
    {
        lock (_gate)
        {
            Advance();
            var properties = Visible(id, roles).Properties;
            foreach (var (name, value) in body)
            {
                if (value is null)
                {
                    properties.Remove(name);
                }
                else
                {
                    properties[name] = value.DeepClone();
                }
            }

            return CloneObject(properties);
        }
    }

    /// <summary>Creates or replaces a device (PUT); an etag (body or If-Match) that does not match answers 412.</summary>
    public DeviceWire PutDevice(string id, JsonObject body, string? ifMatch, IReadOnlyList<RoleAssignment> roles)
    {
        if (!DeviceId().IsMatch(id))
        {
            throw IoTCentralFault.BadRequest("InvalidDeviceId", $"'{id}' is not a valid device id (up to 128 letters, digits and - . + % _ # * ? ! ( ) , : = @ $ ').");
        }

        var etag = ifMatch ?? OptionalString(body, "etag");
        lock (_gate)
        {
            Advance();
            _devices.TryGetValue(id, out var existing);
            if (existing is not null && !InScope(existing.Organization, roles))
            {
                throw new IoTCentralFault(403, "Forbidden", $"The device '{id}' belongs to an organization outside the caller's scope.");
            }

            CheckETag("device", id, existing?.Revision, etag);
            var device = existing ?? new IoTCentralDeviceEntity(id);
            var organization = ReadOrganization(body, existing?.Organization, replace: true);
            if (!InScope(organization, roles))
            {
                throw new IoTCentralFault(403, "Forbidden", $"The organization '{organization ?? "(root)"}' is outside the caller's scope.");
            }

            var template = body.ContainsKey("template") ? OptionalString(body, "template") : null;
            if (template is not null && !_templates.ContainsKey(template))
            {
                throw IoTCentralFault.Invalid($"The device template '{template}' does not exist in this application.");
            }

            device.DisplayName = OptionalString(body, "displayName") ?? id;
            device.Template = template;
            device.Enabled = OptionalBool(body, "enabled") ?? true;
            device.Simulated = OptionalBool(body, "simulated") ?? false;
            device.Organization = organization;
            if (existing is null)
            {
                _devices[id] = device;
            }
            else
            {
                device.Revision++;
            }

            return DeviceWire.From(device);
        }
    }

    /// <summary>Merge-patches a device.</summary>
    public DeviceWire PatchDevice(string id, JsonObject body, string? ifMatch, IReadOnlyList<RoleAssignment> roles)
    {
        lock (_gate)
        {
            Advance();
            var device = Visible(id, roles);
            CheckETag("device", id, device.Revision, ifMatch ?? OptionalString(body, "etag"));
            var organization = ReadOrganization(body, device.Organization, replace: false);
            if (!InScope(organization, roles))
            {
                throw new IoTCentralFault(403, "Forbidden", $"The organization '{organization ?? "(root)"}' is outside the caller's scope.");
            }

            if (body.ContainsKey("template"))
            {
                var template = OptionalString(body, "template");
                if (template is not null && !_templates.ContainsKey(template))
                {
                    throw IoTCentralFault.Invalid($"The device template '{template}' does not exist in this application.");
                }

                device.Template = template;
            }

            device.DisplayName = OptionalString(body, "displayName") ?? device.DisplayName;
            device.Enabled = OptionalBool(body, "enabled") ?? device.Enabled;
            device.Simulated = OptionalBool(body, "simulated") ?? device.Simulated;
            device.Organization = organization;
            device.Revision++;
            return DeviceWire.From(device);
        }
    }

    public void DeleteDevice(string id, IReadOnlyList<RoleAssignment> roles)
    {
        lock (_gate)
        {
            Advance();
            _devices.Remove(Visible(id, roles).Id);
        }
    }

    // ---- device groups ----

    public Collection<GroupWire> ListGroups(HttpContext ctx)
    {
        lock (_gate)
        {
            return IoTCentralWire.Page(ctx, "deviceGroups", _groups.Values.OrderBy(g => g.Id, StringComparer.Ordinal),
                static g => g.Id, GroupWire.From, takesTop: false);
        }
    }

    public GroupWire GetGroup(string id)
    {
        lock (_gate)
        {
            return GroupWire.From(Group(id));
        }
    }

    /// <summary>The devices a group's filter (and organization) selects, that the caller may see.</summary>
    public Collection<DeviceWire> GroupDevices(HttpContext ctx, string id, IReadOnlyList<RoleAssignment> roles)
    {
        lock (_gate)
        {
            Advance();
            var members = Members(Group(id)).Where(d => InScope(d.Organization, roles));
            return IoTCentralWire.Page(ctx, "deviceGroups/" + id, members, static d => d.Id, DeviceWire.From, takesTop: false);
        }
    }

    public IReadOnlyList<string> GroupIds()
    {
        lock (_gate)
        {
            return [.. _groups.Keys.Order(StringComparer.Ordinal)];
        }
    }

    public int DeviceCount
    {
        get
        {
            lock (_gate)
            {
                return _devices.Count;
            }
        }
    }

    public DeviceWire? FindDevice(string id)
    {
        lock (_gate)
        {
            Advance();
            return _devices.TryGetValue(id, out var device) ? DeviceWire.From(device) : null;
        }
    }

    private IoTCentralGroupEntity Group(string id) =>
        _groups.TryGetValue(id, out var group) ? group : throw IoTCentralFault.NotFound("device group", id);

    /// <summary>Members of a group in id order (called under the lock).</summary>
    private IEnumerable<IoTCentralDeviceEntity> Members(IoTCentralGroupEntity group)
    {
        if (!_groupFilters.TryGetValue(group.Filter, out var filter))
        {
            filter = IoTCentralFilters.ParseGroupQuery(group.Filter, out var problem)
                ?? throw new InvalidOperationException($"Seeded group {group.Id} has an unsupported filter: {problem}");
            _groupFilters[group.Filter] = filter;
        }

        return _devices.Values
            .Where(d => filter(d) && (group.Organization is null || IsWithin(d.Organization, group.Organization)))
            .OrderBy(d => d.Id, StringComparer.Ordinal);
    }

    private IoTCentralDeviceEntity Visible(string id, IReadOnlyList<RoleAssignment> roles) =>
        _devices.TryGetValue(id, out var device) && InScope(device.Organization, roles)
            ? device
            : throw IoTCentralFault.NotFound("device", id);

    private static void CheckETag(string kind, string id, long? revision, string? etag)
    {
        if (etag is null || etag == "*" && revision is not null)
        {
            return;
        }

        if (revision is not { } current || !string.Equals(etag.Trim('"'), ETagOf(kind, id, current), StringComparison.Ordinal))
        {
            throw new IoTCentralFault(412, "PreconditionFailed",
                $"The etag does not match the current version of {kind} '{id}'; read it again and retry.");
        }
    }

    private string? ReadOrganization(JsonObject body, string? current, bool replace)
    {
        if (!body.TryGetPropertyValue("organizations", out var node))
        {
            return replace ? null : current;
        }

        if (node is null)
        {
            return null;
        }

        if (node is not JsonArray array || array.Count > 1 || array.Any(o => o?.GetValueKind() != JsonValueKind.String))
        {
            throw IoTCentralFault.Invalid("organizations must be an array of at most one organization id (only one is supported).");
        }

        var id = array.Count == 0 ? null : array[0]!.GetValue<string>();
        return id is null || _organizations.ContainsKey(id)
            ? id
            : throw IoTCentralFault.Invalid($"The organization '{id}' does not exist in this application.");
    }

    internal static string? OptionalString(JsonObject body, string name) =>
        body.TryGetPropertyValue(name, out var node) && node is not null
            ? node.GetValueKind() == JsonValueKind.String
                ? node.GetValue<string>()
                : throw IoTCentralFault.Invalid($"{name} must be a string.")
            : null;

    internal static bool? OptionalBool(JsonObject body, string name) =>
        body.TryGetPropertyValue(name, out var node) && node is not null
            ? node.GetValueKind() is JsonValueKind.True or JsonValueKind.False
                ? node.GetValue<bool>()
                : throw IoTCentralFault.Invalid($"{name} must be true or false.")
            : null;

    private static string Invert(string text) => string.Create(text.Length, text, static (span, t) =>
    {
        for (var i = 0; i < t.Length; i++)
        {
            span[i] = (char)(char.MaxValue - t[i]);
        }
    });

    [GeneratedRegex(@"^displayName(?:\s+(?:asc|(?<desc>desc)))?$", RegexOptions.IgnoreCase)]
    private static partial Regex OrderBy();

    [GeneratedRegex(@"^[A-Za-z0-9\-.+%_#*?!(),:=@$']{1,128}$")]
    private static partial Regex DeviceId();
}
