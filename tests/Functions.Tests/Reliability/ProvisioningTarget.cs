using System.Text.Json;
using Microsoft.DurableTask.Client;
using Fleet.Functions.Provisioning;
using Fleet.Simulator;

namespace Fleet.Functions.Tests.Reliability;

/// <summary>
/// Where a reliability test sends one unclaimed device (spread over both reachable tenants, so each tenant's rate
/// budget is exercised), its queue message, and the check that it got there, read from the simulator's device view.
/// </summary>
internal sealed record ProvisioningTarget(int Index, string DeviceId, TenantDescription Tenant, ProductDescription Product, DeviceGroupDescription Group)
{
    private static readonly (string Tenant, string Product, string Group)[] Placements =
    [
        ("A", "Thermostat", "Field Test"),
        ("A", "Thermostat", "Production"),
        ("A", "Gateway", "Production"),
        ("B", "Sensor Hub", "Field Test"),
        ("B", "Sensor Hub", "Development"),
    ];

    public string InstanceId => ProvisioningStarter.InstanceIdFor(DeviceId);

    /// <summary>The queue message (the tenant by name, the device id in lower case as callers may send it).</summary>
    public string Message() => JsonSerializer.Serialize(
        new { tenantId = Tenant.Name, deviceId = DeviceId.ToLowerInvariant(), product = Product.Name, deviceGroup = Group.Name, requestId = $"reliability-{Index}" },
        TestFleetApp.Json);

    /// <summary>The first <paramref name="count"/> unclaimed devices of the fleet, each with a placement.</summary>
    public static IReadOnlyList<ProvisioningTarget> For(FleetDescription fleet, int count)
    {
        if (fleet.UnclaimedDeviceIds.Count < count)
        {
            throw new InvalidOperationException($"The fleet has {fleet.UnclaimedDeviceIds.Count} unclaimed devices, fewer than {count}.");
        }

        return fleet.UnclaimedDeviceIds.Take(count).Select((deviceId, i) =>
        {
            var (tenantKey, productName, groupName) = Placements[i % Placements.Length];
            var tenant = fleet.GetTenant(tenantKey);
            var product = tenant.GetProduct(productName);
            return new ProvisioningTarget(i, deviceId, tenant, product, product.GetDeviceGroup(groupName));
        }).ToList();
    }

    /// <summary>Every target that is not claimed by its tenant and in its product and group, described; empty when all are.</summary>
    public static async Task<IReadOnlyList<string>> FindMisplacedAsync(
        SimulatorControlClient control, IEnumerable<ProvisioningTarget> targets, CancellationToken cancellationToken)
    {
        var wrong = new List<string>();
        foreach (var target in targets)
        {
            var view = await control.GetDeviceAsync(target.DeviceId, cancellationToken);
            if (!view.Claimed || view.TenantId != target.Tenant.Id || view.ProductId != target.Product.Id || view.DeviceGroupId != target.Group.Id)
            {
                wrong.Add($"{target.DeviceId[..12]}… expected {target.Tenant.Name} {target.Product.Name}/{target.Group.Name} ({target.Group.Id}), " +
                          $"found claimed={view.Claimed} tenant={view.TenantId} product={view.ProductId} group={view.DeviceGroupId}");
            }
        }

        return wrong;
    }

    /// <summary>How many provisioning instances are in each runtime status (in-process client).</summary>
    public static async Task<Dictionary<OrchestrationRuntimeStatus, int>> CountStatusesAsync(DurableTaskClient client, CancellationToken cancellationToken)
    {
        var counts = new Dictionary<OrchestrationRuntimeStatus, int>();
        var query = new OrchestrationQuery(InstanceIdPrefix: ProvisioningStarter.InstancePrefix, PageSize: 1000);
        await foreach (var instance in client.GetAllInstancesAsync(query).WithCancellation(cancellationToken))
        {
            counts[instance.RuntimeStatus] = counts.GetValueOrDefault(instance.RuntimeStatus) + 1;
        }

        return counts;
    }
}
