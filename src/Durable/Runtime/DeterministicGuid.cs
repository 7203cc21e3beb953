using System.Security.Cryptography;
using System.Text;

namespace Fleet.Durable.Runtime;

/// <summary>Name-based UUIDs (RFC 4122 §4.3, version 5), so orchestrations get the same GUIDs on every replay.</summary>
internal static class DeterministicGuid
{
    // The DurableTask.Core namespace, so IDs follow the same scheme as Durable Functions.
    private static readonly Guid Namespace = new("9e952958-5e33-4daf-827f-2fa12937b875");

    public static Guid Create(string name)
    {
        Span<byte> namespaceBytes = stackalloc byte[16];
        Namespace.TryWriteBytes(namespaceBytes, bigEndian: true, out _);
        var nameBytes = Encoding.UTF8.GetBytes(name);
        var input = new byte[16 + nameBytes.Length];
        namespaceBytes.CopyTo(input);
        nameBytes.CopyTo(input, 16);

        // SHA-1 is what RFC 4122 prescribes for version 5; this is an identifier, not a security measure.
#pragma warning disable CA5350
        Span<byte> hash = stackalloc byte[20];
        SHA1.HashData(input, hash);
#pragma warning restore CA5350
        hash[6] = (byte)((hash[6] & 0x0F) | 0x50);
        hash[8] = (byte)((hash[8] & 0x3F) | 0x80);
        return new Guid(hash[..16], bigEndian: true);
    }
}
