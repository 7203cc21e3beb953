using System.Text.Json;
using System.Text.RegularExpressions;
using System.Xml;
using Fleet.ServiceBus.Entities;

namespace Fleet.ServiceBus.Config;

/// <summary>
/// Turns an official-shape <c>Config.json</c> into validated entity definitions. Anything invalid, or a feature the
/// emulator does not serve (auto-forwarding, SQL filters and actions), stops start-up with a message naming the
/// setting's path.
/// </summary>
internal static partial class EntityConfigParser
{
    private static readonly DeliverySettings ServiceDefaults = new(TimeSpan.FromMinutes(1), 10, TimeSpan.MaxValue, false);
    private static readonly TimeSpan DefaultDuplicateWindow = TimeSpan.FromMinutes(10);

    /// <summary>Reads and validates the file at <paramref name="path"/>.</summary>
    public static NamespaceDefinition Load(string path)
    {
        string json;
        try
        {
            json = File.ReadAllText(path);
        }
        catch (Exception ex) when (ex is IOException or UnauthorizedAccessException)
        {
            throw new EmulatorConfigException($"--config: cannot read '{path}': {ex.Message}");
        }

        return Parse(json, path);
    }

    /// <summary>Validates configuration text; <paramref name="source"/> names it in errors.</summary>
    public static NamespaceDefinition Parse(string json, string source)
    {
        var file = ConfigFile.Parse(json, source);
        var namespaces = file.UserConfig?.Namespaces;
        if (namespaces is null || namespaces.Count != 1)
        {
            throw new EmulatorConfigException($"{source}: UserConfig.Namespaces must hold exactly one namespace (found {namespaces?.Count ?? 0}).");
        }

        var ns = namespaces[0];
        const string nsPath = "UserConfig.Namespaces[0]";
        var nsName = RequireName(ns.Name, $"{nsPath}.Name", source, allowSlash: false);
        var names = new HashSet<string>(StringComparer.OrdinalIgnoreCase);
        var queues = new List<QueueDefinition>();
        for (var i = 0; i < (ns.Queues?.Count ?? 0); i++)
        {
            var q = ns.Queues![i];
            var path = $"{nsPath}.Queues[{i}]";
            var name = UniqueName(q.Name, $"{path}.Name", source, names);
            var props = q.Properties ?? new ConfigFile.EntityProperties();
            RefuseUnsupported(props, $"{path}.Properties", source);
            queues.Add(new QueueDefinition(name, Delivery(props, $"{path}.Properties", source), Duplicates(props, $"{path}.Properties", source)));
        }

        var topics = new List<TopicDefinition>();
        for (var i = 0; i < (ns.Topics?.Count ?? 0); i++)
        {
            var t = ns.Topics![i];
            var path = $"{nsPath}.Topics[{i}]";
            var name = UniqueName(t.Name, $"{path}.Name", source, names);
            var props = t.Properties ?? new ConfigFile.EntityProperties();
            RefuseUnsupported(props, $"{path}.Properties", source);
            if (props.RequiresSession == true)
            {
                throw new EmulatorConfigException(
                    $"{source}: {path}.Properties.RequiresSession: sessions are a property of queues and subscriptions, not of topics; set it on the subscription.");
            }

            var ttl = Duration(props.DefaultMessageTimeToLive, $"{path}.Properties.DefaultMessageTimeToLive", source, TimeSpan.MaxValue);
            var subscriptionNames = new HashSet<string>(StringComparer.OrdinalIgnoreCase);
            var subscriptions = new List<SubscriptionDefinition>();
            for (var j = 0; j < (t.Subscriptions?.Count ?? 0); j++)
            {
                var s = t.Subscriptions![j];
                var subPath = $"{path}.Subscriptions[{j}]";
                var subName = RequireName(s.Name, $"{subPath}.Name", source, allowSlash: false);
                if (!subscriptionNames.Add(subName))
                {
                    throw new EmulatorConfigException($"{source}: {subPath}.Name: subscription '{subName}' is defined twice in topic '{name}'.");
                }

                var subProps = s.Properties ?? new ConfigFile.EntityProperties();
                RefuseUnsupported(subProps, $"{subPath}.Properties", source);
                subscriptions.Add(new SubscriptionDefinition(subName, Delivery(subProps, $"{subPath}.Properties", source), Rules(s.Rules, $"{subPath}.Rules", source)));
            }

            topics.Add(new TopicDefinition(name, ttl, Duplicates(props, $"{path}.Properties", source), subscriptions));
        }

        return new NamespaceDefinition(nsName, queues, topics);
    }

