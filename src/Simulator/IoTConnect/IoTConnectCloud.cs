using Fleet.Simulator.Model;

namespace Fleet.Simulator.IoTConnect;

/// <summary>A solution's login, as the auth service checks it.</summary>
internal sealed record SolutionLogin(string Key, string SolutionKey, string Username, string Password);

/// <summary>
/// The simulated IoTConnect account data: solutions with their entity trees, templates, devices, firmware and OTA
/// updates. Like the Sphere model, one lock guards everything and every call first applies the changes that fell due
/// on the injected clock (OTA items moving Pending → Sent → Success/Failed), so a fake clock makes it deterministic.
/// </summary>
internal sealed partial class IoTConnectCloud
{
    private static readonly (string Key, string Name, string Prefix, (string Code, string Name, double Share)[] Templates)[] SeedSolutions =
    [
        ("A", "Contoso", "contoso", [("THERMO", "Thermostat", 0.6), ("GATEWAY", "Gateway", 0.4)]),
        ("B", "Fabrikam", "fabrikam", [("SENSOR", "Sensor Hub", 1.0)]),
    ];

    // Where seeded devices live: (entity, share, seeded firmware version).
    private static readonly (string Entity, double Share, string Software)[] Placement =
    [
        ("Production East", 0.30, "1.0"),
        ("Production West", 0.30, "1.0"),
        ("Field Test", 0.25, "1.1"),
        ("Development", 0.10, "1.1"),
        (string.Empty, 0.05, "1.0"),
    ];

    private readonly object _gate = new();
    private readonly TimeProvider _time;
    private readonly IoTConnectSettingsStore _settings;
    private readonly int _seedValue;
    private readonly int _deviceCount;

    private Random _random = null!;
    private long _seq;
    private PriorityQueue<Action<DateTime>, (DateTime Due, long Seq)> _timeline = null!;
    private List<SolutionState> _solutions = null!;
    private Dictionary<string, SolutionState> _bySolutionKey = null!;

    public IoTConnectCloud(int seed, int devices, IoTConnectSettingsStore settings, TimeProvider time)
    {
        _seedValue = seed;
        _deviceCount = devices;
        _settings = settings;
        _time = time;
        lock (_gate)
        {
            Seed();
        }
    }

    /// <summary>Back to the seeded solutions (same ids and credentials; timestamps from now).</summary>
    public void Reset()
    {
        lock (_gate)
        {
            Seed();
        }
    }

    /// <summary>The login of the solution with this solution key, if any.</summary>
    public SolutionLogin? FindLogin(string? solutionKey)
    {
        if (string.IsNullOrEmpty(solutionKey))
        {
            return null;
        }

        lock (_gate)
        {
            return _bySolutionKey.TryGetValue(solutionKey, out var s) ? new SolutionLogin(s.Key, s.SolutionKey, s.Username, s.Password) : null;
        }
    }

    /// <summary>The solution key of a solution named by key ("A") or name, if any.</summary>
    public string? ResolveSolutionKey(string keyOrName)
    {
        lock (_gate)
        {
            return _solutions.FirstOrDefault(s => string.Equals(s.Key, keyOrName, StringComparison.OrdinalIgnoreCase)
                                                  || string.Equals(s.Name, keyOrName, StringComparison.OrdinalIgnoreCase))?.SolutionKey;
        }
    }

