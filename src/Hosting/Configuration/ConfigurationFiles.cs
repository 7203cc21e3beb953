using System.Globalization;
using System.Text.Json;

namespace Fleet.Hosting.Configuration;

/// <summary>
/// Reads host.json and local.settings.json into flat configuration keys, the way the Functions host and Core Tools
/// see them: host.json under <c>AzureFunctionsJobHost:</c> (so <c>AzureFunctionsJobHost__…</c> environment variables
/// override it), local.settings.json <c>Values</c> at the root with <c>__</c> nesting, <c>ConnectionStrings</c> under
/// <c>ConnectionStrings:</c> and <c>Host</c> under <c>Host:</c>.
/// </summary>
internal static class ConfigurationFiles
{
    public const string HostJsonFileName = "host.json";
    public const string LocalSettingsFileName = "local.settings.json";
    public const string HostJsonPrefix = "AzureFunctionsJobHost";

    private static readonly JsonDocumentOptions DocumentOptions = new()
    {
        CommentHandling = JsonCommentHandling.Skip,
        AllowTrailingCommas = true,
    };

    private static readonly string[] LocalSettingsKeys = ["IsEncrypted", "Values", "ConnectionStrings", "Host"];
    private static readonly string[] LocalHostKeys = ["LocalHttpPort", "CORS", "CORSCredentials", "ShutdownTimeout", "WorkerStartupTimeout"];

    /// <summary>Reads host.json from <paramref name="contentRoot"/>; it must exist and be a JSON object.</summary>
    /// <exception cref="HostConfigurationException">Missing or malformed.</exception>
    public static Dictionary<string, string?> ReadHostJson(string contentRoot)
    {
        var path = Path.Combine(contentRoot, HostJsonFileName);
        if (!File.Exists(path))
        {
            throw new HostConfigurationException(
                HostJsonFileName,
                $"host.json was not found in the content root '{contentRoot}'. Every function app needs one (at least {{\"version\": \"2.0\"}}); " +
                "set the content root with AzureWebJobsScriptRoot or FunctionsApplicationOptions.ContentRoot.");
        }

        using var document = Parse(path, HostJsonFileName);
        var values = new Dictionary<string, string?>(StringComparer.OrdinalIgnoreCase);
        Flatten(document.RootElement, HostJsonPrefix, values);
        return values;
    }

    /// <summary>Reads local.settings.json from <paramref name="contentRoot"/> when present (it is a local-only file).</summary>
    /// <exception cref="HostConfigurationException">Malformed, encrypted, or with unknown sections.</exception>
    public static LocalSettings ReadLocalSettings(string contentRoot)
    {
        var values = new Dictionary<string, string?>(StringComparer.OrdinalIgnoreCase);
        var rawValues = new List<KeyValuePair<string, string>>();
        var path = Path.Combine(contentRoot, LocalSettingsFileName);
        if (!File.Exists(path))
        {
            return new LocalSettings(values, rawValues);
        }

        using var document = Parse(path, LocalSettingsFileName);
        foreach (var property in document.RootElement.EnumerateObject())
        {
            var known = LocalSettingsKeys.FirstOrDefault(k => string.Equals(k, property.Name, StringComparison.OrdinalIgnoreCase));
            switch (known)
            {
                case "IsEncrypted":
                    if (property.Value.ValueKind == JsonValueKind.True)
                    {
                        throw new HostConfigurationException(
                            "local.settings.json:IsEncrypted",
                            "local.settings.json is encrypted; this host reads plain settings only. Decrypt it (func settings decrypt) or set IsEncrypted to false.");
                    }

                    if (property.Value.ValueKind != JsonValueKind.False)
                    {
                        throw new HostConfigurationException("local.settings.json:IsEncrypted", "local.settings.json 'IsEncrypted' must be true or false.");
                    }

                    break;
                case "Values":
                    foreach (var (key, value) in StringEntries(property.Value, "Values"))
                    {
                        // '__' nests, as environment variables do: Provisioning__Queue is Provisioning:Queue.
                        values[key.Replace("__", ":", StringComparison.Ordinal)] = value;
                        if (!string.IsNullOrEmpty(value))
                        {
                            rawValues.Add(new(key, value));
                        }
                    }

                    break;
                case "ConnectionStrings":
                    foreach (var (key, value) in StringEntries(property.Value, "ConnectionStrings"))
                    {
                        values["ConnectionStrings:" + key] = value;
                    }

                    break;
                case "Host":
                    foreach (var (key, value) in StringEntries(property.Value, "Host"))
                    {
                        var hostKey = LocalHostKeys.FirstOrDefault(k => string.Equals(k, key, StringComparison.OrdinalIgnoreCase))
                            ?? throw new HostConfigurationException(
                                "local.settings.json:Host:" + key,
                                $"local.settings.json 'Host' has an unknown setting '{key}'; known: {string.Join(", ", LocalHostKeys)}.");
                        values["Host:" + hostKey] = value;
                    }

                    break;
                default:
                    throw new HostConfigurationException(
                        "local.settings.json:" + property.Name,
                        $"local.settings.json has an unknown section '{property.Name}'; known: {string.Join(", ", LocalSettingsKeys)}.");
            }
        }

        return new LocalSettings(values, rawValues);
    }

