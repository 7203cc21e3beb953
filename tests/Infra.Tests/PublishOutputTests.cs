using System.Diagnostics;
using System.Reflection;
using System.Text.Json.Nodes;
using Fleet.Testing;

namespace Fleet.Infra.Tests;

/// <summary>
/// <c>dotnet publish</c> of the app, once for the class: what a zip deployment hands to Azure Functions must hold a
/// function index with every function, the extensions the platform's host loads for its triggers, the worker's
/// description and the repository's host.json, and never the local settings.
/// </summary>
public sealed class PublishOutputTests(PublishOutputTests.Published published) : IClassFixture<PublishOutputTests.Published>
{
    [Fact]
    public void The_function_index_lists_every_function_of_the_app_with_its_trigger()
    {
        var metadata = JsonNode.Parse(published.Read("functions.metadata"))!.AsArray();
        var indexed = metadata.ToDictionary(f => (string)f!["name"]!, f => f!["bindings"]!.AsArray());

        var declared = FunctionNames(ComposedApp.AppAssembly);
        Assert.Equal(41, declared.Count); // pinned: a function that stops being found by reflection or the SDK fails here
        Assert.Equal(declared.Order(), indexed.Keys.Order());
        Assert.All(indexed, f => Assert.Contains(f.Value, b => ((string)b!["type"]!).EndsWith("Trigger", StringComparison.Ordinal)));
        Assert.All(metadata, f => Assert.Equal("Fleet.Functions.dll", (string)f!["scriptFile"]!));
    }

    [Fact]
    public void The_extensions_the_platform_host_loads_are_named_and_shipped()
    {
        var extensions = JsonNode.Parse(published.Read("extensions.json"))!["extensions"]!.AsArray();
        var names = extensions.Select(e => (string)e!["name"]!).ToList();

        Assert.Contains("DurableTask", names);
        Assert.Contains("AzureStorageQueues", names);
        Assert.All(extensions, e => Assert.True(
            File.Exists(Path.GetFullPath((string)e!["hintPath"]!, published.Folder)),
            $"extension {(string)e!["name"]!} points at {(string)e["hintPath"]!}, which is not in the publish output"));
    }

    [Fact]
    public void The_worker_description_host_json_and_no_local_settings_are_published()
    {
        var worker = JsonNode.Parse(published.Read("worker.config.json"))!["description"]!;
        Assert.Equal("dotnet-isolated", (string)worker["language"]!);
        Assert.Equal("Fleet.Functions.dll", (string)worker["defaultWorkerPath"]!);
        Assert.True(File.Exists(Path.Combine(published.Folder, "Fleet.Functions.dll")));
        Assert.Contains("net10.0", published.Read("Fleet.Functions.runtimeconfig.json"), StringComparison.Ordinal);

        Assert.Equal(File.ReadAllText(RepoPaths.Combine("host.json")), published.Read("host.json"));
        Assert.False(File.Exists(Path.Combine(published.Folder, "local.settings.json")), "local.settings.json must never be published");
        Assert.False(File.Exists(Path.Combine(published.Folder, "local.settings.sample.json")));
    }

    private static List<string> FunctionNames(Assembly assembly) =>
        [.. assembly.GetTypes()
            .SelectMany(t => t.GetMethods(BindingFlags.Public | BindingFlags.NonPublic | BindingFlags.Instance | BindingFlags.Static))
            .Select(m => m.GetCustomAttributes().FirstOrDefault(a => a.GetType().Name == "FunctionAttribute"))
            .OfType<Attribute>()
            .Select(a => (string)a.GetType().GetProperty("Name")!.GetValue(a)!)];

    /// <summary>The app published in Release into a temp folder (deleted afterwards).</summary>
    public sealed class Published : IDisposable
    {
        public Published()
        {
            Folder = Directory.CreateTempSubdirectory("fleet-publish-").FullName;
            var start = new ProcessStartInfo("dotnet",
                ["publish", RepoPaths.Combine("src", "Functions", "Functions.csproj"), "-c", "Release", "-o", Folder,
                 "--nologo", "-v", "quiet", "--disable-build-servers"])
            {
                RedirectStandardOutput = true,
                RedirectStandardError = true,
            };
            using var process = Process.Start(start)!;
            var output = process.StandardOutput.ReadToEndAsync();
            var errors = process.StandardError.ReadToEndAsync();
            if (!process.WaitForExit(TimeSpan.FromMinutes(5)))
            {
                process.Kill(entireProcessTree: true);
                throw new TimeoutException("dotnet publish of the app did not finish within 5 minutes.");
            }

            if (process.ExitCode != 0)
            {
                throw new InvalidOperationException($"dotnet publish of the app failed ({process.ExitCode}):\n{output.Result}\n{errors.Result}");
            }
        }

        public string Folder { get; }

        public string Read(string file) => File.ReadAllText(Path.Combine(Folder, file));

        public void Dispose() => Directory.Delete(Folder, recursive: true);
    }
}
