using Fleet.Simulator.Auth;

namespace Fleet.Simulator.Model;

internal sealed partial class FleetState
{
    public FleetDescription Describe()
    {
        lock (_gate)
        {
            Advance();
            var tenants = _tenants.Select(t => new TenantDescription(
                t.Id,
                t.Name,
                t.Key,
                t.Users.OrderBy(u => u.Value.DisplayName, StringComparer.Ordinal)
                    .Select(u => new TenantUserDescription(u.Key, u.Value.DisplayName, u.Value.Role)).ToList(),
                _products.Values.Where(p => p.TenantId == t.Id && !p.Pending).OrderBy(p => p.Seq).Select(p => new ProductDescription(
                    p.Id,
                    p.Name,
                    p.Devices.Count,
                    _groups.Values.Where(g => g.ProductId == p.Id).OrderBy(g => g.Seq).Select(DescribeGroup).ToList())).ToList(),
                _images.Values.Where(i => i.TenantId == t.Id && !i.Pending).OrderBy(i => i.Seq)
                    .Select(i => new ImageDescription(i.Id, i.Name, i.ComponentId)).ToList(),
                t.Devices.Count,
                t.Devices.Where(id => _devices[id].GroupId is null).ToList())).ToList();
            return new FleetDescription(
                SeedValue,
                _devices.Count,
                KnownIdentities.EntraTenantId,
                KnownIdentities.SystemAssigned,
                KnownIdentities.UserAssigned,
                tenants,
                _unclaimed.Where(id => _devices[id].PendingClaimTenantId is null).ToList());
        }
    }

    private DeviceGroupDescription DescribeGroup(GroupEntity g) => new(
        g.Id,
        g.Name,
        (int)g.OsFeedType,
        (int)g.UpdatePolicy,
        g.CurrentDeployment?.Id,
        g.CurrentDeployment?.Images ?? [],
        g.Devices.Count,
        g.InstallFailureRate,
        g.Devices.Take(3).ToList());

    public DeviceView? DescribeDevice(string rawDeviceId)
    {
        if (!TryNormalizeDeviceId(rawDeviceId, out var deviceId))
        {
            return null;
        }

        lock (_gate)
        {
            Advance();
            if (!_devices.TryGetValue(deviceId, out var d))
            {
                return null;
            }

            var targeted = TargetedDeployment(d);
            return new DeviceView(
                d.Id,
                d.TenantId is not null,
                d.TenantId,
                d.ProductId,
                d.GroupId,
                targeted?.Id,
                targeted?.Images ?? [],
                d.InstallState,
                d.InstalledDeploymentId,
                d.InstalledImages,
                d.InstalledAtUtc);
        }
    }

    public GroupInstallStatus? GetGroupInstallStatus(Guid groupId)
    {
        lock (_gate)
        {
            Advance();
            if (!_groups.TryGetValue(groupId, out var g))
            {
                return null;
            }

            var current = g.CurrentDeployment?.Id;
            int installed = 0, pending = 0, failed = 0, blocked = 0;
            foreach (var id in g.Devices)
            {
                var d = _devices[id];
                if (current is null || d.InstallDeploymentId != current)
                {
                    continue;
                }

                switch (d.InstallState)
                {
                    case DeviceInstallState.Installed: installed++; break;
                    case DeviceInstallState.Pending: pending++; break;
                    case DeviceInstallState.Failed: failed++; break;
                    case DeviceInstallState.Blocked: blocked++; break;
                    default: break;
                }
            }

            return new GroupInstallStatus(g.Id, current, g.Devices.Count, installed, pending, failed, blocked,
                g.InstallFailureRate ?? _settings.Current.InstallFailureRate);
        }
    }

    /// <summary>Sets (or clears, with null) a device group's own install failure rate.</summary>
    public bool SetGroupInstallFailureRate(Guid groupId, double? rate)
    {
        lock (_gate)
        {
            Advance();
            if (!_groups.TryGetValue(groupId, out var g))
            {
                return false;
            }

            g.InstallFailureRate = rate;
            return true;
        }
    }

    /// <summary>Gives a principal a role in a tenant, or removes it from the tenant's users (null role).</summary>
    public bool SetTenantUser(Guid tenantId, Guid principalId, TenantRole? role, string? displayName)
    {
        lock (_gate)
        {
            if (!_tenantsById.TryGetValue(tenantId, out var tenant))
            {
                return false;
            }

            if (role is null)
            {
                tenant.Users.Remove(principalId);
                return true;
            }

            var name = displayName
                       ?? (tenant.Users.TryGetValue(principalId, out var existing) ? existing.DisplayName : null)
                       ?? KnownName(principalId);
            tenant.Users[principalId] = (name, role.Value);
            return true;
        }
    }

    private static string KnownName(Guid principalId) =>
        new[] { KnownIdentities.SystemAssigned }.Concat(KnownIdentities.UserAssigned)
            .FirstOrDefault(i => i.PrincipalId == principalId)?.Name ?? principalId.ToString();
}
