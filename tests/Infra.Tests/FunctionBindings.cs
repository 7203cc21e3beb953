using System.Reflection;
using System.Text.RegularExpressions;

namespace Fleet.Infra.Tests;

/// <summary>
/// The triggers and bindings of the app's functions, read by reflection from the attributes on their parameters.
/// Attributes are recognised by name and read by property name (<c>QueueName</c>, <c>Connection</c>…), so the
/// worker's own attributes and the local host's mirror of them read alike.
/// </summary>
internal static partial class FunctionBindings
{
    /// <summary>The connection a storage binding uses when it names none.</summary>
    public const string DefaultStorageConnection = "AzureWebJobsStorage";

    /// <summary>Every binding attribute on a parameter of a method marked <c>[Function]</c> in <paramref name="assembly"/>.</summary>
    public static IReadOnlyList<Binding> Of(Assembly assembly)
    {
        ArgumentNullException.ThrowIfNull(assembly);
        var bindings = new List<Binding>();
        foreach (var type in assembly.GetTypes())
        {
            foreach (var method in type.GetMethods(BindingFlags.Public | BindingFlags.NonPublic | BindingFlags.Instance | BindingFlags.Static))
            {
                var function = method.GetCustomAttributes().FirstOrDefault(a => a.GetType().Name == "FunctionAttribute");
                if (function is null)
                {
                    continue;
                }

                var functionName = function.GetType().GetProperty("Name")?.GetValue(function) as string ?? method.Name;
                // Output bindings for the return value sit on the method itself ([QueueOutput] on a function).
                foreach (var attribute in method.GetParameters().SelectMany(p => p.GetCustomAttributes()).Concat(method.GetCustomAttributes()))
                {
                    var kind = attribute.GetType().Name;
                    if (!kind.EndsWith("Attribute", StringComparison.Ordinal))
                    {
                        continue;
                    }

                    kind = kind[..^"Attribute".Length];
                    if (kind.EndsWith("Trigger", StringComparison.Ordinal) || kind.EndsWith("Input", StringComparison.Ordinal)
                        || kind.EndsWith("Output", StringComparison.Ordinal) || kind == "DurableClient")
                    {
                        var values = attribute.GetType().GetProperties()
                            .Where(p => p.PropertyType == typeof(string) && p.GetIndexParameters().Length == 0)
                            .ToDictionary(p => p.Name, p => (string?)p.GetValue(attribute), StringComparer.Ordinal);
                        bindings.Add(new Binding(functionName, kind, values));
                    }
                }
            }
        }

        return bindings;
    }

    /// <summary>The <c>%Setting%</c> names in a binding value (the Functions host resolves them from app settings).</summary>
    public static IEnumerable<string> SettingReferences(string? value) =>
        value is null ? [] : SettingReference().Matches(value).Select(m => m.Groups["name"].Value);

    [GeneratedRegex("%(?<name>[^%]+)%")]
    private static partial Regex SettingReference();
}

/// <summary>A trigger or binding of one function.</summary>
/// <param name="Function">The function's name.</param>
/// <param name="Kind">The attribute without <c>Attribute</c>: <c>QueueTrigger</c>, <c>ServiceBusTrigger</c>, <c>DurableClient</c>…</param>
/// <param name="Values">The attribute's string properties (<c>QueueName</c>, <c>Connection</c>, <c>Schedule</c>…).</param>
internal sealed record Binding(string Function, string Kind, IReadOnlyDictionary<string, string?> Values)
{
    /// <summary>A string property of the attribute, or null.</summary>
    public string? this[string property] => Values.TryGetValue(property, out var value) ? value : null;

    /// <inheritdoc />
    public override string ToString() => $"{Function} [{Kind}]";
}
