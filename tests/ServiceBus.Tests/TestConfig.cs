using System.Text.Json.Nodes;

namespace Fleet.ServiceBus.Tests;

/// <summary>Builds configuration text in the official emulator's Config.json shape.</summary>
internal sealed class TestConfig
{
    private readonly JsonArray _queues = [];
    private readonly JsonArray _topics = [];

    public TestConfig Queue(string name, string lockDuration = "PT30S", int maxDeliveryCount = 10, string? ttl = null,
        bool deadLetterOnExpiry = false, bool duplicateDetection = false, bool requiresSession = false)
    {
        _queues.Add(new JsonObject
        {
            ["Name"] = name,
            ["Properties"] = Properties(lockDuration, maxDeliveryCount, ttl, deadLetterOnExpiry, duplicateDetection, requiresSession),
        });
        return this;
    }

    /// <summary>A session-enabled queue (RequiresSession).</summary>
    public TestConfig SessionQueue(string name, string lockDuration = "PT30S") => Queue(name, lockDuration, requiresSession: true);

    public TestConfig Topic(string name, params JsonObject[] subscriptions)
    {
        _topics.Add(new JsonObject
        {
            ["Name"] = name,
            ["Properties"] = new JsonObject { ["DefaultMessageTimeToLive"] = "PT1H", ["RequiresDuplicateDetection"] = false },
            ["Subscriptions"] = new JsonArray([.. subscriptions]),
        });
        return this;
    }

    public static JsonObject Subscription(string name, params JsonObject[] rules) => Subscription(name, requiresSession: false, rules);

    public static JsonObject Subscription(string name, bool requiresSession, params JsonObject[] rules)
    {
        var subscription = new JsonObject
        {
            ["Name"] = name,
            ["Properties"] = Properties("PT30S", 10, null, false, false, requiresSession),
        };
        if (rules.Length > 0)
        {
            subscription["Rules"] = new JsonArray([.. rules]);
        }

        return subscription;
    }

    public static JsonObject CorrelationRule(string name, JsonObject filter) => new()
    {
        ["Name"] = name,
        ["Properties"] = new JsonObject { ["FilterType"] = "Correlation", ["CorrelationFilter"] = filter },
    };

    public static JsonObject SqlRule(string name, string expression) => new()
    {
        ["Name"] = name,
        ["Properties"] = new JsonObject { ["FilterType"] = "Sql", ["SqlFilter"] = new JsonObject { ["SqlExpression"] = expression } },
    };

    public string Build() => new JsonObject
    {
        ["UserConfig"] = new JsonObject
        {
            ["Namespaces"] = new JsonArray(new JsonObject
            {
                ["Name"] = "sbemulatorns",
                ["Queues"] = _queues.DeepClone(),
                ["Topics"] = _topics.DeepClone(),
            }),
            ["Logging"] = new JsonObject { ["Type"] = "File" },
        },
    }.ToJsonString();

    private static JsonObject Properties(string lockDuration, int maxDeliveryCount, string? ttl, bool deadLetterOnExpiry, bool duplicateDetection,
        bool requiresSession)
    {
        var properties = new JsonObject
        {
            ["DeadLetteringOnMessageExpiration"] = deadLetterOnExpiry,
            ["LockDuration"] = lockDuration,
            ["MaxDeliveryCount"] = maxDeliveryCount,
            ["ForwardTo"] = "",
            ["ForwardDeadLetteredMessagesTo"] = "",
            ["RequiresDuplicateDetection"] = duplicateDetection,
            ["DuplicateDetectionHistoryTimeWindow"] = "PT1M",
            ["RequiresSession"] = requiresSession,
        };
        if (ttl is not null)
        {
            properties["DefaultMessageTimeToLive"] = ttl;
        }

        return properties;
    }
}
