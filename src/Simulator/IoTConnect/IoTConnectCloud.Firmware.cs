using System.Globalization;
using System.Text.RegularExpressions;

namespace Fleet.Simulator.IoTConnect;

internal sealed partial class IoTConnectCloud
{
    private const string CreatedBy = "ops";

    // ---- firmware ----

    /// <summary><c>GET Firmware</c>; filtered by exact name it answers 204 when nothing matches (reference §A.1).</summary>
    public IoTConnectReply ListFirmware(string solutionKey, string? name, PageSpec page) => With(solutionKey, (s, _) =>
    {
        var firmware = s.Firmware.Where(f => !f.Deprecated && (name is null || string.Equals(f.Name, name, StringComparison.OrdinalIgnoreCase))).ToList();
        if (name is not null && firmware.Count == 0)
        {
            return IoTConnectReply.NoContent();
        }

        return IoTConnectReply.Ok(page.Apply(firmware).Select(f => FirmwareItemOf(s, f, withUpgrades: false)).ToList(), firmware.Count);
    });

    public IoTConnectReply GetFirmware(string solutionKey, Guid firmwareGuid) => With(solutionKey, (s, _) =>
        s.Firmware.FirstOrDefault(f => f.Guid == firmwareGuid) is { } f
            ? IoTConnectReply.One(FirmwareItemOf(s, f, withUpgrades: true))
            : IoTConnectReply.NotFound("FirmwareNotFound", $"Firmware '{firmwareGuid}' does not exist."));

    /// <summary>Creates a firmware and its first (draft) upgrade; one firmware per template.</summary>
    public IoTConnectReply CreateFirmware(string solutionKey, CreateFirmwareRequest request) => With(solutionKey, (s, now) =>
    {
        if (request.DeviceTemplateGuid is not { } templateGuid || !s.TemplatesByGuid.ContainsKey(templateGuid))
        {
            return IoTConnectReply.BadRequest("deviceTemplateGuid", "deviceTemplateGuid must name a device template of the solution.");
        }

        if (request.FirmwareName is null || !FirmwareNamePattern().IsMatch(request.FirmwareName))
        {
            return IoTConnectReply.BadRequest("firmwareName", "firmwareName must be 1-10 upper-case letters or digits.");
        }

        if (request.Hardware is null || !VersionPattern().IsMatch(request.Hardware))
        {
            return IoTConnectReply.BadRequest("hardware", "hardware must be 1-20 letters, digits or dots.");
        }

        if (request.Software is null || !VersionPattern().IsMatch(request.Software))
        {
            return IoTConnectReply.BadRequest("software", "software must be 1-20 letters, digits or dots.");
        }

        if (s.Firmware.Any(f => !f.Deprecated && f.TemplateGuid == templateGuid))
        {
            return IoTConnectReply.Conflict("TemplateAlreadyAttachedWithFirmware", "The device template already has a firmware.");
        }

        if (s.Firmware.Any(f => !f.Deprecated && string.Equals(f.Name, request.FirmwareName, StringComparison.Ordinal)))
        {
            return IoTConnectReply.Conflict("FirmwareNameAlreadyExists", $"A firmware named '{request.FirmwareName}' already exists.");
        }

        var firmware = new FirmwareRecord(NewId(), request.FirmwareName, request.Hardware, templateGuid, request.FirmwareDescription, now);
        s.Firmware.Add(firmware);
        var upgrade = AddUpgrade(s, firmware, request.Software, request.FirmwareUpgradeDescription, now);
        return IoTConnectReply.One(new FirmwareCreated(firmware.Guid, upgrade.Guid), "Firmware created successfully.");
    });

    // ---- upgrades ----

    public IoTConnectReply ListUpgrades(string solutionKey, Guid? firmwareGuid, PageSpec page) => With(solutionKey, (s, _) =>
    {
        var upgrades = s.Firmware.Where(f => firmwareGuid is null || f.Guid == firmwareGuid).SelectMany(f => f.Upgrades).ToList();
        return IoTConnectReply.Ok(page.Apply(upgrades).Select(UpgradeItemOf).ToList(), upgrades.Count);
    });

