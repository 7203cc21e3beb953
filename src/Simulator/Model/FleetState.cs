using Fleet.Simulator.Api;

namespace Fleet.Simulator.Model;

/// <summary>Result of checking a caller against a tenant.</summary>
internal enum TenantAccess
{
    Allowed,
    TenantNotFound,
    NotAUser,
}

/// <summary>
/// The simulated Sphere cloud: tenants, products, groups, devices, images, deployments and operations.
/// One lock guards everything; every call first applies the state changes that fell due on the injected clock
/// (operation completions and their side effects, device installs), so the model is deterministic under a fake clock.
/// </summary>
internal sealed partial class FleetState
{
    private readonly object _gate = new();
    private readonly TimeProvider _time;
    private readonly SettingsStore _settings;
    private readonly ILogger _logger;

    private Random _random = null!;
    private long _seq;
    private PriorityQueue<Action<DateTime>, (DateTime Due, long Seq)> _timeline = null!;
    private List<TenantEntity> _tenants = null!;
    private Dictionary<Guid, TenantEntity> _tenantsById = null!;
    private Dictionary<Guid, ProductEntity> _products = null!;
    private Dictionary<Guid, GroupEntity> _groups = null!;
    private Dictionary<string, DeviceEntity> _devices = null!;
    private SortedSet<string> _unclaimed = null!;
    private Dictionary<Guid, ImageEntity> _images = null!;
    private Dictionary<Guid, OperationEntity> _operations = null!;
    private List<PendingInjection> _injections = null!;

    public FleetState(SettingsStore settings, TimeProvider time, ILogger logger)
    {
        _settings = settings;
        _time = time;
        _logger = logger;
        lock (_gate)
        {
            Seed();
        }
    }

    private int SeedValue => _settings.StartOptions.Seed;

    /// <summary>Throws the fleet away and builds the seeded one again (same ids, timestamps from now).</summary>
    public void Reset()
    {
        lock (_gate)
        {
            Seed();
        }
    }

    /// <summary>Whether <paramref name="principalId"/> may use tenant <paramref name="tenantId"/>, and with which role.</summary>
    public TenantAccess CheckAccess(Guid tenantId, Guid principalId, out TenantRole role)
    {
        role = default;
        lock (_gate)
        {
            if (!_tenantsById.TryGetValue(tenantId, out var tenant))
            {
                return TenantAccess.TenantNotFound;
            }

            if (!tenant.Users.TryGetValue(principalId, out var user))
            {
                return TenantAccess.NotAUser;
            }

            role = user.Role;
            return TenantAccess.Allowed;
        }
    }

    private DateTime Now() => _time.GetUtcNow().UtcDateTime;

    /// <summary>Enters the model: applies everything due by now and returns now.</summary>
    private DateTime Advance()
    {
        var now = Now();
        while (_timeline.TryPeek(out var change, out var when) && when.Due <= now)
        {
            _timeline.Dequeue();
            change(when.Due);
        }

        return now;
    }

    private void Schedule(DateTime due, Action<DateTime> change) => _timeline.Enqueue(change, (due, ++_seq));

    private long NextSeq() => ++_seq;

    private Guid NewId() => NewGuid(_random);

    /// <summary>A version-4 uuid drawn from <paramref name="random"/> (so a seed gives the same ids).</summary>
    internal static Guid NewGuid(Random random)
    {
        Span<byte> bytes = stackalloc byte[16];
        random.NextBytes(bytes);
        bytes[7] = (byte)((bytes[7] & 0x0F) | 0x40); // version 4 in Guid's little-endian layout
        bytes[8] = (byte)((bytes[8] & 0x3F) | 0x80); // RFC 4122 variant
        return new Guid(bytes);
    }

    /// <summary>
    /// Whether a device never installs a deployment: a uniform draw from a stable hash of (seed, device, deployment),
    /// so the same devices fail for a given seed regardless of request order or timing.
    /// </summary>
    private bool InstallFails(string deviceId, Guid deploymentId, double rate)
    {
        return StableDraw.Below($"{SeedValue}|{deviceId}|{deploymentId:N}", rate);
    }

    // ---- operations ----

