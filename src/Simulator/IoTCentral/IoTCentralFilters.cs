using System.Text.RegularExpressions;

namespace Fleet.Simulator.IoTCentral;

/// <summary>
/// The two filter languages the simulator understands, each a documented subset: device-group queries
/// (<c>SELECT * FROM devices [WHERE $field = value [AND …]]</c>, fields <c>$id</c>, <c>$displayName</c>,
/// <c>$template</c>, <c>$enabled</c>, <c>$provisioned</c>, <c>$simulated</c>, <c>$organization</c>, operators
/// <c>=</c> and <c>!=</c>) and OData <c>$filter</c> on device lists (<c>field eq|ne value</c> joined by <c>and</c> /
/// <c>or</c>, fields <c>id</c>, <c>displayName</c>, <c>template</c>, <c>enabled</c>, <c>provisioned</c>,
/// <c>simulated</c>).
/// </summary>
internal static partial class IoTCentralFilters
{
    /// <summary>Parses a device-group query; null with a reason when it is outside the subset.</summary>
    public static Func<IoTCentralDeviceEntity, bool>? ParseGroupQuery(string query, out string? problem)
    {
        problem = null;
        var match = GroupQuery().Match(query.Trim());
        if (!match.Success)
        {
            problem = "A device group filter must read 'SELECT * FROM devices [WHERE …]'.";
            return null;
        }

        if (!match.Groups["where"].Success)
        {
            return static _ => true;
        }

        var conditions = new List<Func<IoTCentralDeviceEntity, bool>>();
        foreach (var part in AndSplit().Split(match.Groups["where"].Value))
        {
            var condition = GroupCondition().Match(part.Trim());
            if (!condition.Success || Field(condition.Groups["field"].Value, condition.Groups["value"].Value) is not { } test)
            {
                problem = $"The condition '{part.Trim()}' is not supported (use $field = \"value\" with $template, $displayName, $id, $organization, or $enabled/$provisioned/$simulated = true|false).";
                return null;
            }

            conditions.Add(condition.Groups["op"].Value == "!=" ? d => !test(d) : test);
        }

        return device => conditions.All(c => c(device));
    }

    /// <summary>Parses an OData <c>$filter</c>; null with a reason when it is outside the subset.</summary>
    public static Func<IoTCentralDeviceEntity, bool>? ParseODataFilter(string filter, out string? problem)
    {
        problem = null;
        var alternatives = new List<List<Func<IoTCentralDeviceEntity, bool>>>();
        foreach (var alternative in OrSplit().Split(filter.Trim()))
        {
            var all = new List<Func<IoTCentralDeviceEntity, bool>>();
            foreach (var part in AndSplit().Split(alternative))
            {
                var condition = ODataCondition().Match(part.Trim());
                if (!condition.Success || Field("$" + condition.Groups["field"].Value, condition.Groups["value"].Value) is not { } test)
                {
                    problem = $"The $filter term '{part.Trim()}' is not supported (use field eq|ne 'value' with id, displayName, template, or enabled/provisioned/simulated eq true|false).";
                    return null;
                }

                all.Add(condition.Groups["op"].Value.Equals("ne", StringComparison.OrdinalIgnoreCase) ? d => !test(d) : test);
            }

            alternatives.Add(all);
        }

        return device => alternatives.Any(all => all.All(c => c(device)));
    }

    private static Func<IoTCentralDeviceEntity, bool>? Field(string field, string rawValue)
    {
        var text = rawValue.Length >= 2 && (rawValue[0] is '"' or '\'') && rawValue[^1] == rawValue[0]
            ? rawValue[1..^1]
            : null;
        bool? flag = rawValue.Equals("true", StringComparison.OrdinalIgnoreCase) ? true
            : rawValue.Equals("false", StringComparison.OrdinalIgnoreCase) ? false
            : null;
        return field.ToUpperInvariant() switch
        {
            "$ID" when text is not null => d => string.Equals(d.Id, text, StringComparison.Ordinal),
            "$DISPLAYNAME" when text is not null => d => string.Equals(d.DisplayName, text, StringComparison.Ordinal),
            "$TEMPLATE" when text is not null => d => string.Equals(d.Template, text, StringComparison.Ordinal),
            "$ORGANIZATION" when text is not null => d => string.Equals(d.Organization, text, StringComparison.Ordinal),
            "$ENABLED" when flag is { } f => d => d.Enabled == f,
            "$PROVISIONED" when flag is { } f => d => d.Provisioned == f,
            "$SIMULATED" when flag is { } f => d => d.Simulated == f,
            _ => null,
        };
    }

    [GeneratedRegex(@"^SELECT\s+\*\s+FROM\s+devices(?:\s+WHERE\s+(?<where>.+))?$", RegexOptions.IgnoreCase | RegexOptions.Singleline)]
    private static partial Regex GroupQuery();

    [GeneratedRegex(@"\s+AND\s+", RegexOptions.IgnoreCase)]
    private static partial Regex AndSplit();

    [GeneratedRegex(@"\s+OR\s+", RegexOptions.IgnoreCase)]
    private static partial Regex OrSplit();

    [GeneratedRegex(@"^(?<field>\$[A-Za-z]+)\s*(?<op>!=|=)\s*(?<value>""[^""]*""|'[^']*'|true|false)$", RegexOptions.IgnoreCase)]
    private static partial Regex GroupCondition();

    [GeneratedRegex(@"^(?<field>[A-Za-z]+)\s+(?<op>eq|ne)\s+(?<value>'[^']*'|true|false)$", RegexOptions.IgnoreCase)]
    private static partial Regex ODataCondition();
}
