using System.Collections.Concurrent;
using Fleet.Hosting.Configuration;
using Fleet.Hosting.Indexing;
using Fleet.Hosting.Invocation;
using Fleet.Storage;
using Microsoft.Extensions.Logging;

namespace Fleet.Hosting.Queues;

/// <summary>
/// Polls one storage queue for one function, as the Azure Functions queue trigger does: batches of
/// <c>batchSize</c>, a new batch when in-flight messages fall to <c>newBatchThreshold</c>, randomized exponential
/// backoff up to <c>maxPollingInterval</c> while empty, retries by visibility (<c>visibilityTimeout</c>) and, after
/// <c>maxDequeueCount</c> attempts (or at once for a message that cannot be bound), a move to <c>&lt;queue&gt;-poison</c>
/// with a durable record. A received message is only ever deleted after success or after its copy reached the poison
/// queue.
/// </summary>
internal sealed class QueueListener : IFunctionListener
{
    /// <summary>How long a received message stays hidden; renewed at half-time while its function runs.</summary>
    internal static readonly TimeSpan ReceiveVisibility = TimeSpan.FromMinutes(10);

    /// <summary>How long cancelled invocations get to end after the drain period, before their messages are released anyway.</summary>
    internal static readonly TimeSpan ShutdownGrace = TimeSpan.FromSeconds(5);

    private const int MaxReasonLength = 1000;

    private readonly QueueTrigger _trigger;
    private readonly QueueClient _queue;
    private readonly QueueClient? _poison;
    private readonly QueueClient? _rawPoison;
    private readonly PoisonMessageLog _poisonLog;
    private readonly FunctionExecutor _executor;
    private readonly QueueSettings _settings;
    private readonly string _hostId;
    private readonly TimeProvider _time;
    private readonly ILogger _logger;
    private readonly QueuePollingBackoff _backoff;
    private readonly ConcurrentDictionary<string, InFlight> _inFlight = new(StringComparer.Ordinal);
    private readonly CancellationTokenSource _stopPolling = new();
    private readonly CancellationTokenSource _cancelInvocations = new();
    private readonly SemaphoreSlim _slotFreed = new(0);
    private bool _poisonQueueCreated;
    private Task _loop = Task.CompletedTask;

    public QueueListener(
        FunctionDescriptor function, HostStorage storage, PoisonMessageLog poisonLog, FunctionExecutor executor, HostSettings settings,
        TimeProvider time, ILogger logger, Func<double> random)
    {
        Function = function;
        _trigger = function.Queue!;
        _queue = storage.Queue(_trigger.ConnectionName, _trigger.QueueName);
        if (_trigger.PoisonQueueName is { } poisonName)
        {
            _poison = storage.Queue(_trigger.ConnectionName, poisonName);

            // A message that is not valid Base64 goes to poison as the very text it arrived with.
            _rawPoison = storage.Queue(_trigger.ConnectionName, poisonName, QueueMessageEncoding.None);
        }

        _poisonLog = poisonLog;
        _executor = executor;
        _settings = settings.Queues;
        _hostId = settings.HostId;
        _time = time;
        _logger = logger;
        _backoff = new QueuePollingBackoff(_settings.MaxPollingInterval, random);
    }

    public FunctionDescriptor Function { get; }

    public ListenerHealth Health { get; } = new();

    internal int InFlightCount => _inFlight.Count;

    public void Dispose()
    {
        // A host disposed without a stop must not leave the poll loop running.
        _stopPolling.Cancel();
        _cancelInvocations.Cancel();
        _stopPolling.Dispose();
        _cancelInvocations.Dispose();
        _slotFreed.Dispose();
    }

    public Task StartAsync(CancellationToken cancellationToken)
    {
        // In the background: an unreachable storage account must not hold up the host's start (HTTP keeps working).
        _loop = Task.Run(() => PollAsync(_stopPolling.Token), CancellationToken.None);
        _logger.QueueListenerStarted(Function.Name, _trigger.QueueName, _settings.BatchSize, _settings.NewBatchThreshold, _settings.MaxDequeueCount);
        return Task.CompletedTask;
    }

