using System.Collections.Concurrent;
using Azure.Storage.Queues;
using Azure.Storage.Queues.Models;
using Fleet.Hosting.Configuration;
using Fleet.Hosting.Queues;
using Microsoft.Extensions.Logging;

namespace Fleet.Hosting.Local.Storage;

/// <summary>What one queue trigger polls and where its failures go.</summary>
/// <param name="Queue">The queue, read as raw text (the listener decodes Base64 itself).</param>
/// <param name="Renewals">The same queue for visibility renewals (no retries, short timeout).</param>
/// <param name="Poison">The poison queue (raw text, so a copy keeps the original exactly); null for a poison queue.</param>
/// <param name="Base64">Whether messages are Base64 (host.json <c>messageEncoding</c>).</param>
/// <param name="ModelBindingData">Whether the worker wants the message as <c>ModelBindingData</c> (SDK-type parameter).</param>
internal sealed record QueueTriggerTarget(QueueClient Queue, QueueClient Renewals, QueueClient? Poison, bool Base64, bool ModelBindingData);

/// <summary>
/// The local host's queue trigger on the Azure SDK, as the Azure Functions queue trigger behaves: batches of
/// <c>batchSize</c>, a new batch when in-flight messages fall to <c>newBatchThreshold</c>, randomized exponential
/// backoff up to <c>maxPollingInterval</c> while empty, retries by visibility (<c>visibilityTimeout</c>) and, after
/// <c>maxDequeueCount</c> attempts (or at once for a message that is not valid Base64), a move to
/// <c>&lt;queue&gt;-poison</c> with a durable record. A message is deleted only after success or once its copy is in
/// the poison queue; while its function runs it stays hidden for <c>messageLeaseDuration</c>, renewed at half of it,
/// so the messages of a host (or worker) that dies come back within one lease and nothing is lost.
/// </summary>
internal sealed class QueueTriggerListener : ITriggerListener
{
    private const int RenewalRetryDivisor = 8;

    private readonly FunctionSpec _function;
    private readonly QueueTriggerTarget _target;
    private readonly QueueSettings _settings;
    private readonly PoisonMessageLog _poisonLog;
    private readonly string _hostId;
    private readonly IFunctionInvoker _invoker;
    private readonly TimeProvider _time;
    private readonly ILogger _logger;
    private readonly QueuePollingBackoff _backoff;
    private readonly ConcurrentDictionary<long, InFlightMessage> _inFlight = new();
    private readonly CancellationTokenSource _stopPolling = new();
    private readonly CancellationTokenSource _cancelInvocations = new();
    private readonly SemaphoreSlim _slotFreed = new(0);
    private long _receives;
    private bool _poisonQueueCreated;
    private Task _loop = Task.CompletedTask;

    public QueueTriggerListener(
        FunctionSpec function, QueueTriggerTarget target, QueueSettings settings, PoisonMessageLog poisonLog, string hostId,
        IFunctionInvoker invoker, TimeProvider time, ILogger logger, Func<double> random)
    {
        _function = function;
        _target = target;
        _settings = settings;
        _poisonLog = poisonLog;
        _hostId = hostId;
        _invoker = invoker;
        _time = time;
        _logger = logger;
        _backoff = new QueuePollingBackoff(settings.MaxPollingInterval, random);
    }

    private string QueueName => _target.Queue.Name;

    public Task StartAsync(CancellationToken cancellationToken)
    {
        // In the background: an unreachable storage account must not hold up the host's start.
        _loop = Task.Run(() => PollAsync(_stopPolling.Token), CancellationToken.None);
        _logger.QueueListenerStarted(_function.Name, QueueName, _settings.BatchSize, _settings.NewBatchThreshold, _settings.MaxDequeueCount, _settings.MessageLeaseDuration);
        return Task.CompletedTask;
    }

    public async Task StopAsync(CancellationToken cancellationToken)
    {
        await _stopPolling.CancelAsync().ConfigureAwait(false);
        try
        {
            await _loop.WaitAsync(cancellationToken).ConfigureAwait(false);
        }
        catch (OperationCanceledException) when (cancellationToken.IsCancellationRequested)
        {
            // A receive still in flight releases what it gets once it returns.
        }

        var running = _inFlight.Values.ToList();
        _logger.QueueListenerStopping(_function.Name, QueueName, running.Count);
        try
        {
            await Task.WhenAll(running.Select(r => r.Processing)).WaitAsync(cancellationToken).ConfigureAwait(false);
        }
        catch (OperationCanceledException) when (cancellationToken.IsCancellationRequested)
        {
            // The drain period is over: cancel what still runs; each message is then handed back at once.
            await _cancelInvocations.CancelAsync().ConfigureAwait(false);
            try
            {
                await Task.WhenAll(running.Select(r => r.Processing)).WaitAsync(ShutdownGrace, TimeProvider.System, CancellationToken.None).ConfigureAwait(false);
            }
            catch (TimeoutException)
            {
                // Left to their visibility, which ends within one lease.
            }
        }

        _logger.QueueListenerStopped(_function.Name, QueueName, _inFlight.Count);
    }

