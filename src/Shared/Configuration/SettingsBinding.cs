using System.Text.RegularExpressions;
using Microsoft.Extensions.Configuration;

namespace Fleet.Shared.Configuration;

/// <summary>
/// Binds a connection's settings section to its options and, instead of throwing, records a value the binder cannot
/// read, so start-up validation can fail with every bad setting named at once.
/// </summary>
internal static partial class SettingsBinding
{
    /// <summary>Binds <paramref name="section"/> to <paramref name="options"/>; a failure is added to <paramref name="errors"/>.</summary>
    public static void Bind(IConfigurationSection section, object options, ICollection<string> errors,
        string connectionName)
    {
        ArgumentNullException.ThrowIfNull(section);
        ArgumentNullException.ThrowIfNull(errors);
        try
        {
            section.Bind(options);
        }
        catch (InvalidOperationException ex)
        {
            // The value itself is left out of the message: a misplaced secret must not reach logs.
            errors.Add(Describe(connectionName, ex));
        }
    }

    private static string Describe(string connectionName, InvalidOperationException error)
    {
        var match = BinderFailure().Match(error.Message);
        return match.Success
            ? $"Setting '{match.Groups["path"].Value.Replace(":", "__", StringComparison.Ordinal)}' has a value that " +
              $"is not a valid {match.Groups["type"].Value}."
            : $"Settings under '{connectionName}' could not be read ({error.GetType().Name}).";
    }

    [GeneratedRegex("at '(?<path>[^']+)' to type '(?<type>[^']+)'")]
    private static partial Regex BinderFailure();
}
