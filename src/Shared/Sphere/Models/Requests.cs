using System.Text.Json.Serialization;

namespace Fleet.Shared.Sphere;

/// <summary>Settings of a new device group (device groups are created synchronously).</summary>
/// <param name="ProductId">Product the group belongs to.</param>
/// <param name="Name">Name, unique in the product (letters, digits and spaces, at most 50 characters).</param>
public sealed record DeviceGroupCreateRequest(string ProductId, string Name)
{
    /// <summary>Optional description.</summary>
    public string? Description { get; init; }

    /// <summary>OS feed; Retail by default.</summary>
    public OsFeedType OsFeedType { get; init; } = OsFeedType.Retail;

    /// <summary>Update policy; all updates by default.</summary>
    public UpdatePolicy UpdatePolicy { get; init; } = UpdatePolicy.UpdateAll;
}

/// <summary>Changes to a product; null members are left as they are.</summary>
public sealed record ProductPatch
{
    /// <summary>New name.</summary>
    public string? Name { get; init; }

    /// <summary>New description.</summary>
    public string? Description { get; init; }
}

/// <summary>Changes to a device group; null members are left as they are.</summary>
public sealed record DeviceGroupPatch
{
    /// <summary>New name.</summary>
    public string? Name { get; init; }

    /// <summary>New description.</summary>
    public string? Description { get; init; }

    /// <summary>New OS feed (sent as <c>OSFeedType</c>, the spelling the patch request documents).</summary>
    [JsonPropertyName("OSFeedType")]
    public OsFeedType? OsFeedType { get; init; }

    /// <summary>New update policy.</summary>
    public UpdatePolicy? UpdatePolicy { get; init; }

    /// <summary>Whether crash dumps are collected.</summary>
    public bool? AllowCrashDumpsCollection { get; init; }
}
