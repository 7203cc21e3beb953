using Fleet.Shared.FleetClouds;

namespace Fleet.Shared.DesiredState;

/// <summary>
/// A set of devices on IoT Central or IoTConnect and where they belong: the devices of the target's template in the
/// connection's application/solution (only those whose id starts with <see cref="IdPrefix"/>, when given) must be at
/// <see cref="Target"/> and, with <see cref="Deployment"/>, run that version.
/// </summary>
/// <param name="Name">The set's name (unique in the policy; reports and instance ids use it).</param>
/// <param name="Target">The cloud, connection and placement.</param>
/// <param name="IdPrefix">Only devices whose id starts with this (case-sensitive) belong to the set.</param>
/// <param name="Deployment">The expected deployment (IoT Central property value; IoTConnect firmware upgrade version), or null for not checked.</param>
/// <param name="Remediate">Whether remediating sweeps may fix this set (default true).</param>
public sealed record DeviceSetPolicy(string Name, FleetTarget Target, string? IdPrefix, FleetDeploymentSpec? Deployment, bool Remediate = true)
{
    /// <summary>Whether a device of the set's template belongs to the set by its id.</summary>
    public bool Includes(string deviceId) => IdPrefix is null || deviceId.StartsWith(IdPrefix, StringComparison.Ordinal);
}
