using System.Text.Json.Serialization;

namespace Fleet.Shared.Sphere;

/// <summary>A Sphere tenant the caller is a user of, with the caller's roles in it.</summary>
/// <param name="Id">Tenant id (a GUID).</param>
/// <param name="Name">Friendly name.</param>
/// <param name="Roles">The caller's roles, e.g. <c>Contributor</c>.</param>
public sealed record Tenant(string Id, string Name, IReadOnlyList<string>? Roles);

/// <summary>A product: the kind of device a set of device groups belongs to.</summary>
/// <param name="Id">Product id (a GUID).</param>
/// <param name="TenantId">Owning tenant.</param>
/// <param name="Name">Name, unique in the tenant.</param>
/// <param name="Description">Optional description.</param>
public sealed record Product(string Id, string TenantId, string Name, string? Description);

/// <summary>A device group of a product: devices that share an OS feed, update policy and deployment.</summary>
/// <param name="Id">Device group id (a GUID).</param>
/// <param name="TenantId">Owning tenant.</param>
/// <param name="ProductId">Owning product.</param>
/// <param name="Name">Name, unique in the product.</param>
/// <param name="Description">Optional description.</param>
/// <param name="OsFeedType">OS feed the devices follow.</param>
/// <param name="UpdatePolicy">Which updates the devices receive.</param>
/// <param name="AllowCrashDumpsCollection">Whether crash dumps are collected.</param>
/// <param name="CurrentDeployment">The deployment the group's devices should run, if any.</param>
public sealed record DeviceGroup(
    string Id,
    string TenantId,
    string ProductId,
    string Name,
    string? Description,
    OsFeedType OsFeedType,
    UpdatePolicy UpdatePolicy,
    bool AllowCrashDumpsCollection,
    Deployment? CurrentDeployment);

/// <summary>A device claimed into a tenant.</summary>
/// <param name="DeviceId">Device id (128 hexadecimal characters).</param>
/// <param name="TenantId">Owning tenant.</param>
/// <param name="ProductId">Product, or null while unassigned.</param>
/// <param name="DeviceGroupId">Device group, or null while unassigned.</param>
/// <param name="ChipSku">Chip SKU (0 = MT3620AN).</param>
/// <param name="LastAvailableOSVersion">Newest OS version available to the device.</param>
/// <param name="LastInstalledOSVersion">OS version last reported installed.</param>
/// <param name="LastOSUpdateUtc">When the OS was last updated.</param>
/// <param name="LastUpdateRequestUtc">When the device last asked for updates.</param>
public sealed record Device(
    string DeviceId,
    string? TenantId,
    string? ProductId,
    string? DeviceGroupId,
    int ChipSku,
    string? LastAvailableOSVersion,
    string? LastInstalledOSVersion,
    [property: JsonPropertyName("LastOSUpdateUTC")] DateTimeOffset? LastOSUpdateUtc,
    [property: JsonPropertyName("LastUpdateRequestUTC")] DateTimeOffset? LastUpdateRequestUtc);

/// <summary>A set of images deployed to a device group.</summary>
/// <param name="Id">Deployment id.</param>
/// <param name="TenantId">Owning tenant.</param>
/// <param name="DeployedImages">Ids of the images the deployment carries.</param>
/// <param name="DeploymentDateUtc">When the deployment was made.</param>
public sealed record Deployment(
    string Id,
    string? TenantId,
    IReadOnlyList<string> DeployedImages,
    DateTimeOffset? DeploymentDateUtc);

/// <summary>Metadata of an uploaded image.</summary>
/// <param name="Id">Image id.</param>
/// <param name="Name">Image name.</param>
/// <param name="ComponentId">Component the image belongs to.</param>
/// <param name="Description">Optional description.</param>
/// <param name="LegacyImageType">The deprecated <c>ImageType</c> member, a duplicate of <paramref name="Type"/>.</param>
/// <param name="Type">Kind of image.</param>
public sealed record ImageMetadata(
    string Id,
    string? Name,
    string? ComponentId,
    string? Description,
    [property: JsonPropertyName("ImageType")] int? LegacyImageType,
    ImageType Type);

/// <summary>An event reported by a device (from <c>getDeviceInsights</c>), e.g. an application update.</summary>
/// <param name="DeviceId">Device the event is about.</param>
/// <param name="StartTimestampInUnix">Start of the event, Unix seconds.</param>
/// <param name="EndTimestampInUnix">End of the event, Unix seconds.</param>
/// <param name="Description">Free text (for updates it names the deployment and images).</param>
/// <param name="EventType">Event type.</param>
/// <param name="EventClass">Event class.</param>
/// <param name="EventCategory">Event category, e.g. <c>AppUpdate</c>.</param>
/// <param name="EventCount">How many times the event occurred.</param>
public sealed record DeviceInsight(
    string DeviceId,
    long StartTimestampInUnix,
    long EndTimestampInUnix,
    string? Description,
    string? EventType,
    string? EventClass,
    string? EventCategory,
    int EventCount);

/// <summary>An asynchronous Sphere operation, as returned by the writes that do not finish at once.</summary>
/// <param name="OperationId">Operation id, for <c>operations/{id}</c>.</param>
/// <param name="OperationType">What the operation does.</param>
/// <param name="State">How far it has got.</param>
/// <param name="CreatedDateUtc">When it was accepted.</param>
/// <param name="StartedDateUtc">When it started.</param>
/// <param name="CompletedDateUtc">When it finished.</param>
/// <param name="ResourceLocation">Where the resource it created can be read.</param>
/// <param name="DetailsLocation">Where details of the operation can be read.</param>
/// <param name="Error">Why it failed, when <see cref="State"/> is <see cref="OperationState.Failed"/>.</param>
/// <param name="TenantId">Tenant the operation runs in.</param>
public sealed record SphereOperation(
    string OperationId,
    OperationType OperationType,
    OperationState State,
    [property: JsonPropertyName("CreatedDateUTC")] DateTimeOffset? CreatedDateUtc,
    [property: JsonPropertyName("StartedDateUTC")] DateTimeOffset? StartedDateUtc,
    [property: JsonPropertyName("CompletedDateUTC")] DateTimeOffset? CompletedDateUtc,
    string? ResourceLocation,
    string? DetailsLocation,
    OperationError? Error,
    string? TenantId)
{
    /// <summary>True once the operation will not change any more (Complete, Failed or CompleteWithErrors).</summary>
    [JsonIgnore]
    public bool IsFinished => State is OperationState.Complete or OperationState.Failed
        or OperationState.CompleteWithErrors;
}

/// <summary>Why an operation failed.</summary>
/// <param name="Code">Error code.</param>
/// <param name="Message">Explanation.</param>
public sealed record OperationError(OperationErrorCode? Code, string? Message);

/// <summary>One entry of a Sphere error body (<c>PublicApiErrorDetails</c>, RFC 7807 style).</summary>
/// <param name="ErrorCode">Service error code, e.g. <c>DeviceNotFound</c>.</param>
/// <param name="Title">Short summary of the problem type.</param>
/// <param name="Detail">Explanation of this occurrence.</param>
/// <param name="Status">HTTP status code.</param>
/// <param name="Type">URI of the problem type.</param>
/// <param name="Instance">URI of this occurrence.</param>
public sealed record ApiErrorDetails(
    string? ErrorCode,
    string? Title,
    string? Detail,
    int? Status,
    string? Type,
    string? Instance);