    private sealed class PendingInjection(OperationFailureInjection spec)
    {
        public OperationFailureInjection Spec { get; } = spec;

        public int Remaining { get; set; } = spec.Count;
    }

    public void InjectOperationFailures(OperationFailureInjection injection)
    {
        lock (_gate)
        {
            _injections.Add(new PendingInjection(injection));
        }
    }

    private PendingInjection? TakeInjection(OperationType type)
    {
        foreach (var injection in _injections)
        {
            if (injection.Remaining > 0 && (injection.Spec.OperationType is null || injection.Spec.OperationType == (int)type))
            {
                injection.Remaining--;
                return injection;
            }
        }

        return null;
    }

    /// <summary>Creates an operation that runs <paramref name="complete"/> when it falls due.</summary>
    private ApiResult StartOperation(
        Guid tenantId,
        OperationType type,
        string? resourceLocation,
        Func<DateTime, OperationErrorDto?> complete,
        Action? abort = null,
        OperationErrorDto? presetError = null,
        int status = 202)
    {
        var now = Now();
        var delay = TimeSpan.FromMilliseconds(_settings.Current.OperationDelayMs);
        var injection = presetError is null ? TakeInjection(type) : null;
        var completeWithErrors = injection?.Spec.CompleteWithErrors == true;
        var injectedError = injection is null
            ? null
            : new OperationErrorDto(
                Enum.IsDefined((OperationErrorCode)injection.Spec.ErrorCode) ? (OperationErrorCode)injection.Spec.ErrorCode : OperationErrorCode.OperationFailed,
                injection.Spec.Message ?? $"Failure injected through the simulator control API for {type}.");
        var op = new OperationEntity(NewId(), tenantId, type)
        {
            CreatedUtc = now,
            StartedUtc = now + (delay / 2),
            DueUtc = now + delay,
            ResourceLocation = resourceLocation,
            Complete = complete,
            Abort = abort ?? (() => { }),
            PresetError = presetError ?? (completeWithErrors ? null : injectedError),
        };
        _operations[op.Id] = op;
        Schedule(op.DueUtc, due => FinishOperation(op, due, completeWithErrors ? injectedError : null));
        var dto = ToDto(op, now, initial: true);
        return new ApiResult(status, dto, null);
    }

    private void FinishOperation(OperationEntity op, DateTime due, OperationErrorDto? completeWithErrors)
    {
        OperationErrorDto? error;
        if (op.PresetError is not null)
        {
            op.Abort();
            error = op.PresetError;
        }
        else
        {
            error = op.Complete(due);
            if (error is not null)
            {
                op.Abort();
            }
        }

        op.CompletedUtc = due;
        if (error is not null)
        {
            op.FinalState = OperationState.Failed;
            op.Error = error;
        }
        else if (completeWithErrors is not null)
        {
            op.FinalState = OperationState.CompleteWithErrors;
            op.Error = completeWithErrors;
        }
        else
        {
            op.FinalState = OperationState.Complete;
        }

        _logger.OperationFinished(op.Id, op.Type, op.FinalState.Value);
    }

    /// <summary>A conflict on an Operation-returning call: a synchronous 409, or a Failed operation, as configured.</summary>
    private ApiResult ConflictOr(Guid tenantId, OperationType type, ApiError conflict, int status = 202)
    {
        if (_settings.Current.ConflictReporting == ConflictReporting.Synchronous)
        {
            return conflict;
        }

        return StartOperation(
            tenantId,
            type,
            resourceLocation: null,
            complete: _ => null,
            presetError: new OperationErrorDto(OperationErrorCode.Conflict, $"{conflict.ErrorCode}: {conflict.Detail}"),
            status: status);
    }

    private static OperationDto ToDto(OperationEntity op, DateTime now, bool initial = false)
    {
        var state = op.FinalState
                    ?? (!initial && now >= op.StartedUtc ? OperationState.InProgress : OperationState.NotStarted);
        return new OperationDto(
            op.Id,
            op.Type,
            state,
            op.CreatedUtc,
            state == OperationState.NotStarted ? null : op.StartedUtc,
            op.CompletedUtc,
            op.ResourceLocation,
            null,
            op.Error,
            op.TenantId);
    }

    // ---- devices and installs ----

