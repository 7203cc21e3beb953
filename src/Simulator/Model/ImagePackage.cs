using System.Security.Cryptography;
using System.Text;
using Fleet.Simulator.Api;

namespace Fleet.Simulator.Model;

/// <summary>
/// The simulator's image-package model. Real packages are signed binaries; the simulator reads an optional text
/// header "SIMIMG1" followed by Key=Value lines (Name, ComponentId, ImageId, Type, Description). Without it the
/// image id and component id are derived from the bytes (and the tenant), so the same bytes uploaded twice collide.
/// </summary>
internal sealed record ImagePackage(Guid Id, string Name, Guid ComponentId, string? Description, ImageType Type)
{
    public const string Magic = "SIMIMG1";

    public static ImagePackage? Parse(Guid tenantId, byte[] package)
    {
        var salted = new byte[package.Length + 16];
        tenantId.TryWriteBytes(salted);
        package.CopyTo(salted, 16);
        var derivedId = HashGuid(salted);
        var hex = derivedId.ToString("N")[..8];
        var derived = new ImagePackage(derivedId, $"image-{hex}", HashGuid([.. "component"u8, .. package]), null, ImageType.Applications);

        var magic = Encoding.ASCII.GetBytes(Magic);
        if (!package.AsSpan().StartsWith(magic))
        {
            return derived;
        }

        var text = Encoding.UTF8.GetString(package);
        var result = derived;
        foreach (var line in text.Split('\n').Skip(1))
        {
            var trimmed = line.TrimEnd('\r');
            if (trimmed.Length == 0)
            {
                break; // a blank line ends the header; the payload follows
            }

            var eq = trimmed.IndexOf('=', StringComparison.Ordinal);
            if (eq <= 0)
            {
                return null;
            }

            var name = trimmed[..eq].Trim();
            var value = trimmed[(eq + 1)..].Trim();
            switch (name.ToUpperInvariant())
            {
                case "NAME" when value.Length > 0:
                    result = result with { Name = value };
                    break;
                case "DESCRIPTION":
                    result = result with { Description = value };
                    break;
                case "COMPONENTID" when Guid.TryParse(value, out var component):
                    result = result with { ComponentId = component };
                    break;
                case "IMAGEID" when Guid.TryParse(value, out var id):
                    result = result with { Id = id };
                    break;
                case "TYPE" when int.TryParse(value, out var type) && Enum.IsDefined((ImageType)type):
                    result = result with { Type = (ImageType)type };
                    break;
                default:
                    return null;
            }
        }

        return result;
    }

    /// <summary>Builds a package with a SIMIMG1 header (for tests and demos).</summary>
    public static byte[] Build(string name, Guid componentId, Guid? imageId = null, string? description = null, int type = 10)
    {
        var sb = new StringBuilder().Append(Magic).Append('\n')
            .Append("Name=").Append(name).Append('\n')
            .Append("ComponentId=").Append(componentId).Append('\n');
        if (imageId is { } id)
        {
            sb.Append("ImageId=").Append(id).Append('\n');
        }

        if (description is not null)
        {
            sb.Append("Description=").Append(description).Append('\n');
        }

        sb.Append("Type=").Append(type).Append("\n\n");
        return Encoding.UTF8.GetBytes(sb.ToString());
    }

    private static Guid HashGuid(byte[] data)
    {
        var hash = SHA256.HashData(data);
        hash[7] = (byte)((hash[7] & 0x0F) | 0x40);
        hash[8] = (byte)((hash[8] & 0x3F) | 0x80);
        return new Guid(hash.AsSpan(0, 16));
    }
}
