using System.ComponentModel.DataAnnotations;
using System.Text.Json.Serialization;
using Fleet.Shared.DesiredState;
using System.Text.RegularExpressions;
using Fleet.Shared.FleetClouds;

namespace Fleet.Functions.Provisioning;

/// <summary>
/// A provisioning request: the queue message (JSON) and the body of <c>POST /api/provision</c>. <c>cloud</c> says
/// which fleet cloud (default <c>Provisioning:DefaultCloud</c>) and so which members place the device: Sphere
/// <c>tenantId</c>, <c>product</c>, <c>deviceGroup</c>; IoT Central <c>connection</c>, <c>template</c>,
/// <c>organization</c>, <c>deviceGroup</c>; IoTConnect <c>connection</c>, <c>template</c>, <c>entity</c>. A message
/// that fails validation is recorded in the rejected queue with the reason (<see cref="RejectedMessage"/>), not retried.
/// </summary>
public sealed partial class ProvisioningRequest : IValidatableObject
{
    /// <summary><c>sphere</c>, <c>iotcentral</c> or <c>iotconnect</c>; <c>Provisioning:DefaultCloud</c> when absent.</summary>
    public string? Cloud { get; init; }

    /// <summary>Sphere: tenant id or name; <c>Provisioning:DefaultTenant</c> when absent.</summary>
    public string? TenantId { get; init; }

    /// <summary>IoT Central / IoTConnect: the connection (settings section) of the application or solution; the cloud's default section when absent.</summary>
    public string? Connection { get; init; }

    /// <summary>The device: Sphere 128 hexadecimal characters; IoT Central up to 128 letters, digits and <c>-._:</c>; IoTConnect up to 64 letters, digits, <c>-</c>, <c>_</c>.</summary>
    [Required(ErrorMessage = "deviceId is required.")]
    public string? DeviceId { get; init; }

    /// <summary>Sphere: product name.</summary>
    public string? Product { get; init; }

    /// <summary>Sphere: device group name within the product; IoT Central: the device group id.</summary>
    public string? DeviceGroup { get; init; }

    /// <summary>IoT Central: device template id; IoTConnect: template code.</summary>
    public string? Template { get; init; }

    /// <summary>IoT Central: the organization id (optional).</summary>
    public string? Organization { get; init; }

    /// <summary>IoTConnect: the entity (path from the root, or a name below it).</summary>
    public string? Entity { get; init; }

    /// <summary>The caller's correlation id, echoed in status and result.</summary>
    [StringLength(128, ErrorMessage = "requestId must be at most 128 characters.")]
    public string? RequestId { get; init; }

    /// <summary>The cloud asked for, or null when <see cref="Cloud"/> is absent; invalid names fail validation.</summary>
    [JsonIgnore]
    public FleetCloud? RequestedCloud => FleetCloudJsonConverter.TryParse(Cloud, out var cloud) ? cloud : null;

    /// <inheritdoc />
    public IEnumerable<ValidationResult> Validate(ValidationContext validationContext)
    {
        if (Cloud is not null && RequestedCloud is null)
        {
            yield return new ValidationResult("cloud must be sphere, iotcentral or iotconnect.", [nameof(Cloud)]);
            yield break;
        }

        var cloud = RequestedCloud ?? (validationContext?.Items.TryGetValue(DefaultCloudKey, out var d) == true && d is FleetCloud c ? c : FleetCloud.Sphere);
        foreach (var problem in cloud switch
                 {
                     FleetCloud.IoTCentral => ValidateIoTCentral(),
                     FleetCloud.IoTConnect => ValidateIoTConnect(),
                     _ => ValidateSphere(),
                 })
        {
            yield return problem;
        }
    }

    /// <summary>The validation context item that names the default cloud.</summary>
    internal const string DefaultCloudKey = "defaultCloud";

