using System.Text.RegularExpressions;

namespace Fleet.Simulator.IoTConnect;

internal sealed partial class IoTConnectCloud
{
    // ---- devices (device service) ----

    public IoTConnectReply ListDevices(string solutionKey, DeviceFilter filter, PageSpec page) => With(solutionKey, (s, _) =>
    {
        IEnumerable<DeviceRecord> devices = s.Devices;
        if (filter.EntityGuid is { } entityGuid)
        {
            if (!s.EntitiesByGuid.ContainsKey(entityGuid))
            {
                return IoTConnectReply.NotFound("EntityNotFound", $"Entity '{entityGuid}' does not exist.");
            }

            devices = devices.Where(d => d.EntityGuid == entityGuid);
        }

        if (!string.IsNullOrEmpty(filter.UniqueId))
        {
            devices = devices.Where(d => d.UniqueId.Contains(filter.UniqueId, StringComparison.OrdinalIgnoreCase));
        }

        if (!string.IsNullOrEmpty(filter.TemplateName))
        {
            devices = devices.Where(d => string.Equals(s.TemplatesByGuid[d.TemplateGuid].Name, filter.TemplateName, StringComparison.OrdinalIgnoreCase));
        }

        if (!string.IsNullOrEmpty(filter.EntityName))
        {
            devices = devices.Where(d => string.Equals(s.EntitiesByGuid[d.EntityGuid].Name, filter.EntityName, StringComparison.OrdinalIgnoreCase));
        }

        if (!string.IsNullOrEmpty(filter.Acquired))
        {
            if (!filter.Acquired.Equals("acquired", StringComparison.OrdinalIgnoreCase) && !filter.Acquired.Equals("released", StringComparison.OrdinalIgnoreCase))
            {
                return IoTConnectReply.BadRequest("acquired", "acquired must be 'acquired' or 'released'.");
            }

            var acquired = filter.Acquired.Equals("acquired", StringComparison.OrdinalIgnoreCase);
            devices = devices.Where(d => d.Acquired == acquired);
        }

        var matching = devices.ToList();
        return IoTConnectReply.Ok(page.Apply(matching).Select(d => ListItem(s, d)).ToList(), matching.Count);
    });

    public IoTConnectReply GetDevice(string solutionKey, Guid deviceGuid) => With(solutionKey, (s, _) =>
        s.DevicesByGuid.TryGetValue(deviceGuid, out var d) ? IoTConnectReply.One(Detail(s, d)) : DeviceNotFound(deviceGuid.ToString()));

    public IoTConnectReply GetDeviceByUniqueId(string solutionKey, string uniqueId) => With(solutionKey, (s, _) =>
        s.DevicesByUniqueId.TryGetValue(uniqueId, out var d) ? IoTConnectReply.One(Detail(s, d)) : DeviceNotFound(uniqueId));

    public IoTConnectReply CreateDevice(string solutionKey, CreateDeviceRequest request) => With(solutionKey, (s, now) =>
    {
        if (string.IsNullOrWhiteSpace(request.UniqueId) || !UniqueIdPattern().IsMatch(request.UniqueId))
        {
            return IoTConnectReply.BadRequest("uniqueId", "uniqueId is required: 1-64 letters, digits, '-' or '_'.");
        }

        if (string.IsNullOrWhiteSpace(request.DisplayName) || request.DisplayName.Length > 100)
        {
            return IoTConnectReply.BadRequest("displayName", "displayName is required (at most 100 characters).");
        }

        if (request.DeviceTemplateGuid is not { } templateGuid || !s.TemplatesByGuid.ContainsKey(templateGuid))
        {
            return IoTConnectReply.BadRequest("deviceTemplateGuid", "deviceTemplateGuid must name a device template of the solution.");
        }

        if (request.EntityGuid is not { } entityGuid || !s.EntitiesByGuid.ContainsKey(entityGuid))
        {
            return IoTConnectReply.BadRequest("entityGuid", "entityGuid must name an entity of the solution.");
        }

        if (s.DevicesByUniqueId.ContainsKey(request.UniqueId))
        {
            return IoTConnectReply.Conflict("UniqueIdAlreadyExists", $"A device with unique id '{request.UniqueId}' already exists.");
        }

        var device = new DeviceRecord(NewId(), request.UniqueId, templateGuid, entityGuid, now)
        {
            DisplayName = request.DisplayName,
            Note = request.Note,
        };
        AddDevice(s, device);
        return IoTConnectReply.One(new DeviceCreated(device.Guid, entityGuid, device.UniqueId), "Device created successfully.");
    });

