using System.Text.Json.Serialization;

namespace Fleet.Shared.FleetClouds;

/// <summary>The fleet clouds the app automates.</summary>
[JsonConverter(typeof(FleetCloudJsonConverter))]
public enum FleetCloud
{
    /// <summary>Azure Sphere (public API v2): tenants, products, device groups, image deployments.</summary>
    Sphere,

    /// <summary>Azure IoT Central: one application per connection; templates, organizations, filter-based device groups, jobs.</summary>
    IoTCentral,

    /// <summary>Avnet IoTConnect: one solution per connection; templates, entities, firmware upgrades (OTA).</summary>
    IoTConnect,
}

/// <summary>
/// Where a device should be, in one cloud's terms. <see cref="Scope"/> is the Sphere tenant (id or name) or the
/// connection (configuration section) of the IoT Central application or IoTConnect solution.
/// </summary>
/// <param name="Cloud">The cloud.</param>
/// <param name="Scope">Sphere tenant, or the connection name of the application/solution.</param>
/// <param name="Group">Sphere <c>Product/Group</c>; IoT Central device group id; IoTConnect entity path (<c>Contoso/Production/Production East</c>, or a name below the root).</param>
/// <param name="Template">IoT Central device template id; IoTConnect template code; unused on Sphere.</param>
/// <param name="Organization">IoT Central organization id; unused elsewhere.</param>
public sealed record FleetTarget(FleetCloud Cloud, string Scope, string Group, string? Template = null, string? Organization = null)
{
    /// <summary>Sphere only: whether a missing product or group may be created (the policy's <c>allowCreate</c>).</summary>
    public bool AllowCreate { get; init; }

    /// <summary>Sphere only: the OS feed (0 Retail, 1 RetailEval) of a group created for this target.</summary>
    public int? OsFeedType { get; init; }

    /// <summary>Sphere only: the update policy (0–2) of a group created for this target.</summary>
    public int? UpdatePolicy { get; init; }

    /// <inheritdoc />
    public override string ToString() => Cloud switch
    {
        FleetCloud.IoTCentral => $"{Scope}: template {Template}, organization {Organization ?? "(none)"}, group {Group}",
        FleetCloud.IoTConnect => $"{Scope}: template {Template}, entity {Group}",
        _ => Group,
    };
}

/// <summary>
/// A target resolved to the cloud's ids: what provisioning places the device into and verification compares with.
/// </summary>
/// <param name="GroupId">Sphere device group id; IoT Central device group id; IoTConnect entity guid.</param>
/// <param name="ParentId">Sphere product id; IoT Central organization (or null); IoTConnect entity guid.</param>
/// <param name="TemplateId">IoT Central template id; IoTConnect template guid; null on Sphere.</param>
public sealed record FleetLocation(string GroupId, string? ParentId, string? TemplateId);

/// <summary>A device as a cloud lists it, in neutral terms.</summary>
/// <param name="DeviceId">Sphere device id (upper case); IoT Central device id; IoTConnect unique id.</param>
/// <param name="GroupId">Sphere device group id; IoTConnect entity guid; IoT Central: null (groups are filters).</param>
/// <param name="ParentId">Sphere product id; IoT Central organization; IoTConnect entity guid.</param>
/// <param name="TemplateId">IoT Central template id; IoTConnect template guid; null on Sphere.</param>
/// <param name="Version">What it runs: IoT Central the deployment property's value; IoTConnect the firmware upgrade's version.</param>
public sealed record FleetDevice(string DeviceId, string? GroupId, string? ParentId, string? TemplateId, string? Version = null)
{
    /// <summary>IoTConnect: the device's guid (OTA updates to a device list need it).</summary>
    public string? Handle { get; init; }
}

/// <summary>One page of a cloud's device list; <see cref="Continuation"/> fetches the next (null at the end).</summary>
public sealed record FleetDevicePage(IReadOnlyList<FleetDevice> Devices, string? Continuation);

/// <summary>Where a step stands.</summary>
[JsonConverter(typeof(JsonStringEnumConverter<FleetStepState>))]
public enum FleetStepState
{
    /// <summary>Finished.</summary>
    Done,

    /// <summary>Still running: poll <see cref="FleetStepResult.Handle"/> later.</summary>
    Pending,

    /// <summary>A prerequisite finished: run the step again.</summary>
    Again,

    /// <summary>The cloud refused; <see cref="FleetStepResult.Error"/> says why.</summary>
    Failed,
}

