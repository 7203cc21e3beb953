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
/// queue. While its function runs a message is hidden for <c>messageLeaseDuration</c>, renewed at half of it, so the
/// messages of a host that dies come back within one lease.
/// </summary>
internal sealed class QueueListener : IFunctionListener
{
    /// <summary>How long cancelled invocations get to end after the drain period, before their messages are released anyway.</summary>
    internal static readonly TimeSpan ShutdownGrace = TimeSpan.FromSeconds(5);

    private const int MaxReasonLength = 1000;

    // After a failed renewal the next try comes at an eighth of the lease, so a short lease gets a few more tries.
    private const int RenewalRetryDivisor = 8;

    private static readonly TimeSpan MaxRenewalRequestTime = TimeSpan.FromSeconds(30);

    private readonly QueueTrigger _trigger;
    private readonly QueueClient _queue;
    private readonly QueueClient _renewals;
    private readonly QueueClient? _poison;
    private readonly QueueClient? _rawPoison;
    private readonly PoisonMessageLog _poisonLog;
    private readonly FunctionExecutor _executor;
    private readonly QueueSettings _settings;
    private readonly string _hostId;
    private readonly TimeProvider _time;
    private readonly ILogger _logger;
    private readonly QueuePollingBackoff _backoff;
    // Keyed per receive, not per message id: a message received again while its first copy still runs is two entries.
    private readonly ConcurrentDictionary<long, InFlight> _inFlight = new();
    private readonly CancellationTokenSource _stopPolling = new();
    private readonly CancellationTokenSource _cancelInvocations = new();
    // Never disposed: an invocation abandoned at shutdown may still signal it after the listener is disposed, and a
    // SemaphoreSlim whose wait handle is never asked for holds nothing that needs disposing.
    private readonly SemaphoreSlim _slotFreed = new(0);
    private long _receives;
    private bool _poisonQueueCreated;
    private Task _loop = Task.CompletedTask;

    public QueueListener(
        FunctionDescriptor function, HostStorage storage, PoisonMessageLog poisonLog, FunctionExecutor executor, HostSettings settings,
        TimeProvider time, ILogger logger, Func<double> random)
    {
        Function = function;
        _trigger = function.Queue!;
        _queue = storage.Queue(_trigger.ConnectionName, _trigger.QueueName);
        _settings = settings.Queues;

        // A renewal must get through, or fail, well within the lease: a quarter of it (at most 30 s) per attempt.
        _renewals = storage.RenewalQueue(
            _trigger.ConnectionName, _trigger.QueueName, TimeSpan.FromTicks(Math.Min(_settings.MessageLeaseDuration.Ticks / 4, MaxRenewalRequestTime.Ticks)));
        if (_trigger.PoisonQueueName is { } poisonName)
        {
            _poison = storage.Queue(_trigger.ConnectionName, poisonName);

            // A message that is not valid Base64 goes to poison as the very text it arrived with.
            _rawPoison = storage.Queue(_trigger.ConnectionName, poisonName, QueueMessageEncoding.None);
        }

        _poisonLog = poisonLog;
        _executor = executor;
        _hostId = settings.HostId;
        _time = time;
        _logger = logger;
        _backoff = new QueuePollingBackoff(_settings.MaxPollingInterval, random);
    }

    public FunctionDescriptor Function { get; }

    public ListenerHealth Health { get; } = new();

    public void Dispose()
    {
        // A host disposed without a stop must not leave the poll loop running.
        _stopPolling.Cancel();
        _cancelInvocations.Cancel();
        _stopPolling.Dispose();
        _cancelInvocations.Dispose();
    }

