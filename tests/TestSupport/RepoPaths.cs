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
    /// The build output folder of a function app project under the repository (the newest folder below its
    /// <c>bin</c> that holds worker.config.json), which is what a functions host runs.
    /// </summary>
    public static string FunctionAppOutput(params string[] projectFolder)
    {
        var bin = Path.Combine([Root, .. projectFolder, "bin"]);
        var found = Directory.Exists(bin)
            ? Directory.GetFiles(bin, "worker.config.json", SearchOption.AllDirectories).OrderByDescending(NewestFileBeside).FirstOrDefault()
            : null;
        return Path.GetDirectoryName(found ?? throw new InvalidOperationException(
            $"No built function app under {bin}: build the test project, which builds the app through its project reference."))!;
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
