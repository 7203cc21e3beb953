using System.Diagnostics;
using System.Globalization;
using System.Runtime.InteropServices;

namespace Fleet.Hosting.Local;

/// <summary>
/// <c>host start [--script-root DIR] [--port N] [--verbose]</c>: DIR is a built isolated app's output folder, or its
/// project folder (built first with <c>dotnet build</c>). Exits 0 after a graceful stop (Ctrl+C, SIGTERM), 1 with one
/// line naming the cause when the host cannot start, 2 on a usage error.
/// </summary>
public static class HostCommandLine
{
    private const string Usage = "usage: host start [--script-root DIR] [--port N] [--verbose]";

    /// <summary>Runs the command line; returns the exit code.</summary>
    public static async Task<int> RunAsync(string[] args, TextWriter output, TextWriter error)
    {
        ArgumentNullException.ThrowIfNull(args);
        ArgumentNullException.ThrowIfNull(output);
        ArgumentNullException.ThrowIfNull(error);
        if (!TryParse(args, out var scriptRoot, out var port, out var verbose, out var problem))
        {
            await error.WriteLineAsync(problem).ConfigureAwait(false);
            await error.WriteLineAsync(Usage).ConfigureAwait(false);
            return 2;
        }

        using var stop = new CancellationTokenSource();
        using var sigterm = PosixSignalRegistration.Create(PosixSignal.SIGTERM, OnSignal);
        using var sigint = PosixSignalRegistration.Create(PosixSignal.SIGINT, OnSignal);
        LocalFunctionsHost host;
        try
        {
            var root = await ResolveScriptRootAsync(scriptRoot, error, stop.Token).ConfigureAwait(false);
            host = await LocalFunctionsHost.StartAsync(
                new LocalHostOptions { ScriptRoot = root, Port = port, Verbose = verbose, Output = output }, stop.Token).ConfigureAwait(false);
        }
        catch (Exception ex) when (ex is HostStartupException or HostConfigurationException)
        {
            await error.WriteLineAsync("host: " + ex.Message).ConfigureAwait(false);
            return 1;
        }
        catch (OperationCanceledException)
        {
            await error.WriteLineAsync("host: stopped during start-up.").ConfigureAwait(false);
            return 1;
        }

        await using (host.ConfigureAwait(false))
        {
            try
            {
                await Task.Delay(Timeout.Infinite, stop.Token).ConfigureAwait(false);
            }
            catch (OperationCanceledException)
            {
                // Ctrl+C or SIGTERM.
            }

            await host.StopAsync().ConfigureAwait(false);
        }

        return 0;

        void OnSignal(PosixSignalContext context)
        {
            // Keep the process alive until the host has stopped in order.
            context.Cancel = true;
            stop.Cancel();
        }
    }

    /// <summary>Parses the arguments after the program name.</summary>
    internal static bool TryParse(string[] args, out string scriptRoot, out int? port, out bool verbose, out string problem)
    {
        scriptRoot = Directory.GetCurrentDirectory();
        port = null;
        verbose = false;
        problem = string.Empty;
        if (args.Length == 0 || args[0] != "start")
        {
            problem = "host: the only command is 'start'.";
            return false;
        }

        for (var i = 1; i < args.Length; i++)
        {
            switch (args[i])
            {
                case "--script-root" when i + 1 < args.Length:
                    scriptRoot = args[++i];
                    break;
                case "--port" when i + 1 < args.Length:
                    if (!int.TryParse(args[++i], NumberStyles.None, CultureInfo.InvariantCulture, out var parsed) || parsed > 65535)
                    {
                        problem = $"host: --port '{args[i]}' is not a port number (0-65535).";
                        return false;
                    }

                    port = parsed;
                    break;
                case "--verbose":
                    verbose = true;
                    break;
                default:
                    problem = $"host: unknown or incomplete option '{args[i]}'.";
                    return false;
            }
        }

        return true;
    }

    /// <summary>An output folder is used as it is; a project folder is built and its output folder used.</summary>
    internal static async Task<string> ResolveScriptRootAsync(string scriptRoot, TextWriter log, CancellationToken cancellationToken)
    {
        var full = Path.GetFullPath(scriptRoot);
        if (!Directory.Exists(full) || File.Exists(Path.Combine(full, Rpc.WorkerConfig.FileName)))
        {
            return full;
        }

        var projects = Directory.GetFiles(full, "*.csproj");
        if (projects.Length != 1)
        {
            return full;
        }

        await log.WriteLineAsync($"host: building {projects[0]} ...").ConfigureAwait(false);
        var output = Path.Combine(full, "bin", "host-output");
        var info = new ProcessStartInfo("dotnet") { RedirectStandardOutput = true, RedirectStandardError = true, UseShellExecute = false };
        foreach (var argument in new[] { "build", projects[0], "--disable-build-servers", "-nologo", "-v", "quiet", "-clp:ErrorsOnly", "-o", output })
        {
            info.ArgumentList.Add(argument);
        }

        Process? build;
        try
        {
            build = Process.Start(info);
        }
        catch (System.ComponentModel.Win32Exception ex)
        {
            throw new HostStartupException($"'dotnet' was not found on PATH, so {projects[0]} cannot be built: install the .NET SDK.", ex);
        }

        using (build)
        {
            var stdout = build!.StandardOutput.ReadToEndAsync(cancellationToken);
            var stderr = build.StandardError.ReadToEndAsync(cancellationToken);
            await build.WaitForExitAsync(cancellationToken).ConfigureAwait(false);
            if (build.ExitCode != 0)
            {
                var detail = ((await stdout.ConfigureAwait(false)) + (await stderr.ConfigureAwait(false))).Split('\n', StringSplitOptions.RemoveEmptyEntries | StringSplitOptions.TrimEntries).FirstOrDefault() ?? string.Empty;
                throw new HostStartupException($"Building {projects[0]} failed (exit code {build.ExitCode}): {detail}");
            }
        }

        return output;
    }
}