    public Task StartAsync(CancellationToken cancellationToken)
    {
        // In the background: an unreachable storage account must not hold up the host's start (HTTP keeps working).
        _loop = Task.Run(() => PollAsync(_stopPolling.Token), CancellationToken.None);
        _logger.QueueListenerStarted(Function.Name, _trigger.QueueName, _settings.BatchSize, _settings.NewBatchThreshold, _settings.MaxDequeueCount, _settings.MessageLeaseDuration);
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
                // Functions that ignore their token: release their messages now so another host can take them (after
                // their renewal stopped, so the release carries the latest pop receipt).
                foreach (var stuck in _inFlight.Values.Where(r => !r.Processing.IsCompleted))
                {
                    try
                    {
                        await stuck.StopRenewingAsync().WaitAsync(ShutdownGrace, TimeProvider.System, CancellationToken.None).ConfigureAwait(false);
                    }
                    catch (TimeoutException)
                    {
                        // Storage is not answering the renewal; the release below most likely fails too, and the
                        // message reappears when its visibility ends.
                    }

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
                    // would stay hidden for a whole lease.
                    messages = await _queue.ReceiveMessagesAsync(_settings.BatchSize, _settings.MessageLeaseDuration, CancellationToken.None).ConfigureAwait(false);
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
                        using var unprocessed = new InFlight(0, message);
                        await ReleaseAsync(unprocessed, TimeSpan.Zero, CancellationToken.None).ConfigureAwait(false);
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
                    var entry = new InFlight(Interlocked.Increment(ref _receives), message);
                    _inFlight[entry.Key] = entry;
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
        entry.StartRenewing(done => RenewVisibilityAsync(entry, done));
        try
        {
            var decision = await DecideAsync(entry).ConfigureAwait(false);

            // A renewal in flight would change the pop receipt under the delete or release: stop it first, then act
            // with the receipt it left.
            await entry.StopRenewingAsync().ConfigureAwait(false);
            await ActAsync(entry, decision).ConfigureAwait(false);
        }
        catch (Exception ex)
        {
            // The message stays hidden until its visibility ends and is then retried: nothing is lost.
            _logger.QueueMessageHandlingFailed(ex, entry.Message.MessageId, _trigger.QueueName, Function.Name);
        }
        finally
        {
            await entry.StopRenewingAsync().ConfigureAwait(false);
            entry.Dispose();
            _inFlight.TryRemove(entry.Key, out _);
            _slotFreed.Release();
        }
    }

    /// <summary>Runs the function (unless the message can be judged without it) and says what becomes of the message.</summary>
    private async Task<Decision> DecideAsync(InFlight entry)
    {
        var message = entry.Message;
        if (message.DecodingFailed)
        {
            return Decision.Poison(PoisonReasonKind.DecodingFailed, "The message is not valid Base64, but extensions.queues.messageEncoding is base64.");
        }

        if (message.DequeueCount > _settings.MaxDequeueCount)
        {
            return Decision.Poison(
                PoisonReasonKind.DequeueCountExceeded,
                $"The message was received {message.DequeueCount} times, more than maxDequeueCount {_settings.MaxDequeueCount}.");
        }

        var input = new TriggerInput(
            message, QueueBindingData.For(message), $"New queue message detected on '{_trigger.QueueName}'.");
        var result = await _executor.ExecuteAsync(Function, input, _cancelInvocations.Token).ConfigureAwait(false);
        return result.Outcome switch
        {
            FunctionOutcome.Succeeded => Decision.Delete,

            // It would fail the same way every time: straight to poison.
            FunctionOutcome.BindingFailed => Decision.Poison(PoisonReasonKind.BindingFailed, Truncate(result.Exception?.Message ?? "The message could not be bound.")),

            // Cut short by shutdown: hand it back at once (its dequeue count already counts this attempt).
            FunctionOutcome.Canceled => Decision.Release(TimeSpan.Zero),
            _ when message.DequeueCount >= _settings.MaxDequeueCount => Decision.Poison(PoisonReasonKind.FunctionFailed, Describe(result.Exception)),
            _ => Decision.Release(_settings.VisibilityTimeout),
        };
    }

    private Task ActAsync(InFlight entry, Decision decision) => decision.Kind switch
    {
        DecisionKind.Delete => DeleteAsync(entry),
        DecisionKind.Release => ReleaseAsync(entry, decision.Visibility, CancellationToken.None),
        _ => PoisonAsync(entry, decision.ReasonKind, decision.Reason!),
    };

    /// <summary>
    /// Moves a message to the poison queue. The record (keyed by the original message id) is written first and
    /// then completed with the copy's id, so a retry after any failed step finds it: no copy yet means copy, a copy
    /// means only delete. A failed record write therefore never leads to a second copy.
    /// </summary>
    private async Task PoisonAsync(InFlight entry, PoisonReasonKind kind, string reason)
    {
        var message = entry.Message;
        if (_poison is null || _rawPoison is null)
        {
            // A poison queue has no poison queue of its own: leave the message hidden so it does not spin.
            _logger.PoisonQueueHasNoPoisonQueue(message.MessageId, _trigger.QueueName, Function.Name, reason);
            return;
        }

        var record = await _poisonLog.TryReadAsync(_trigger.QueueName, message.MessageId, CancellationToken.None).ConfigureAwait(false);
        if (record is null)
        {
            record = new PoisonMessageRecord(
                _trigger.QueueName, _poison.Name, message.MessageId, null, message.InsertedOn, message.DequeueCount,
                Function.Name, kind, reason, _hostId, _time.GetUtcNow());
            await _poisonLog.WriteAsync(record, CancellationToken.None).ConfigureAwait(false);
        }

        if (record.PoisonMessageId is null)
        {
            if (!_poisonQueueCreated)
            {
                await _poison.CreateIfNotExistsAsync().ConfigureAwait(false);
                _poisonQueueCreated = true;
            }

            // Poison messages never expire: they wait for an operator.
            var receipt = message.DecodingFailed
                ? await _rawPoison.SendMessageAsync(message.MessageText, timeToLive: QueueClient.NeverExpires).ConfigureAwait(false)
                : await _poison.SendMessageAsync(message.Body, timeToLive: QueueClient.NeverExpires).ConfigureAwait(false);
            record = record with { PoisonMessageId = receipt.MessageId };
            try
            {
                await _poisonLog.WriteAsync(record, CancellationToken.None).ConfigureAwait(false);
            }
            catch (Exception ex) when (ex.IsStorageFailure(CancellationToken.None))
            {
                // The copy is safe in the poison queue; the record only lacks its id. Deleting the original now
                // is what keeps a retry from copying it again.
                _logger.PoisonRecordIncomplete(message.MessageId, _trigger.QueueName, ex.Message);
            }
        }

        await DeleteAsync(entry).ConfigureAwait(false);
        _logger.MessageMovedToPoison(message.MessageId, _trigger.QueueName, _poison.Name, Function.Name, record.DequeueCount, record.ReasonKind, record.Reason);
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
            // It becomes visible again when its lease ends.
            _logger.QueueMessageReleaseFailed(entry.Message.MessageId, _trigger.QueueName, ex.Message);
        }
    }

