using Fleet.ServiceBus.Config;
using Fleet.ServiceBus.Entities;
using Microsoft.Azure.Amqp;
using Microsoft.Azure.Amqp.Encoding;
using Microsoft.Azure.Amqp.Framing;

namespace Fleet.ServiceBus.Amqp;

/// <summary>
/// The described types Service Bus uses for rules in <c>enumerate-rules</c> replies (rule descriptions and actions
/// 0x137:00000004–6, filters 0x13:70000006–9),
/// and the reading of <c>add-rule</c> request maps.
/// </summary>
internal static class RuleDescriptions
{
    /// <summary>Encodes a rule as the service's rule-description list.</summary>
    public static AmqpDescribed Describe(SubscriptionRule rule) => new RuleDescription(rule);

    /// <summary>
    /// Reads an add-rule request's rule-description map; returns the filter, or null with the reason the emulator
    /// refuses it (SQL filters other than 1=1 / 1=0, and SQL actions).
    /// </summary>
    public static RuleFilter? ReadFilter(AmqpMap description, out string? refusal)
    {
        refusal = null;
        if (description[ManagementResponse.Key("sql-rule-action")] is AmqpMap action &&
            !string.IsNullOrWhiteSpace(ManagementResponse.Value<string>(action, "expression")))
        {
            refusal = "SQL rule actions are not supported by this emulator.";
            return null;
        }

        if (description[ManagementResponse.Key("correlation-filter")] is AmqpMap c)
        {
            var properties = new Dictionary<string, object?>(StringComparer.Ordinal);
            if (c[ManagementResponse.Key("properties")] is AmqpMap props)
            {
                foreach (var (key, value) in props)
                {
                    properties[key.Key.ToString()!] = value;
                }
            }

            return new CorrelationRuleFilter(new FilterableProperties(
                Text(c, "message-id"), Text(c, "correlation-id"), Text(c, "to"), Text(c, "reply-to"), Text(c, "label"),
                Text(c, "session-id"), Text(c, "reply-to-session-id"), Text(c, "content-type"), properties));
        }

        if (description[ManagementResponse.Key("sql-filter")] is AmqpMap sql)
        {
            var filter = EntityConfigParser.ConstantSqlFilter(ManagementResponse.Value<string>(sql, "expression"));
            refusal = filter is null ? "SQL filters are not supported by this emulator (only 1=1 and 1=0); use a CorrelationRuleFilter." : null;
            return filter;
        }

        refusal = "The rule description has no filter.";
        return null;
    }

    private static void Skip(ByteBuffer buffer, int count)
    {
        for (var i = 0; i < count; i++)
        {
            AmqpCodec.DecodeObject(buffer);
        }
    }

    private static string? Text(AmqpMap map, string key) => map[ManagementResponse.Key(key)]?.ToString();

    private const ulong RuleVendor = 0x0000013700000000;
    private const ulong FilterVendor = 0x0000001370000000;

    private sealed class RuleDescription(SubscriptionRule rule) : DescribedList("com.microsoft:rule-description:list", RuleVendor | 4)
    {
        private readonly AmqpDescribed _filter = rule.Filter switch
        {
            TrueRuleFilter => new ConstantFilter("com.microsoft:true-filter:list", FilterVendor | 7),
            FalseRuleFilter => new ConstantFilter("com.microsoft:false-filter:list", FilterVendor | 8),
            CorrelationRuleFilter c => new CorrelationFilter(c.Expected),
            _ => throw new ArgumentOutOfRangeException(nameof(rule), rule.Filter.GetType().Name, "Unknown rule filter."),
        };

        private readonly AmqpDescribed _action = new ConstantFilter("com.microsoft:empty-rule-action:list", RuleVendor | 5);

        protected override int FieldCount => 4;

        protected override int OnValueSize() =>
            AmqpCodec.GetSerializableEncodeSize(_filter) + AmqpCodec.GetSerializableEncodeSize(_action) +
            AmqpCodec.GetStringEncodeSize(rule.Name) + AmqpCodec.GetTimeStampEncodeSize(null);

        protected override void OnEncode(ByteBuffer buffer)
        {
            AmqpCodec.EncodeSerializable(_filter, buffer);
            AmqpCodec.EncodeSerializable(_action, buffer);
            AmqpCodec.EncodeString(rule.Name, buffer);
            AmqpCodec.EncodeTimeStamp(null, buffer);
        }

        // The broker only sends these; reading one skips its fields.
        protected override void OnDecode(ByteBuffer buffer, int count) => Skip(buffer, count);
    }

    /// <summary>A described list without fields (true and false filters, the empty action).</summary>
    private sealed class ConstantFilter(string name, ulong code) : DescribedList(name, code)
    {
        protected override int FieldCount => 0;

        protected override int OnValueSize() => 0;

        protected override void OnEncode(ByteBuffer buffer)
        {
        }

        protected override void OnDecode(ByteBuffer buffer, int count)
        {
        }
    }

    private sealed class CorrelationFilter(FilterableProperties filter) : DescribedList("com.microsoft:correlation-filter:list", FilterVendor | 9)
    {
        private readonly AmqpMap _properties = new((IDictionary<MapKey, object>)filter.ApplicationProperties.ToDictionary(p => new MapKey(p.Key), p => p.Value!));

        private string?[] Fields =>
        [
            filter.CorrelationId, filter.MessageId, filter.To, filter.ReplyTo, filter.Subject, filter.SessionId,
            filter.ReplyToSessionId, filter.ContentType,
        ];

        protected override int FieldCount => 9;

        protected override int OnValueSize() => Fields.Sum(AmqpCodec.GetStringEncodeSize) + AmqpCodec.GetMapEncodeSize(_properties);

        protected override void OnEncode(ByteBuffer buffer)
        {
            foreach (var field in Fields)
            {
                AmqpCodec.EncodeString(field, buffer);
            }

            AmqpCodec.EncodeMap(_properties, buffer);
        }

        // The broker only sends these; reading one skips its fields.
        protected override void OnDecode(ByteBuffer buffer, int count) => Skip(buffer, count);
    }
}
