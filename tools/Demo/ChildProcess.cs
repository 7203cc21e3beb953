using System.ComponentModel;
using System.Diagnostics;
using System.Text.RegularExpressions;

namespace Fleet.Demo;

/// <summary>
/// A process the demo started: its output goes to a log file (and the last lines are kept to wait for start-up
/// lines and to explain a failure); it is stopped with SIGTERM first and SIGKILL only if it does not exit in time.
/// Children run in a session of their own (<c>setsid</c>), so a Ctrl+C in the terminal reaches only the demo, which
/// then stops them in order: the host before the services it uses.
/// </summary>
internal sealed class ChildProcess : IAsyncDisposable
{
    private const int KeptLines = 300;
    private static readonly string? Setsid = new[] { "/usr/bin/setsid", "/bin/setsid" }.FirstOrDefault(File.Exists);

    private readonly Process _process;
    private readonly StreamWriter _log;
    private readonly Lock _gate = new();
    private readonly Queue<string> _recent = new();
    private readonly List<(Regex Pattern, TaskCompletionSource<Match> Found)> _waiters = [];
    private readonly TaskCompletionSource<int> _exited = new(TaskCreationOptions.RunContinuationsAsynchronously);

    private ChildProcess(string name, Process process, StreamWriter log, string logPath)
    {
        Name = name;
        _process = process;
        _log = log;
        LogPath = logPath;
    }

    /// <summary>What the demo calls it in its output (e.g. "function host").</summary>
    public string Name { get; }

    /// <summary>The file its output goes to.</summary>
    public string LogPath { get; }

    /// <summary>Its process id (kept after it exits).</summary>
    public int Id { get; private set; }

    /// <summary>Completes with the exit code when the process ends.</summary>
    public Task<int> Exited => _exited.Task;

    /// <summary>Starts <paramref name="fileName"/> with its output going to <paramref name="logPath"/>.</summary>
    /// <param name="name">Name for messages.</param>
    /// <param name="fileName">The program.</param>
    /// <param name="arguments">Its arguments.</param>
    /// <param name="workingDirectory">Its working directory.</param>
    /// <param name="environment">Variables to set (added to this process's environment).</param>
    /// <param name="logPath">The log file (replaced).</param>
    /// <param name="keepStdinOpen">Give it a stdin pipe that closes only when the demo ends (Azurite's watchdog reads it).</param>
    public static ChildProcess Start(
        string name, string fileName, IEnumerable<string> arguments, string workingDirectory,
        IReadOnlyDictionary<string, string> environment, string logPath, bool keepStdinOpen = false)
    {
        var info = new ProcessStartInfo(Setsid ?? fileName)
        {
            WorkingDirectory = workingDirectory,
            RedirectStandardOutput = true,
            RedirectStandardError = true,
            RedirectStandardInput = keepStdinOpen,
            UseShellExecute = false,
        };
        if (Setsid is not null)
        {
            // Not a process-group leader, so setsid execs the program in place: the pid stays the program's.
            info.ArgumentList.Add(fileName);
        }

        foreach (var argument in arguments)
        {
            info.ArgumentList.Add(argument);
        }

        foreach (var (key, value) in environment)
        {
            info.Environment[key] = value;
        }

        Directory.CreateDirectory(Path.GetDirectoryName(logPath)!);
        var log = new StreamWriter(logPath, append: false) { AutoFlush = true };
        var process = new Process { StartInfo = info, EnableRaisingEvents = true };
        var child = new ChildProcess(name, process, log, logPath);
        process.OutputDataReceived += (_, e) => child.OnLine(e.Data);
        process.ErrorDataReceived += (_, e) => child.OnLine(e.Data);
        process.Exited += (_, _) => child.OnExited();
        try
        {
            process.Start();
        }
        catch (Win32Exception ex)
        {
            log.Dispose();
            process.Dispose();
            throw new DemoException($"Could not start the {name} ({fileName}): {ex.Message}");
        }

        child.Id = process.Id;
        process.BeginOutputReadLine();
        process.BeginErrorReadLine();
        return child;
    }

    /// <summary>
    /// The processes it started that are still running (Linux: from <c>/proc</c>; elsewhere none): for the host, its
    /// worker, whichever one it runs now (the host restarts a worker that dies).
    /// </summary>
    public IReadOnlyList<int> ChildIds()
    {
        var children = new List<int>();
        if (!Directory.Exists("/proc"))
        {
            return children;
        }

        foreach (var dir in Directory.EnumerateDirectories("/proc"))
        {
            if (int.TryParse(Path.GetFileName(dir), System.Globalization.NumberStyles.None, System.Globalization.CultureInfo.InvariantCulture, out var pid)
                && ParentOf(pid) == Id)
            {
                children.Add(pid);
            }
        }

        return children;
    }

    /// <summary>Whether process <paramref name="pid"/> is still running (a zombie counts as gone).</summary>
    public static bool IsRunning(int pid) => ParentOf(pid) is not null;

    /// <summary>Kills process <paramref name="pid"/> (SIGKILL) if it still runs.</summary>
    public static void Kill(int pid)
    {
        try
        {
            using var process = Process.GetProcessById(pid);
            process.Kill(entireProcessTree: true);
        }
        catch (Exception ex) when (ex is ArgumentException or InvalidOperationException or Win32Exception)
        {
            // Already gone.
        }
    }

