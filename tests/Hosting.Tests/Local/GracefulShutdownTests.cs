using System.Diagnostics;
using System.Net;
using System.Text;
using Fleet.Testing;

namespace Fleet.Hosting.Tests.Local;

/// <summary>The host as users run it (a process): SIGTERM drains in-flight requests, terminates the worker, exits 0; start-up errors exit 1 with one line.</summary>
public sealed class GracefulShutdownTests
{
    private static string HostAssembly => Path.Combine(AppContext.BaseDirectory, "Fleet.Hosting.dll");

    [Fact]
    public async Task SIGTERM_drains_the_in_flight_request_terminates_the_worker_and_exits_zero()
    {
        var port = FreePort.Next();
        using var host = StartHost(TestApps.Output("HttpApp"), port, out var output);
        using var client = new HttpClient { BaseAddress = new Uri($"http://127.0.0.1:{port}/"), Timeout = TimeSpan.FromSeconds(30) };
        await WaitForAsync(() => Read(output).Contains("Listening on", StringComparison.Ordinal), host);

        var slow = client.GetAsync("api/slow?ms=2000");
        await WaitForAsync(() => Read(output).Contains("Executing 'Functions.Slow'", StringComparison.Ordinal), host);
        using (var kill = Process.Start("kill", ["-TERM", host.Id.ToString()]))
        {
            await kill.WaitForExitAsync();
        }

        using var response = await slow;
        Assert.Equal(HttpStatusCode.OK, response.StatusCode);
        Assert.Equal("slept 2000", await response.Content.ReadAsStringAsync());

        using var exit = new CancellationTokenSource(TimeSpan.FromSeconds(30));
        await host.WaitForExitAsync(exit.Token);
        Assert.Equal(0, host.ExitCode);
        var log = Read(output);
        Assert.Contains("Stopping: listeners stop", log, StringComparison.Ordinal);
        Assert.Matches(@"Worker process \d+ exited with code 0", log);
    }

    [Fact]
    public async Task A_start_up_error_exits_non_zero_with_one_line_naming_the_cause()
    {
        var missing = Path.Combine(Path.GetTempPath(), "fleet-no-such-app-" + Guid.NewGuid().ToString("N"));
        using var host = StartHost(missing, FreePort.Next(), out var output, out var errors);
        using var exit = new CancellationTokenSource(TimeSpan.FromSeconds(30));
        await host.WaitForExitAsync(exit.Token);
        Assert.Equal(1, host.ExitCode);
        var line = Assert.Single(Read(errors).Split('\n', StringSplitOptions.RemoveEmptyEntries));
        Assert.Equal($"host: The script root '{missing}' does not exist (--script-root).", line.TrimEnd());
    }

    private static Process StartHost(string scriptRoot, int port, out StringBuilder output) => StartHost(scriptRoot, port, out output, out _);

    private static Process StartHost(string scriptRoot, int port, out StringBuilder output, out StringBuilder errors)
    {
        var info = new ProcessStartInfo("dotnet") { RedirectStandardOutput = true, RedirectStandardError = true, UseShellExecute = false };
        foreach (var argument in new[] { HostAssembly, "start", "--script-root", scriptRoot, "--port", port.ToString() })
        {
            info.ArgumentList.Add(argument);
        }

        var stdout = new StringBuilder();
        var stderr = new StringBuilder();
        var process = new Process { StartInfo = info };
        process.OutputDataReceived += (_, e) =>
        {
            lock (stdout)
            {
                stdout.AppendLine(e.Data);
            }
        };
        process.ErrorDataReceived += (_, e) =>
        {
            lock (stderr)
            {
                stderr.AppendLine(e.Data);
            }
        };
        process.Start();
        process.BeginOutputReadLine();
        process.BeginErrorReadLine();
        output = stdout;
        errors = stderr;
        return process;
    }

    private static string Read(StringBuilder builder)
    {
        lock (builder)
        {
            return builder.ToString();
        }
    }

    private static async Task WaitForAsync(Func<bool> condition, Process host)
    {
        using var timeout = new CancellationTokenSource(TimeSpan.FromSeconds(60));
        while (!condition())
        {
            Assert.False(host.HasExited, "The host exited early.");
            await Task.Delay(50, timeout.Token);
        }
    }
}