    public async ValueTask DisposeAsync()
    {
        await _stopPolling.CancelAsync().ConfigureAwait(false);
        await _cancelInvocations.CancelAsync().ConfigureAwait(false);
        try
        {
            await _loop.ConfigureAwait(false);
        }
        catch (OperationCanceledException)
        {
            // Stopped.
        }

        _stopPolling.Dispose();
        _cancelInvocations.Dispose();
    }

    private static TimeSpan ShutdownGrace => Timers.TimerScheduleRunner.ShutdownGrace;

    private async Task PollAsync(CancellationToken stopping)
    {
        try
        {
            // Convenient locally; with an identity that may not create queues the listener simply waits for it.
            await _target.Queue.CreateIfNotExistsAsync(cancellationToken: stopping).ConfigureAwait(false);
        }
        catch (Exception ex) when (ex.IsStorageFailure(stopping))
        {
            _logger.QueueCreateFailed(QueueName, _function.Name, ex.Message);
        }
        catch (OperationCanceledException)
        {
            return;
        }

        var missingLogged = false;
        while (!stopping.IsCancellationRequested)
        {
            try
            {
                while (_inFlight.Count > _settings.NewBatchThreshold)
                {
                    await _slotFreed.WaitAsync(stopping).ConfigureAwait(false);
                }

                QueueMessage[] messages;
                try
                {
                    // Not cancelled on stop: a receive the service already served must reach us, or its messages
                    // would stay hidden for a whole lease.
                    messages = (await _target.Queue.ReceiveMessagesAsync(_settings.BatchSize, _settings.MessageLeaseDuration, CancellationToken.None).ConfigureAwait(false)).Value;
                    missingLogged = false;
                }
                catch (Exception ex) when (ex.IsCode("QueueNotFound"))
                {
                    if (!missingLogged)
                    {
                        _logger.QueueMissing(QueueName, _function.Name);
                        missingLogged = true;
                    }

                    await Task.Delay(_backoff.Next(), _time, stopping).ConfigureAwait(false);
                    continue;
                }

                if (stopping.IsCancellationRequested)
                {
                    foreach (var message in messages)
                    {
                        await ReleaseAsync(new InFlightMessage(0, message), TimeSpan.Zero).ConfigureAwait(false);
                    }

                    return;
                }

                if (messages.Length == 0)
                {
                    await Task.Delay(_backoff.Next(), _time, stopping).ConfigureAwait(false);
                    continue;
                }

                _backoff.Reset();
                foreach (var message in messages)
                {
                    var entry = new InFlightMessage(Interlocked.Increment(ref _receives), message);
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
                var failed = ex as Azure.RequestFailedException;
                _logger.QueuePollFailed(QueueName, _function.Name, failed?.Status ?? 0, failed?.ErrorCode ?? string.Empty, ex.Message);
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

    private async Task ProcessAsync(InFlightMessage entry)
    {
        using var renewal = new CancellationTokenSource();
        var renewing = RenewVisibilityAsync(entry, renewal.Token);
        try
        {
            var decision = await DecideAsync(entry).ConfigureAwait(false);

            // A renewal in flight would change the pop receipt under the delete or release: stop it first.
            await renewal.CancelAsync().ConfigureAwait(false);
            await renewing.ConfigureAwait(false);
            await (decision.Kind switch
            {
                DecisionKind.Delete => DeleteAsync(entry),
                DecisionKind.Release => ReleaseAsync(entry, decision.Visibility),
                _ => PoisonAsync(entry, decision.ReasonKind, decision.Reason!),
            }).ConfigureAwait(false);
        }
        catch (Exception ex)
        {
            // The message stays hidden until its visibility ends and is then retried: nothing is lost.
            _logger.QueueMessageHandlingFailed(ex, entry.Message.MessageId, QueueName, _function.Name);
        }
        finally
        {
            await renewal.CancelAsync().ConfigureAwait(false);
            await renewing.ConfigureAwait(false);
            _inFlight.TryRemove(entry.Key, out _);
            _slotFreed.Release();
        }
    }

    private async Task<Decision> DecideAsync(InFlightMessage entry)
    {
        var message = entry.Message;
        var body = Decode(message);
        if (body is null)
        {
            return Decision.Poison(PoisonReasonKind.DecodingFailed, "The message is not valid Base64, but extensions.queues.messageEncoding is base64.");
        }

        if (message.DequeueCount > _settings.MaxDequeueCount)
        {
            return Decision.Poison(
                PoisonReasonKind.DequeueCountExceeded,
                $"The message was received {message.DequeueCount} times, more than maxDequeueCount {_settings.MaxDequeueCount}.");
        }

        var invocation = QueueTriggerData.For(message, body, _function.Trigger, _target.ModelBindingData);
        InvocationOutcome outcome;
        try
        {
            outcome = await _invoker.InvokeAsync(_function, invocation, _cancelInvocations.Token).ConfigureAwait(false);
        }
        catch (OperationCanceledException) when (_cancelInvocations.IsCancellationRequested)
        {
            // Cut short by shutdown: hand it back at once (its dequeue count already counts this attempt).
            return Decision.Release(TimeSpan.Zero);
        }
        catch (OperationCanceledException ex)
        {
            // Cancelled by nobody here (the worker's channel went away under it): a failed attempt like any other,
            // rather than a message left hidden for the rest of its lease.
            outcome = new InvocationOutcome(false, null, new Rpc.Protocol.RpcException { Type = ex.GetType().FullName, Message = ex.Message });
        }

        if (outcome.Succeeded)
        {
            return Decision.Delete;
        }

        var reason = Describe(outcome.Exception);
        if (message.DequeueCount >= _settings.MaxDequeueCount)
        {
            return Decision.Poison(PoisonReasonKind.FunctionFailed, reason);
        }

        _logger.QueueMessageWillBeRetried(message.MessageId, QueueName, _function.Name, message.DequeueCount, _settings.MaxDequeueCount, _settings.VisibilityTimeout, reason);
        return Decision.Release(_settings.VisibilityTimeout);
    }

    private byte[]? Decode(QueueMessage message)
    {
        var text = message.MessageText ?? string.Empty;
        if (!_target.Base64)
        {
            return System.Text.Encoding.UTF8.GetBytes(text);
        }

        var buffer = new byte[text.Length];
        return Convert.TryFromBase64String(text, buffer, out var written) ? buffer[..written] : null;
    }

    /// <summary>
    /// Moves a message to the poison queue. The record (keyed by the original message id) is written first and
    /// completed with the copy's id, so a retry after any failed step finds it: no copy yet means copy, a copy means
    /// only delete. A failed record write never leads to a second copy.
    /// </summary>
    private async Task PoisonAsync(InFlightMessage entry, PoisonReasonKind kind, string reason)
    {
        var message = entry.Message;
        if (_target.Poison is not { } poison)
        {
            // A poison queue has no poison queue of its own: leave the message hidden so it does not spin.
            _logger.PoisonQueueHasNoPoisonQueue(message.MessageId, QueueName, _function.Name, reason);
            return;
        }

        var record = await _poisonLog.TryReadAsync(QueueName, message.MessageId, CancellationToken.None).ConfigureAwait(false);
        if (record is null)
        {
            record = new PoisonMessageRecord(
                QueueName, poison.Name, message.MessageId, null, message.InsertedOn, message.DequeueCount, _function.Name, kind, reason,
                _hostId, _time.GetUtcNow());
            await _poisonLog.WriteAsync(record, CancellationToken.None).ConfigureAwait(false);
        }

        if (record.PoisonMessageId is null)
        {
            if (!Volatile.Read(ref _poisonQueueCreated))
            {
                await poison.CreateIfNotExistsAsync().ConfigureAwait(false);
                Volatile.Write(ref _poisonQueueCreated, true);
            }

            // The very text it arrived with; poison messages never expire: they wait for an operator.
            var receipt = await poison.SendMessageAsync(message.MessageText, timeToLive: TimeSpan.FromSeconds(-1)).ConfigureAwait(false);
            record = record with { PoisonMessageId = receipt.Value.MessageId };
            try
            {
                await _poisonLog.WriteAsync(record, CancellationToken.None).ConfigureAwait(false);
            }
            catch (Exception ex) when (ex.IsStorageFailure(CancellationToken.None))
            {
                // The copy is safe; deleting the original now is what keeps a retry from copying it again.
                _logger.PoisonRecordIncomplete(message.MessageId, QueueName, ex.Message);
            }
        }

        await DeleteAsync(entry).ConfigureAwait(false);
        _logger.MessageMovedToPoison(message.MessageId, QueueName, poison.Name, _function.Name, record.DequeueCount, record.ReasonKind, record.Reason);
    }

    private async Task DeleteAsync(InFlightMessage entry)
    {
        try
        {
            await _target.Queue.DeleteMessageAsync(entry.Message.MessageId, entry.PopReceipt).ConfigureAwait(false);
        }
        catch (Exception ex) when (ex.Is(404) || ex.IsCode("PopReceiptMismatch"))
        {
            // Someone else owns it now (our visibility lapsed): they will finish it.
            _logger.QueueMessageNotOurs(entry.Message.MessageId, QueueName, "delete");
        }
    }

    private async Task ReleaseAsync(InFlightMessage entry, TimeSpan visibility)
    {
        try
        {
            var receipt = await _target.Queue.UpdateMessageAsync(entry.Message.MessageId, entry.PopReceipt, visibilityTimeout: visibility).ConfigureAwait(false);
            entry.PopReceipt = receipt.Value.PopReceipt;
        }
        catch (Exception ex) when (ex.Is(404) || ex.IsCode("PopReceiptMismatch"))
        {
            _logger.QueueMessageNotOurs(entry.Message.MessageId, QueueName, "release");
        }
        catch (Exception ex) when (ex.IsStorageFailure(CancellationToken.None))
        {
            // It becomes visible again when its lease ends.
            _logger.QueueMessageReleaseFailed(entry.Message.MessageId, QueueName, ex.Message);
        }
    }

    /// <summary>
    /// Extends the message's visibility at half of the lease while the function runs. A failed renewal is tried again
    /// sooner; one refused because the message is no longer ours ends the renewal.
    /// </summary>
    private async Task RenewVisibilityAsync(InFlightMessage entry, CancellationToken done)
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
                    var receipt = await _target.Renewals.UpdateMessageAsync(entry.Message.MessageId, entry.PopReceipt, visibilityTimeout: lease, cancellationToken: CancellationToken.None).ConfigureAwait(false);
                    entry.PopReceipt = receipt.Value.PopReceipt;
                    wait = lease / 2;
                }
                catch (Exception ex) when (ex.Is(404) || ex.IsCode("PopReceiptMismatch"))
                {
                    _logger.QueueMessageRenewFailed(entry.Message.MessageId, QueueName, ex.Message);
                    return;
                }
                catch (Exception ex) when (ex.IsStorageFailure(CancellationToken.None))
                {
                    _logger.QueueMessageRenewFailed(entry.Message.MessageId, QueueName, ex.Message);
                    wait = lease / RenewalRetryDivisor;
                }
            }
        }
        catch (OperationCanceledException)
        {
            // Processing ended.
        }
    }

