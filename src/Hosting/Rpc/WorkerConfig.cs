using System.Text.Json;
using System.Text.Json.Nodes;

namespace Fleet.Hosting.Rpc;

/// <summary>
/// The worker.config.json the Worker.Sdk writes into an app's output: how to start the worker process
/// (<c>description.defaultExecutablePath</c> and <c>description.defaultWorkerPath</c>) and whether it indexes its own
/// functions (<c>workerIndexing</c>).
/// </summary>
internal sealed record WorkerConfig(string Language, string ExecutablePath, string WorkerPath, bool WorkerIndexing)
{
    public const string FileName = "worker.config.json";

    /// <summary>Reads and checks <c>worker.config.json</c> in <paramref name="scriptRoot"/>.</summary>
    /// <exception cref="HostStartupException">Missing, malformed, or naming a runtime this host does not run.</exception>
    public static WorkerConfig Read(string scriptRoot)
    {
        var path = Path.Combine(scriptRoot, FileName);
        if (!File.Exists(path))
        {
            throw new HostStartupException(
                $"{path} was not found: --script-root must be a built .NET isolated app's output folder (or its project folder).");
        }

        JsonObject description;
        try
        {
            var root = JsonNode.Parse(File.ReadAllText(path), documentOptions: new JsonDocumentOptions { CommentHandling = JsonCommentHandling.Skip, AllowTrailingCommas = true });
            description = root?["description"] as JsonObject
                ?? throw new HostStartupException($"{path}: 'description' is missing or not an object.");
        }
        catch (JsonException ex)
        {
            throw new HostStartupException($"{path} is not valid JSON (line {ex.LineNumber + 1}): {ex.Message}");
        }

        var language = Text(description, "language", path);
        if (!string.Equals(language, "dotnet-isolated", StringComparison.OrdinalIgnoreCase))
        {
            throw new HostStartupException($"{path}: description.language is '{language}'; this host runs dotnet-isolated workers only.");
        }

        var executable = Text(description, "defaultExecutablePath", path);
        var worker = Text(description, "defaultWorkerPath", path);
        var indexing = description["workerIndexing"]?.ToString();
        return new WorkerConfig(language, executable, Path.GetFullPath(worker, scriptRoot), string.Equals(indexing, "true", StringComparison.OrdinalIgnoreCase));
    }

    /// <summary>
    /// The executable to start: an absolute or relative path as written, or a command found on PATH (<c>dotnet</c>).
    /// </summary>
    /// <exception cref="HostStartupException">Not found.</exception>
    public string ResolveExecutable(string scriptRoot)
    {
        if (ExecutablePath.Contains(Path.DirectorySeparatorChar, StringComparison.Ordinal) || Path.IsPathRooted(ExecutablePath))
        {
            var full = Path.GetFullPath(ExecutablePath, scriptRoot);
            return File.Exists(full)
                ? full
                : throw new HostStartupException($"{Path.Combine(scriptRoot, FileName)}: description.defaultExecutablePath '{ExecutablePath}' does not exist.");
        }

        foreach (var folder in (Environment.GetEnvironmentVariable("PATH") ?? string.Empty).Split(Path.PathSeparator, StringSplitOptions.RemoveEmptyEntries))
        {
            var candidate = Path.Combine(folder, ExecutablePath);
            if (File.Exists(candidate))
            {
                return candidate;
            }
        }

        throw new HostStartupException(
            $"'{ExecutablePath}' (description.defaultExecutablePath in {Path.Combine(scriptRoot, FileName)}) was not found on PATH: install the .NET SDK or runtime the app targets.");
    }

    private static string Text(JsonObject description, string name, string path)
    {
        var value = description[name] is JsonValue v && v.TryGetValue<string>(out var s) ? s : null;
        return string.IsNullOrWhiteSpace(value)
            ? throw new HostStartupException($"{path}: description.{name} is missing or empty.")
            : value;
    }
}
