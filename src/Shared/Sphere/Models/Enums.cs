namespace Fleet.Shared.Sphere;

/// <summary>What an asynchronous Sphere operation does (sent as an integer).</summary>
public enum OperationType
{
    /// <summary>A device is claimed into a tenant.</summary>
    DeviceClaim = 0,

    /// <summary>A device is released from a tenant.</summary>
    DeviceUnclaim = 1,

    /// <summary>A device is moved to another device group.</summary>
    DeviceUpdateDeviceGroup = 2,

    /// <summary>A tenant is migrated.</summary>
    MigrateTenant = 3,

    /// <summary>A product is created.</summary>
    CreateProduct = 4,

    /// <summary>A deployment is made to a device group.</summary>
    DeployToDeviceGroup = 5,

    /// <summary>A deployment is made to an OS feed.</summary>
    DeployToOSFeed = 6,

    /// <summary>An image is uploaded.</summary>
    ImageUpload = 7,

    /// <summary>A tenant is created.</summary>
    TenantCreation = 8,

    /// <summary>A device group is deleted.</summary>
    DeleteDeviceGroup = 9,

    /// <summary>A product is deleted.</summary>
    DeleteProduct = 10,

    /// <summary>Several devices are claimed at once.</summary>
    BulkDeviceClaim = 11,
}

/// <summary>Progress of an asynchronous Sphere operation (sent as an integer).</summary>
public enum OperationState
{
    /// <summary>Accepted, not yet started.</summary>
    NotStarted = 0,

    /// <summary>Running.</summary>
    InProgress = 1,

    /// <summary>Finished successfully.</summary>
    Complete = 2,

    /// <summary>Finished unsuccessfully; <see cref="SphereOperation.Error"/> says why.</summary>
    Failed = 3,

    /// <summary>Finished, but part of the work failed.</summary>
    CompleteWithErrors = 4,
}

/// <summary>Why an asynchronous Sphere operation failed (sent as an integer).</summary>
public enum OperationErrorCode
{
    /// <summary>Failed for an unspecified reason.</summary>
    OperationFailed = 0,

    /// <summary>The tenant is being migrated.</summary>
    TenantInMigration = 1,

    /// <summary>The tenant must be migrated first.</summary>
    TenantMigrationRequired = 2,

    /// <summary>The client must be updated.</summary>
    ClientUpdateRequired = 3,

    /// <summary>The service failed.</summary>
    InternalServerError = 4,

    /// <summary>The request was invalid.</summary>
    BadRequest = 5,

    /// <summary>The caller may not do this.</summary>
    Forbidden = 6,

    /// <summary>The request conflicts with the current state (for example a device claimed elsewhere).</summary>
    Conflict = 7,

    /// <summary>Something the operation needed does not exist.</summary>
    NotFound = 8,
}

/// <summary>Which Azure Sphere OS feed a device group follows (sent as an integer).</summary>
public enum OsFeedType
{
    /// <summary>The retail OS.</summary>
    Retail = 0,

    /// <summary>The retail evaluation OS, released ahead of retail.</summary>
    RetailEval = 1,
}

/// <summary>Which updates the devices of a group receive (sent as an integer).</summary>
public enum UpdatePolicy
{
    /// <summary>OS and application updates.</summary>
    UpdateAll = 0,

    /// <summary>OS updates only; no third-party application updates.</summary>
    No3rdPartyAppUpdates = 1,

    /// <summary>No updates at all.</summary>
    NoUpdates = 2,
}

/// <summary>Kind of an image (the <c>Type</c> of image metadata; sent as an integer).</summary>
public enum ImageType
{
    /// <summary>Not a valid image type.</summary>
    InvalidImageType = 0,

    /// <summary>First-stage boot loader.</summary>
    OneBl = 1,

    /// <summary>Pluton runtime.</summary>
    PlutonRuntime = 2,

    /// <summary>Wi-Fi firmware.</summary>
    WifiFirmware = 3,

    /// <summary>Security monitor.</summary>
    SecurityMonitor = 4,

    /// <summary>Normal-world loader.</summary>
    NormalWorldLoader = 5,

    /// <summary>Normal-world device tree.</summary>
    NormalWorldDtb = 6,

    /// <summary>Normal-world kernel.</summary>
    NormalWorldKernel = 7,

    /// <summary>Root file system.</summary>
    RootFs = 8,

    /// <summary>System services.</summary>
    Services = 9,

    /// <summary>An application: what customer deployments carry.</summary>
    Applications = 10,

    /// <summary>Firmware configuration.</summary>
    FwConfig = 13,

    /// <summary>Boot manifest.</summary>
    BootManifest = 16,

    /// <summary>Normal-world file system.</summary>
    Nwfs = 17,

    /// <summary>Trusted key store.</summary>
    TrustedKeystore = 19,

    /// <summary>Policy.</summary>
    Policy = 20,

    /// <summary>Customer board configuration.</summary>
    CustomerBoardConfig = 21,

    /// <summary>Update certificate store.</summary>
    UpdateCertStore = 22,

    /// <summary>Base system update manifest.</summary>
    BaseSystemUpdateManifest = 23,

    /// <summary>Firmware update manifest.</summary>
    FirmwareUpdateManifest = 24,

    /// <summary>Customer update manifest.</summary>
    CustomerUpdateManifest = 25,

    /// <summary>Recovery manifest.</summary>
    RecoveryManifest = 26,

    /// <summary>Manifest set.</summary>
    ManifestSet = 27,

    /// <summary>Anything else.</summary>
    Other = 28,
}
