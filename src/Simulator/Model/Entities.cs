using Fleet.Simulator.Api;

namespace Fleet.Simulator.Model;

// Mutable in-memory entities. Only FleetState touches them, always under its lock.

internal sealed class TenantEntity(Guid id, string name, string key)
{
    public Guid Id { get; } = id;

    public string Name { get; } = name;

    public string Key { get; } = key;

    public Dictionary<Guid, (string DisplayName, TenantRole Role)> Users { get; } = [];

    public SortedSet<string> Devices { get; } = new(StringComparer.Ordinal);

    public List<InsightEvent> Insights { get; } = [];
}

internal sealed class ProductEntity(Guid id, Guid tenantId, long seq)
{
    public Guid Id { get; } = id;

    public Guid TenantId { get; } = tenantId;

    public long Seq { get; } = seq;

    public required string Name { get; set; }

    public string? Description { get; set; }

    /// <summary>Created by an Operation that has not completed: reserves the name, invisible to reads.</summary>
    public bool Pending { get; set; }

    public SortedSet<string> Devices { get; } = new(StringComparer.Ordinal);
}

internal sealed class GroupEntity(Guid id, Guid tenantId, Guid productId, long seq)
{
    public Guid Id { get; } = id;

    public Guid TenantId { get; } = tenantId;

    public Guid ProductId { get; } = productId;

    public long Seq { get; } = seq;

    public required string Name { get; set; }

    public string? Description { get; set; }

    public OsFeedType OsFeedType { get; set; }

    public UpdatePolicy UpdatePolicy { get; set; }

    public bool AllowCrashDumpsCollection { get; set; }

    public DeploymentEntity? CurrentDeployment { get; set; }

    public List<DeploymentEntity> Deployments { get; } = [];

    public SortedSet<string> Devices { get; } = new(StringComparer.Ordinal);

    /// <summary>Overrides the global install failure rate for this group when set.</summary>
    public double? InstallFailureRate { get; set; }
}

internal sealed record DeploymentEntity(Guid Id, Guid TenantId, Guid GroupId, IReadOnlyList<Guid> Images, DateTime DeploymentDateUtc, long Seq);

internal sealed class ImageEntity(Guid id, Guid tenantId, long seq)
{
    public Guid Id { get; } = id;

    public Guid TenantId { get; } = tenantId;

    public long Seq { get; } = seq;

    public required string Name { get; init; }

    public required Guid ComponentId { get; init; }

    public string? Description { get; init; }

    public ImageType Type { get; init; } = ImageType.Applications;

    public bool Pending { get; set; }
}

internal sealed class DeviceEntity(string id)
{
    public string Id { get; } = id;

    public Guid? TenantId { get; set; }

    /// <summary>Tenant whose claim Operation is still running; blocks other claims.</summary>
    public Guid? PendingClaimTenantId { get; set; }

    public Guid? ProductId { get; set; }

    public Guid? GroupId { get; set; }

    public string? LastAvailableOsVersion { get; set; }

    public string? LastInstalledOsVersion { get; set; }

    public DateTime? LastOsUpdateUtc { get; set; }

    public DateTime? LastUpdateRequestUtc { get; set; }

    public DeviceInstallState InstallState { get; set; }

    /// <summary>The deployment the install state refers to (pending, installed, failed or blocked).</summary>
    public Guid? InstallDeploymentId { get; set; }

    /// <summary>When the pending install falls due; a stale scheduled install no longer matches it.</summary>
    public DateTime? InstallDueUtc { get; set; }

    public Guid? InstalledDeploymentId { get; set; }

    public IReadOnlyList<Guid> InstalledImages { get; set; } = [];

    public DateTime? InstalledAtUtc { get; set; }
}

internal sealed record InsightEvent(string DeviceId, DateTime TimestampUtc, string Description);

internal sealed class OperationEntity(Guid id, Guid tenantId, OperationType type)
{
    public Guid Id { get; } = id;

    public Guid TenantId { get; } = tenantId;

    public OperationType Type { get; } = type;

    public DateTime CreatedUtc { get; init; }

    public DateTime StartedUtc { get; init; }

    public DateTime DueUtc { get; init; }

    public string? ResourceLocation { get; set; }

    public OperationState? FinalState { get; set; }

    public DateTime? CompletedUtc { get; set; }

    public OperationErrorDto? Error { get; set; }

    /// <summary>The side effect, run when the operation falls due; returns an error to fail it.</summary>
    public Func<DateTime, OperationErrorDto?> Complete { get; init; } = _ => null;

    /// <summary>Releases reservations when the operation fails without running <see cref="Complete"/>.</summary>
    public Action Abort { get; init; } = () => { };

    /// <summary>A failure decided at creation (conflict reporting or injected failure).</summary>
    public OperationErrorDto? PresetError { get; init; }
}
