using System.Diagnostics;
using System.Globalization;
using Fleet.Testing;
using Xunit.Abstractions;

namespace Fleet.Durable.Tests.Postgres;

/// <summary>A TestWorker child process (tests/Durable.TestWorker) and the progress and work counts it printed.</summary>
internal sealed class TestWorkerProcess : IDisposable
{
    private readonly Process _process;
    private readonly ITestOutputHelper _output;
    private readonly string _name;
    private volatile int _progress = -1;
    private volatile int _episodes;
    private volatile int _activities;

    private TestWorkerProcess(Process process, ITestOutputHelper output, string name)
    {
        _process = process;
        _output = output;
        _name = name;
    }

    public int Progress => _progress;

    /// <summary>Episodes this process committed (from its last WORK line).</summary>
    public int Episodes => _episodes;

    /// <summary>Activity results this process recorded (from its last WORK line).</summary>
    public int Activities => _activities;

    public bool SawDone { get; private set; }

    /// <summary>The PostgreSQL store's host ID (lock_owner of its locks), from its HOST line; 0 until printed.</summary>
    public int HostId { get; private set; }

    public bool HasExited => _process.HasExited;

    public int ExitCode => _process.ExitCode;

    /// <summary>Lines the worker logged (warnings and errors), for assertions.</summary>
    public List<string> Logged { get; } = [];

    public static TestWorkerProcess Start(string name, IEnumerable<string> arguments, ITestOutputHelper output)
    {
        var configuration = new DirectoryInfo(AppContext.BaseDirectory).Parent!.Name;
        var dll = RepoPaths.Combine("tests", "Durable.TestWorker", "bin", configuration, "net10.0", "Fleet.Durable.TestWorker.dll");
        Assert.True(File.Exists(dll), $"TestWorker not built at {dll}");
        var start = new ProcessStartInfo(Environment.GetEnvironmentVariable("DOTNET_HOST_PATH") ?? "dotnet")
        {
            RedirectStandardOutput = true,
            RedirectStandardError = true,
            UseShellExecute = false,
        };
        start.ArgumentList.Add(dll);
        foreach (var argument in arguments)
        {
            start.ArgumentList.Add(argument);
        }

        start.Environment["DOTNET_gcServer"] = "0";
        var process = new Process { StartInfo = start };
        var worker = new TestWorkerProcess(process, output, name);
        process.OutputDataReceived += (_, e) => worker.OnLine(e.Data);
        process.ErrorDataReceived += (_, e) =>
        {
            if (!string.IsNullOrEmpty(e.Data) && !e.Data.StartsWith("   at ", StringComparison.Ordinal))
            {
                worker.Log($"stderr: {e.Data}");
            }
        };
        process.Start();
        process.BeginOutputReadLine();
        process.BeginErrorReadLine();
        return worker;
    }

    /// <summary>Waits for the process to exit; false when it is still running after <paramref name="timeout"/>.</summary>
    public async Task<bool> WaitForExitAsync(TimeSpan timeout)
    {
        using var cts = new CancellationTokenSource(timeout);
        try
        {
            await _process.WaitForExitAsync(cts.Token);
            return true;
        }
        catch (OperationCanceledException)
        {
            return false;
        }
    }

    /// <summary>SIGSTOP: the process freezes, holding its locks and connections, until killed.</summary>
    public void Freeze() => Signal("-STOP");

    /// <summary>SIGCONT: a frozen process runs on.</summary>
    public void Resume() => Signal("-CONT");

    /// <summary>SIGKILL: no shutdown code runs, connections are cut by the OS.</summary>
    public void Kill()
    {
        _process.Kill(entireProcessTree: true);
        _process.WaitForExit(10_000);
    }

    public void Dispose()
    {
        if (!_process.HasExited)
        {
            Kill();
        }

        _process.Dispose();
    }

    private void OnLine(string? line)
    {
        if (line is null)
        {
            return;
        }

        if (line.StartsWith("PROGRESS ", StringComparison.Ordinal) && int.TryParse(line.AsSpan(9), CultureInfo.InvariantCulture, out var progress))
        {
            _progress = progress;
        }
        else if (line.StartsWith("WORK ", StringComparison.Ordinal))
        {
            var parts = line.Split(' ');
            _episodes = int.Parse(parts[1], CultureInfo.InvariantCulture);
            _activities = int.Parse(parts[2], CultureInfo.InvariantCulture);
        }
        else if (line.StartsWith("HOST ", StringComparison.Ordinal) && int.TryParse(line.AsSpan(5), CultureInfo.InvariantCulture, out var hostId))
        {
            HostId = hostId;
        }
        else if (line == "DONE")
        {
            SawDone = true;
        }
        else if (line != "READY")
        {
            lock (Logged)
            {
                Logged.Add(line);
            }

            Log(line);
        }
    }

    private void Signal(string signal)
    {
        using var kill = Process.Start("kill", [signal, _process.Id.ToString(CultureInfo.InvariantCulture)]);
        Assert.True(kill.WaitForExit(10_000), $"kill {signal} did not finish");
        Assert.Equal(0, kill.ExitCode);
    }

    private void Log(string line)
    {
        try
        {
            _output.WriteLine($"[{_name}] {line}");
        }
        catch (InvalidOperationException)
        {
            // The test already finished.
        }
    }
}