    private static int? ParentOf(int pid)
    {
        string stat;
        try
        {
            stat = File.ReadAllText($"/proc/{pid}/stat");
        }
        catch (Exception ex) when (ex is IOException or UnauthorizedAccessException)
        {
            return null;
        }

        // "pid (comm) state ppid ...": comm may hold spaces and parentheses, so read after the last ')'.
        var fields = stat[(stat.LastIndexOf(')') + 1)..].Split(' ', StringSplitOptions.RemoveEmptyEntries);
        return fields.Length > 1 && fields[0] != "Z" && int.TryParse(fields[1], System.Globalization.CultureInfo.InvariantCulture, out var parent) ? parent : null;
    }

    /// <summary>Waits for an output line matching <paramref name="pattern"/> (also one already written).</summary>
    /// <exception cref="DemoException">The process exited first, or the line did not come in time.</exception>
    public async Task<Match> WaitForLineAsync(Regex pattern, TimeSpan timeout, CancellationToken cancellationToken)
    {
        var found = new TaskCompletionSource<Match>(TaskCreationOptions.RunContinuationsAsynchronously);
        lock (_gate)
        {
            foreach (var line in _recent)
            {
                if (pattern.Match(line) is { Success: true } match)
                {
                    return match;
                }
            }

            _waiters.Add((pattern, found));
        }

        var first = await Task.WhenAny(found.Task, _exited.Task, Task.Delay(timeout, cancellationToken));
        if (first == found.Task)
        {
            return await found.Task;
        }

        cancellationToken.ThrowIfCancellationRequested();
        throw new DemoException(first == _exited.Task
            ? $"The {Name} exited (code {_exited.Task.Result}) during start-up. Its last lines ({LogPath}):\n{Tail(25)}"
            : $"The {Name} did not start within {timeout.TotalSeconds:0} s. Its last lines ({LogPath}):\n{Tail(25)}");
    }

    /// <summary>The last lines of its output.</summary>
    public string Tail(int lines)
    {
        lock (_gate)
        {
            return string.Join("\n", _recent.Skip(Math.Max(0, _recent.Count - lines)).Select(l => "    " + l));
        }
    }

    /// <summary>
    /// Asks it to stop (SIGTERM) and waits up to <paramref name="grace"/>; then kills its process tree.
    /// </summary>
    /// <returns>Its exit code, and whether it had to be killed.</returns>
    public async Task<(int ExitCode, bool Killed)> StopAsync(TimeSpan grace)
    {
        if (!_exited.Task.IsCompleted)
        {
            await SendTermAsync();
            if (_process.StartInfo.RedirectStandardInput)
            {
                // A stdin watchdog (Azurite's) exits when its input ends; its stdin listener would keep node alive.
                _process.StandardInput.Close();
            }

            if (await Task.WhenAny(_exited.Task, Task.Delay(grace)) != _exited.Task)
            {
                Kill();
                return (await _exited.Task.WaitAsync(TimeSpan.FromSeconds(10)), true);
            }
        }

        return (await _exited.Task, false);
    }

    /// <inheritdoc />
    public async ValueTask DisposeAsync()
    {
        if (!_exited.Task.IsCompleted)
        {
            Kill();
            try
            {
                await _exited.Task.WaitAsync(TimeSpan.FromSeconds(10));
            }
            catch (TimeoutException)
            {
                // Killed; the OS reaps it.
            }
        }

        // Let the output readers drain before the log closes.
        await _process.WaitForExitAsync();
        _process.Dispose();
        lock (_gate)
        {
            _log.Dispose();
        }
    }

    private async Task SendTermAsync()
    {
        // .NET has no portable SIGTERM; kill(1) is on every Unix.
        try
        {
            using var kill = Process.Start(new ProcessStartInfo("kill", ["-TERM", Id.ToString(System.Globalization.CultureInfo.InvariantCulture)])
            {
                UseShellExecute = false,
                RedirectStandardError = true,
            });
            if (kill is not null)
            {
                await kill.WaitForExitAsync();
            }
        }
        catch (Win32Exception)
        {
            Kill();
        }
    }

    private void Kill()
    {
        try
        {
            _process.Kill(entireProcessTree: true);
        }
        catch (InvalidOperationException)
        {
            // Already gone.
        }
        catch (Win32Exception)
        {
            // Exiting.
        }
    }

    private void OnLine(string? line)
    {
        if (line is null)
        {
            return;
        }

        lock (_gate)
        {
            try
            {
                _log.WriteLine(line);
            }
            catch (ObjectDisposedException)
            {
                return;
            }

            _recent.Enqueue(line);
            if (_recent.Count > KeptLines)
            {
                _recent.Dequeue();
            }

            for (var i = _waiters.Count - 1; i >= 0; i--)
            {
                if (_waiters[i].Pattern.Match(line) is { Success: true } match)
                {
                    _waiters[i].Found.TrySetResult(match);
                    _waiters.RemoveAt(i);
                }
            }
        }
    }

    private void OnExited()
    {
        int code;
        try
        {
            code = _process.ExitCode;
        }
        catch (InvalidOperationException)
        {
            code = -1;
        }

        _exited.TrySetResult(code);
    }
}

/// <summary>A demo step failed; the message says what and where to look.</summary>
internal sealed class DemoException(string message) : Exception(message);
