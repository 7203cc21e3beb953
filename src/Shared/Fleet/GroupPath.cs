using System.Diagnostics.CodeAnalysis;
using System.Text.RegularExpressions;

namespace Fleet.Shared.DesiredState;

/// <summary>
/// A device group named by its product: <c>"Product/Group"</c>, e.g. <c>"Thermostat/Field Test"</c>. Names compare
/// case-insensitively, as the Sphere API treats them.
/// </summary>
/// <param name="Product">Product name.</param>
/// <param name="Group">Device group name.</param>
public sealed partial record GroupPath(string Product, string Group)
{
    /// <summary>Whether <paramref name="name"/> is a valid product or device-group name (1–50 letters, digits and spaces).</summary>
    public static bool IsValidName([NotNullWhen(true)] string? name) => name is not null && NamePattern().IsMatch(name);

    /// <summary>Reads <c>"Product/Group"</c>; both names must be valid.</summary>
    public static bool TryParse(string? text, [NotNullWhen(true)] out GroupPath? path)
    {
        path = null;
        if (text is null)
        {
            return false;
        }

        var slash = text.IndexOf('/', StringComparison.Ordinal);
        if (slash <= 0 || slash != text.LastIndexOf('/'))
        {
            return false;
        }

        var product = text[..slash].Trim();
        var group = text[(slash + 1)..].Trim();
        if (!IsValidName(product) || !IsValidName(group))
        {
            return false;
        }

        path = new GroupPath(product, group);
        return true;
    }

    /// <summary>Reads <c>"Product/Group"</c>.</summary>
    /// <exception cref="FormatException">Not two valid names separated by one slash.</exception>
    public static GroupPath Parse(string text) =>
        TryParse(text, out var path) ? path
            : throw new FormatException($"'{text}' is not a device group path: write \"Product/Group\".");

    /// <summary>Case-insensitive equality, as the service compares names.</summary>
    public bool Equals(GroupPath? other) =>
        other is not null
        && string.Equals(Product, other.Product, StringComparison.OrdinalIgnoreCase)
        && string.Equals(Group, other.Group, StringComparison.OrdinalIgnoreCase);

    /// <inheritdoc />
    public override int GetHashCode() => HashCode.Combine(
        StringComparer.OrdinalIgnoreCase.GetHashCode(Product), StringComparer.OrdinalIgnoreCase.GetHashCode(Group));

    /// <inheritdoc />
    public override string ToString() => $"{Product}/{Group}";

    [GeneratedRegex("^[A-Za-z0-9 ]{1,50}$")]
    private static partial Regex NamePattern();
}
