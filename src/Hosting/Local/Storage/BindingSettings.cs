using System.Text.Json;
using System.Text.Json.Nodes;
using Fleet.Hosting.Configuration;
using Microsoft.Extensions.Configuration;

namespace Fleet.Hosting.Local.Storage;

/// <summary>Reads a binding's settings from its raw_bindings JSON, resolving <c>%Setting%</c> references.</summary>
internal static class BindingSettings
{
    /// <summary>The setting's value as text (case-insensitive key), or null when absent or empty.</summary>
    public static string? Raw(BindingSpec binding, string key)
    {
        foreach (var (name, node) in binding.Raw)
        {
            if (string.Equals(name, key, StringComparison.OrdinalIgnoreCase) && node is JsonValue value)
            {
                var text = value.GetValueKind() == JsonValueKind.String ? value.GetValue<string>() : value.ToJsonString();
                return string.IsNullOrWhiteSpace(text) ? null : text;
            }
        }

        return null;
    }

    /// <summary>A boolean setting (<c>runOnStartup</c>, <c>useMonitor</c>): JSON true/false or the strings.</summary>
    public static bool Flag(BindingSpec binding, string key, bool defaultValue) =>
        Raw(binding, key) is { } text && bool.TryParse(text, out var value) ? value : defaultValue;

    /// <summary>
    /// The setting with every <c>%name%</c> replaced from the app settings; <paramref name="problem"/> names the
    /// missing setting when one is not set.
    /// </summary>
    public static string? Resolved(BindingSpec binding, string key, IConfiguration settings, out string? problem)
    {
        problem = null;
        var raw = Raw(binding, key);
        if (raw is null)
        {
            return null;
        }

        try
        {
            return SettingExpressions.Resolve(raw, settings);
        }
        catch (Exception ex) when (ex is KeyNotFoundException or FormatException)
        {
            problem = $"binding '{binding.Name}' {key} '{raw}': {ex.Message}";
            return null;
        }
    }
}