    public IoTConnectDescription Describe(IoTConnectBaseUrls baseUrls)
    {
        lock (_gate)
        {
            Advance();
            return new IoTConnectDescription(baseUrls, IoTConnectDiscovery.Environment, _solutions.Select(s => new IoTConnectSolutionDescription(
                s.Key,
                s.Name,
                s.SolutionKey,
                s.Username,
                s.Password,
                s.RootEntityGuid,
                s.Entities.Select(e => new IoTConnectEntityDescription(e.Guid, e.Name, e.ParentGuid, s.Devices.Count(d => d.EntityGuid == e.Guid))).ToList(),
                s.Templates.Select(t =>
                {
                    var firmware = s.Firmware.FirstOrDefault(f => f.TemplateGuid == t.Guid && !f.Deprecated);
                    return new IoTConnectTemplateDescription(t.Guid, t.Code, t.Name, firmware?.Guid, firmware?.Name,
                        firmware?.Upgrades.Select(u => new IoTConnectUpgradeDescription(u.Guid, u.Software, u.Released)).ToList() ?? []);
                }).ToList(),
                s.Devices.Count,
                s.Devices.Take(3).Select(d => d.UniqueId).ToList())).ToList());
        }
    }

    public IoTConnectDeviceView? DescribeDevice(string uniqueId)
    {
        lock (_gate)
        {
            Advance();
            foreach (var s in _solutions)
            {
                if (s.DevicesByUniqueId.TryGetValue(uniqueId, out var d))
                {
                    var upgrade = d.FirmwareUpgradeGuid is { } g && s.UpgradesByGuid.TryGetValue(g, out var u) ? u : null;
                    return new IoTConnectDeviceView(d.Guid, d.UniqueId, s.SolutionKey, d.TemplateGuid, d.EntityGuid, d.Acquired, d.FirmwareUpgradeGuid, upgrade?.Software);
                }
            }

            return null;
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

    private Guid NewId() => FleetState.NewGuid(_random);

    private string Hex(int bytes)
    {
        var buffer = new byte[bytes];
        _random.NextBytes(buffer);
        return Convert.ToHexStringLower(buffer);
    }

    /// <summary>Runs <paramref name="call"/> on the solution of <paramref name="solutionKey"/> under the lock, after applying due changes.</summary>
    private IoTConnectReply With(string solutionKey, Func<SolutionState, DateTime, IoTConnectReply> call)
    {
        lock (_gate)
        {
            var now = Advance();
            return _bySolutionKey.TryGetValue(solutionKey, out var solution)
                ? call(solution, now)
                : IoTConnectReply.NotFound("SolutionNotFound", "The solution of this token no longer exists.");
        }
    }

    /// <summary>
    /// Builds the seeded solutions. Everything but timestamps depends only on (Seed, Devices), from a generator of
    /// its own, so the Sphere fleet of the same seed is unchanged by IoTConnect's presence.
    /// </summary>
    private void Seed()
    {
        _random = new Random(unchecked((_seedValue * 48271) + 11));
        _seq = 0;
        _timeline = new PriorityQueue<Action<DateTime>, (DateTime, long)>();
        _solutions = [];
        _bySolutionKey = new Dictionary<string, SolutionState>(StringComparer.Ordinal);
        var now = Now();
        var baseTime = new DateTime(now.Ticks - (now.Ticks % TimeSpan.TicksPerSecond), DateTimeKind.Utc);
        var fabrikamDevices = _deviceCount / 5;
        foreach (var (key, name, prefix, templates) in SeedSolutions)
        {
            var solution = new SolutionState(key, name, Hex(16), $"ops@{prefix}.example", "Sim-" + Hex(8));
            _solutions.Add(solution);
            _bySolutionKey[solution.SolutionKey] = solution;
            SeedSolution(solution, prefix, templates, key == "A" ? _deviceCount - fabrikamDevices : fabrikamDevices, baseTime);
        }
    }

    private void SeedSolution(SolutionState s, string prefix, (string Code, string Name, double Share)[] templates, int devices, DateTime baseTime)
    {
        var created = baseTime.AddDays(-30);
        var root = AddEntity(s, s.Name, null, $"{s.Name} company", created);
        s.RootEntityGuid = root.Guid;
        var production = AddEntity(s, "Production", root.Guid, null, created);
        AddEntity(s, "Production East", production.Guid, null, created);
        AddEntity(s, "Production West", production.Guid, null, created);
        AddEntity(s, "Field Test", root.Guid, null, created);
        AddEntity(s, "Development", root.Guid, null, created);

        foreach (var (code, templateName, _) in templates)
        {
            var template = new TemplateRecord(NewId(), code, templateName, authType: 1, created);
            s.Templates.Add(template);
            s.TemplatesByGuid[template.Guid] = template;
            var firmware = new FirmwareRecord(NewId(), code + "FW", "1.0", template.Guid, $"{templateName} firmware", created);
            s.Firmware.Add(firmware);
            foreach (var (software, released) in new[] { ("1.0", true), ("1.1", true), ("1.2", false) })
            {
                AddUpgrade(s, firmware, software, $"{templateName} {software}", created).Released = released;
            }
        }

        for (var i = 1; i <= devices; i++)
        {
            var draw = _random.NextDouble();
            var template = s.Templates[^1];
            for (var (t, cumulative) = (0, 0.0); t < templates.Length; t++)
            {
                cumulative += templates[t].Share;
                if (draw < cumulative)
                {
                    template = s.Templates[t];
                    break;
                }
            }

            var (entityName, software) = PickPlacement(_random.NextDouble());
            var entity = entityName.Length == 0 ? root : s.Entities.First(e => e.Name == entityName);
            var device = new DeviceRecord(NewId(), $"{prefix}-{i:D6}", template.Guid, entity.Guid, created.AddMinutes(i % 1440))
            {
                DisplayName = $"{template.Name} {i}",
                Acquired = _random.NextDouble() < 0.95,
            };
            device.Connected = device.Acquired && _random.NextDouble() < 0.9;
            if (device.Acquired)
            {
                device.FirmwareUpgradeGuid = s.Firmware.First(f => f.TemplateGuid == template.Guid).Upgrades.First(u => u.Software == software).Guid;
                device.LastActivity = baseTime.AddMinutes(-_random.Next(1, 24 * 60));
            }

            AddDevice(s, device);
        }
    }

    private static (string Entity, string Software) PickPlacement(double draw)
    {
        var cumulative = 0.0;
        foreach (var (entity, share, software) in Placement)
        {
            cumulative += share;
            if (draw < cumulative)
            {
                return (entity, software);
            }
        }

        return (Placement[0].Entity, Placement[0].Software);
    }

    private EntityRecord AddEntity(SolutionState s, string name, Guid? parent, string? description, DateTime created)
    {
        var entity = new EntityRecord(NewId(), name, parent, description, created);
        s.Entities.Add(entity);
        s.EntitiesByGuid[entity.Guid] = entity;
        return entity;
    }

    private UpgradeRecord AddUpgrade(SolutionState s, FirmwareRecord firmware, string software, string? description, DateTime created)
    {
        var upgrade = new UpgradeRecord(NewId(), firmware, software, description, created);
        firmware.Upgrades.Add(upgrade);
        s.UpgradesByGuid[upgrade.Guid] = upgrade;
        return upgrade;
    }

    private static void AddDevice(SolutionState s, DeviceRecord device)
    {
        var index = s.Devices.BinarySearch(device, DeviceOrder.Instance);
        s.Devices.Insert(index < 0 ? ~index : index, device);
        s.DevicesByGuid[device.Guid] = device;
        s.DevicesByUniqueId[device.UniqueId] = device;
    }

    private bool OtaFails(Guid deviceGuid, Guid otaGuid, double rate) => StableDraw.Below($"{_seedValue}|iotconnect|{deviceGuid:N}|{otaGuid:N}", rate);

    private sealed class DeviceOrder : IComparer<DeviceRecord>
    {
        public static DeviceOrder Instance { get; } = new();

        public int Compare(DeviceRecord? x, DeviceRecord? y) => StringComparer.OrdinalIgnoreCase.Compare(x?.UniqueId, y?.UniqueId);
    }
}
