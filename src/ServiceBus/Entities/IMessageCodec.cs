namespace Fleet.ServiceBus.Entities;

/// <summary>A message as it arrives from a sender, read once for what the broker needs to route and stamp it.</summary>
/// <param name="Encoded">The AMQP message as sent.</param>
/// <param name="MessageId">The message-id as text (duplicate detection), if any.</param>
/// <param name="TimeToLive">The header's ttl, if any.</param>
/// <param name="ScheduledEnqueueTime">The <c>x-opt-scheduled-enqueue-time</c> annotation, if any.</param>
/// <param name="Properties">What subscription rules test.</param>
internal sealed record IncomingMessage(
    byte[] Encoded,
    string? MessageId,
    TimeSpan? TimeToLive,
    DateTimeOffset? ScheduledEnqueueTime,
    FilterableProperties Properties);

/// <summary>The broker's view of the AMQP encoding, so the entity model needs no AMQP types.</summary>
internal interface IMessageCodec
{
    /// <summary>Reads a message from its encoding.</summary>
    IncomingMessage Read(byte[] encoded);

    /// <summary>Returns the encoding with the application properties changed (settlement's properties-to-modify).</summary>
    byte[] WithApplicationProperties(byte[] encoded, IReadOnlyDictionary<string, object?> changes);
}
