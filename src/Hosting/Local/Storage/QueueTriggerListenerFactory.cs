using System.Text;
using System.Text.RegularExpressions;
using Azure.Storage.Queues.Models;
using AzureEncoding = Azure.Storage.Queues.QueueMessageEncoding;

namespace Fleet.Hosting.Local.Storage;

/// <summary>Creates <see cref="QueueTriggerListener"/>s for <c>queueTrigger</c> functions.</summary>
internal sealed partial class QueueTriggerListenerFactory(StorageAccounts accounts) : ITriggerListenerFactory, IAdminInvocationFactory
{
    // As the Functions host names it: messages that failed maxDequeueCount times go to <queue>-poison.
    private const string PoisonSuffix = "-poison";

    // A renewal must get through, or fail, well within the lease: a quarter of it, at most 30 s, per attempt.
    private static readonly TimeSpan MaxRenewalRequestTime = TimeSpan.FromSeconds(30);

    public string TriggerType => "queueTrigger";

    /// <summary>
    /// A run by hand: the input is the message text of a message that never was on the queue (a fresh id, dequeue
    /// count 1, inserted now), so nothing is deleted or moved to poison when the function fails.
    /// </summary>
    public TriggerInvocation ForAdminInput(FunctionSpec function, string? input, TimeProvider time)
    {
        ArgumentNullException.ThrowIfNull(function);
        ArgumentNullException.ThrowIfNull(time);
        var text = input ?? string.Empty;
        var now = time.GetUtcNow();
        var message = QueuesModelFactory.QueueMessage(
            Guid.NewGuid().ToString(), popReceipt: string.Empty, text, dequeueCount: 1, nextVisibleOn: now, insertedOn: now, expiresOn: now.AddDays(7));
        return QueueTriggerData.For(message, Encoding.UTF8.GetBytes(text), function.Trigger, QueueTriggerData.WantsModelBindingData(function, function.Trigger));
    }

    public bool TryCreate(FunctionSpec function, TriggerListenerContext context, out ITriggerListener? listener, out string? notLoadedReason)
    {
        ArgumentNullException.ThrowIfNull(function);
        ArgumentNullException.ThrowIfNull(context);
        listener = null;
        var trigger = function.Trigger;
        var queueName = BindingSettings.Resolved(trigger, "queueName", context.AppSettings, out notLoadedReason);
        if (queueName is null)
        {
            notLoadedReason ??= $"binding '{trigger.Name}' names no queueName";
            return false;
        }

        queueName = queueName.Trim();
        if (!QueueNamePattern().IsMatch(queueName) || queueName.Contains("--", StringComparison.Ordinal))
        {
            notLoadedReason = $"binding '{trigger.Name}' queueName '{queueName}' is not a valid queue name (3-63 lowercase letters, digits and single dashes, starting and ending with a letter or digit)";
            return false;
        }

        var connectionName = BindingSettings.Resolved(trigger, "connection", context.AppSettings, out notLoadedReason);
        if (notLoadedReason is not null)
        {
            return false;
        }

        try
        {
            accounts.Connection(connectionName).RequireQueues();

            // Poison records live in the host's own storage.
            accounts.Connection(StorageAccountConnection.DefaultName).RequireBlobs();
        }
        catch (HostConfigurationException ex)
        {
            notLoadedReason = ex.Message;
            return false;
        }

        var settings = accounts.QueueSettings;
        var raw = accounts.Queues(connectionName, AzureEncoding.None);
        var poisonName = queueName.EndsWith(PoisonSuffix, StringComparison.Ordinal) ? null : queueName + PoisonSuffix;
        var renewalTimeout = TimeSpan.FromTicks(Math.Min(settings.MessageLeaseDuration.Ticks / 4, MaxRenewalRequestTime.Ticks));
        var target = new QueueTriggerTarget(
            raw.GetQueueClient(queueName),
            accounts.RenewalQueue(connectionName, queueName, renewalTimeout),
            poisonName is null ? null : raw.GetQueueClient(poisonName),
            accounts.MessageEncoding == AzureEncoding.Base64,
            QueueTriggerData.WantsModelBindingData(function, trigger));
        var hostId = accounts.HostId(function.Metadata);
        listener = new QueueTriggerListener(
            function, target, settings, new PoisonMessageLog(accounts.HostBlobs, hostId), hostId, context.Invoker, context.Time,
            context.LoggerFactory.CreateLogger("Host.Triggers." + function.Name), accounts.Options.Random);
        return true;
    }

    [GeneratedRegex("^[a-z0-9][a-z0-9-]{1,61}[a-z0-9]$")]
    private static partial Regex QueueNamePattern();
}