    public async Task StopAsync(CancellationToken cancellationToken)
    {
        await _stopPolling.CancelAsync().ConfigureAwait(false);
        try
        {
            // A receive still in flight (storage slow or unreachable) must not hold the shutdown beyond its timeout;
            // if it returns messages later, the loop releases them at once.
            await _loop.WaitAsync(cancellationToken).ConfigureAwait(false);
        }
        catch (OperationCanceledException) when (cancellationToken.IsCancellationRequested)
        {
        }

        var running = _inFlight.Values.ToList();
        _logger.QueueListenerStopping(Function.Name, _trigger.QueueName, running.Count);
        try
        {
            await Task.WhenAll(running.Select(r => r.Processing)).WaitAsync(cancellationToken).ConfigureAwait(false);
        }
        catch (OperationCanceledException) when (cancellationToken.IsCancellationRequested)
        {
            // The drain period is over: cancel what still runs; each invocation then releases its own message.
            await _cancelInvocations.CancelAsync().ConfigureAwait(false);
            try
            {
                await Task.WhenAll(running.Select(r => r.Processing)).WaitAsync(ShutdownGrace, TimeProvider.System, CancellationToken.None).ConfigureAwait(false);
            }
            catch (TimeoutException)
            {
                // Functions that ignore their token: release their messages now so another host can take them.
                foreach (var stuck in _inFlight.Values.Where(r => !r.Processing.IsCompleted))
                {
                    await ReleaseAsync(stuck, TimeSpan.Zero, CancellationToken.None).ConfigureAwait(false);
                }
            }
        }

        _logger.QueueListenerStopped(Function.Name, _trigger.QueueName, _inFlight.Count);
    }

    private async Task PollAsync(CancellationToken stopping)
    {
        try
        {
            // Convenient locally; with an identity that may not create queues the listener simply waits for it.
            await _queue.CreateIfNotExistsAsync(stopping).ConfigureAwait(false);
        }
        catch (StorageRequestException ex)
        {
            _logger.QueueCreateFailed(_trigger.QueueName, Function.Name, ex.Message);
        }
        catch (OperationCanceledException) when (stopping.IsCancellationRequested)
        {
            return;
        }

        var missingQueueLogged = false;
        while (!stopping.IsCancellationRequested)
        {
            try
            {
                // Fetch a new batch only when in-flight work has fallen to newBatchThreshold.
                while (_inFlight.Count > _settings.NewBatchThreshold)
                {
                    await _slotFreed.WaitAsync(stopping).ConfigureAwait(false);
                }

                IReadOnlyList<QueueMessage> messages;
                try
                {
                    // Not cancelled on stop: a receive the service already served must reach us, or its messages
                    // would stay hidden for the whole receive visibility.
                    messages = await _queue.ReceiveMessagesAsync(_settings.BatchSize, ReceiveVisibility, CancellationToken.None).ConfigureAwait(false);
                    Health.Ok();
                    missingQueueLogged = false;
                }
                catch (StorageRequestException ex) when (ex.ErrorCode == StorageErrorCodes.QueueNotFound)
                {
                    Health.Failed($"Queue '{_trigger.QueueName}' does not exist.");
                    if (!missingQueueLogged)
                    {
                        _logger.QueueMissing(_trigger.QueueName, Function.Name);
                        missingQueueLogged = true;
                    }

                    await Task.Delay(_backoff.Next(), _time, stopping).ConfigureAwait(false);
                    continue;
                }
                catch (StorageRequestException ex)
                {
                    Health.Failed($"Receiving from queue '{_trigger.QueueName}' failed: {ex.Status} {ex.ErrorCode}.");
                    _logger.QueuePollFailed(_trigger.QueueName, Function.Name, ex.Status, ex.ErrorCode ?? string.Empty, ex.Message);
                    await Task.Delay(_backoff.Next(), _time, stopping).ConfigureAwait(false);
                    continue;
                }

                if (stopping.IsCancellationRequested)
                {
                    foreach (var message in messages)
                    {
                        await ReleaseAsync(new InFlight(message), TimeSpan.Zero, CancellationToken.None).ConfigureAwait(false);
                    }

                    return;
                }

                if (messages.Count == 0)
                {
                    await Task.Delay(_backoff.Next(), _time, stopping).ConfigureAwait(false);
                    continue;
                }

                _backoff.Reset();
                foreach (var message in messages)
                {
                    var entry = new InFlight(message);
                    _inFlight[message.MessageId] = entry;
                    entry.Processing = Task.Run(() => ProcessAsync(entry), CancellationToken.None);
                }
            }
            catch (OperationCanceledException) when (stopping.IsCancellationRequested)
            {
                return;
            }
            catch (Exception ex)
            {
                // Never let one failure end the listener.
                _logger.QueuePollFailed(_trigger.QueueName, Function.Name, 0, string.Empty, ex.Message);
                try
                {
                    await Task.Delay(_backoff.Next(), _time, stopping).ConfigureAwait(false);
                }
                catch (OperationCanceledException)
                {
                    return;
                }
            }
        }
    }

