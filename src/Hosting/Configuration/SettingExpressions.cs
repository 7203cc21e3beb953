using System.Text;
using Microsoft.Extensions.Configuration;

namespace Fleet.Hosting.Configuration;

/// <summary>
/// Resolves <c>%Setting%</c> references in attribute arguments from configuration, as Azure Functions does. A
/// setting name may nest with <c>:</c> or <c>__</c>; <c>%%</c> is a literal percent sign.
/// </summary>
internal static class SettingExpressions
{
    /// <summary>Replaces every <c>%name%</c> with the setting's value.</summary>
    /// <exception cref="KeyNotFoundException">A referenced setting is missing or empty; the message names it.</exception>
    /// <exception cref="FormatException">A <c>%</c> is not closed.</exception>
    public static string Resolve(string value, IConfiguration configuration) => Resolve(value, configuration, out _);

    /// <summary>Replaces every <c>%name%</c>, reporting the last setting referenced.</summary>
    public static string Resolve(string value, IConfiguration configuration, out string? lastSetting)
    {
        lastSetting = null;
        if (!value.Contains('%', StringComparison.Ordinal))
        {
            return value;
        }

        var result = new StringBuilder(value.Length);
        var index = 0;
        while (index < value.Length)
        {
            var start = value.IndexOf('%', index);
            if (start < 0)
            {
                result.Append(value, index, value.Length - index);
                break;
            }

            result.Append(value, index, start - index);
            var end = value.IndexOf('%', start + 1);
            if (end < 0)
            {
                throw new FormatException($"'{value}' has a '%' without its closing '%'.");
            }

            if (end == start + 1)
            {
                result.Append('%');
            }
            else
            {
                var name = value[(start + 1)..end];
                lastSetting = name;
                var resolved = configuration[name.Replace("__", ":", StringComparison.Ordinal)];
                if (string.IsNullOrEmpty(resolved))
                {
                    throw new KeyNotFoundException($"setting '{name}' (referenced as %{name}%) is not set");
                }

                result.Append(resolved);
            }

            index = end + 1;
        }

        return result.ToString();
    }
}
