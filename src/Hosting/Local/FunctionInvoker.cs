using System.Collections.Concurrent;
using System.Diagnostics;
using Fleet.Hosting.Rpc;
using Fleet.Hosting.Rpc.Protocol;
using Google.Protobuf.WellKnownTypes;
using Microsoft.Extensions.Logging;

namespace Fleet.Hosting.Local;

/// <summary>
/// Runs functions in the worker over the protocol (see <see cref="IFunctionInvoker"/>): ids and trace context,
/// input bindings, the request, <c>functionTimeout</c> (InvocationCancel, then a failed outcome), output bindings
/// (named outputs and <c>$return</c>; HTTP outputs are left to the HTTP trigger). Tracks in-flight invocations so
/// shutdown can drain them.
/// </summary>
internal sealed class FunctionInvoker(
    WorkerSupervisor supervisor,
    IReadOnlyDictionary<string, IInputBindingProvider> inputs,
    IReadOnlyDictionary<string, IOutputBindingHandler> outputs,
    TimeSpan? functionTimeout,
    ILoggerFactory loggerFactory,
    TimeProvider time) : IFunctionInvoker
{
    public const string ReturnBinding = "$return";
    private readonly ConcurrentDictionary<string, Task> _inFlight = new(StringComparer.Ordinal);

    /// <summary>Invocations running now.</summary>
    public int InFlight => _inFlight.Count;

    public Task<InvocationOutcome> InvokeAsync(FunctionSpec function, TriggerInvocation invocation, CancellationToken cancellationToken) =>
        InvokeAsync(function, invocation, Guid.NewGuid().ToString(), cancellationToken);

    /// <summary>Invokes with a given invocation id (the ASP.NET Core model forwards the request under the same id).</summary>
    public Task<InvocationOutcome> InvokeAsync(FunctionSpec function, TriggerInvocation invocation, string invocationId, CancellationToken cancellationToken)
    {
        ArgumentNullException.ThrowIfNull(function);
        ArgumentNullException.ThrowIfNull(invocation);
        var running = RunAsync(function, invocation, invocationId, cancellationToken);
        _inFlight[invocationId] = running;
        _ = running.ContinueWith(_ => _inFlight.TryRemove(invocationId, out Task? _), CancellationToken.None, TaskContinuationOptions.ExecuteSynchronously, TaskScheduler.Default);
        return running;
    }

    /// <summary>Waits until no invocation runs, or <paramref name="cancellationToken"/> fires.</summary>
    public async Task DrainAsync(CancellationToken cancellationToken)
    {
        while (!_inFlight.IsEmpty && !cancellationToken.IsCancellationRequested)
        {
            try
            {
                await Task.WhenAll(_inFlight.Values.Select(t => t.ContinueWith(_ => { }, TaskScheduler.Default))).WaitAsync(cancellationToken).ConfigureAwait(false);
            }
            catch (OperationCanceledException)
            {
                return;
            }
        }
    }

    private async Task<InvocationOutcome> RunAsync(FunctionSpec function, TriggerInvocation invocation, string invocationId, CancellationToken cancellationToken)
    {
        await Task.Yield();
        var logger = loggerFactory.CreateLogger("Function." + function.Name);
        using var timeout = CancellationTokenSource.CreateLinkedTokenSource(cancellationToken);
        if (functionTimeout is { } limit)
        {
            timeout.CancelAfter(limit);
        }

        var started = time.GetTimestamp();
        WorkerSession? session = null;
        logger.FunctionExecuting(function.Name, invocationId);
        try
        {
            var request = new InvocationRequest
            {
                InvocationId = invocationId,
                FunctionId = function.FunctionId,
                TraceContext = TraceContext(),
                RetryContext = invocation.Retry,
            };
            request.InputData.Add(new ParameterBinding { Name = function.Trigger.Name, Data = invocation.TriggerValue });
            foreach (var input in function.Inputs)
            {
                var value = await inputs[input.Type].ReadAsync(function, input, invocation, timeout.Token).ConfigureAwait(false);
                request.InputData.Add(new ParameterBinding { Name = input.Name, Data = value });
            }

            foreach (var (name, value) in invocation.TriggerMetadata)
            {
                request.TriggerMetadata[name] = value;
            }
            session = await supervisor.GetLiveAsync(timeout.Token).ConfigureAwait(false);
            var response = await session.Channel.InvokeAsync(request, timeout.Token).ConfigureAwait(false);
            if (response.Result?.Status != StatusResult.Types.Status.Success)
            {
                var exception = response.Result?.Exception ?? new Rpc.Protocol.RpcException { Message = response.Result?.Result ?? "The function failed." };
                var failedAfter = Elapsed(started);
                logger.FunctionFailed(function.Name, invocationId, failedAfter, new WorkerException(exception));
                return new InvocationOutcome(false, response, exception);
            }

            await WriteOutputsAsync(function, response, cancellationToken).ConfigureAwait(false);
            var duration = Elapsed(started);
            logger.FunctionSucceeded(function.Name, invocationId, duration);
            return new InvocationOutcome(true, response, null);
        }
        catch (OperationCanceledException) when (timeout.IsCancellationRequested && !cancellationToken.IsCancellationRequested)
        {
            Cancel(session, invocationId);
            var exception = new Rpc.Protocol.RpcException
            {
                Type = typeof(TimeoutException).FullName,
                Message = $"Timeout value of {functionTimeout:c} was exceeded by function '{function.Name}' (host.json functionTimeout).",
            };
            var timedOutAfter = Elapsed(started);
            logger.FunctionFailed(function.Name, invocationId, timedOutAfter, new WorkerException(exception));
            return new InvocationOutcome(false, null, exception);
        }
        catch (OperationCanceledException)
        {
            Cancel(session, invocationId);
            throw;
        }
        catch (WorkerUnavailableException ex)
        {
            var exception = new Rpc.Protocol.RpcException { Type = typeof(WorkerUnavailableException).FullName, Message = $"The worker stopped during the invocation: {ex.Message}" };
            var abortedAfter = Elapsed(started);
            logger.FunctionFailed(function.Name, invocationId, abortedAfter, ex);
            return new InvocationOutcome(false, null, exception);
        }
        catch (Exception ex) when (ex is not OutOfMemoryException)
        {
            // An input provider or output handler failed: the invocation fails with that error; the trigger retries.
            var exception = new Rpc.Protocol.RpcException { Type = ex.GetType().FullName, Message = ex.Message, StackTrace = ex.StackTrace ?? string.Empty };
            var erroredAfter = Elapsed(started);
            logger.FunctionFailed(function.Name, invocationId, erroredAfter, ex);
            return new InvocationOutcome(false, null, exception);
        }
    }

    private async Task WriteOutputsAsync(FunctionSpec function, InvocationResponse response, CancellationToken cancellationToken)
    {
        var values = response.OutputData.Where(o => o.Data is not null).ToDictionary(o => o.Name, o => o.Data, StringComparer.OrdinalIgnoreCase);
        if (response.ReturnValue is { } returned)
        {
            values[ReturnBinding] = returned;
        }

        foreach (var output in function.Outputs)
        {
            if (string.Equals(output.Type, FunctionRegistry.HttpOutput, StringComparison.OrdinalIgnoreCase)
                || !values.TryGetValue(output.Name, out var value) || value.DataCase == TypedData.DataOneofCase.None)
            {
                continue;
            }

            await outputs[output.Type].WriteAsync(function, output, value, cancellationToken).ConfigureAwait(false);
        }
    }

    private static void Cancel(WorkerSession? session, string invocationId)
    {
        if (session is not null && session.HasCapability("HandlesInvocationCancelMessage"))
        {
            session.Channel.Post(new StreamingMessage
            {
                InvocationCancel = new InvocationCancel { InvocationId = invocationId, GracePeriod = Duration.FromTimeSpan(TimeSpan.Zero) },
            });
        }
    }

    private static RpcTraceContext TraceContext()
    {
        // The worker needs a trace context on every invocation (pitfall 2); continue the caller's trace when there is one.
        var parent = Activity.Current;
        var traceParent = parent is not null && parent.IdFormat == ActivityIdFormat.W3C
            ? parent.Id!
            : $"00-{ActivityTraceId.CreateRandom().ToHexString()}-{ActivitySpanId.CreateRandom().ToHexString()}-01";
        return new RpcTraceContext { TraceParent = traceParent, TraceState = parent?.TraceStateString ?? string.Empty };
    }

    private long Elapsed(long started) => (long)time.GetElapsedTime(started).TotalMilliseconds;
}
