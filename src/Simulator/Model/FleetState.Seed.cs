using System.Text;
using Fleet.Simulator.Api;
using Fleet.Simulator.Auth;

namespace Fleet.Simulator.Model;

internal sealed partial class FleetState
{
    /// <summary>Share of each tenant's claimed devices per default group (Development … Field Test OS Evaluation).</summary>
    private static readonly double[] GroupWeights = [0.10, 0.25, 0.60, 0.03, 0.02];

    private static readonly (string Key, string Name, string[] Products)[] SeedTenants =
    [
        ("A", "Contoso Fleet", ["Thermostat", "Gateway"]),
        ("B", "Fabrikam Fleet", ["Sensor Hub"]),
        ("C", "Northwind Lab", ["Lab Board"]),
    ];

    /// <summary>
    /// Builds the seeded fleet. Everything but timestamps depends only on (Seed, Devices): the same seed gives the same
    /// ids, names, assignments and install outcomes. Timestamps are relative to the clock at seeding.
    /// </summary>
    private void Seed()
    {
        var options = _settings.StartOptions;
        var random = new Random(options.Seed);
        var now = Now();
        var baseTime = new DateTime(now.Ticks - (now.Ticks % TimeSpan.TicksPerSecond), DateTimeKind.Utc);

        _random = random;
        _seq = 0;
        _timeline = new PriorityQueue<Action<DateTime>, (DateTime, long)>();
        _tenants = [];
        _tenantsById = [];
        _products = [];
        _groups = [];
        _devices = new Dictionary<string, DeviceEntity>(StringComparer.Ordinal);
        _unclaimed = new SortedSet<string>(StringComparer.Ordinal);
        _images = [];
        _operations = [];
        _injections = [];

        var productsByTenant = new Dictionary<string, List<ProductEntity>>();
        foreach (var (key, name, productNames) in SeedTenants)
        {
            var tenant = new TenantEntity(NewId(), name, key);
            _tenants.Add(tenant);
            _tenantsById[tenant.Id] = tenant;
            if (key is "A" or "B")
            {
                tenant.Users[KnownIdentities.SystemAssigned.PrincipalId] = (KnownIdentities.SystemAssigned.Name, TenantRole.Contributor);
                tenant.Users[KnownIdentities.FleetAutomation.PrincipalId] = (KnownIdentities.FleetAutomation.Name, TenantRole.Contributor);
            }

            if (key == "A")
            {
                tenant.Users[KnownIdentities.FleetAuditor.PrincipalId] = (KnownIdentities.FleetAuditor.Name, TenantRole.Reader);
            }

            if (key == "C")
            {
                tenant.Users[KnownIdentities.NorthwindAdministrator] = ("northwind-admin", TenantRole.Administrator);
            }

            var products = new List<ProductEntity>();
            foreach (var productName in productNames)
            {
                var product = new ProductEntity(NewId(), tenant.Id, NextSeq()) { Name = productName, Description = $"{productName} devices" };
                _products[product.Id] = product;
                AddDefaultGroups(product);
                SeedImagesAndDeployments(product, baseTime);
                products.Add(product);
            }

            productsByTenant[key] = products;
        }

        SeedDevices(options.Devices, random, baseTime, productsByTenant, options.InstallFailureRate);
    }

    private void SeedImagesAndDeployments(ProductEntity product, DateTime baseTime)
    {
        var component = NewId();
        var slug = product.Name.Replace(" ", string.Empty, StringComparison.Ordinal);
        var images = new List<ImageEntity>();
        foreach (var version in new[] { "1.0", "1.1" })
        {
            var image = new ImageEntity(NewId(), product.TenantId, NextSeq())
            {
                Name = $"{slug}App {version}",
                ComponentId = component,
                Description = $"{product.Name} application {version}",
                Type = ImageType.Applications,
            };
            _images[image.Id] = image;
            images.Add(image);
        }

        // Production runs 1.0 (deployed two days ago); Field Test already runs 1.1 (deployed yesterday).
        var groups = _groups.Values.Where(g => g.ProductId == product.Id).ToDictionary(g => g.Name);
        Deploy(groups["Production"], images[0], baseTime.AddDays(-2));
        Deploy(groups["Field Test"], images[1], baseTime.AddDays(-1));

        void Deploy(GroupEntity group, ImageEntity image, DateTime at)
        {
            var deployment = new DeploymentEntity(NewId(), group.TenantId, group.Id, [image.Id], at, NextSeq());
            group.Deployments.Add(deployment);
            group.CurrentDeployment = deployment;
        }
    }

