using System.Text.Json;

namespace Fleet.Simulator.Api;

/// <summary>A PATCH member: present (with a value that may be null) or absent.</summary>
internal readonly record struct Maybe<T>(bool HasValue, T Value)
{
    public static Maybe<T> None => default;
}

internal sealed record CreateProductRequest(string? Name, string? Description, bool CreateDefaultGroups);

internal sealed record ProductPatch(Maybe<string?> Name, Maybe<string?> Description);

internal sealed record CreateGroupRequest(
    string? Name,
    string? Description,
    string? ProductId,
    int? OsFeedType,
    int? UpdatePolicy,
    bool? AllowCrashDumpsCollection);

internal sealed record GroupPatch(
    Maybe<string?> Name,
    Maybe<string?> Description,
    Maybe<int> OsFeedType,
    Maybe<int> UpdatePolicy,
    Maybe<bool> AllowCrashDumpsCollection);

/// <summary>
/// Reads request bodies member by member, case-insensitively (so PATCH accepts both <c>OSFeedType</c> and
/// <c>OsFeedType</c>), and names the member that has the wrong JSON type.
/// </summary>
internal static class RequestReader
{
    public static ApiError? ReadCreateProduct(JsonElement body, out CreateProductRequest request)
    {
        request = null!;
        if (body.ValueKind != JsonValueKind.Object)
        {
            return Errors.InvalidBody("The body must be a JSON object { \"Name\", \"Description\", \"CreateDefaultGroups\" }.");
        }

        if (String(body, "Name", out var name) is { } e1)
        {
            return e1;
        }

        if (String(body, "Description", out var description) is { } e2)
        {
            return e2;
        }

        if (Bool(body, "CreateDefaultGroups", out var defaults) is { } e3)
        {
            return e3;
        }

        request = new CreateProductRequest(name.Value, description.Value, defaults.HasValue && defaults.Value);
        return null;
    }

    public static ApiError? ReadProductPatch(JsonElement body, out ProductPatch patch)
    {
        patch = null!;
        if (body.ValueKind != JsonValueKind.Object)
        {
            return Errors.InvalidBody("The body must be a JSON object { \"Name\", \"Description\" }.");
        }

        if (String(body, "Name", out var name) is { } e1)
        {
            return e1;
        }

        if (String(body, "Description", out var description) is { } e2)
        {
            return e2;
        }

        patch = new ProductPatch(name, description);
        return null;
    }

    public static ApiError? ReadCreateGroup(JsonElement body, out CreateGroupRequest request)
    {
        request = null!;
        if (body.ValueKind != JsonValueKind.Object)
        {
            return Errors.InvalidBody("The body must be a JSON object { \"Name\", \"Description\", \"ProductId\", \"OsFeedType\", \"UpdatePolicy\" }.");
        }

        if (String(body, "Name", out var name) is { } e1)
        {
            return e1;
        }

        if (String(body, "Description", out var description) is { } e2)
        {
            return e2;
        }

        if (String(body, "ProductId", out var productId) is { } e3)
        {
            return e3;
        }

        if (Int(body, "OsFeedType", out var feed) is { } e4)
        {
            return e4;
        }

        if (Int(body, "UpdatePolicy", out var policy) is { } e5)
        {
            return e5;
        }

        if (Bool(body, "AllowCrashDumpsCollection", out var crash) is { } e6)
        {
            return e6;
        }

        request = new CreateGroupRequest(
            name.Value,
            description.Value,
            productId.Value,
            feed.HasValue ? feed.Value : null,
            policy.HasValue ? policy.Value : null,
            crash.HasValue ? crash.Value : null);
        return null;
    }