    /// <summary>Builds a filter from a rule's SQL expression: only the constant true and false filters are served.</summary>
    public static RuleFilter? ConstantSqlFilter(string? expression) =>
        NormalizeSql(expression) switch
        {
            "1=1" or "true" => TrueRuleFilter.Instance,
            "1=0" or "false" => FalseRuleFilter.Instance,
            _ => null,
        };

    private static string NormalizeSql(string? expression) =>
        (expression ?? string.Empty).Replace(" ", string.Empty, StringComparison.Ordinal).ToLowerInvariant();

    private static void RefuseUnsupported(ConfigFile.EntityProperties props, string path, string source)
    {
        if (!string.IsNullOrEmpty(props.ForwardTo))
        {
            throw new EmulatorConfigException($"{source}: {path}.ForwardTo: auto-forwarding is not supported by this emulator.");
        }

        if (!string.IsNullOrEmpty(props.ForwardDeadLetteredMessagesTo))
        {
            throw new EmulatorConfigException($"{source}: {path}.ForwardDeadLetteredMessagesTo: auto-forwarding is not supported by this emulator.");
        }
    }

    private static DeliverySettings Delivery(ConfigFile.EntityProperties props, string path, string source)
    {
        var lockDuration = Duration(props.LockDuration, $"{path}.LockDuration", source, ServiceDefaults.LockDuration);
        if (lockDuration > TimeSpan.FromMinutes(5))
        {
            throw new EmulatorConfigException($"{source}: {path}.LockDuration: at most PT5M, as in the service (was {props.LockDuration}).");
        }

        var maxDelivery = props.MaxDeliveryCount ?? ServiceDefaults.MaxDeliveryCount;
        if (maxDelivery < 1)
        {
            throw new EmulatorConfigException($"{source}: {path}.MaxDeliveryCount: must be at least 1 (was {maxDelivery}).");
        }

        return new DeliverySettings(
            lockDuration,
            maxDelivery,
            Duration(props.DefaultMessageTimeToLive, $"{path}.DefaultMessageTimeToLive", source, ServiceDefaults.DefaultTimeToLive),
            props.DeadLetteringOnMessageExpiration ?? false,
            props.RequiresSession ?? false);
    }

    private static DuplicateDetectionSettings Duplicates(ConfigFile.EntityProperties props, string path, string source) =>
        new(props.RequiresDuplicateDetection ?? false,
            Duration(props.DuplicateDetectionHistoryTimeWindow, $"{path}.DuplicateDetectionHistoryTimeWindow", source, DefaultDuplicateWindow));

    private static TimeSpan Duration(string? text, string path, string source, TimeSpan fallback)
    {
        if (string.IsNullOrWhiteSpace(text))
        {
            return fallback;
        }

        TimeSpan value;
        try
        {
            value = XmlConvert.ToTimeSpan(text);
        }
        catch (FormatException)
        {
            throw new EmulatorConfigException($"{source}: {path}: '{text}' is not an ISO 8601 duration such as PT1M.");
        }

        return value > TimeSpan.Zero
            ? value
            : throw new EmulatorConfigException($"{source}: {path}: must be a positive duration (was '{text}').");
    }

    private static IReadOnlyList<SubscriptionRule> Rules(List<ConfigFile.RuleSection>? rules, string path, string source)
    {
        if (rules is null || rules.Count == 0)
        {
            return [SubscriptionRule.Default];
        }

        var result = new List<SubscriptionRule>();
        var names = new HashSet<string>(StringComparer.OrdinalIgnoreCase);
        for (var i = 0; i < rules.Count; i++)
        {
            var rulePath = $"{path}[{i}]";
            var name = RequireName(rules[i].Name, $"{rulePath}.Name", source, allowSlash: false, allowDollar: true);
            if (!names.Add(name))
            {
                throw new EmulatorConfigException($"{source}: {rulePath}.Name: rule '{name}' is defined twice.");
            }

            result.Add(new SubscriptionRule(name, Filter(rules[i].Properties, $"{rulePath}.Properties", source)));
        }

        return result;
    }

