namespace Fleet.Storage;

/// <summary>The Queue service of one storage account; hands out <see cref="QueueClient"/>s sharing its pipeline.</summary>
public class QueueServiceClient
{
    private readonly StorageClientContext? _context;

    internal QueueServiceClient(StorageClientContext context) => _context = context;

    /// <summary>For mocking.</summary>
    protected QueueServiceClient()
    {
    }

    /// <summary>The Queue service endpoint.</summary>
    public virtual Uri Uri => Context.Endpoint;

    /// <summary>The storage account name.</summary>
    public virtual string AccountName => Context.AccountName;

    private StorageClientContext Context => _context ?? throw new InvalidOperationException("This client was created for mocking.");

    /// <summary>A client for the queue <paramref name="queueName"/>, with the options' message encoding.</summary>
    public virtual QueueClient GetQueueClient(string queueName) => GetQueueClient(queueName, Context.Options.MessageEncoding);

    /// <summary>A client for the queue <paramref name="queueName"/> with its own message encoding.</summary>
    public virtual QueueClient GetQueueClient(string queueName, QueueMessageEncoding encoding)
    {
        ArgumentException.ThrowIfNullOrWhiteSpace(queueName);
        return new QueueClient(Context, queueName, encoding);
    }
}
