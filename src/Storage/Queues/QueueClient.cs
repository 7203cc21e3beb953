using System.Text;
using System.Xml;
using System.Xml.Linq;
using Azure;
using Azure.Core;

namespace Fleet.Storage;

/// <summary>
/// One storage queue: create, delete, send, receive, peek, update, delete messages, properties, clear.
/// Message text is encoded per <see cref="MessageEncoding"/> (Base64 by default, as Azure Functions expects).
/// </summary>
public class QueueClient
{
    /// <summary>The most messages one receive or peek returns.</summary>
    public const int MaxMessagesPerReceive = 32;

    /// <summary>A time-to-live that never expires.</summary>
    public static readonly TimeSpan NeverExpires = TimeSpan.FromSeconds(-1);

    private static readonly int[] Created = [201, 204];
    private static readonly int[] NoContent = [204];
    private static readonly int[] Ok = [200];
    private static readonly int[] CreatedOnly = [201];

    private readonly StorageClientContext? _context;

    internal QueueClient(StorageClientContext context, string name, QueueMessageEncoding encoding)
    {
        _context = context;
        Name = name;
        MessageEncoding = encoding;
        Uri = StorageClientContext.Append(context.Endpoint, name);
    }

    /// <summary>For mocking.</summary>
    protected QueueClient()
    {
        Name = string.Empty;
        Uri = new Uri("http://localhost/");
    }

    /// <summary>The queue name.</summary>
    public virtual string Name { get; }

    /// <summary>The queue's URI (no credentials in it).</summary>
    public virtual Uri Uri { get; }

    /// <summary>How message text is encoded on the wire.</summary>
    public virtual QueueMessageEncoding MessageEncoding { get; }

    private StorageClientContext Context => _context ?? throw new InvalidOperationException("This client was created for mocking.");

    private string Resource => $"queue '{Name}'";

    /// <summary>Creates the queue unless it exists. Returns true when this call created it.</summary>
    public virtual async Task<bool> CreateIfNotExistsAsync(CancellationToken cancellationToken = default)
    {
        using var message = Context.CreateMessage(RequestMethod.Put, Uri);
        try
        {
            // 201 created; 204 existed with the same (empty) metadata.
            var response = await Context.SendAsync(message, "CreateQueue", Resource, Created, cancellationToken).ConfigureAwait(false);
            if (response.Status == 201)
            {
                Context.Logger.QueueCreated(Name);
                return true;
            }

            return false;
        }
        catch (StorageRequestException ex) when (ex.ErrorCode == StorageErrorCodes.QueueAlreadyExists)
        {
            return false;
        }
    }

    /// <summary>Deletes the queue and its messages.</summary>
    /// <exception cref="StorageRequestException">Not found (<see cref="StorageRequestException.IsNotFound"/>) or another failure.</exception>
    public virtual async Task DeleteAsync(CancellationToken cancellationToken = default)
    {
        using var message = Context.CreateMessage(RequestMethod.Delete, Uri);
        await Context.SendAsync(message, "DeleteQueue", Resource, NoContent, cancellationToken).ConfigureAwait(false);
    }

    /// <summary>Deletes the queue if it exists. Returns true when it did.</summary>
    public virtual async Task<bool> DeleteIfExistsAsync(CancellationToken cancellationToken = default)
    {
        try
        {
            await DeleteAsync(cancellationToken).ConfigureAwait(false);
            return true;
        }
        catch (StorageRequestException ex) when (ex.IsNotFound)
        {
            return false;
        }
    }

    /// <summary>True when the queue exists.</summary>
    public virtual async Task<bool> ExistsAsync(CancellationToken cancellationToken = default)
    {
        try
        {
            await GetPropertiesAsync(cancellationToken).ConfigureAwait(false);
            return true;
        }
        catch (StorageRequestException ex) when (ex.IsNotFound)
        {
            return false;
        }
    }