    public static ApiError? ReadGroupPatch(JsonElement body, out GroupPatch patch)
    {
        patch = null!;
        if (body.ValueKind != JsonValueKind.Object)
        {
            return Errors.InvalidBody("The body must be a JSON object { \"Name\", \"Description\", \"OSFeedType\", \"UpdatePolicy\", \"AllowCrashDumpsCollection\" }.");
        }

        if (String(body, "Name", out var name) is { } e1)
        {
            return e1;
        }

        if (String(body, "Description", out var description) is { } e2)
        {
            return e2;
        }

        if (Int(body, "OsFeedType", out var feed) is { } e3)
        {
            return e3;
        }

        if (Int(body, "UpdatePolicy", out var policy) is { } e4)
        {
            return e4;
        }

        if (Bool(body, "AllowCrashDumpsCollection", out var crash) is { } e5)
        {
            return e5;
        }

        patch = new GroupPatch(name, description, feed, policy, crash);
        return null;
    }

    /// <summary>Devices - Move: the body is a bare JSON string holding the target device group id.</summary>
    public static ApiError? ReadMoveTarget(JsonElement body, out Guid groupId)
    {
        groupId = default;
        if (body.ValueKind != JsonValueKind.String)
        {
            return Errors.InvalidBody("The body must be a JSON string holding the device group id, e.g. \"3f2c…\".");
        }

        if (!Guid.TryParse(body.GetString(), out groupId))
        {
            return Errors.InvalidBody("The device group id in the body is not a uuid.");
        }

        return null;
    }

    /// <summary>Deployments - Create: the body is a bare JSON array of image ids.</summary>
    public static ApiError? ReadImageIds(JsonElement body, out List<Guid> imageIds)
    {
        imageIds = [];
        if (body.ValueKind != JsonValueKind.Array)
        {
            return Errors.InvalidBody("The body must be a JSON array of image ids, e.g. [\"<imageId>\"].");
        }

        foreach (var item in body.EnumerateArray())
        {
            if (item.ValueKind != JsonValueKind.String || !Guid.TryParse(item.GetString(), out var id))
            {
                return Errors.InvalidBody("Every element of the array must be an image id (a uuid string).");
            }

            imageIds.Add(id);
        }

        return null;
    }

    private static bool TryFind(JsonElement obj, string name, out JsonElement value)
    {
        foreach (var property in obj.EnumerateObject())
        {
            if (string.Equals(property.Name, name, StringComparison.OrdinalIgnoreCase))
            {
                value = property.Value;
                return true;
            }
        }

        value = default;
        return false;
    }

    private static ApiError? String(JsonElement obj, string name, out Maybe<string?> value)
    {
        value = Maybe<string?>.None;
        if (!TryFind(obj, name, out var element))
        {
            return null;
        }

        switch (element.ValueKind)
        {
            case JsonValueKind.Null:
                value = new Maybe<string?>(true, null);
                return null;
            case JsonValueKind.String:
                value = new Maybe<string?>(true, element.GetString());
                return null;
            default:
                return Errors.InvalidBody($"'{name}' must be a string.");
        }
    }

    private static ApiError? Int(JsonElement obj, string name, out Maybe<int> value)
    {
        value = Maybe<int>.None;
        if (!TryFind(obj, name, out var element) || element.ValueKind == JsonValueKind.Null)
        {
            return null;
        }

        if (element.ValueKind != JsonValueKind.Number || !element.TryGetInt32(out var number))
        {
            return Errors.InvalidBody($"'{name}' must be an integer (enums are sent as integers).");
        }

        value = new Maybe<int>(true, number);
        return null;
    }

    private static ApiError? Bool(JsonElement obj, string name, out Maybe<bool> value)
    {
        value = Maybe<bool>.None;
        if (!TryFind(obj, name, out var element) || element.ValueKind == JsonValueKind.Null)
        {
            return null;
        }

        if (element.ValueKind is not (JsonValueKind.True or JsonValueKind.False))
        {
            return Errors.InvalidBody($"'{name}' must be true or false.");
        }

        value = new Maybe<bool>(true, element.GetBoolean());
        return null;
    }
}
