namespace Fleet.Simulator.Auth;

/// <summary>
/// The managed identities the token endpoint issues for. Their ids are constants, independent of the seed, so
/// simulators sharing a signing key accept each other's tokens AND recognise the caller as the same principal.
/// </summary>
internal static class KnownIdentities
{
    public static readonly Guid EntraTenantId = new("4c1f5a7e-2b9d-4e63-8a10-6f2d3c9b7e51");

    public static readonly ManagedIdentityDescription SystemAssigned = new(
        "system-assigned",
        new Guid("0f6b2c1d-3e4a-4b5c-9d8e-7f6a5b4c3d21"),
        new Guid("a3d1e5f7-9b2c-4d6e-8f10-2a4c6e8b0d13"),
        null);

    public static readonly ManagedIdentityDescription FleetAutomation = new(
        "fleet-automation",
        new Guid("5e8d7c6b-4a39-4281-b7f6-e5d4c3b2a190"),
        new Guid("c7b9e1d3-5f2a-4c8e-9b06-1d3f5a7c9e24"),
        $"/subscriptions/00000000-0000-0000-0000-000000000000/resourceGroups/fleet-sim/providers/Microsoft.ManagedIdentity/userAssignedIdentities/fleet-automation");

    public static readonly ManagedIdentityDescription FleetAuditor = new(
        "fleet-auditor",
        new Guid("9a1b2c3d-4e5f-4a6b-8c7d-0e1f2a3b4c56"),
        new Guid("e2f4a6c8-0b1d-4e3f-a5c7-9e1b3d5f7a68"),
        $"/subscriptions/00000000-0000-0000-0000-000000000000/resourceGroups/fleet-sim/providers/Microsoft.ManagedIdentity/userAssignedIdentities/fleet-auditor");

    /// <summary>A tenant-C administrator that no token is issued for, so tenant C has users but none of ours.</summary>
    public static readonly Guid NorthwindAdministrator = new("1d2c3b4a-5f6e-4d7c-8b9a-0f1e2d3c4b5a");

    public static IReadOnlyList<ManagedIdentityDescription> UserAssigned { get; } = [FleetAutomation, FleetAuditor];

    public static ManagedIdentityDescription? FindUserAssigned(string? clientId, string? objectId, string? resourceId)
    {
        foreach (var identity in UserAssigned)
        {
            if ((clientId is not null && Guid.TryParse(clientId, out var c) && c == identity.ClientId)
                || (objectId is not null && Guid.TryParse(objectId, out var o) && o == identity.PrincipalId)
                || (resourceId is not null && string.Equals(resourceId, identity.ResourceId, StringComparison.OrdinalIgnoreCase)))
            {
                return identity;
            }
        }

        return null;
    }
}
