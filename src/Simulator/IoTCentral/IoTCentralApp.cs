using System.Text;
using System.Text.Json.Nodes;

namespace Fleet.Simulator.IoTCentral;

/// <summary>A failure the API answers with the IoT Central error envelope.</summary>
internal sealed class IoTCentralFault(int status, string code, string message) : Exception(message)
{
    public int Status { get; } = status;

    public string Code { get; } = code;

    public static IoTCentralFault NotFound(string kind, string id) =>
        new(404, "NotFound", $"The {kind} '{id}' does not exist in this application.");

    public static IoTCentralFault Invalid(string message) => new(422, "InvalidBody", message);

    public static IoTCentralFault BadRequest(string code, string message) => new(400, code, message);
}

/// <summary>
/// One simulated IoT Central application: templates, organizations, device groups (filter-based), devices, users,
/// API tokens and jobs. One lock guards it; jobs advance on the injected clock whenever the application is entered.
/// </summary>
internal sealed partial class IoTCentralApp
{
    private readonly object _gate = new();
    private readonly TimeProvider _time;
    private readonly IoTCentralSettingsStore _settings;
    private readonly int _seed;
    private Dictionary<string, IoTCentralDeviceEntity> _devices = null!;
    private Dictionary<string, IoTCentralTemplateEntity> _templates = null!;
    private Dictionary<string, IoTCentralGroupEntity> _groups = null!;
    private Dictionary<string, IoTCentralOrganizationEntity> _organizations = null!;
    private Dictionary<string, IoTCentralUserEntity> _users = null!;
    private Dictionary<string, IoTCentralTokenEntity> _tokens = null!;
    private Dictionary<string, IoTCentralJobEntity> _jobs = null!;
    private long _jobSequence;

    public IoTCentralApp(string name, string displayName, Guid applicationId, int seed, TimeProvider time,
        IoTCentralSettingsStore settings)
    {
        Name = name;
        DisplayName = displayName;
        ApplicationId = applicationId;
        _seed = seed;
        _time = time;
        _settings = settings;
        Reset();
    }

    /// <summary>The route segment, e.g. <c>contoso</c> (the subdomain of a real application).</summary>
    public string Name { get; }

    public string DisplayName { get; }

    /// <summary>The application id (the <c>sr</c> of its API tokens).</summary>
    public Guid ApplicationId { get; }

    /// <summary>Throws everything away and seeds the application again.</summary>
    public void Reset()
    {
        lock (_gate)
        {
            _devices = new(StringComparer.Ordinal);
            _templates = new(StringComparer.Ordinal);
            _groups = new(StringComparer.Ordinal);
            _organizations = new(StringComparer.Ordinal);
            _users = new(StringComparer.Ordinal);
            _tokens = new(StringComparer.Ordinal);
            _jobs = new(StringComparer.Ordinal);
            _jobSequence = 0;
            IoTCentralSeed.Populate(this, _seed, _settings.StartOptions.Devices);
        }
    }

    // ---- seeding (called under the lock) ----

    internal void SeedTemplate(IoTCentralTemplateEntity template) => _templates[template.Id] = template;

    internal void SeedOrganization(IoTCentralOrganizationEntity organization) => _organizations[organization.Id] = organization;

    internal void SeedGroup(IoTCentralGroupEntity group) => _groups[group.Id] = group;

    internal void SeedDevice(IoTCentralDeviceEntity device) => _devices[device.Id] = device;

    internal void SeedUser(IoTCentralUserEntity user) => _users[user.Id] = user;

    // ---- callers ----

    /// <summary>The roles of an Entra principal that is a user of the application; null when it is none.</summary>
    public IReadOnlyList<RoleAssignment>? RolesOf(Guid objectId)
    {
        lock (_gate)
        {
            return _users.Values.FirstOrDefault(u => u.ObjectId == objectId)?.Roles;
        }
    }

    /// <summary>The roles of an API token that exists and has not expired; null otherwise.</summary>
    public IReadOnlyList<RoleAssignment>? RolesOfToken(string tokenId, DateTimeOffset expiry)
    {
        lock (_gate)
        {
            return _tokens.TryGetValue(tokenId, out var token) && token.Expiry.ToUnixTimeMilliseconds() == expiry.ToUnixTimeMilliseconds()
                ? token.Roles
                : null;
        }
    }

    /// <summary>Adds or replaces a user (control API).</summary>
    public void SetUser(IoTCentralUserEntity user)
    {
        lock (_gate)
        {
            foreach (var same in _users.Values.Where(u => u.ObjectId == user.ObjectId).ToList())
            {
                _users.Remove(same.Id);
            }

            _users[user.Id] = user;
        }
    }

