using System.Reflection;

namespace Fleet.Testing;

/// <summary>Locates the repository's root so tests can reach node_modules, host.json and the like.</summary>
public static class RepoPaths
{
    private static readonly Lazy<string> LazyRoot = new(FindRoot);

    /// <summary>The folder that holds Functions.sln.</summary>
    public static string Root => LazyRoot.Value;

    /// <summary>A path under the repository root.</summary>
    public static string Combine(params string[] parts) => Path.Combine([Root, .. parts]);

    /// <summary>
    /// The build output folder of a function app project under the repository (the folder below its <c>bin</c> that
    /// holds worker.config.json and was built last), which is what a functions host runs.
    /// </summary>
    /// <remarks>
    /// Only the build configuration the tests themselves were built in: another test project may publish the same app
    /// in Release meanwhile (Infra.Tests does), and a half-written Release folder must never be picked.
    /// </remarks>
    public static string FunctionAppOutput(params string[] projectFolder) =>
        FunctionAppOutputIn(typeof(RepoPaths).Assembly.GetCustomAttribute<AssemblyConfigurationAttribute>()?.Configuration, projectFolder);

    /// <summary>As <see cref="FunctionAppOutput"/>, in one build configuration (<c>Debug</c>, <c>Release</c>) or any when null.</summary>
    public static string FunctionAppOutputIn(string? configuration, params string[] projectFolder)
    {
        var bin = Path.Combine([Root, .. projectFolder, "bin", .. configuration is null ? Array.Empty<string>() : [configuration]]);
        var found = Directory.Exists(bin)
            ? Directory.GetFiles(bin, "worker.config.json", SearchOption.AllDirectories).OrderByDescending(NewestFileBeside).FirstOrDefault()
            : null;
        return Path.GetDirectoryName(found ?? throw new InvalidOperationException(
            $"No built function app under {bin}: build the project that references it (a test project, or bench/Bench -c Release)."))!;
    }

    // The build that ran last, Debug or Release: worker.config.json itself is left alone when unchanged, the app's
    // assembly and functions.metadata are not.
    private static DateTime NewestFileBeside(string file) =>
        Directory.GetFiles(Path.GetDirectoryName(file)!).Max(File.GetLastWriteTimeUtc);

    private static string FindRoot()
    {
        for (var dir = new DirectoryInfo(AppContext.BaseDirectory); dir is not null; dir = dir.Parent)
        {
            if (File.Exists(Path.Combine(dir.FullName, "Functions.sln")))
            {
                return dir.FullName;
            }
        }

        throw new InvalidOperationException($"Functions.sln not found above {AppContext.BaseDirectory}.");
    }
}
