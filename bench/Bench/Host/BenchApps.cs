using System.Reflection;
using System.Text.Json.Nodes;
using Fleet.Testing;

namespace Fleet.Bench.Host;

/// <summary>
/// Built function apps (the fleet app, the test apps) copied into a private temp folder, where a benchmark may change
/// host.json and local.settings.json and the run starts on an empty durable store.
/// </summary>
internal static class BenchApps
{
    /// <summary>The configuration the benchmarks were built in, which the apps they reference were built in too.</summary>
    public static string Configuration =>
        typeof(BenchApps).Assembly.GetCustomAttribute<AssemblyConfigurationAttribute>()?.Configuration ?? "Release";

    /// <summary>The output folder (the one holding worker.config.json) of a project under <paramref name="projectFolder"/>.</summary>
    /// <param name="projectFolder">The project's folder relative to the repository root, e.g. <c>src/Functions</c>.</param>
    public static string Output(string projectFolder) => RepoPaths.FunctionAppOutputIn(Configuration, projectFolder.Split('/'));

    /// <summary>Copies the app's output (without a <c>.data</c> folder a local run left there) into a new temp folder.</summary>
    public static string Copy(string projectFolder)
    {
        var source = Output(projectFolder);
        var target = Path.Combine(Path.GetTempPath(), "fleet-bench", $"{Path.GetFileName(projectFolder)}-{Guid.NewGuid():N}");
        var data = $"{Path.DirectorySeparatorChar}.data{Path.DirectorySeparatorChar}";
        foreach (var file in Directory.GetFiles(source, "*", SearchOption.AllDirectories))
        {
            var relative = Path.GetRelativePath(source, file);
            if ((Path.DirectorySeparatorChar + relative).Contains(data, StringComparison.Ordinal))
            {
                continue;
            }

            var destination = Path.Combine(target, relative);
            Directory.CreateDirectory(Path.GetDirectoryName(destination)!);
            File.Copy(file, destination);
        }

        return target;
    }

    /// <summary>Sets entries of local.settings.json <c>Values</c> (creating the file when the app has none).</summary>
    public static void SetValues(string root, IReadOnlyDictionary<string, string> values)
    {
        var path = Path.Combine(root, "local.settings.json");
        var json = File.Exists(path) ? JsonNode.Parse(File.ReadAllText(path))!.AsObject() : new JsonObject { ["IsEncrypted"] = false };
        var target = json["Values"] as JsonObject ?? [];
        json["Values"] = target;
        foreach (var (key, value) in values)
        {
            target[key] = value;
        }

        File.WriteAllText(path, json.ToJsonString());
    }

    /// <summary>Changes the copy's host.json.</summary>
    public static void EditHostJson(string root, Action<JsonObject> edit)
    {
        var path = Path.Combine(root, "host.json");
        var json = JsonNode.Parse(File.ReadAllText(path))!.AsObject();
        edit(json);
        File.WriteAllText(path, json.ToJsonString());
    }

    /// <summary>Deletes a copy; a worker that was just stopped may still hold a file for a moment (the temp folder is cleaned later).</summary>
    public static void Delete(string root)
    {
        try
        {
            Directory.Delete(root, recursive: true);
        }
        catch (IOException)
        {
            // Left for the OS to clean up.
        }
    }
}
