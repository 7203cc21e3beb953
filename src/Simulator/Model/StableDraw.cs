using System.Security.Cryptography;
using System.Text;

namespace Fleet.Simulator.Model;

/// <summary>
/// Uniform draws from a stable hash, so an outcome (a failed install, a failed OTA update) depends only on the seed and
/// the ids involved, never on request order or timing.
/// </summary>
internal static class StableDraw
{
    /// <summary>A number in [0, 1) derived from SHA-256 of <paramref name="key"/>.</summary>
    public static double Uniform(string key)
    {
        var data = Encoding.UTF8.GetBytes(key);
        Span<byte> hash = stackalloc byte[32];
        SHA256.HashData(data, hash);
        return (BitConverter.ToUInt64(hash) >> 11) * (1.0 / (1UL << 53));
    }

    /// <summary>Whether a draw for <paramref name="key"/> falls below <paramref name="rate"/> (never for 0, always for 1).</summary>
    public static bool Below(string key, double rate) => rate > 0 && (rate >= 1 || Uniform(key) < rate);
}