    public IoTConnectReply GetUpgrade(string solutionKey, Guid upgradeGuid) => With(solutionKey, (s, _) =>
        s.UpgradesByGuid.TryGetValue(upgradeGuid, out var u) ? IoTConnectReply.One(UpgradeItemOf(u)) : UpgradeNotFound(upgradeGuid));

    public IoTConnectReply CreateUpgrade(string solutionKey, CreateUpgradeRequest request) => With(solutionKey, (s, now) =>
    {
        if (request.FirmwareGuid is not { } firmwareGuid || s.Firmware.FirstOrDefault(f => f.Guid == firmwareGuid && !f.Deprecated) is not { } firmware)
        {
            return IoTConnectReply.BadRequest("firmwareGuid", "firmwareGuid must name a firmware of the solution.");
        }

        if (request.Software is null || !VersionPattern().IsMatch(request.Software))
        {
            return IoTConnectReply.BadRequest("software", "software must be 1-20 letters, digits or dots.");
        }

        if (firmware.Upgrades.Any(u => string.Equals(u.Software, request.Software, StringComparison.OrdinalIgnoreCase)))
        {
            return IoTConnectReply.Conflict("FirmwareUpgradeAlreadyExists", $"Firmware '{firmware.Name}' already has version '{request.Software}'.");
        }

        var upgrade = AddUpgrade(s, firmware, request.Software, request.Description, now);
        return IoTConnectReply.One(new UpgradeCreated(upgrade.Guid), "Firmware upgrade created successfully.");
    });

    /// <summary>Draft → Released; publishing twice is 409 (reference §A.2).</summary>
    public IoTConnectReply PublishUpgrade(string solutionKey, Guid upgradeGuid) => With(solutionKey, (s, now) =>
    {
        if (!s.UpgradesByGuid.TryGetValue(upgradeGuid, out var upgrade))
        {
            return UpgradeNotFound(upgradeGuid);
        }

        if (upgrade.Released)
        {
            return IoTConnectReply.Conflict("FirmwareUpgradeAlreadyPublished", $"Firmware upgrade '{upgradeGuid}' is already released.");
        }

        upgrade.Released = true;
        upgrade.Updated = now;
        return IoTConnectReply.Done("Firmware upgrade published successfully.");
    });

    // ---- shapes ----

    private static IoTConnectReply UpgradeNotFound(Guid guid) => IoTConnectReply.NotFound("FirmwareUpgradeNotFound", $"Firmware upgrade '{guid}' does not exist.");

    private static FirmwareItem FirmwareItemOf(SolutionState s, FirmwareRecord f, bool withUpgrades)
    {
        var template = s.TemplatesByGuid[f.TemplateGuid];
        return new FirmwareItem(
            f.Guid, f.Name, f.Hardware, f.Deprecated, template.Guid, template.Code, template.Name,
            f.Upgrades.Count(u => u.Released), f.Upgrades.Count(u => !u.Released), f.Description, IoTConnectWire.Date(f.Created), CreatedBy,
            withUpgrades ? f.Upgrades.Select(UpgradeItemOf).ToList() : null);
    }

    private static UpgradeItem UpgradeItemOf(UpgradeRecord u) => new(
        u.Guid, u.Firmware.Guid, u.Software, u.Description, u.Released ? "Released" : "Draft", IoTConnectWire.Date(u.Created), CreatedBy, []);

    private static bool TryParseSchedule(string? text, out DateTime? scheduled)
    {
        scheduled = null;
        if (string.IsNullOrEmpty(text))
        {
            return true;
        }

        if (DateTime.TryParseExact(text, "yyyy-MM-dd HH:mm:ss", CultureInfo.InvariantCulture,
                DateTimeStyles.AssumeUniversal | DateTimeStyles.AdjustToUniversal, out var value))
        {
            scheduled = value;
            return true;
        }

        return false;
    }

    [GeneratedRegex("^[A-Z0-9]{1,10}$")]
    private static partial Regex FirmwareNamePattern();

    [GeneratedRegex("^[A-Za-z0-9.]{1,20}$")]
    private static partial Regex VersionPattern();
}