    /// <summary>
    /// Extends the message's lease at half of it while the function runs. A failed renewal is tried again sooner (the
    /// lease may still have time left); one refused because the message is no longer ours ends the renewal.
    /// </summary>
    private async Task RenewVisibilityAsync(InFlight entry, CancellationToken done)
    {
        var lease = _settings.MessageLeaseDuration;
        var wait = lease / 2;
        try
        {
            while (true)
            {
                await Task.Delay(wait, _time, done).ConfigureAwait(false);
                try
                {
                    // Not cancelled: an update the service applied must update our pop receipt too.
                    var receipt = await _renewals.UpdateMessageAsync(entry.Message.MessageId, entry.PopReceipt, lease, cancellationToken: CancellationToken.None).ConfigureAwait(false);
                    entry.PopReceipt = receipt.PopReceipt;
                    wait = lease / 2;
                }
                catch (StorageRequestException ex) when (ex.IsNotFound || ex.ErrorCode == StorageErrorCodes.PopReceiptMismatch)
                {
                    // The lease lapsed and someone else received it, or it is gone: the renewal is over.
                    _logger.QueueMessageRenewFailed(entry.Message.MessageId, _trigger.QueueName, ex.Message);
                    return;
                }
                catch (Exception ex)
                {
                    _logger.QueueMessageRenewFailed(entry.Message.MessageId, _trigger.QueueName, ex.Message);
                    wait = lease / RenewalRetryDivisor;
                }
            }
        }
        catch (OperationCanceledException)
        {
            // Processing ended.
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

    private enum DecisionKind
    {
        Delete,
        Release,
        Poison,
    }

    /// <summary>What becomes of a message once its function has run.</summary>
    private sealed record Decision(DecisionKind Kind, TimeSpan Visibility, PoisonReasonKind ReasonKind, string? Reason)
    {
        public static readonly Decision Delete = new(DecisionKind.Delete, TimeSpan.Zero, default, null);

        public static Decision Release(TimeSpan visibility) => new(DecisionKind.Release, visibility, default, null);

        public static Decision Poison(PoisonReasonKind kind, string reason) => new(DecisionKind.Poison, TimeSpan.Zero, kind, reason);
    }

    /// <summary>A received message being processed: its current pop receipt and the renewal of its visibility.</summary>
    private sealed class InFlight(long key, QueueMessage message) : IDisposable
    {
        private readonly CancellationTokenSource _renewal = new();
        private readonly Lock _gate = new();
        private string _popReceipt = message.PopReceipt;
        private Task _renewing = Task.CompletedTask;
        private bool _disposed;

        /// <summary>This receive's own key (a message received twice is two entries).</summary>
        public long Key { get; } = key;

        public QueueMessage Message { get; } = message;

        public string PopReceipt
        {
            get => Volatile.Read(ref _popReceipt);
            set => Volatile.Write(ref _popReceipt, value);
        }

        public Task Processing { get; set; } = Task.CompletedTask;

        public void StartRenewing(Func<CancellationToken, Task> renew) => Volatile.Write(ref _renewing, renew(_renewal.Token));

        /// <summary>Stops the renewal and waits for a request of it still in flight, whose receipt then counts.</summary>
        public async Task StopRenewingAsync()
        {
            CancelRenewal();
            await Volatile.Read(ref _renewing).ConfigureAwait(false);
        }

        public void Dispose()
        {
            lock (_gate)
            {
                _disposed = true;
                _renewal.Dispose();
            }
        }

        // Shutdown may stop the renewal of an entry whose processing is just ending (and disposing it).
        private void CancelRenewal()
        {
            lock (_gate)
            {
                if (!_disposed)
                {
                    _renewal.Cancel();
                }
            }
        }
    }
}