    private IEnumerable<ValidationResult> ValidateSphere()
    {
        if (DeviceId is not null && !SphereDeviceId().IsMatch(DeviceId))
        {
            yield return new ValidationResult("deviceId must be 128 hexadecimal characters.", [nameof(DeviceId)]);
        }

        if (TenantId is not null && string.IsNullOrWhiteSpace(TenantId))
        {
            yield return new ValidationResult("tenantId must not be blank (leave it out to use Provisioning:DefaultTenant).", [nameof(TenantId)]);
        }

        if (Product is null)
        {
            yield return new ValidationResult("product is required.", [nameof(Product)]);
        }
        else if (!GroupPath.IsValidName(Product.Trim()))
        {
            yield return new ValidationResult("product must be 1-50 letters, digits and spaces.", [nameof(Product)]);
        }

        if (DeviceGroup is null)
        {
            yield return new ValidationResult("deviceGroup is required.", [nameof(DeviceGroup)]);
        }
        else if (!GroupPath.IsValidName(DeviceGroup.Trim()))
        {
            yield return new ValidationResult("deviceGroup must be 1-50 letters, digits and spaces.", [nameof(DeviceGroup)]);
        }

        foreach (var problem in NotFor("sphere", (Template, "template"), (Organization, "organization"), (Entity, "entity"), (Connection, "connection")))
        {
            yield return problem;
        }
    }

    private IEnumerable<ValidationResult> ValidateIoTCentral()
    {
        if (DeviceId is not null && !IoTCentralDeviceId().IsMatch(DeviceId))
        {
            yield return new ValidationResult("deviceId must be 1-128 letters, digits, '-', '.', '_' and ':' for iotcentral.", [nameof(DeviceId)]);
        }

        foreach (var problem in Required((Template, "template"), (DeviceGroup, "deviceGroup")).Concat(Connectionless())
                     .Concat(NotFor("iotcentral", (Product, "product"), (Entity, "entity"), (TenantId, "tenantId"))))
        {
            yield return problem;
        }

        if (Organization is not null && string.IsNullOrWhiteSpace(Organization))
        {
            yield return new ValidationResult("organization must not be blank (leave it out for none).", [nameof(Organization)]);
        }
    }

    private IEnumerable<ValidationResult> ValidateIoTConnect()
    {
        if (DeviceId is not null && !IoTConnectDeviceId().IsMatch(DeviceId))
        {
            yield return new ValidationResult("deviceId must be 1-64 letters, digits, '-' and '_' for iotconnect.", [nameof(DeviceId)]);
        }

        foreach (var problem in Required((Template, "template"), (Entity, "entity")).Concat(Connectionless())
                     .Concat(NotFor("iotconnect", (Product, "product"), (DeviceGroup, "deviceGroup"), (Organization, "organization"), (TenantId, "tenantId"))))
        {
            yield return problem;
        }
    }

    private IEnumerable<ValidationResult> Connectionless()
    {
        if (Connection is not null && (string.IsNullOrWhiteSpace(Connection) || Connection.Trim().Length > 100))
        {
            yield return new ValidationResult("connection must name a settings section (leave it out for the cloud's default).", [nameof(Connection)]);
        }
    }

    private static IEnumerable<ValidationResult> Required(params (string? Value, string Name)[] members) =>
        members.Where(m => string.IsNullOrWhiteSpace(m.Value) || m.Value.Trim().Length > 200)
            .Select(m => new ValidationResult($"{m.Name} is required (at most 200 characters).", [m.Name]));

    private static IEnumerable<ValidationResult> NotFor(string cloud, params (string? Value, string Name)[] members) =>
        members.Where(m => m.Value is not null)
            .Select(m => new ValidationResult($"{m.Name} does not apply to cloud {cloud}.", [m.Name]));

    [GeneratedRegex("^[0-9A-Fa-f]{128}$")]
    private static partial Regex SphereDeviceId();

    [GeneratedRegex("^[A-Za-z0-9._:-]{1,128}$")]
    private static partial Regex IoTCentralDeviceId();

    [GeneratedRegex("^[A-Za-z0-9_-]{1,64}$")]
    private static partial Regex IoTConnectDeviceId();
}