    /// <summary>Normalises a device id: 128 hex characters, compared case-insensitively, stored upper-case.</summary>
    public static bool TryNormalizeDeviceId(string? value, out string deviceId)
    {
        deviceId = string.Empty;
        if (value is null || value.Length != 128)
        {
            return false;
        }

        foreach (var c in value)
        {
            if (!char.IsAsciiHexDigit(c))
            {
                return false;
            }
        }

        deviceId = value.ToUpperInvariant();
        return true;
    }

    private void AssignDevice(DeviceEntity device, GroupEntity? group)
    {
        if (device.GroupId is { } oldGroup && _groups.TryGetValue(oldGroup, out var old))
        {
            old.Devices.Remove(device.Id);
        }

        if (device.ProductId is { } oldProduct && _products.TryGetValue(oldProduct, out var oldP))
        {
            oldP.Devices.Remove(device.Id);
        }

        device.GroupId = group?.Id;
        device.ProductId = group?.ProductId;
        if (group is not null)
        {
            group.Devices.Add(device.Id);
            _products[group.ProductId].Devices.Add(device.Id);
        }
    }

    /// <summary>The device now meets its group's current deployment: schedule (or block, or confirm) the install.</summary>
    private void TargetDevice(DeviceEntity device, GroupEntity group, DateTime from)
    {
        var deployment = group.CurrentDeployment;
        if (deployment is null)
        {
            device.InstallState = DeviceInstallState.None;
            device.InstallDeploymentId = null;
            return;
        }

        device.InstallDeploymentId = deployment.Id;
        if (device.InstalledDeploymentId == deployment.Id)
        {
            device.InstallState = DeviceInstallState.Installed;
            return;
        }

        if (group.UpdatePolicy != UpdatePolicy.UpdateAll)
        {
            device.InstallState = DeviceInstallState.Blocked;
            return;
        }

        device.InstallState = DeviceInstallState.Pending;
        var due = from + TimeSpan.FromMilliseconds(_settings.Current.InstallDelayMs);
        device.InstallDueUtc = due;
        var deviceId = device.Id;
        var groupId = group.Id;
        var deploymentId = deployment.Id;
        Schedule(due, at => InstallDue(deviceId, groupId, deploymentId, at));
    }

    private void InstallDue(string deviceId, Guid groupId, Guid deploymentId, DateTime at)
    {
        if (!_devices.TryGetValue(deviceId, out var device)
            || device.GroupId != groupId
            || device.InstallDeploymentId != deploymentId
            || device.InstallState != DeviceInstallState.Pending
            || device.InstallDueUtc != at
            || !_groups.TryGetValue(groupId, out var group)
            || group.CurrentDeployment is not { } deployment
            || deployment.Id != deploymentId)
        {
            return; // superseded: the device moved, or the group got another deployment
        }

        if (group.UpdatePolicy != UpdatePolicy.UpdateAll)
        {
            device.InstallState = DeviceInstallState.Blocked;
            return;
        }

        if (InstallFails(deviceId, deploymentId, group.InstallFailureRate ?? _settings.Current.InstallFailureRate))
        {
            device.InstallState = DeviceInstallState.Failed;
            return;
        }

        Install(device, deployment, at);
    }

    private void Install(DeviceEntity device, DeploymentEntity deployment, DateTime at)
    {
        device.InstallState = DeviceInstallState.Installed;
        device.InstallDeploymentId = deployment.Id;
        device.InstalledDeploymentId = deployment.Id;
        device.InstalledImages = deployment.Images;
        device.InstalledAtUtc = at;
        device.LastUpdateRequestUtc = at;
        _tenantsById[deployment.TenantId].Insights.Add(new InsightEvent(device.Id, at, InsightDescription(deployment)));
    }

    /// <summary>The insight text a device reports when it has installed a deployment (documented in docs/simulator.md).</summary>
    internal static string InsightDescription(DeploymentEntity deployment) =>
        $"Installed deployment {deployment.Id} images {string.Join(',', deployment.Images)}";

    internal const string InsightEventType = "AppUpdateInstalled";
    internal const string InsightEventClass = "Success";
    internal const string InsightEventCategory = "AppUpdate";
}
