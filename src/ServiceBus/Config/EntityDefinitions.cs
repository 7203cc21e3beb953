using Fleet.ServiceBus.Entities;

namespace Fleet.ServiceBus.Config;

/// <summary>The settings a queue or a subscription delivers with (the service's entity properties).</summary>
/// <param name="LockDuration">How long a peek-lock holds a message.</param>
/// <param name="MaxDeliveryCount">Delivery attempts before the message moves to the dead-letter queue.</param>
/// <param name="DefaultTimeToLive">Upper bound of a message's time to live; <see cref="TimeSpan.MaxValue"/> for none.</param>
/// <param name="DeadLetteringOnExpiration">Whether expired messages move to the dead-letter queue instead of vanishing.</param>
/// <param name="RequiresSession">Whether messages are delivered by session (RequiresSession); never for a dead-letter queue.</param>
internal sealed record DeliverySettings(
    TimeSpan LockDuration,
    int MaxDeliveryCount,
    TimeSpan DefaultTimeToLive,
    bool DeadLetteringOnExpiration,
    bool RequiresSession = false);

/// <summary>Duplicate detection of an entity that accepts messages (a queue or a topic).</summary>
/// <param name="Enabled">RequiresDuplicateDetection.</param>
/// <param name="Window">DuplicateDetectionHistoryTimeWindow.</param>
internal sealed record DuplicateDetectionSettings(bool Enabled, TimeSpan Window);

/// <summary>A queue from the configuration.</summary>
internal sealed record QueueDefinition(string Name, DeliverySettings Delivery, DuplicateDetectionSettings Duplicates);

/// <summary>A topic subscription from the configuration, with its rules (the <c>$Default</c> true rule when none).</summary>
internal sealed record SubscriptionDefinition(string Name, DeliverySettings Delivery, IReadOnlyList<SubscriptionRule> Rules);

/// <summary>A topic from the configuration.</summary>
internal sealed record TopicDefinition(
    string Name,
    TimeSpan DefaultTimeToLive,
    DuplicateDetectionSettings Duplicates,
    IReadOnlyList<SubscriptionDefinition> Subscriptions);

/// <summary>The one namespace the emulator serves and its entities.</summary>
internal sealed record NamespaceDefinition(string Name, IReadOnlyList<QueueDefinition> Queues, IReadOnlyList<TopicDefinition> Topics);