    public IoTConnectReply UpdateDevice(string solutionKey, Guid deviceGuid, UpdateDeviceRequest request) => With(solutionKey, (s, now) =>
    {
        if (!s.DevicesByGuid.TryGetValue(deviceGuid, out var device))
        {
            return DeviceNotFound(deviceGuid.ToString());
        }

        if (string.IsNullOrWhiteSpace(request.DisplayName) || request.DisplayName.Length > 100)
        {
            return IoTConnectReply.BadRequest("displayName", "displayName is required (at most 100 characters).");
        }

        if (request.EntityGuid is not { } entityGuid || !s.EntitiesByGuid.ContainsKey(entityGuid))
        {
            return IoTConnectReply.BadRequest("entityGuid", "entityGuid must name an entity of the solution.");
        }

        device.DisplayName = request.DisplayName;
        device.EntityGuid = entityGuid;
        device.Note = request.Note ?? device.Note;
        device.Updated = now;
        return IoTConnectReply.Done("Device updated successfully.");
    });

    /// <summary>Acquire (register on the hub) or release; the 409 reasons follow the swagger text in the reference (§A.5).</summary>
    public IoTConnectReply SetAcquired(string solutionKey, string uniqueId, bool acquire) => With(solutionKey, (s, now) =>
    {
        if (!s.DevicesByUniqueId.TryGetValue(uniqueId, out var device))
        {
            return IoTConnectReply.Conflict("DeviceNotFound", $"Device '{uniqueId}' does not exist.");
        }

        if (!device.Active)
        {
            return IoTConnectReply.Conflict("DeviceInactive", $"Device '{uniqueId}' is inactive.");
        }

        if (device.Acquired == acquire)
        {
            return acquire
                ? IoTConnectReply.Conflict("DeviceAlreadyAcquired", $"Device '{uniqueId}' is already acquired.")
                : IoTConnectReply.Conflict("DeviceAlreadyReleased", $"Device '{uniqueId}' is already released.");
        }

        if (acquire && s.TemplatesByGuid[device.TemplateGuid].AuthType == 4)
        {
            return IoTConnectReply.Conflict("TemplateAuthTypeTpm", $"Device '{uniqueId}' uses TPM authentication and cannot be acquired through the API.");
        }

        device.Acquired = acquire;
        device.Connected = false;
        device.Updated = now;
        return IoTConnectReply.Done(acquire ? "Device acquired successfully." : "Device released successfully.");
    });

    // ---- templates (device service) ----

    public IoTConnectReply ListTemplates(string solutionKey, PageSpec page) => With(solutionKey, (s, _) =>
        IoTConnectReply.Ok(page.Apply(s.Templates).Select(t => TemplateItemOf(s, t)).ToList(), s.Templates.Count));

    public IoTConnectReply GetTemplate(string solutionKey, Guid templateGuid) => With(solutionKey, (s, _) =>
        s.TemplatesByGuid.TryGetValue(templateGuid, out var t)
            ? IoTConnectReply.One(TemplateItemOf(s, t))
            : IoTConnectReply.NotFound("DeviceTemplateNotFound", $"Device template '{templateGuid}' does not exist."));

    public IoTConnectReply GetTemplateByCode(string solutionKey, string code) => With(solutionKey, (s, _) =>
        s.Templates.FirstOrDefault(t => string.Equals(t.Code, code, StringComparison.OrdinalIgnoreCase)) is { } t
            ? IoTConnectReply.One(TemplateItemOf(s, t))
            : IoTConnectReply.NotFound("DeviceTemplateNotFound", $"No device template has the code '{code}'."));

    // ---- entities (user service) ----

    public IoTConnectReply ListEntities(string solutionKey, PageSpec page) => With(solutionKey, (s, _) =>
        IoTConnectReply.Ok(page.Apply(s.Entities).Select(e => new EntityItem(
            e.Guid, e.Name, e.ParentGuid, e.ParentGuid is { } p ? s.EntitiesByGuid[p].Name : null, e.Description, null,
            IoTConnectWire.Date(e.Created), IoTConnectWire.Date(e.Updated), s.Devices.Count(d => d.EntityGuid == e.Guid))).ToList(), s.Entities.Count));

