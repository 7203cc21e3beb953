using System.Diagnostics;
using Fleet.Testing;

namespace Fleet.Infra.Tests;

/// <summary>
/// The pinned Bicep CLI, found through <c>infra/install-bicep</c> (the installer <c>./test</c> uses, which restores it
/// from NuGet into <c>.data/tools</c> when missing).
/// </summary>
internal static class BicepCli
{
    private static readonly TimeSpan CommandTimeout = TimeSpan.FromMinutes(3);
    private static readonly Lazy<string> LazyPath = new(Install);

    /// <summary>Path of the bicep binary.</summary>
    public static string Path => LazyPath.Value;

    /// <summary>Runs bicep with <paramref name="arguments"/> in <paramref name="workingDirectory"/>; throws with its output unless it exits 0.</summary>
    public static string Run(string workingDirectory, params string[] arguments)
    {
        var (exitCode, stdout, stderr) = Execute(Path, workingDirectory, arguments);
        if (exitCode != 0)
        {
            throw new InvalidOperationException($"bicep {string.Join(' ', arguments)} exited {exitCode}:\n{stderr}\n{stdout}");
        }

        return stdout + stderr;
    }

    private static string Install()
    {
        var installer = RepoPaths.Combine("infra", "install-bicep");
        var (exitCode, stdout, stderr) = Execute("bash", RepoPaths.Root, installer);
        var path = stdout.Trim();
        if (exitCode != 0 || !File.Exists(path))
        {
            throw new InvalidOperationException(
                $"The Bicep CLI is missing and infra/install-bicep could not install it (exit {exitCode}); it restores " +
                $"NuGet package Azure.Bicep.CommandLine.linux-x64 into .data/tools, so the NuGet feed must be reachable once.\n{stderr}");
        }

        return path;
    }

    private static (int ExitCode, string Stdout, string Stderr) Execute(string fileName, string workingDirectory, params string[] arguments)
    {
        var start = new ProcessStartInfo(fileName)
        {
            WorkingDirectory = workingDirectory,
            RedirectStandardOutput = true,
            RedirectStandardError = true,
            UseShellExecute = false,
        };
        foreach (var argument in arguments)
        {
            start.ArgumentList.Add(argument);
        }

        // Bicep checks for newer versions and reports telemetry unless told not to; the pinned CLI must work offline.
        start.Environment["BICEP_TRACING_ENABLED"] = "false";
        start.Environment["BICEP_TELEMETRY_DISABLED"] = "true";
        using var process = Process.Start(start) ?? throw new InvalidOperationException($"Could not start {fileName}.");
        var stdout = process.StandardOutput.ReadToEndAsync();
        var stderr = process.StandardError.ReadToEndAsync();
        if (!process.WaitForExit(CommandTimeout))
        {
            process.Kill(entireProcessTree: true);
            throw new TimeoutException($"{fileName} {string.Join(' ', arguments)} did not finish within {CommandTimeout}.");
        }

        process.WaitForExit();
        return (process.ExitCode, stdout.Result, stderr.Result);
    }
}