    private static RuleFilter Filter(ConfigFile.RuleProperties? props, string path, string source)
    {
        if (props is null)
        {
            throw new EmulatorConfigException($"{source}: {path}: a rule needs Properties with a FilterType.");
        }

        if (!string.IsNullOrWhiteSpace(props.Action?.SqlExpression))
        {
            throw new EmulatorConfigException($"{source}: {path}.Action: SQL rule actions are not supported by this emulator.");
        }

        switch (props.FilterType?.Trim().ToLowerInvariant())
        {
            case "correlation":
                var c = props.CorrelationFilter
                    ?? throw new EmulatorConfigException($"{source}: {path}.CorrelationFilter: required when FilterType is Correlation.");
                var properties = new Dictionary<string, object?>(StringComparer.Ordinal);
                foreach (var (key, element) in c.Properties ?? [])
                {
                    properties[key] = JsonValue(element, $"{path}.CorrelationFilter.Properties.{key}", source);
                }

                return new CorrelationRuleFilter(new FilterableProperties(Empty(c.MessageId), Empty(c.CorrelationId), Empty(c.To), Empty(c.ReplyTo),
                    Empty(c.Label), Empty(c.SessionId), Empty(c.ReplyToSessionId), Empty(c.ContentType), properties));
            case "sql":
                return ConstantSqlFilter(props.SqlFilter?.SqlExpression)
                    ?? throw new EmulatorConfigException(
                        $"{source}: {path}.SqlFilter: SQL filters are not supported by this emulator (only 1=1 and 1=0); use a Correlation filter.");
            default:
                throw new EmulatorConfigException($"{source}: {path}.FilterType: expected Correlation or Sql (was '{props.FilterType}').");
        }
    }

    private static string? Empty(string? value) => string.IsNullOrEmpty(value) ? null : value;

    private static object? JsonValue(JsonElement element, string path, string source) =>
        element.ValueKind switch
        {
            JsonValueKind.String => element.GetString(),
            JsonValueKind.True => true,
            JsonValueKind.False => false,
            JsonValueKind.Number when element.TryGetInt64(out var whole) => whole,
            JsonValueKind.Number => element.GetDouble(),
            JsonValueKind.Null => null,
            _ => throw new EmulatorConfigException($"{source}: {path}: a property value must be a string, number or boolean."),
        };

    private static string UniqueName(string? name, string path, string source, HashSet<string> names)
    {
        var value = RequireName(name, path, source, allowSlash: true);
        return names.Add(value)
            ? value
            : throw new EmulatorConfigException($"{source}: {path}: an entity named '{value}' is defined twice (names are case-insensitive).");
    }

    private static string RequireName(string? name, string path, string source, bool allowSlash, bool allowDollar = false)
    {
        if (string.IsNullOrWhiteSpace(name))
        {
            throw new EmulatorConfigException($"{source}: {path}: a name is required.");
        }

        var valid = allowDollar && name == SubscriptionRule.DefaultRuleName
            || (allowSlash ? EntityName() : PlainName()).IsMatch(name);
        return valid && name.Length <= 260
            ? name
            : throw new EmulatorConfigException(
                $"{source}: {path}: '{name}' is not a valid name (letters, digits, '.', '-', '_'{(allowSlash ? ", '/'" : string.Empty)}; starting with a letter or digit).");
    }

    [GeneratedRegex("^[A-Za-z0-9][A-Za-z0-9._\\-]*(/[A-Za-z0-9][A-Za-z0-9._\\-]*)*$")]
    private static partial Regex EntityName();

    [GeneratedRegex("^[A-Za-z0-9][A-Za-z0-9._\\-]*$")]
    private static partial Regex PlainName();
}
