using Fleet.Shared.Sphere;

namespace Fleet.Shared.FleetClouds;

/// <summary>
/// Sphere tenants by id or name. The tenant list (<c>GET v2/tenants</c>, one rate budget shared by every caller of
/// the process) is cached for a few minutes, so thousands of provisioning requests cost one call.
/// </summary>
public sealed class SphereTenantDirectory(SphereClient sphere, TimeProvider time) : IDisposable
{
    private static readonly TimeSpan CacheLifetime = TimeSpan.FromMinutes(5);
    private readonly SemaphoreSlim _refresh = new(1, 1);
    private IReadOnlyList<Tenant>? _tenants;
    private DateTimeOffset _loadedAt;

    /// <summary>
    /// The tenant with this id or name (case-insensitive); an id the identity cannot list is returned as is (calls
    /// into it then answer 403 or 404 with the service's reason); null for an unknown name.
    /// </summary>
    public async Task<FleetScope?> FindAsync(string tenantIdOrName, CancellationToken cancellationToken)
    {
        ArgumentException.ThrowIfNullOrWhiteSpace(tenantIdOrName);
        var key = tenantIdOrName.Trim();
        var found = Find(await ListAsync(refresh: false, cancellationToken).ConfigureAwait(false), key);
        if (found is null && !Guid.TryParse(key, out _))
        {
            // A tenant added since the list was cached: look once more before giving up.
            found = Find(await ListAsync(refresh: true, cancellationToken).ConfigureAwait(false), key);
        }

        return found is not null ? new FleetScope(found.Id, found.Name) : Guid.TryParse(key, out _) ? new FleetScope(key, key) : null;
    }

    /// <inheritdoc />
    public void Dispose() => _refresh.Dispose();

    private static Tenant? Find(IReadOnlyList<Tenant> tenants, string key) =>
        tenants.FirstOrDefault(t => string.Equals(t.Id, key, StringComparison.OrdinalIgnoreCase))
        ?? tenants.FirstOrDefault(t => string.Equals(t.Name, key, StringComparison.OrdinalIgnoreCase));

    private async Task<IReadOnlyList<Tenant>> ListAsync(bool refresh, CancellationToken cancellationToken)
    {
        if (!refresh && _tenants is { } cached && time.GetUtcNow() - _loadedAt < CacheLifetime)
        {
            return cached;
        }

        await _refresh.WaitAsync(cancellationToken).ConfigureAwait(false);
        try
        {
            if (!refresh && _tenants is { } loaded && time.GetUtcNow() - _loadedAt < CacheLifetime)
            {
                return loaded;
            }

            _tenants = await sphere.GetTenantsAsync(cancellationToken).ConfigureAwait(false);
            _loadedAt = time.GetUtcNow();
            return _tenants;
        }
        finally
        {
            _refresh.Release();
        }
    }
}
