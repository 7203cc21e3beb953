using Fleet.ServiceBus.Entities;
using Microsoft.Azure.Amqp;
using Microsoft.Azure.Amqp.Framing;

namespace Fleet.ServiceBus.Amqp;

/// <summary>
/// Reads messages from their AMQP encoding and writes the encoding receivers get: the message as the sender sent it,
/// with the broker's header delivery-count and <c>x-opt-*</c> annotations, typed as the service types them.
/// </summary>
internal sealed class AmqpMessageCodec : IMessageCodec
{
    /// <summary>The message format of a Service Bus batch: one Data section per encoded message.</summary>
    public const uint BatchFormat = 0x80013700;

    public static readonly AmqpMessageCodec Instance = new();

    private const string SequenceNumberName = "x-opt-sequence-number";
    private const string EnqueuedTimeName = "x-opt-enqueued-time";
    private const string LockedUntilName = "x-opt-locked-until";
    private const string MessageStateName = "x-opt-message-state";
    private const string ScheduledEnqueueTimeName = "x-opt-scheduled-enqueue-time";

    /// <summary>The encodings a transfer carries: one, or each message of a batch.</summary>
    public static List<byte[]> SplitTransfer(AmqpMessage message)
    {
        if (message.MessageFormat == BatchFormat)
        {
            var parts = new List<byte[]>();
            foreach (var data in message.DataBody)
            {
                parts.Add(data.Value switch
                {
                    ArraySegment<byte> segment => segment.ToArray(),
                    byte[] bytes => bytes,
                    _ => throw new AmqpException(AmqpErrorCode.DecodeError, "A batch's data sections must each hold one encoded message."),
                });
            }

            return parts;
        }

        return [ReadAll(message.ToStream())];
    }

    /// <summary>Reads an arriving message; one without a message-id gets a new one, as the service assigns.</summary>
    public IncomingMessage Read(byte[] encoded)
    {
        var incoming = ReadAsIs(encoded);
        return incoming.MessageId is null ? ReadAsIs(WithMessageId(encoded, Guid.NewGuid().ToString("N"))) : incoming;
    }

    private static IncomingMessage ReadAsIs(byte[] encoded)
    {
        using var message = Parse(encoded);
        var header = message.Header;
        var properties = (message.Sections & SectionFlag.Properties) != 0 ? message.Properties : null;
        var application = new Dictionary<string, object?>(StringComparer.Ordinal);
        if ((message.Sections & SectionFlag.ApplicationProperties) != 0)
        {
            foreach (var (key, value) in message.ApplicationProperties.Map)
            {
                application[key.Key.ToString()!] = value;
            }
        }

        DateTimeOffset? scheduled = message.MessageAnnotations.Map.TryGetValue<DateTime>(ScheduledEnqueueTimeName, out var at)
            ? new DateTimeOffset(DateTime.SpecifyKind(at, DateTimeKind.Utc))
            : null;
        var filterable = new FilterableProperties(
            properties?.MessageId?.ToString(),
            properties?.CorrelationId?.ToString(),
            properties?.To?.ToString(),
            properties?.ReplyTo?.ToString(),
            properties?.Subject,
            properties?.GroupId,
            properties?.ReplyToGroupId,
            properties?.ContentType.Value,
            application);
        return new IncomingMessage(
            encoded,
            filterable.MessageId,
            header.Ttl is { } ttl ? TimeSpan.FromMilliseconds(ttl) : null,
            scheduled,
            filterable);
    }

    public byte[] WithApplicationProperties(byte[] encoded, IReadOnlyDictionary<string, object?> changes)
    {
        using var message = Parse(encoded, forResend: true);
        _ = message.Header;
        message.ApplicationProperties ??= new ApplicationProperties();
        foreach (var (key, value) in changes)
        {
            message.ApplicationProperties.Map[key] = value;
        }

        return Encode(message);
    }