    /// <summary>Sends a text message.</summary>
    /// <param name="messageText">The text; encoded per <see cref="MessageEncoding"/>. At most 64 KiB once encoded.</param>
    /// <param name="visibilityTimeout">Delay before the message becomes visible (0 to 7 days; whole seconds, rounded up).</param>
    /// <param name="timeToLive">How long the message lives (default 7 days); <see cref="NeverExpires"/> for ever.</param>
    /// <param name="cancellationToken">Cancels the request.</param>
    public virtual Task<SendReceipt> SendMessageAsync(
        string messageText, TimeSpan? visibilityTimeout = null, TimeSpan? timeToLive = null, CancellationToken cancellationToken = default)
    {
        ArgumentNullException.ThrowIfNull(messageText);
        return SendCoreAsync(QueueMessageCodec.Encode(messageText, MessageEncoding), visibilityTimeout, timeToLive, cancellationToken);
    }

    /// <summary>Sends a binary message (with <see cref="QueueMessageEncoding.None"/> it must be UTF-8 text).</summary>
    public virtual Task<SendReceipt> SendMessageAsync(
        BinaryData body, TimeSpan? visibilityTimeout = null, TimeSpan? timeToLive = null, CancellationToken cancellationToken = default)
    {
        ArgumentNullException.ThrowIfNull(body);
        return SendCoreAsync(QueueMessageCodec.Encode(body, MessageEncoding), visibilityTimeout, timeToLive, cancellationToken);
    }

    /// <summary>
    /// Receives up to <paramref name="maxMessages"/> (1–32) visible messages and hides them for
    /// <paramref name="visibilityTimeout"/> (default 30 s, 1 s to 7 days); delete each one when done, or it
    /// reappears with a higher <see cref="QueueMessage.DequeueCount"/>.
    /// </summary>
    public virtual async Task<IReadOnlyList<QueueMessage>> ReceiveMessagesAsync(
        int maxMessages = 1, TimeSpan? visibilityTimeout = null, CancellationToken cancellationToken = default)
    {
        ArgumentOutOfRangeException.ThrowIfLessThan(maxMessages, 1);
        ArgumentOutOfRangeException.ThrowIfGreaterThan(maxMessages, MaxMessagesPerReceive);
        using var message = Context.CreateMessage(RequestMethod.Get, MessagesUri());
        message.Request.Uri.AppendQuery("numofmessages", maxMessages.ToString(System.Globalization.CultureInfo.InvariantCulture));
        if (visibilityTimeout is { } timeout)
        {
            ArgumentOutOfRangeException.ThrowIfLessThan(timeout, TimeSpan.Zero, nameof(visibilityTimeout));
            message.Request.Uri.AppendQuery("visibilitytimeout", StorageClientContext.Seconds(timeout));
        }

        var response = await Context.SendAsync(message, "ReceiveMessages", Resource, Ok, cancellationToken).ConfigureAwait(false);
        return ReadMessages(response)
            .Select(m =>
            {
                var (text, body, failed) = Decode(m);
                return new QueueMessage(
                    Value(m, "MessageId"), Value(m, "PopReceipt"), text, body, DequeueCount(m),
                    Date(m, "InsertionTime"), Date(m, "ExpirationTime"), Date(m, "TimeNextVisible")) { DecodingFailed = failed };
            })
            .ToList();
    }

    /// <summary>Looks at up to <paramref name="maxMessages"/> (1–32) visible messages without receiving them.</summary>
    public virtual async Task<IReadOnlyList<PeekedMessage>> PeekMessagesAsync(
        int maxMessages = 1, CancellationToken cancellationToken = default)
    {
        ArgumentOutOfRangeException.ThrowIfLessThan(maxMessages, 1);
        ArgumentOutOfRangeException.ThrowIfGreaterThan(maxMessages, MaxMessagesPerReceive);
        using var message = Context.CreateMessage(RequestMethod.Get, MessagesUri());
        message.Request.Uri.AppendQuery("peekonly", "true");
        message.Request.Uri.AppendQuery("numofmessages", maxMessages.ToString(System.Globalization.CultureInfo.InvariantCulture));
        var response = await Context.SendAsync(message, "PeekMessages", Resource, Ok, cancellationToken).ConfigureAwait(false);
        return ReadMessages(response)
            .Select(m =>
            {
                var (text, body, failed) = Decode(m);
                return new PeekedMessage(
                    Value(m, "MessageId"), text, body, DequeueCount(m), Date(m, "InsertionTime"), Date(m, "ExpirationTime"))
                { DecodingFailed = failed };
            })
            .ToList();
    }

