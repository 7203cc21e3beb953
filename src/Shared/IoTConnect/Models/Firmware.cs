namespace Fleet.Shared.IoTConnect;

/// <summary>A firmware: one per device template, with its upgrades (versions).</summary>
/// <param name="FirmwareGuid">Its id.</param>
/// <param name="Name">Its name (1–10 upper-case letters or digits).</param>
/// <param name="Hardware">Hardware version.</param>
/// <param name="TemplateGuid">The device template it belongs to.</param>
/// <param name="TemplateCode">That template's code, when given.</param>
/// <param name="IsDeprecated">Deprecated (deleted) firmware.</param>
/// <param name="Upgrades">Its upgrades; empty in list results (only <c>GET Firmware/{guid}</c> carries them).</param>
public sealed record IoTConnectFirmware(
    Guid FirmwareGuid,
    string Name,
    string Hardware,
    Guid TemplateGuid,
    string? TemplateCode,
    bool IsDeprecated,
    IReadOnlyList<IoTConnectFirmwareUpgrade> Upgrades);

/// <summary>A firmware upgrade: one software version, a draft until published.</summary>
/// <param name="UpgradeGuid">Its id (what an OTA update pushes).</param>
/// <param name="FirmwareGuid">Its firmware, when given.</param>
/// <param name="Software">Software version.</param>
/// <param name="Description">Description.</param>
/// <param name="IsReleased">Released (<c>isDraft: "Released"</c>); a draft can only be pushed to a device list as a trial.</param>
public sealed record IoTConnectFirmwareUpgrade(Guid UpgradeGuid, Guid? FirmwareGuid, string Software, string? Description, bool IsReleased);

/// <summary>A firmware to create; the service creates its first upgrade (a draft) with it.</summary>
/// <param name="TemplateGuid">Device template (one firmware per template).</param>
/// <param name="Name">1–10 upper-case letters or digits.</param>
/// <param name="Hardware">Hardware version (1–20 letters, digits or dots).</param>
/// <param name="Software">Version of the first upgrade (1–20 letters, digits or dots).</param>
public sealed record IoTConnectFirmwareCreateRequest(Guid TemplateGuid, string Name, string Hardware, string Software)
{
    /// <summary>Description of the firmware.</summary>
    public string? Description { get; init; }

    /// <summary>Description of the first upgrade.</summary>
    public string? UpgradeDescription { get; init; }
}

/// <summary>What <c>POST Firmware</c> answered.</summary>
public sealed record IoTConnectFirmwareCreated(Guid FirmwareGuid, Guid UpgradeGuid);
