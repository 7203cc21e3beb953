using System.Collections.Concurrent;
using System.Globalization;
using Fleet.Functions.Clouds;
using Fleet.Functions.Sphere;
using Fleet.Shared.DesiredState;
using Fleet.Shared.FleetClouds;

namespace Fleet.Functions.Compliance;

/// <summary>
/// The sweep's steps for a device set of the policy (IoT Central, IoTConnect), through the port: resolve the set's
/// placement once (stored as the set's catalog), then judge the scope's devices page by page — devices of the set's
/// template (and id prefix) outside the placement are <see cref="DriftKind.WrongGroup"/>, on another version than its
/// deployment <see cref="DriftKind.WrongVersion"/>.
/// </summary>
public sealed class DeviceSetSweep(FleetCloudAdapters adapters, ReportStore store, SweepContextCache cache)
{
    private readonly ConcurrentDictionary<string, FleetLocation> _locations = new(StringComparer.Ordinal);

    /// <summary>The groups phase of a device set: resolves and stores its placement.</summary>
    public async Task<ApiResult<GroupPhaseResult>> GroupsAsync(TenantScope scope, CancellationToken cancellationToken)
    {
        var set = await SetAsync(scope, cancellationToken);
        var adapter = adapters.Get(set.Target.Cloud);
        FleetStepResult resolved;
        try
        {
            resolved = await adapter.ResolveTargetAsync(set.Target, cancellationToken);
        }
        catch (Exception ex) when (adapter.Refusal(ex) is { } refusal)
        {
            resolved = FleetStepResult.Failed(refusal);
        }

        if (resolved.Location is not { } location)
        {
            var error = resolved.Error ?? new FleetError(0, FleetError.DeviceGroupNotFound, $"The placement {set.Target} could not be resolved.");
            return ApiResult.Failed<GroupPhaseResult>(error.ToAppError());
        }

        await store.WriteJsonAsync(ReportStore.CatalogBlob(scope), location, indented: false, cancellationToken);
        _locations[ReportStore.CatalogBlob(scope)] = location;
        await store.WriteJsonAsync(ReportStore.FindingsBlob(scope, "groups"), new FindingsRecord("groups", null, 0, [], [], []), indented: false, cancellationToken);
        return ApiResult.Ok(new GroupPhaseResult(1, new Dictionary<DriftKind, int>(), 0, [], 0));
    }

    /// <summary>One page of the scope's devices, judged against the set.</summary>
    public async Task<ApiResult<DevicePageResult>> PageAsync(DevicePageRequest request, CancellationToken cancellationToken)
    {
        var scope = request.Scope;
        var set = await SetAsync(scope, cancellationToken);
        var location = await LocationAsync(scope, cancellationToken);
        var adapter = adapters.Get(set.Target.Cloud);
        FleetDevicePage page;
        try
        {
            page = await adapter.GetDevicesAsync(set.Target, request.Continuation, request.PageSize, set.Deployment, cancellationToken);
        }
        catch (Exception ex) when (adapter.Refusal(ex) is { } refusal)
        {
            return ApiResult.Failed<DevicePageResult>(refusal.ToAppError());
        }

        var members = page.Devices.Where(d => string.Equals(d.TemplateId, location.TemplateId, StringComparison.OrdinalIgnoreCase) && set.Includes(d.DeviceId)).ToList();
        var findings = Judge(adapter, set, scope.TenantId, location, members);
        var step = "devices-" + request.PageIndex.ToString("D6", CultureInfo.InvariantCulture);
        await store.WriteJsonAsync(ReportStore.FindingsBlob(scope, step),
            new FindingsRecord("devices", request.PageIndex, members.Count, [], findings, []), indented: false, cancellationToken);
        return ApiResult.Ok(new DevicePageResult(page.Continuation, members.Count,
            findings.GroupBy(f => f.Kind).ToDictionary(g => g.Key, g => g.Count()),
            request.IncludeItems ? [.. findings.Where(f => f.Remediable)] : []));
    }

    /// <summary>The findings of a set's members (pure).</summary>
    internal static List<DriftFinding> Judge(IFleetCloudAdapter adapter, DeviceSetPolicy set, string tenantId, FleetLocation location, IEnumerable<FleetDevice> members)
    {
        var findings = new List<DriftFinding>();
        foreach (var device in members)
        {
            if (!adapter.IsPlaced(device, location))
            {
                findings.Add(new DriftFinding
                {
                    Id = $"{DriftKind.WrongGroup}:{device.DeviceId}",
                    Kind = DriftKind.WrongGroup,
                    TenantId = tenantId,
                    DeviceId = device.DeviceId,
                    Current = Describe(device),
                    Expected = set.Target.ToString(),
                    Placement = set.Target,
                    Location = location,
                    Remediable = set.Remediate,
                    Note = set.Remediate ? null : "The device set says remediate: false.",
                });
            }

            if (set.Deployment is { } deployment && !string.Equals(device.Version, deployment.Version, StringComparison.Ordinal))
            {
                findings.Add(new DriftFinding
                {
                    Id = $"{DriftKind.WrongVersion}:{device.DeviceId}",
                    Kind = DriftKind.WrongVersion,
                    TenantId = tenantId,
                    DeviceId = device.DeviceId,
                    Current = device.Version ?? "no version reported",
                    Expected = deployment.Version,
                    Placement = set.Target,
                    Location = location,
                    ExpectedDeployment = deployment,
                    Remediable = set.Remediate,
                    Note = set.Remediate ? null : "The device set says remediate: false.",
                });
            }
        }

        return findings;
    }

    private static string Describe(FleetDevice device) =>
        device.GroupId is { } group ? $"entity {group}" : $"organization {device.ParentId ?? "(none)"}";

    private async Task<DeviceSetPolicy> SetAsync(TenantScope scope, CancellationToken cancellationToken)
    {
        var policy = await cache.GetPolicyAsync(scope.SweepId, cancellationToken);
        return policy.DeviceSets.FirstOrDefault(s => string.Equals(s.Name, scope.DeviceSet, StringComparison.OrdinalIgnoreCase))
            ?? throw new InvalidOperationException($"The policy of sweep '{scope.SweepId}' has no device set '{scope.DeviceSet}'.");
    }

    private async Task<FleetLocation> LocationAsync(TenantScope scope, CancellationToken cancellationToken)
    {
        var blob = ReportStore.CatalogBlob(scope);
        if (_locations.TryGetValue(blob, out var location))
        {
            return location;
        }

        location = await store.ReadJsonAsync<FleetLocation>(blob, cancellationToken)
            ?? throw new InvalidOperationException($"Sweep '{scope.SweepId}' has no placement of device set {scope.DeviceSet} yet.");
        _locations[blob] = location;
        return location;
    }
}
