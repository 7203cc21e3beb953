using System.Globalization;

namespace Fleet.Bench;

/// <summary>CPU time of other processes (the servers and workers a benchmark starts), read from /proc.</summary>
internal static class ProcessCpu
{
    private const double TicksPerSecond = 100.0; // USER_HZ on Linux

    /// <summary>CPU used so far by the processes that <paramref name="match"/> picks by (pid, parent pid, command name).</summary>
    public static TimeSpan Sum(Func<int, int, string, bool> match)
    {
        long total = 0;
        if (!Directory.Exists("/proc"))
        {
            return TimeSpan.Zero;
        }

        foreach (var directory in Directory.EnumerateDirectories("/proc"))
        {
            if (!int.TryParse(Path.GetFileName(directory), out var pid))
            {
                continue;
            }

            try
            {
                // pid (comm) state ppid … utime stime: comm may hold spaces, so fields are counted after its ')'.
                var stat = File.ReadAllText(Path.Combine(directory, "stat"));
                var open = stat.IndexOf('(', StringComparison.Ordinal);
                var close = stat.LastIndexOf(')');
                var fields = stat[(close + 2)..].Split(' ');
                var parent = int.Parse(fields[1], CultureInfo.InvariantCulture);
                if (match(pid, parent, stat[(open + 1)..close]))
                {
                    total += long.Parse(fields[11], CultureInfo.InvariantCulture) + long.Parse(fields[12], CultureInfo.InvariantCulture);
                }
            }
            catch (IOException)
            {
                // The process ended meanwhile.
            }
        }

        return TimeSpan.FromSeconds(total / TicksPerSecond);
    }

    /// <summary>CPU used so far by this process's direct children named <paramref name="command"/> (e.g. <c>dotnet</c>, <c>node</c>).</summary>
    public static TimeSpan Children(string command) =>
        Sum((_, parent, name) => parent == Environment.ProcessId && name == command);
}