/// <summary>The input of <c>ProvisionDevice</c>.</summary>
/// <param name="Target">Where the device goes (Sphere: the tenant as given and <c>Product/Group</c>).</param>
/// <param name="DeviceId">The device (Sphere ids upper-case).</param>
/// <param name="RequestId">The caller's correlation id.</param>
public sealed record ProvisionInput(FleetTarget Target, string DeviceId, string? RequestId)
{
    /// <summary>Where the device goes, for people.</summary>
    [JsonIgnore]
    public string Placement => Target.ToString();
}

/// <summary>What <c>PlanProvisioning</c> found: the scope and the target with what the policy adds (Sphere: may the group be created, with which settings).</summary>
/// <param name="ScopeId">Sphere tenant id; else the connection.</param>
/// <param name="ScopeName">Sphere tenant name; else the application or solution.</param>
/// <param name="Target">The target in resolved scope terms.</param>
public sealed record ProvisioningPlan(string ScopeId, string ScopeName, FleetTarget Target);

/// <summary>The step a provisioning is at (its custom status says it).</summary>
[JsonConverter(typeof(JsonStringEnumConverter<ProvisionStep>))]
public enum ProvisionStep
{
    /// <summary>Resolving the tenant and reading the policy.</summary>
    ResolveTenant,

    /// <summary>Asking the service to claim the device.</summary>
    Claim,

    /// <summary>Waiting for the claim operation.</summary>
    WaitForClaim,

    /// <summary>Finding (or creating) the product and device group.</summary>
    ResolveGroup,

    /// <summary>Moving the device to its group.</summary>
    Move,

    /// <summary>Waiting for the move operation.</summary>
    WaitForMove,

    /// <summary>Reading the device back.</summary>
    Verify,

    /// <summary>Finished: claimed and in its group.</summary>
    Done,

    /// <summary>Failed; the status carries the error.</summary>
    Failed,
}

/// <summary>The custom status of <c>ProvisionDevice</c>.</summary>
/// <param name="Step">Where it is.</param>
/// <param name="DeviceId">The device.</param>
/// <param name="Placement">Where it goes (<c>Product/Group</c>).</param>
/// <param name="RequestId">The caller's correlation id.</param>
public sealed record ProvisionStatus(ProvisionStep Step, string DeviceId, string Placement, string? RequestId)
{
    /// <summary>The cloud.</summary>
    public FleetCloud Cloud { get; init; }

    /// <summary>The tenant, once resolved.</summary>
    public string? TenantId { get; init; }

    /// <summary>The operation being waited for.</summary>
    public string? OperationId { get; init; }

    /// <summary>The target group, once resolved.</summary>
    public string? DeviceGroupId { get; init; }

    /// <summary>The step that failed.</summary>
    public string? FailedStep { get; init; }

    /// <summary>The service's error code (or ours), on failure.</summary>
    public string? ErrorCode { get; init; }

    /// <summary>The service's message, on failure.</summary>
    public string? ErrorMessage { get; init; }

    /// <summary>The HTTP status of the failure, when the service answered.</summary>
    public int? ErrorStatus { get; init; }
}

/// <summary>The output of <c>ProvisionDevice</c>: the device's final placement (ids in the cloud's terms: see <see cref="FleetLocation"/>).</summary>
/// <param name="DeviceId">The device.</param>
/// <param name="TenantId">Sphere tenant id; else the connection.</param>
/// <param name="TenantName">Sphere tenant name; else the application or solution.</param>
/// <param name="ProductId">Sphere product id; IoT Central organization; IoTConnect entity guid.</param>
/// <param name="DeviceGroupId">Sphere or IoT Central device group id; IoTConnect entity guid.</param>
/// <param name="Placement">The target, for people (Sphere: product and group name).</param>
/// <param name="Claimed">Whether this run enrolled it (Sphere claimed; IoT Central wrote; IoTConnect created or acquired it).</param>
/// <param name="Moved">Whether this run moved it (false: it was in the group already).</param>
/// <param name="RequestId">The caller's correlation id.</param>
public sealed record ProvisionResult(
    string DeviceId, string TenantId, string TenantName, string? ProductId, string DeviceGroupId, string Placement, bool Claimed, bool Moved, string? RequestId)
{
    /// <summary>The cloud.</summary>
    public FleetCloud Cloud { get; init; }
}