    private async Task ProcessAsync(InFlight entry)
    {
        using var renewal = new CancellationTokenSource();
        var renewing = RenewVisibilityAsync(entry, renewal.Token);
        try
        {
            await HandleAsync(entry).ConfigureAwait(false);
        }
        catch (Exception ex)
        {
            // The message stays hidden until its visibility ends and is then retried: nothing is lost.
            _logger.QueueMessageHandlingFailed(ex, entry.Message.MessageId, _trigger.QueueName, Function.Name);
        }
        finally
        {
            await renewal.CancelAsync().ConfigureAwait(false);
            await renewing.ConfigureAwait(false);
            _inFlight.TryRemove(entry.Message.MessageId, out _);
            _slotFreed.Release();
        }
    }

    private async Task HandleAsync(InFlight entry)
    {
        var message = entry.Message;
        if (message.DecodingFailed)
        {
            await PoisonAsync(entry, PoisonReasonKind.DecodingFailed, "The message is not valid Base64, but extensions.queues.messageEncoding is base64.").ConfigureAwait(false);
            return;
        }

        if (message.DequeueCount > _settings.MaxDequeueCount)
        {
            await PoisonAsync(
                entry, PoisonReasonKind.DequeueCountExceeded,
                $"The message was received {message.DequeueCount} times, more than maxDequeueCount {_settings.MaxDequeueCount}.").ConfigureAwait(false);
            return;
        }

        var input = new TriggerInput(
            message, QueueBindingData.For(message), $"New queue message detected on '{_trigger.QueueName}'.");
        var result = await _executor.ExecuteAsync(Function, input, _cancelInvocations.Token).ConfigureAwait(false);
        switch (result.Outcome)
        {
            case FunctionOutcome.Succeeded:
                await DeleteAsync(entry).ConfigureAwait(false);
                break;
            case FunctionOutcome.BindingFailed:
                // It would fail the same way every time: straight to poison.
                await PoisonAsync(entry, PoisonReasonKind.BindingFailed, Truncate(result.Exception?.Message ?? "The message could not be bound.")).ConfigureAwait(false);
                break;
            case FunctionOutcome.Canceled:
                // Cut short by shutdown: hand it back at once (its dequeue count already counts this attempt).
                await ReleaseAsync(entry, TimeSpan.Zero, CancellationToken.None).ConfigureAwait(false);
                break;
            default:
                if (message.DequeueCount >= _settings.MaxDequeueCount)
                {
                    await PoisonAsync(entry, PoisonReasonKind.FunctionFailed, Describe(result.Exception)).ConfigureAwait(false);
                }
                else
                {
                    await ReleaseAsync(entry, _settings.VisibilityTimeout, CancellationToken.None).ConfigureAwait(false);
                }

                break;
        }
    }