    /// <summary>
    /// Puts local.settings.json <c>Values</c> into the process environment as Core Tools does for the worker, so code
    /// and SDKs that read environment variables (Azure.Identity's managed identity reads <c>IDENTITY_ENDPOINT</c> and
    /// <c>IDENTITY_HEADER</c>) see them. A variable that is already set (non-empty) keeps its value.
    /// </summary>
    public static void ExportToEnvironment(IEnumerable<KeyValuePair<string, string>> values)
    {
        foreach (var (name, value) in values)
        {
            if (string.IsNullOrEmpty(Environment.GetEnvironmentVariable(name)))
            {
                Environment.SetEnvironmentVariable(name, value);
            }
        }
    }

    private static JsonDocument Parse(string path, string fileName)
    {
        JsonDocument document;
        try
        {
            document = JsonDocument.Parse(File.ReadAllBytes(path), DocumentOptions);
        }
        catch (JsonException ex)
        {
            throw new HostConfigurationException(
                fileName,
                $"{fileName} is not valid JSON (line {ex.LineNumber + 1}, position {ex.BytePositionInLine + 1}).", ex);
        }
        catch (IOException ex)
        {
            throw new HostConfigurationException(fileName, $"{fileName} could not be read: {ex.Message}", ex);
        }

        if (document.RootElement.ValueKind != JsonValueKind.Object)
        {
            document.Dispose();
            throw new HostConfigurationException(fileName, $"{fileName} must contain a JSON object.");
        }

        return document;
    }

    private static IEnumerable<(string Key, string? Value)> StringEntries(JsonElement section, string sectionName)
    {
        if (section.ValueKind == JsonValueKind.Null)
        {
            yield break;
        }

        if (section.ValueKind != JsonValueKind.Object)
        {
            throw new HostConfigurationException(
                "local.settings.json:" + sectionName, $"local.settings.json '{sectionName}' must be an object of name/value pairs.");
        }

        foreach (var entry in section.EnumerateObject())
        {
            yield return entry.Value.ValueKind switch
            {
                JsonValueKind.String => (entry.Name, entry.Value.GetString()),
                JsonValueKind.Number or JsonValueKind.True or JsonValueKind.False => (entry.Name, entry.Value.GetRawText()),
                JsonValueKind.Null => (entry.Name, null),
                _ => throw new HostConfigurationException(
                    $"local.settings.json:{sectionName}:{entry.Name}",
                    $"local.settings.json '{sectionName}.{entry.Name}' must be a string, number or boolean (nest with '__' in the name instead)."),
            };
        }
    }

    private static void Flatten(JsonElement element, string path, Dictionary<string, string?> values)
    {
        switch (element.ValueKind)
        {
            case JsonValueKind.Object:
                foreach (var property in element.EnumerateObject())
                {
                    Flatten(property.Value, path + ":" + property.Name, values);
                }

                break;
            case JsonValueKind.Array:
                var index = 0;
                foreach (var item in element.EnumerateArray())
                {
                    Flatten(item, path + ":" + index.ToString(CultureInfo.InvariantCulture), values);
                    index++;
                }

                break;
            case JsonValueKind.String:
                values[path] = element.GetString();
                break;
            case JsonValueKind.Null:
                values[path] = null;
                break;
            default:
                values[path] = element.GetRawText();
                break;
        }
    }
}

/// <summary>local.settings.json as configuration keys, and its non-empty <c>Values</c> under their names as written.</summary>
internal sealed record LocalSettings(Dictionary<string, string?> Configuration, IReadOnlyList<KeyValuePair<string, string>> Values);
