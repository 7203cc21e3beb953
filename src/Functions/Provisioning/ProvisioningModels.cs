using System.ComponentModel.DataAnnotations;
using System.Text.Json.Serialization;
using Fleet.Shared.DesiredState;
using Fleet.Shared.Sphere;

namespace Fleet.Functions.Provisioning;

/// <summary>
/// A provisioning request: the queue message (JSON) and the body of <c>POST /api/provision</c>. A message that fails
/// validation is recorded in the rejected queue with the reason (<see cref="RejectedMessage"/>), not retried.
/// </summary>
public sealed class ProvisioningRequest : IValidatableObject
{
    /// <summary>Tenant id or name; <c>Provisioning:DefaultTenant</c> when absent.</summary>
    public string? TenantId { get; init; }

    /// <summary>The device (128 hexadecimal characters).</summary>
    [Required(ErrorMessage = "deviceId is required.")]
    [RegularExpression("^[0-9A-Fa-f]{128}$", ErrorMessage = "deviceId must be 128 hexadecimal characters.")]
    public string? DeviceId { get; init; }

    /// <summary>Product name.</summary>
    [Required(ErrorMessage = "product is required.")]
    public string? Product { get; init; }

    /// <summary>Device group name within the product.</summary>
    [Required(ErrorMessage = "deviceGroup is required.")]
    public string? DeviceGroup { get; init; }

    /// <summary>The caller's correlation id, echoed in status and result.</summary>
    [StringLength(128, ErrorMessage = "requestId must be at most 128 characters.")]
    public string? RequestId { get; init; }

    /// <inheritdoc />
    public IEnumerable<ValidationResult> Validate(ValidationContext validationContext)
    {
        if (TenantId is not null && string.IsNullOrWhiteSpace(TenantId))
        {
            yield return new ValidationResult("tenantId must not be blank (leave it out to use Provisioning:DefaultTenant).", [nameof(TenantId)]);
        }

        if (!GroupPath.IsValidName(Product?.Trim()))
        {
            yield return new ValidationResult("product must be 1-50 letters, digits and spaces.", [nameof(Product)]);
        }

        if (!GroupPath.IsValidName(DeviceGroup?.Trim()))
        {
            yield return new ValidationResult("deviceGroup must be 1-50 letters, digits and spaces.", [nameof(DeviceGroup)]);
        }
    }
}

/// <summary>The input of <c>ProvisionDevice</c>.</summary>
/// <param name="Tenant">Tenant id or name.</param>
/// <param name="DeviceId">The device, upper-case.</param>
/// <param name="Product">Product name.</param>
/// <param name="DeviceGroup">Device group name.</param>
/// <param name="RequestId">The caller's correlation id.</param>
public sealed record ProvisionInput(string Tenant, string DeviceId, string Product, string DeviceGroup, string? RequestId)
{
    /// <summary>Where the device goes.</summary>
    [JsonIgnore]
    public GroupPath Placement => new(Product, DeviceGroup);
}

/// <summary>What <c>PlanProvisioning</c> found: the tenant and what the policy says about the target group.</summary>
/// <param name="TenantId">Tenant id.</param>
/// <param name="TenantName">Tenant name.</param>
/// <param name="AllowCreate">Whether the policy lets provisioning create a missing product or group.</param>
/// <param name="OsFeedType">The policy's OS feed for the group, used when creating it.</param>
/// <param name="UpdatePolicy">The policy's update policy for the group, used when creating it.</param>
public sealed record ProvisioningPlan(string TenantId, string TenantName, bool AllowCreate, OsFeedType? OsFeedType, UpdatePolicy? UpdatePolicy);

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

/// <summary>The output of <c>ProvisionDevice</c>: the device's final placement.</summary>
/// <param name="DeviceId">The device.</param>
/// <param name="TenantId">Tenant id.</param>
/// <param name="TenantName">Tenant name.</param>
/// <param name="ProductId">Product id.</param>
/// <param name="DeviceGroupId">Device group id.</param>
/// <param name="Placement">Product and group name.</param>
/// <param name="Claimed">Whether this run claimed it (false: it was claimed by the tenant already).</param>
/// <param name="Moved">Whether this run moved it (false: it was in the group already).</param>
/// <param name="RequestId">The caller's correlation id.</param>
public sealed record ProvisionResult(
    string DeviceId, string TenantId, string TenantName, string ProductId, string DeviceGroupId, string Placement, bool Claimed, bool Moved, string? RequestId);
