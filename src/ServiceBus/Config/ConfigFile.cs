using System.Text.Json;
using System.Text.Json.Serialization;

namespace Fleet.ServiceBus.Config;

/// <summary>
/// The JSON shape of the official Service Bus emulator's <c>Config.json</c>, read as it is so one file serves both
/// emulators. Values stay raw here; <see cref="EntityConfigParser"/> validates them.
/// </summary>
internal sealed class ConfigFile
{
    private static readonly JsonSerializerOptions Options = new()
    {
        PropertyNameCaseInsensitive = true,
        ReadCommentHandling = JsonCommentHandling.Skip,
        AllowTrailingCommas = true,
    };

    public UserConfigSection? UserConfig { get; set; }

    public static ConfigFile Parse(string json, string source)
    {
        try
        {
            return JsonSerializer.Deserialize<ConfigFile>(json, Options)
                ?? throw new EmulatorConfigException($"{source}: the file is empty.");
        }
        catch (JsonException ex)
        {
            throw new EmulatorConfigException($"{source}: not valid JSON in the emulator's Config.json shape: {ex.Message}");
        }
    }

    internal sealed class UserConfigSection
    {
        public List<NamespaceSection>? Namespaces { get; set; }

        [JsonExtensionData]
        public Dictionary<string, JsonElement>? Other { get; set; }
    }

    internal sealed class NamespaceSection
    {
        public string? Name { get; set; }

        public List<QueueSection>? Queues { get; set; }

        public List<TopicSection>? Topics { get; set; }
    }

    internal sealed class QueueSection
    {
        public string? Name { get; set; }

        public EntityProperties? Properties { get; set; }
    }

    internal sealed class TopicSection
    {
        public string? Name { get; set; }

        public EntityProperties? Properties { get; set; }

        public List<SubscriptionSection>? Subscriptions { get; set; }
    }

    internal sealed class SubscriptionSection
    {
        public string? Name { get; set; }

        public EntityProperties? Properties { get; set; }

        public List<RuleSection>? Rules { get; set; }
    }

    internal sealed class EntityProperties
    {
        public bool? DeadLetteringOnMessageExpiration { get; set; }

        public string? DefaultMessageTimeToLive { get; set; }

        public string? DuplicateDetectionHistoryTimeWindow { get; set; }

        public string? ForwardDeadLetteredMessagesTo { get; set; }

        public string? ForwardTo { get; set; }

        public string? LockDuration { get; set; }

        public int? MaxDeliveryCount { get; set; }

        public bool? RequiresDuplicateDetection { get; set; }

        public bool? RequiresSession { get; set; }
    }

    internal sealed class RuleSection
    {
        public string? Name { get; set; }

        public RuleProperties? Properties { get; set; }
    }

    internal sealed class RuleProperties
    {
        public string? FilterType { get; set; }

        public CorrelationSection? CorrelationFilter { get; set; }

        public SqlSection? SqlFilter { get; set; }

        public SqlSection? Action { get; set; }
    }

    internal sealed class CorrelationSection
    {
        public string? ContentType { get; set; }

        public string? CorrelationId { get; set; }

        public string? Label { get; set; }

        public string? MessageId { get; set; }

        public string? ReplyTo { get; set; }

        public string? ReplyToSessionId { get; set; }

        public string? SessionId { get; set; }

        public string? To { get; set; }

        public Dictionary<string, JsonElement>? Properties { get; set; }
    }

    internal sealed class SqlSection
    {
        public string? SqlExpression { get; set; }
    }
}
