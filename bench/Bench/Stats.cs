using System.Diagnostics;
using System.Globalization;

namespace Fleet.Bench;

/// <summary>Small statistics helpers.</summary>
internal static class Stats
{
    public static double Percentile(IReadOnlyList<double> values, double percentile)
    {
        var sorted = values.Order().ToArray();
        var index = (int)Math.Ceiling(percentile / 100 * sorted.Length) - 1;
        return sorted[Math.Clamp(index, 0, sorted.Length - 1)];
    }

    public static double Milliseconds(long fromTimestamp, long toTimestamp) =>
        (toTimestamp - fromTimestamp) * 1000.0 / Stopwatch.Frequency;

    public static string Format(double value) => value.ToString("0.00", CultureInfo.InvariantCulture);

    /// <summary>The machine's 1-minute load average (the benchmarks share the machine with whatever else runs).</summary>
    public static string LoadAverage() =>
        File.Exists("/proc/loadavg") ? File.ReadAllText("/proc/loadavg").Split(' ')[0] : "unknown";
}