    /// <summary>The poison reason for a failure: the user's exception type and the first line of its message.</summary>
    internal static string Describe(Rpc.Protocol.RpcException? exception)
    {
        if (exception is null)
        {
            return "The function failed.";
        }

        var message = exception.Message ?? string.Empty;
        var newline = message.IndexOfAny(['\r', '\n']);
        var text = string.IsNullOrEmpty(exception.Type) ? message : $"{exception.Type}: {(newline >= 0 ? message[..newline] : message)}";
        return text.Length <= 1000 ? text : text[..1000] + "…";
    }

    private enum DecisionKind
    {
        Delete,
        Release,
        Poison,
    }

    private sealed record Decision(DecisionKind Kind, TimeSpan Visibility, PoisonReasonKind ReasonKind, string? Reason)
    {
        public static readonly Decision Delete = new(DecisionKind.Delete, TimeSpan.Zero, default, null);

        public static Decision Release(TimeSpan visibility) => new(DecisionKind.Release, visibility, default, null);

        public static Decision Poison(PoisonReasonKind kind, string reason) => new(DecisionKind.Poison, TimeSpan.Zero, kind, reason);
    }

    /// <summary>A received message being processed, with its current pop receipt.</summary>
    private sealed class InFlightMessage(long key, QueueMessage message)
    {
        private string _popReceipt = message.PopReceipt;

        public long Key { get; } = key;

        public QueueMessage Message { get; } = message;

        public string PopReceipt
        {
            get => Volatile.Read(ref _popReceipt);
            set => Volatile.Write(ref _popReceipt, value);
        }

        public Task Processing { get; set; } = Task.CompletedTask;
    }
}