    /// <summary>
    /// Returns the encoding with a properties section carrying <paramref name="messageId"/>: the section is replaced, or
    /// inserted after the header and annotations (the sections' fixed order), leaving every other byte as it was.
    /// </summary>
    private static byte[] WithMessageId(byte[] encoded, string messageId)
    {
        using var message = Parse(encoded);
        var sections = message.Sections;
        Properties properties;
        long start;
        long end;
        if ((sections & SectionFlag.Properties) != 0)
        {
            properties = message.Properties;
            start = properties.Offset;
            end = properties.Offset + properties.Length;
        }
        else
        {
            properties = new Properties();
            start = 0;
            foreach (var section in new AmqpDescribed?[] { Present(message, sections, SectionFlag.Header), Present(message, sections, SectionFlag.DeliveryAnnotations), Present(message, sections, SectionFlag.MessageAnnotations) })
            {
                if (section is not null)
                {
                    start = Math.Max(start, section.Offset + section.Length);
                }
            }

            end = start;
        }

        properties.MessageId = messageId;
        var buffer = new ByteBuffer(properties.EncodeSize, autoGrow: true);
        properties.Encode(buffer);
        var result = new byte[encoded.Length - (end - start) + buffer.Length];
        encoded.AsSpan(0, (int)start).CopyTo(result);
        buffer.Buffer.AsSpan(buffer.Offset, buffer.Length).CopyTo(result.AsSpan((int)start));
        encoded.AsSpan((int)end).CopyTo(result.AsSpan((int)start + buffer.Length));
        return result;
    }

    private static AmqpDescribed? Present(AmqpMessage message, SectionFlag sections, SectionFlag section) =>
        (sections & section) == 0 ? null : section switch
        {
            SectionFlag.Header => message.Header,
            SectionFlag.DeliveryAnnotations => message.DeliveryAnnotations,
            _ => message.MessageAnnotations,
        };

    /// <summary>The message a receiver link sends, stamped for delivery.</summary>
    public static AmqpMessage ForDelivery(MessageView view)
    {
        var message = Parse(view.Encoded, forResend: true);
        var header = message.Header;
        header.DeliveryCount = (uint)view.DeliveryCount;
        if (view.TimeToLive is { } ttl && ttl.TotalMilliseconds < uint.MaxValue)
        {
            header.Ttl = (uint)ttl.TotalMilliseconds;
        }

        var annotations = message.MessageAnnotations.Map;
        annotations[SequenceNumberName] = view.SequenceNumber;
        annotations[EnqueuedTimeName] = view.EnqueuedAt.UtcDateTime;
        if (view.State != MessageState.Active)
        {
            annotations[MessageStateName] = (int)view.State;
        }

        if (view.LockedUntil is { } lockedUntil)
        {
            annotations[LockedUntilName] = lockedUntil.UtcDateTime;
        }

        return message;
    }

    /// <summary>The encoding management responses carry (peek, receive-by-sequence-number).</summary>
    public static byte[] EncodeForDelivery(MessageView view)
    {
        using var message = ForDelivery(view);
        return Encode(message);
    }

    private static AmqpMessage Parse(byte[] encoded, bool forResend = false) =>
        AmqpMessage.CreateAmqpStreamMessage(new BufferListStream([new ArraySegment<byte>(encoded)]), payloadInitialized: !forResend);

    private static byte[] Encode(AmqpMessage message)
    {
        var segments = message.GetPayload(int.MaxValue, out _);
        var total = 0;
        foreach (var segment in segments)
        {
            total += segment.Count;
        }

        var bytes = new byte[total];
        var offset = 0;
        foreach (var segment in segments)
        {
            segment.AsSpan().CopyTo(bytes.AsSpan(offset));
            offset += segment.Count;
        }

        return bytes;
    }

    private static byte[] ReadAll(Stream stream)
    {
        using var copy = new MemoryStream(stream.CanSeek ? (int)stream.Length : 256);
        stream.CopyTo(copy);
        return copy.ToArray();
    }
}
