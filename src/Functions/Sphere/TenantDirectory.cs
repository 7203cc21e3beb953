using Fleet.Shared.Sphere;

namespace Fleet.Functions.Sphere;

/// <summary>A Sphere tenant as the app uses it.</summary>
/// <param name="Id">Tenant id.</param>
/// <param name="Name">Tenant name (the id when the identity cannot list the tenant).</param>
public sealed record TenantRef(string Id, string Name);

/// <summary>
/// Resolves tenants given by id or name. The tenant list (<c>GET v2/tenants</c>, one rate budget shared by every
/// caller of the process) is cached for a few minutes, so thousands of provisioning requests cost one call.
/// </summary>
public sealed class TenantDirectory(SphereClient sphere, TimeProvider time) : IDisposable
{
    private static readonly TimeSpan CacheLifetime = TimeSpan.FromMinutes(5);
    private readonly SemaphoreSlim _refresh = new(1, 1);
    private IReadOnlyList<Tenant>? _tenants;
    private DateTimeOffset _loadedAt;

    /// <summary>
    /// The tenant with this id or name (case-insensitive). An id the identity cannot list is returned as is (calls
    /// into it will then answer 403 or 404 with the service's reason); an unknown name fails with
    /// <see cref="SphereError.TenantNotFound"/>.
    /// </summary>
    public async Task<ApiResult<TenantRef>> ResolveAsync(string tenantIdOrName, CancellationToken cancellationToken)
    {
        ArgumentException.ThrowIfNullOrWhiteSpace(tenantIdOrName);
        var key = tenantIdOrName.Trim();
        var listed = await SphereCall.TryAsync(() => ListAsync(refresh: false, cancellationToken)).ConfigureAwait(false);
        if (listed.Error is { } error)
        {
            return ApiResult.Failed<TenantRef>(error);
        }

        var found = Find(listed.Value!, key);
        if (found is null && !Guid.TryParse(key, out _))
        {
            // A tenant added since the list was cached: look once more before giving up.
            listed = await SphereCall.TryAsync(() => ListAsync(refresh: true, cancellationToken)).ConfigureAwait(false);
            found = listed.Value is { } fresh ? Find(fresh, key) : null;
        }

        if (found is not null)
        {
            return ApiResult.Ok(new TenantRef(found.Id, found.Name));
        }

        return Guid.TryParse(key, out _)
            ? ApiResult.Ok(new TenantRef(key, key))
            : ApiResult.Failed<TenantRef>(new SphereError(404, SphereError.TenantNotFound,
                $"No tenant named '{key}' is visible to this identity; give the tenant id, or make the identity a user of the tenant."));
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
