using System.Globalization;
using System.Text.Json;
using System.Text.Json.Nodes;
using Fleet.ServiceBus.Entities;

namespace Fleet.ServiceBus.Persistence;

/// <summary>Serializes a subscription's rules for the store; application property values keep their type.</summary>
internal static class RuleJson
{
    public static string Write(IEnumerable<SubscriptionRule> rules)
    {
        var array = new JsonArray();
        foreach (var rule in rules)
        {
            var node = new JsonObject { ["name"] = rule.Name };
            switch (rule.Filter)
            {
                case TrueRuleFilter:
                    node["filter"] = "true";
                    break;
                case FalseRuleFilter:
                    node["filter"] = "false";
                    break;
                case CorrelationRuleFilter { Expected: var c }:
                    node["filter"] = "correlation";
                    node["correlationId"] = c.CorrelationId;
                    node["messageId"] = c.MessageId;
                    node["to"] = c.To;
                    node["replyTo"] = c.ReplyTo;
                    node["subject"] = c.Subject;
                    node["sessionId"] = c.SessionId;
                    node["replyToSessionId"] = c.ReplyToSessionId;
                    node["contentType"] = c.ContentType;
                    var properties = new JsonObject();
                    foreach (var (key, value) in c.ApplicationProperties)
                    {
                        properties[key] = TypedValue(value);
                    }

                    node["properties"] = properties;
                    break;
                default:
                    throw new ArgumentOutOfRangeException(nameof(rules), rule.Filter.GetType().Name, "Unknown rule filter.");
            }

            array.Add(node);
        }

        return array.ToJsonString();
    }

    public static List<SubscriptionRule> Read(string json)
    {
        var rules = new List<SubscriptionRule>();
        foreach (var node in JsonNode.Parse(json)!.AsArray())
        {
            var name = (string)node!["name"]!;
            RuleFilter filter = (string?)node["filter"] switch
            {
                "true" => TrueRuleFilter.Instance,
                "false" => FalseRuleFilter.Instance,
                "correlation" => new CorrelationRuleFilter(new FilterableProperties(
                    (string?)node["messageId"], (string?)node["correlationId"], (string?)node["to"], (string?)node["replyTo"],
                    (string?)node["subject"], (string?)node["sessionId"], (string?)node["replyToSessionId"], (string?)node["contentType"],
                    node["properties"]!.AsObject().ToDictionary(p => p.Key, p => ReadTyped(p.Value!), StringComparer.Ordinal))),
                var other => throw new JsonException($"Unknown stored rule filter '{other}'."),
            };
            rules.Add(new SubscriptionRule(name, filter));
        }

        return rules;
    }

    private static JsonObject TypedValue(object? value) =>
        value switch
        {
            null => new JsonObject { ["t"] = "null" },
            string s => new JsonObject { ["t"] = "string", ["v"] = s },
            bool b => new JsonObject { ["t"] = "bool", ["v"] = b },
            int i => new JsonObject { ["t"] = "int", ["v"] = i },
            long l => new JsonObject { ["t"] = "long", ["v"] = l },
            double d => new JsonObject { ["t"] = "double", ["v"] = d },
            float f => new JsonObject { ["t"] = "double", ["v"] = f },
            Guid g => new JsonObject { ["t"] = "uuid", ["v"] = g.ToString() },
            DateTime dt => new JsonObject { ["t"] = "timestamp", ["v"] = dt.ToUniversalTime().ToString("O", CultureInfo.InvariantCulture) },
            IConvertible c when value is sbyte or byte or short or ushort or uint => new JsonObject { ["t"] = "long", ["v"] = c.ToInt64(CultureInfo.InvariantCulture) },
            _ => new JsonObject { ["t"] = "string", ["v"] = Convert.ToString(value, CultureInfo.InvariantCulture) },
        };

    private static object? ReadTyped(JsonNode node)
    {
        var value = node["v"];
        return (string?)node["t"] switch
        {
            "null" => null,
            "bool" => (bool)value!,
            "int" => (int)value!,
            "long" => (long)value!,
            "double" => (double)value!,
            "uuid" => Guid.Parse((string)value!, CultureInfo.InvariantCulture),
            "timestamp" => DateTime.Parse((string)value!, CultureInfo.InvariantCulture, DateTimeStyles.AdjustToUniversal | DateTimeStyles.AssumeUniversal),
            _ => (string?)value,
        };
    }
}
