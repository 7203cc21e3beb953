using System.Text.Encodings.Web;
using System.Text.Json;
using System.Text.Json.Serialization;

namespace Fleet.Simulator.Api;

// Wire shapes of the Azure Sphere public API v2, named exactly as the service names them
// (PascalCase, `…DateUTC` on Operation but `DeploymentDateUtc` on Deployment). Enums travel as integers.

internal enum OperationType
{
    DeviceClaim = 0,
    DeviceUnclaim = 1,
    DeviceUpdateDeviceGroup = 2,
    MigrateTenant = 3,
    CreateProduct = 4,
    DeployToDeviceGroup = 5,
    DeployToOSFeed = 6,
    ImageUpload = 7,
    TenantCreation = 8,
    DeleteDeviceGroup = 9,
    DeleteProduct = 10,
    BulkDeviceClaim = 11,
}

internal enum OperationState
{
    NotStarted = 0,
    InProgress = 1,
    Complete = 2,
    Failed = 3,
    CompleteWithErrors = 4,
}

internal enum OperationErrorCode
{
    OperationFailed = 0,
    TenantInMigration = 1,
    TenantMigrationRequired = 2,
    ClientUpdateRequired = 3,
    InternalServerError = 4,
    BadRequest = 5,
    Forbidden = 6,
    Conflict = 7,
    NotFound = 8,
}

internal enum OsFeedType
{
    Retail = 0,
    RetailEval = 1,
}

internal enum UpdatePolicy
{
    UpdateAll = 0,
    No3rdPartyAppUpdates = 1,
    NoUpdates = 2,
}

internal enum ImageType
{
    InvalidImageType = 0,
    OneBl = 1,
    PlutonRuntime = 2,
    WifiFirmware = 3,
    SecurityMonitor = 4,
    NormalWorldLoader = 5,
    NormalWorldDtb = 6,
    NormalWorldKernel = 7,
    RootFs = 8,
    Services = 9,
    Applications = 10,
    FwConfig = 13,
    BootManifest = 16,
    Nwfs = 17,
    TrustedKeystore = 19,
    Policy = 20,
    CustomerBoardConfig = 21,
    UpdateCertStore = 22,
    BaseSystemUpdateManifest = 23,
    FirmwareUpdateManifest = 24,
    CustomerUpdateManifest = 25,
    RecoveryManifest = 26,
    ManifestSet = 27,
    Other = 28,
}

internal sealed record TenantDto(Guid Id, string Name, IReadOnlyList<string> Roles);

internal sealed record ProductDto(Guid Id, Guid TenantId, string Name, string? Description);

internal sealed record DeploymentDto(Guid Id, Guid TenantId, IReadOnlyList<Guid> DeployedImages, DateTime DeploymentDateUtc);

internal sealed record DeviceGroupDto(
    Guid Id,
    Guid TenantId,
    Guid ProductId,
    string Name,
    string? Description,
    OsFeedType OsFeedType,
    UpdatePolicy UpdatePolicy,
    bool AllowCrashDumpsCollection,
    DeploymentDto? CurrentDeployment);

internal sealed record DeviceDto(
    string DeviceId,
    Guid TenantId,
    Guid? ProductId,
    Guid? DeviceGroupId,
    int ChipSku,
    string? LastAvailableOSVersion,
    string? LastInstalledOSVersion,
    DateTime? LastOSUpdateUTC,
    DateTime? LastUpdateRequestUTC);

internal sealed record ImageMetadataDto(Guid Id, string Name, Guid ComponentId, string? Description, ImageType ImageType, ImageType Type);

internal sealed record OperationErrorDto(OperationErrorCode Code, string Message);

internal sealed record OperationDto(
    Guid OperationId,
    OperationType OperationType,
    OperationState State,
    DateTime CreatedDateUTC,
    DateTime? StartedDateUTC,
    DateTime? CompletedDateUTC,
    string? ResourceLocation,
    string? DetailsLocation,
    OperationErrorDto? Error,
    Guid TenantId);

internal sealed record DeviceInsightDto(
    string DeviceId,
    long StartTimestampInUnix,
    long EndTimestampInUnix,
    string Description,
    string EventType,
    string EventClass,
    string EventCategory,
    int EventCount);

internal sealed record TenantPrincipalDto(Guid PrincipalId, string DisplayName, string? Mail, IReadOnlyList<string> Roles);

internal sealed record TenantUsersDto(Guid TenantId, IReadOnlyList<TenantPrincipalDto> Principals);

internal sealed record PageDto<T>(IReadOnlyList<T> Items, string? ContinuationToken);

/// <summary>One entry of the error array every synchronous failure returns.</summary>
internal sealed record PublicApiErrorDetails(
    string ErrorCode,
    string Title,
    string Detail,
    int Status,
    string Type,
    string Instance,
    IReadOnlyDictionary<string, object?> Extensions);

internal static class SphereJson
{
    /// <summary>PascalCase as declared, nulls written, enums as integers, reads case-insensitively.</summary>
    public static JsonSerializerOptions Options { get; } = new()
    {
        PropertyNamingPolicy = null,
        DictionaryKeyPolicy = null,
        DefaultIgnoreCondition = JsonIgnoreCondition.Never,
        PropertyNameCaseInsensitive = true,
        Encoder = JavaScriptEncoder.UnsafeRelaxedJsonEscaping,
    };
}