    /// <summary>
    /// Changes a received message's visibility (e.g. to extend processing, or 0 to release it now) and, when
    /// <paramref name="messageText"/> is given, its text. Returns the new pop receipt.
    /// </summary>
    /// <exception cref="StorageRequestException">Not found or <see cref="StorageErrorCodes.PopReceiptMismatch"/> when the receipt is stale.</exception>
    public virtual async Task<UpdateReceipt> UpdateMessageAsync(
        string messageId, string popReceipt, TimeSpan visibilityTimeout, string? messageText = null,
        CancellationToken cancellationToken = default)
    {
        ArgumentException.ThrowIfNullOrEmpty(messageId);
        ArgumentException.ThrowIfNullOrEmpty(popReceipt);
        ArgumentOutOfRangeException.ThrowIfLessThan(visibilityTimeout, TimeSpan.Zero);
        using var message = Context.CreateMessage(RequestMethod.Put, MessagesUri(messageId));
        message.Request.Uri.AppendQuery("popreceipt", popReceipt);
        message.Request.Uri.AppendQuery("visibilitytimeout", StorageClientContext.Seconds(visibilityTimeout));
        if (messageText is not null)
        {
            SetBody(message.Request, QueueMessageCodec.Encode(messageText, MessageEncoding));
        }

        var response = await Context.SendAsync(message, "UpdateMessage", Resource, NoContent, cancellationToken).ConfigureAwait(false);
        return new UpdateReceipt(
            StorageClientContext.Header(response, "x-ms-popreceipt") ?? string.Empty,
            StorageClientContext.ParseDate(StorageClientContext.Header(response, "x-ms-time-next-visible")));
    }

    /// <summary>Deletes a received message.</summary>
    /// <exception cref="StorageRequestException">Not found or <see cref="StorageErrorCodes.PopReceiptMismatch"/> when the receipt is stale.</exception>
    public virtual async Task DeleteMessageAsync(string messageId, string popReceipt, CancellationToken cancellationToken = default)
    {
        ArgumentException.ThrowIfNullOrEmpty(messageId);
        ArgumentException.ThrowIfNullOrEmpty(popReceipt);
        using var message = Context.CreateMessage(RequestMethod.Delete, MessagesUri(messageId));
        message.Request.Uri.AppendQuery("popreceipt", popReceipt);
        await Context.SendAsync(message, "DeleteMessage", Resource, NoContent, cancellationToken).ConfigureAwait(false);
    }

    /// <summary>The approximate message count and metadata.</summary>
    public virtual async Task<QueueProperties> GetPropertiesAsync(CancellationToken cancellationToken = default)
    {
        using var message = Context.CreateMessage(RequestMethod.Get, Uri);
        message.Request.Uri.AppendQuery("comp", "metadata");
        var response = await Context.SendAsync(message, "GetQueueProperties", Resource, Ok, cancellationToken).ConfigureAwait(false);
        var count = int.TryParse(StorageClientContext.Header(response, "x-ms-approximate-messages-count"), out var n) ? n : 0;
        var metadata = new Dictionary<string, string>(StringComparer.OrdinalIgnoreCase);
        foreach (var header in response.Headers)
        {
            if (header.Name.StartsWith("x-ms-meta-", StringComparison.OrdinalIgnoreCase))
            {
                metadata[header.Name["x-ms-meta-".Length..]] = header.Value;
            }
        }

        return new QueueProperties(count, metadata);
    }