/// <summary>
/// A cloud's refusal, as data: HTTP status (0 when not from a response), the service's error code, message and
/// request id. Our own codes are the constants.
/// </summary>
public sealed record FleetError(int Status, string? ErrorCode, string Message, string? RequestId = null, string? OperationId = null)
{
    /// <summary>Ours: a step still unfinished after the orchestration's timeout.</summary>
    public const string OperationTimedOut = "OperationTimedOut";

    /// <summary>Ours: the target group (or entity, template, product) does not exist.</summary>
    public const string DeviceGroupNotFound = "DeviceGroupNotFound";

    /// <summary>Ours: the product does not exist and may not be created.</summary>
    public const string ProductNotFound = "ProductNotFound";

    /// <summary>Ours: the template does not exist.</summary>
    public const string TemplateNotFound = "TemplateNotFound";

    /// <summary>Ours: a step's result does not show the expected state.</summary>
    public const string VerificationFailed = "VerificationFailed";

    /// <summary>Ours: the device exists with another template, which the automation does not change.</summary>
    public const string TemplateMismatch = "TemplateMismatch";

    /// <summary>Ours: the expected firmware version does not exist.</summary>
    public const string VersionNotFound = "VersionNotFound";

    /// <summary>Whether the service said the resource does not exist.</summary>
    [JsonIgnore]
    public bool IsNotFound => Status == 404;

    /// <inheritdoc />
    public override string ToString() =>
        $"{(Status == 0 ? string.Empty : Status + " ")}{ErrorCode ?? "Error"}: {Message}" +
        (RequestId is null ? string.Empty : $" (request id {RequestId})") +
        (OperationId is null ? string.Empty : $" (operation {OperationId})");
}

/// <summary>
/// A step's answer: done (with whether it changed anything), pending on a handle to poll, "again" (run the step once
/// more: a prerequisite it started has finished), or failed with the cloud's error.
/// </summary>
public sealed record FleetStepResult(FleetStepState State, bool Changed = false, string? Handle = null, FleetError? Error = null)
{
    /// <summary>What <see cref="IFleetCloudAdapter.ResolveTargetAsync"/> found, when done.</summary>
    public FleetLocation? Location { get; init; }

    /// <summary>Finished.</summary>
    public static FleetStepResult Done(bool changed) => new(FleetStepState.Done, changed);

    /// <summary>Still running.</summary>
    public static FleetStepResult Pending(string handle, bool changed = true) => new(FleetStepState.Pending, changed, handle);

    /// <summary>Refused.</summary>
    public static FleetStepResult Failed(FleetError error) => new(FleetStepState.Failed, Error: error);
}

/// <summary>
/// What a deployment puts on devices. <see cref="Version"/> is the IoT Central property value (a job on the device
/// group) or the IoTConnect firmware upgrade's version (an OTA update); on Sphere the image ids or names.
/// </summary>
/// <param name="Version">IoT Central property value; IoTConnect upgrade version (e.g. <c>1.1</c>).</param>
/// <param name="Property">IoT Central: the writable property the job sets (default <c>firmwareVersion</c>).</param>
public sealed record FleetDeploymentSpec(string Version, string? Property = null)
{
    /// <summary>The IoT Central property a deployment sets when the policy names none.</summary>
    public const string DefaultProperty = "firmwareVersion";
}

/// <summary>A deployment to start on a target (devices, when given, narrow it where the cloud can).</summary>
/// <param name="Target">Where.</param>
/// <param name="Location">The target resolved.</param>
/// <param name="Spec">What.</param>
/// <param name="DeploymentId">Our id for it: repeating a start with the same id finds the deployment instead of making another.</param>
/// <param name="DeviceIds">IoTConnect: the devices (unique ids) to update instead of the whole entity.</param>
public sealed record FleetDeploymentRequest(FleetTarget Target, FleetLocation Location, FleetDeploymentSpec Spec, string DeploymentId, IReadOnlyList<string>? DeviceIds = null);

/// <summary>A deployment's progress and health.</summary>
/// <param name="DeploymentId">The cloud's id of the job / OTA update.</param>
/// <param name="Finished">Whether every device has an outcome (or the cloud stopped the deployment).</param>
/// <param name="Devices">Devices targeted.</param>
/// <param name="Succeeded">Of them, devices that took it.</param>
/// <param name="Failed">Of them, devices that failed.</param>
/// <param name="FailedDeviceIds">The failed devices (at most 100 listed).</param>
public sealed record FleetDeploymentProgress(string DeploymentId, bool Finished, int Devices, int Succeeded, int Failed, IReadOnlyList<string> FailedDeviceIds)
{
    /// <summary>Failed ÷ devices (0 for none).</summary>
    public double FailureRate => Devices == 0 ? 0 : (double)Failed / Devices;
}
