namespace Fleet.Storage;

/// <summary>A received message: it stays invisible to other receivers until <see cref="NextVisibleOn"/>.</summary>
/// <param name="MessageId">The message id.</param>
/// <param name="PopReceipt">Proof of this receipt, needed to delete or update the message; changes on every receive and update.</param>
/// <param name="MessageText">The text, decoded per the queue's <see cref="QueueMessageEncoding"/>.</param>
/// <param name="Body">The decoded bytes.</param>
/// <param name="DequeueCount">How many times the message has been received, this time included.</param>
/// <param name="InsertedOn">When the message was added.</param>
/// <param name="ExpiresOn">When it expires (null: never).</param>
/// <param name="NextVisibleOn">When it becomes visible again unless deleted or updated.</param>
public sealed record QueueMessage(
    string MessageId,
    string PopReceipt,
    string MessageText,
    BinaryData Body,
    long DequeueCount,
    DateTimeOffset? InsertedOn,
    DateTimeOffset? ExpiresOn,
    DateTimeOffset? NextVisibleOn)
{
    /// <summary>
    /// True when the queue expects Base64 but the wire text was not Base64 (e.g. another client enqueued plain
    /// text); <see cref="MessageText"/> and <see cref="Body"/> then hold the raw text, so a host can move the
    /// message to a poison queue instead of failing the whole batch.
    /// </summary>
    public bool DecodingFailed { get; init; }
}

/// <summary>A message seen by peeking: not received, so no pop receipt.</summary>
/// <param name="MessageId">The message id.</param>
/// <param name="MessageText">The decoded text.</param>
/// <param name="Body">The decoded bytes.</param>
/// <param name="DequeueCount">How many times it has been received.</param>
/// <param name="InsertedOn">When it was added.</param>
/// <param name="ExpiresOn">When it expires (null: never).</param>
public sealed record PeekedMessage(
    string MessageId,
    string MessageText,
    BinaryData Body,
    long DequeueCount,
    DateTimeOffset? InsertedOn,
    DateTimeOffset? ExpiresOn)
{
    /// <summary>True when Base64 was expected and the wire text was not Base64 (the raw text is kept).</summary>
    public bool DecodingFailed { get; init; }
}

/// <summary>What the service answered to a send.</summary>
/// <param name="MessageId">The new message's id.</param>
/// <param name="PopReceipt">A pop receipt to delete or update it before anyone receives it.</param>
/// <param name="InsertedOn">When it was added.</param>
/// <param name="ExpiresOn">When it expires (null: never).</param>
/// <param name="NextVisibleOn">When it becomes visible.</param>
public sealed record SendReceipt(
    string MessageId, string PopReceipt, DateTimeOffset? InsertedOn, DateTimeOffset? ExpiresOn, DateTimeOffset? NextVisibleOn);

/// <summary>What the service answered to an update.</summary>
/// <param name="PopReceipt">The new pop receipt; the old one no longer works.</param>
/// <param name="NextVisibleOn">When the message becomes visible.</param>
public sealed record UpdateReceipt(string PopReceipt, DateTimeOffset? NextVisibleOn);

/// <summary>Queue properties.</summary>
/// <param name="ApproximateMessagesCount">Approximate number of messages, visible or not.</param>
/// <param name="Metadata">The queue's metadata.</param>
public sealed record QueueProperties(int ApproximateMessagesCount, IReadOnlyDictionary<string, string> Metadata);