    /// <summary>Deletes every message in the queue.</summary>
    public virtual async Task ClearMessagesAsync(CancellationToken cancellationToken = default)
    {
        using var message = Context.CreateMessage(RequestMethod.Delete, MessagesUri());
        await Context.SendAsync(message, "ClearMessages", Resource, NoContent, cancellationToken).ConfigureAwait(false);
    }

    private async Task<SendReceipt> SendCoreAsync(
        string wireText, TimeSpan? visibilityTimeout, TimeSpan? timeToLive, CancellationToken cancellationToken)
    {
        using var message = Context.CreateMessage(RequestMethod.Post, MessagesUri());
        if (visibilityTimeout is { } delay)
        {
            ArgumentOutOfRangeException.ThrowIfLessThan(delay, TimeSpan.Zero, nameof(visibilityTimeout));
            message.Request.Uri.AppendQuery("visibilitytimeout", StorageClientContext.Seconds(delay));
        }

        if (timeToLive is { } ttl)
        {
            var infinite = ttl == NeverExpires || ttl == Timeout.InfiniteTimeSpan;
            if (!infinite && ttl <= TimeSpan.Zero)
            {
                throw new ArgumentOutOfRangeException(nameof(timeToLive), "The time-to-live must be positive, or QueueClient.NeverExpires.");
            }

            message.Request.Uri.AppendQuery("messagettl", infinite ? "-1" : StorageClientContext.Seconds(ttl));
        }

        SetBody(message.Request, wireText);
        var response = await Context.SendAsync(message, "SendMessage", Resource, CreatedOnly, cancellationToken).ConfigureAwait(false);
        var sent = ReadMessages(response).FirstOrDefault()
            ?? throw new StorageRequestException(response.Status, null, StorageClientContext.Header(response, "x-ms-request-id"), null,
                $"Storage SendMessage on {Resource} returned no message in its answer.");
        return new SendReceipt(
            Value(sent, "MessageId"), Value(sent, "PopReceipt"), Date(sent, "InsertionTime"), Date(sent, "ExpirationTime"),
            Date(sent, "TimeNextVisible"));
    }

    private (string Text, BinaryData Body, bool Failed) Decode(XElement message)
    {
        var wire = message.Element("MessageText")?.Value ?? string.Empty;
        var decoded = QueueMessageCodec.Decode(wire, MessageEncoding);
        if (decoded.Failed)
        {
            Context.Logger.QueueMessageNotBase64(Value(message, "MessageId"), Name);
        }

        return decoded;
    }

    private Uri MessagesUri(string? messageId = null) =>
        messageId is null ? StorageClientContext.Append(Uri, "messages") : StorageClientContext.Append(Uri, "messages", messageId);

    private static void SetBody(Request request, string wireText)
    {
        var settings = new XmlWriterSettings { Encoding = new UTF8Encoding(false), OmitXmlDeclaration = true };
        using var stream = new MemoryStream();
        using (var writer = XmlWriter.Create(stream, settings))
        {
            new XElement("QueueMessage", new XElement("MessageText", wireText)).WriteTo(writer);
        }

        request.Headers.SetValue("Content-Type", "application/xml; charset=utf-8");
        request.Content = RequestContent.Create(stream.ToArray());
    }

    private static IEnumerable<XElement> ReadMessages(Response response) =>
        StorageClientContext.ReadXml(response).Root?.Elements("QueueMessage") ?? [];

    private static string Value(XElement message, string name) => message.Element(name)?.Value ?? string.Empty;

    private static long DequeueCount(XElement message) =>
        long.TryParse(message.Element("DequeueCount")?.Value, out var count) ? count : 0;

    private static DateTimeOffset? Date(XElement message, string name)
    {
        var date = StorageClientContext.ParseDate(message.Element(name)?.Value);

        // The service writes 9999-12-31 for messages that never expire.
        return date is { Year: 9999 } ? null : date;
    }
}