    private void SeedDevices(int count, Random random, DateTime baseTime, Dictionary<string, List<ProductEntity>> productsByTenant, double installFailureRate)
    {
        var unclaimed = count / 10;
        var northwind = count / 20;
        var rest = count - unclaimed - northwind;
        var contoso = rest * 3 / 5;
        var fabrikam = rest - contoso;
        var plan = new List<string?>(count);
        plan.AddRange(Enumerable.Repeat<string?>(null, unclaimed));
        plan.AddRange(Enumerable.Repeat<string?>("A", contoso));
        plan.AddRange(Enumerable.Repeat<string?>("B", fabrikam));
        plan.AddRange(Enumerable.Repeat<string?>("C", northwind));

        var idBytes = new byte[64];
        var seededInstalls = new List<(DeviceEntity Device, DeploymentEntity Deployment, DateTime At)>();
        foreach (var tenantKey in plan)
        {
            random.NextBytes(idBytes);
            var device = new DeviceEntity(Convert.ToHexString(idBytes))
            {
                LastAvailableOsVersion = "24.03",
                LastInstalledOsVersion = random.NextDouble() < 0.85 ? "24.03" : "23.10",
                LastOsUpdateUtc = baseTime.AddHours(-random.Next(24, 24 * 30)),
                LastUpdateRequestUtc = baseTime.AddMinutes(-random.Next(1, 24 * 60)),
            };
            _devices[device.Id] = device;
            if (tenantKey is null)
            {
                _unclaimed.Add(device.Id);
                continue;
            }

            var tenant = _tenants.First(t => t.Key == tenantKey);
            device.TenantId = tenant.Id;
            tenant.Devices.Add(device.Id);
            if (random.NextDouble() < 0.10)
            {
                continue; // claimed but not assigned to a product or group
            }

            var products = productsByTenant[tenantKey];
            var product = products.Count == 1 || random.NextDouble() < 0.6 ? products[0] : products[1];
            var group = PickGroup(product, random.NextDouble());
            AssignDevice(device, group);
            if (group.CurrentDeployment is not { } deployment)
            {
                continue;
            }

            device.InstallDeploymentId = deployment.Id;
            if (group.UpdatePolicy != UpdatePolicy.UpdateAll)
            {
                device.InstallState = DeviceInstallState.Blocked;
            }
            else if (InstallFails(device.Id, deployment.Id, installFailureRate))
            {
                device.InstallState = DeviceInstallState.Failed;
            }
            else
            {
                seededInstalls.Add((device, deployment, deployment.DeploymentDateUtc.AddMinutes(30)));
            }
        }

        foreach (var (device, deployment, at) in seededInstalls.OrderBy(i => i.At).ThenBy(i => i.Device.Id, StringComparer.Ordinal))
        {
            Install(device, deployment, at);
        }
    }

    private GroupEntity PickGroup(ProductEntity product, double draw)
    {
        var groups = _groups.Values.Where(g => g.ProductId == product.Id).OrderBy(g => g.Seq).ToList();
        var cumulative = 0.0;
        for (var i = 0; i < GroupWeights.Length && i < groups.Count; i++)
        {
            cumulative += GroupWeights[i];
            if (draw < cumulative)
            {
                return groups[i];
            }
        }

        return groups[Math.Min(2, groups.Count - 1)];
    }

    /// <summary>A one-line summary for the start-up banner.</summary>
    public string Summary()
    {
        lock (_gate)
        {
            Advance();
            var sb = new StringBuilder();
            sb.Append("seed ").Append(SeedValue).Append(", ").Append(_devices.Count).Append(" devices: ");
            foreach (var tenant in _tenants)
            {
                sb.Append(tenant.Key).Append(" \"").Append(tenant.Name).Append("\" ").Append(tenant.Id)
                    .Append(" (").Append(tenant.Devices.Count).Append(" claimed, ")
                    .Append(_products.Values.Count(p => p.TenantId == tenant.Id)).Append(" products); ");
            }

            sb.Append(_unclaimed.Count).Append(" unclaimed");
            return sb.ToString();
        }
    }
}