    public bool RemoveUser(Guid objectId)
    {
        lock (_gate)
        {
            var found = _users.Values.Where(u => u.ObjectId == objectId).ToList();
            foreach (var user in found)
            {
                _users.Remove(user.Id);
            }

            return found.Count > 0;
        }
    }

    public IoTCentralUserEntity GetUser(string id)
    {
        lock (_gate)
        {
            return _users.TryGetValue(id, out var user) ? user : throw IoTCentralFault.NotFound("user", id);
        }
    }

    public IReadOnlyList<IoTCentralUserEntity> ListUsers()
    {
        lock (_gate)
        {
            return [.. _users.Values.OrderBy(u => u.Id, StringComparer.Ordinal)];
        }
    }

    // ---- API tokens ----

    /// <summary>Creates (or replaces) an API token; returns it with its value, shown only here.</summary>
    public (IoTCentralTokenEntity Token, string Value) CreateToken(string id, IReadOnlyList<RoleAssignment> roles,
        DateTimeOffset? expiry, Func<IoTCentralApp, string, DateTimeOffset, string> sign)
    {
        var until = expiry ?? _time.GetUtcNow() + _settings.StartOptions.ApiTokenLifetime;

        // Milliseconds are what the token carries (se); the record keeps the same precision so they compare equal.
        until = DateTimeOffset.FromUnixTimeMilliseconds(until.ToUnixTimeMilliseconds());
        var token = new IoTCentralTokenEntity(id, until, roles);
        lock (_gate)
        {
            foreach (var role in roles)
            {
                if (!IoTCentralRoles.Names.ContainsKey(role.Role))
                {
                    throw IoTCentralFault.Invalid($"'{role.Role}' is not a role of this application.");
                }

                if (role.Organization is { } org && !_organizations.ContainsKey(org))
                {
                    throw IoTCentralFault.Invalid($"The organization '{org}' does not exist in this application.");
                }
            }

            _tokens[id] = token;
        }

        return (token, sign(this, id, until));
    }

    public IoTCentralTokenEntity GetToken(string id)
    {
        lock (_gate)
        {
            return _tokens.TryGetValue(id, out var token) ? token : throw IoTCentralFault.NotFound("API token", id);
        }
    }

    public IReadOnlyList<IoTCentralTokenEntity> ListTokens()
    {
        lock (_gate)
        {
            return [.. _tokens.Values.OrderBy(t => t.Id, StringComparer.Ordinal)];
        }
    }

    public void DeleteToken(string id)
    {
        lock (_gate)
        {
            if (!_tokens.Remove(id))
            {
                throw IoTCentralFault.NotFound("API token", id);
            }
        }
    }

    // ---- organizations and templates ----

    public IReadOnlyList<IoTCentralOrganizationEntity> ListOrganizations()
    {
        lock (_gate)
        {
            return [.. _organizations.Values.OrderBy(o => o.Id, StringComparer.Ordinal)];
        }
    }

    public IoTCentralOrganizationEntity GetOrganization(string id)
    {
        lock (_gate)
        {
            return _organizations.TryGetValue(id, out var org) ? org : throw IoTCentralFault.NotFound("organization", id);
        }
    }

    public IReadOnlyList<IoTCentralTemplateEntity> ListTemplates()
    {
        lock (_gate)
        {
            return [.. _templates.Values.OrderBy(t => t.Id, StringComparer.Ordinal)];
        }
    }

    public IoTCentralTemplateEntity GetTemplate(string id)
    {
        lock (_gate)
        {
            return _templates.TryGetValue(id, out var template) ? template : throw IoTCentralFault.NotFound("device template", id);
        }
    }

    /// <summary>True when <paramref name="organization"/> is <paramref name="scope"/> or one of its descendants.</summary>
    private bool IsWithin(string? organization, string scope)
    {
        for (var current = organization; current is not null;
             current = _organizations.TryGetValue(current, out var org) ? org.Parent : null)
        {
            if (string.Equals(current, scope, StringComparison.Ordinal))
            {
                return true;
            }
        }

        return false;
    }

    /// <summary>Whether a caller whose roles are all organization-scoped may see a device of <paramref name="organization"/>.</summary>
    private bool InScope(string? organization, IReadOnlyList<RoleAssignment> roles) =>
        roles.Any(r => r.Organization is null || IsWithin(organization, r.Organization));

    internal static string ETagOf(string kind, string id, long revision) =>
        Convert.ToBase64String(Encoding.UTF8.GetBytes($"{{\"{kind}\":\"{id}\",\"rev\":{revision}}}"));

    internal static JsonObject CloneObject(JsonObject value) => (JsonObject)value.DeepClone();
}
