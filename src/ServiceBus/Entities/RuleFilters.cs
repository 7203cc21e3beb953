namespace Fleet.ServiceBus.Entities;

/// <summary>The message fields a subscription rule can test (the broker properties and the application properties).</summary>
internal sealed record FilterableProperties(
    string? MessageId,
    string? CorrelationId,
    string? To,
    string? ReplyTo,
    string? Subject,
    string? SessionId,
    string? ReplyToSessionId,
    string? ContentType,
    IReadOnlyDictionary<string, object?> ApplicationProperties);

/// <summary>A subscription rule's filter. SQL filters other than the constant true and false ones are refused.</summary>
internal abstract record RuleFilter
{
    public abstract bool Matches(FilterableProperties message);
}

/// <summary>Matches every message (the service's TrueFilter, <c>1=1</c>).</summary>
internal sealed record TrueRuleFilter : RuleFilter
{
    public static readonly TrueRuleFilter Instance = new();

    public override bool Matches(FilterableProperties message) => true;
}

/// <summary>Matches no message (the service's FalseFilter, <c>1=0</c>).</summary>
internal sealed record FalseRuleFilter : RuleFilter
{
    public static readonly FalseRuleFilter Instance = new();

    public override bool Matches(FilterableProperties message) => false;
}

/// <summary>
/// The service's CorrelationFilter: a template of the fields it tests. It matches when every field the template sets
/// equals the message's, and every application property it lists is present with an equal value.
/// </summary>
internal sealed record CorrelationRuleFilter(FilterableProperties Expected) : RuleFilter
{
    public override bool Matches(FilterableProperties message)
    {
        var e = Expected;
        if (!Same(e.CorrelationId, message.CorrelationId) || !Same(e.MessageId, message.MessageId) || !Same(e.To, message.To) ||
            !Same(e.ReplyTo, message.ReplyTo) || !Same(e.Subject, message.Subject) || !Same(e.SessionId, message.SessionId) ||
            !Same(e.ReplyToSessionId, message.ReplyToSessionId) || !Same(e.ContentType, message.ContentType))
        {
            return false;
        }

        foreach (var (name, expected) in e.ApplicationProperties)
        {
            if (!message.ApplicationProperties.TryGetValue(name, out var actual) || !ValuesEqual(expected, actual))
            {
                return false;
            }
        }

        return true;
    }

    private static bool Same(string? expected, string? actual) =>
        expected is null || string.Equals(expected, actual, StringComparison.Ordinal);

    // Numbers compare by value whatever their AMQP width (an int property matches a long filter value).
    private static bool ValuesEqual(object? expected, object? actual) =>
        (expected, actual) switch
        {
            (null, null) => true,
            (null, _) or (_, null) => false,
            _ when IsInteger(expected) && IsInteger(actual) => Convert.ToInt64(expected) == Convert.ToInt64(actual),
            _ when IsNumber(expected) && IsNumber(actual) => Convert.ToDouble(expected) == Convert.ToDouble(actual),
            _ => expected.Equals(actual),
        };

    private static bool IsInteger(object value) => value is sbyte or byte or short or ushort or int or uint or long;

    private static bool IsNumber(object value) => IsInteger(value) || value is float or double or decimal;
}

/// <summary>A named rule of a subscription.</summary>
internal sealed record SubscriptionRule(string Name, RuleFilter Filter)
{
    /// <summary>The rule a subscription gets when it is created without rules.</summary>
    public const string DefaultRuleName = "$Default";

    public static SubscriptionRule Default { get; } = new(DefaultRuleName, TrueRuleFilter.Instance);
}
