using Fleet.Shared.FleetClouds;

namespace Fleet.Functions.Sphere;

/// <summary>A Sphere tenant as the app uses it.</summary>
/// <param name="Id">Tenant id.</param>
/// <param name="Name">Tenant name (the id when the identity cannot list the tenant).</param>
public sealed record TenantRef(string Id, string Name);

/// <summary>Resolves tenants given by id or name (through the shared, cached <see cref="SphereTenantDirectory"/>) as activity results.</summary>
public sealed class TenantDirectory(SphereTenantDirectory directory)
{
    /// <summary>
    /// The tenant with this id or name (case-insensitive). An id the identity cannot list is returned as is; an
    /// unknown name fails with <see cref="SphereError.TenantNotFound"/>.
    /// </summary>
    public async Task<ApiResult<TenantRef>> ResolveAsync(string tenantIdOrName, CancellationToken cancellationToken)
    {
        ArgumentException.ThrowIfNullOrWhiteSpace(tenantIdOrName);
        var key = tenantIdOrName.Trim();
        var found = await SphereCall.TryAsync(() => directory.FindAsync(key, cancellationToken)).ConfigureAwait(false);
        if (found.Error is { } error)
        {
            return ApiResult.Failed<TenantRef>(error);
        }

        return found.Value is { } scope
            ? ApiResult.Ok(new TenantRef(scope.Id, scope.Name))
            : ApiResult.Failed<TenantRef>(new SphereError(404, SphereError.TenantNotFound,
                $"No tenant named '{key}' is visible to this identity; give the tenant id, or make the identity a user of the tenant."));
    }
}