    private async Task PoisonAsync(InFlight entry, PoisonReasonKind kind, string reason)
    {
        var message = entry.Message;
        if (_poison is null || _rawPoison is null)
        {
            // A poison queue has no poison queue of its own: leave the message hidden so it does not spin.
            _logger.PoisonQueueHasNoPoisonQueue(message.MessageId, _trigger.QueueName, Function.Name, reason);
            return;
        }

        if (!_poisonQueueCreated)
        {
            await _poison.CreateIfNotExistsAsync().ConfigureAwait(false);
            _poisonQueueCreated = true;
        }

        // Poison messages never expire: they wait for an operator.
        var receipt = message.DecodingFailed
            ? await _rawPoison.SendMessageAsync(message.MessageText, timeToLive: QueueClient.NeverExpires).ConfigureAwait(false)
            : await _poison.SendMessageAsync(message.Body, timeToLive: QueueClient.NeverExpires).ConfigureAwait(false);
        await _poisonLog.WriteAsync(
            new PoisonMessageRecord(
                _trigger.QueueName, _poison.Name, message.MessageId, receipt.MessageId, message.InsertedOn, message.DequeueCount,
                Function.Name, kind, reason, _hostId, _time.GetUtcNow()),
            CancellationToken.None).ConfigureAwait(false);
        await DeleteAsync(entry).ConfigureAwait(false);
        _logger.MessageMovedToPoison(message.MessageId, _trigger.QueueName, _poison.Name, Function.Name, message.DequeueCount, kind, reason);
    }

    private async Task DeleteAsync(InFlight entry)
    {
        try
        {
            await _queue.DeleteMessageAsync(entry.Message.MessageId, entry.PopReceipt).ConfigureAwait(false);
        }
        catch (StorageRequestException ex) when (ex.IsNotFound || ex.ErrorCode == StorageErrorCodes.PopReceiptMismatch)
        {
            // Someone else owns it now (our visibility lapsed): they will finish it.
            _logger.QueueMessageNotOurs(entry.Message.MessageId, _trigger.QueueName, "delete");
        }
    }

    private async Task ReleaseAsync(InFlight entry, TimeSpan visibility, CancellationToken cancellationToken)
    {
        try
        {
            var receipt = await _queue.UpdateMessageAsync(entry.Message.MessageId, entry.PopReceipt, visibility, cancellationToken: cancellationToken).ConfigureAwait(false);
            entry.PopReceipt = receipt.PopReceipt;
        }
        catch (StorageRequestException ex) when (ex.IsNotFound || ex.ErrorCode == StorageErrorCodes.PopReceiptMismatch)
        {
            _logger.QueueMessageNotOurs(entry.Message.MessageId, _trigger.QueueName, "release");
        }
        catch (Exception ex)
        {
            // It becomes visible again when its receive visibility ends.
            _logger.QueueMessageReleaseFailed(entry.Message.MessageId, _trigger.QueueName, ex.Message);
        }
    }

    private async Task RenewVisibilityAsync(InFlight entry, CancellationToken done)
    {
        try
        {
            while (true)
            {
                await Task.Delay(ReceiveVisibility / 2, _time, done).ConfigureAwait(false);

                // Not cancelled: an update the service applied must update our pop receipt too.
                var receipt = await _queue.UpdateMessageAsync(entry.Message.MessageId, entry.PopReceipt, ReceiveVisibility, cancellationToken: CancellationToken.None).ConfigureAwait(false);
                entry.PopReceipt = receipt.PopReceipt;
            }
        }
        catch (OperationCanceledException)
        {
            // Processing ended.
        }
        catch (Exception ex)
        {
            _logger.QueueMessageRenewFailed(entry.Message.MessageId, _trigger.QueueName, ex.Message);
        }
    }

    /// <summary>The poison reason for a failure: exception type and first line of its message, never a stack trace.</summary>
    internal static string Describe(Exception? exception)
    {
        if (exception is null)
        {
            return "The function failed.";
        }

        while (exception is AggregateException { InnerExceptions.Count: 1 } aggregate)
        {
            exception = aggregate.InnerExceptions[0];
        }

        var message = exception.Message;
        var newline = message.IndexOfAny(['\r', '\n']);
        if (newline >= 0)
        {
            message = message[..newline];
        }

        return Truncate($"{exception.GetType().FullName}: {message}");
    }

    private static string Truncate(string text) => text.Length <= MaxReasonLength ? text : text[..MaxReasonLength] + "…";

    /// <summary>A message being processed and its current pop receipt.</summary>
    private sealed class InFlight(QueueMessage message)
    {
        private string _popReceipt = message.PopReceipt;

        public QueueMessage Message { get; } = message;

        public string PopReceipt
        {
            get => Volatile.Read(ref _popReceipt);
            set => Volatile.Write(ref _popReceipt, value);
        }

        public Task Processing { get; set; } = Task.CompletedTask;
    }
}