    public IoTConnectReply LookupEntities(string solutionKey) => With(solutionKey, (s, _) =>
        IoTConnectReply.Ok(s.Entities.Select(e => new EntityLookupItem(e.Guid, e.Name, e.ParentGuid)).ToList(), s.Entities.Count));

    public IoTConnectReply GetEntity(string solutionKey, Guid entityGuid) => With(solutionKey, (s, _) =>
        s.EntitiesByGuid.TryGetValue(entityGuid, out var e)
            ? IoTConnectReply.One(new EntityItem(e.Guid, e.Name, e.ParentGuid, e.ParentGuid is { } p ? s.EntitiesByGuid[p].Name : null, e.Description, null,
                IoTConnectWire.Date(e.Created), IoTConnectWire.Date(e.Updated), s.Devices.Count(d => d.EntityGuid == e.Guid)))
            : IoTConnectReply.NotFound("EntityNotFound", $"Entity '{entityGuid}' does not exist."));

    public IoTConnectReply CreateEntity(string solutionKey, CreateEntityRequest request) => With(solutionKey, (s, now) =>
    {
        if (string.IsNullOrWhiteSpace(request.Name) || request.Name.Length > 100)
        {
            return IoTConnectReply.BadRequest("name", "name is required (at most 100 characters).");
        }

        if (request.ParentEntityGuid is not { } parent || !s.EntitiesByGuid.ContainsKey(parent))
        {
            return IoTConnectReply.BadRequest("parentEntityGuid", "parentEntityGuid must name an entity of the solution.");
        }

        if (s.Entities.Any(e => e.ParentGuid == parent && string.Equals(e.Name, request.Name, StringComparison.OrdinalIgnoreCase)))
        {
            return IoTConnectReply.Conflict("EntityNameAlreadyExists", $"Entity '{request.Name}' already exists under this parent.");
        }

        var entity = AddEntity(s, request.Name, parent, request.Description, now);
        return IoTConnectReply.One(new EntityCreated(entity.Guid), "Entity created successfully.");
    });

    // ---- shapes ----

    private static IoTConnectReply DeviceNotFound(string id) => IoTConnectReply.NotFound("DeviceNotFound", $"Device '{id}' does not exist.");

    private static DeviceListItem ListItem(SolutionState s, DeviceRecord d) => new(
        d.Guid, d.UniqueId, d.DisplayName, d.Connected, IoTConnectWire.Date(d.LastActivity), d.Active, d.TemplateGuid,
        s.TemplatesByGuid[d.TemplateGuid].Name, d.EntityGuid, s.EntitiesByGuid[d.EntityGuid].Name, d.Acquired, IsAllottedDevice: false,
        d.FirmwareUpgradeGuid, DeviceStatus(d), IoTConnectWire.Date(d.Created));

    private static DeviceDetail Detail(SolutionState s, DeviceRecord d)
    {
        var template = s.TemplatesByGuid[d.TemplateGuid];
        return new DeviceDetail(
            d.Guid, d.UniqueId, d.DisplayName, d.Connected, IoTConnectWire.Date(d.LastActivity), d.Active, d.TemplateGuid, template.Name,
            template.Code, d.EntityGuid, s.EntitiesByGuid[d.EntityGuid].Name, d.Acquired ? 1 : 0, d.FirmwareUpgradeGuid, d.Note,
            IoTConnectWire.Date(d.Created), IoTConnectWire.Date(d.Updated));
    }

    private static string DeviceStatus(DeviceRecord d) => !d.Active ? "Inactive" : d.Connected ? "Connected" : d.Acquired ? "Disconnected" : "Released";

    private static TemplateItem TemplateItemOf(SolutionState s, TemplateRecord t) => new(
        t.Guid, t.Code, t.Name, IsEdgeSupport: false, IsIotEdgeEnable: false, t.AuthType, Tag: null, MessageVersion: "2.1",
        s.Devices.Count(d => d.TemplateGuid == t.Guid), IoTConnectWire.Date(t.Created));

    [GeneratedRegex("^[A-Za-z0-9_-]{1,64}$")]
    private static partial Regex UniqueIdPattern();
}
