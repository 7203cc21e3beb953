using System.Collections;
using System.Reflection;
using Fleet.Hosting.Configuration;
using Fleet.Hosting.Indexing;
using Microsoft.AspNetCore.Http;
using Microsoft.Extensions.DependencyInjection;
using Microsoft.Extensions.Logging;

namespace Fleet.Hosting.Invocation;

/// <summary>How an invocation ended.</summary>
internal enum FunctionOutcome
{
    Succeeded,
    Failed,

    /// <summary>The trigger input could not be bound; the function did not run.</summary>
    BindingFailed,

    /// <summary><c>functionTimeout</c> passed.</summary>
    TimedOut,

    /// <summary>The caller's token (host shutdown after the drain period, HTTP client gone) stopped it.</summary>
    Canceled,
}

/// <summary>The result of one invocation.</summary>
internal sealed record FunctionResult(FunctionOutcome Outcome, object? Value, Exception? Exception, TimeSpan Duration)
{
    public bool Succeeded => Outcome == FunctionOutcome.Succeeded;
}

/// <summary>What a trigger hands to the executor.</summary>
/// <param name="TriggerValue">The raw trigger value.</param>
/// <param name="BindingData">Trigger metadata for binding by name.</param>
/// <param name="Reason">Why the function runs, for the log (e.g. "New queue message detected on 'orders'").</param>
/// <param name="HttpContext">The request, for HTTP functions.</param>
/// <param name="Services">A DI scope to run in (the durable worker's), or null for a new scope.</param>
internal sealed record TriggerInput(
    object? TriggerValue, IReadOnlyDictionary<string, object?> BindingData, string Reason, HttpContext? HttpContext = null, IServiceProvider? Services = null);

/// <summary>
/// Runs one invocation: DI scope, class instance, parameter binding, <c>functionTimeout</c>, structured start/end logs
/// (function, trigger, id, duration, outcome) inside a log scope carrying the function name and invocation id.
/// </summary>
internal sealed class FunctionExecutor(IServiceProvider services, ILoggerFactory loggerFactory, TimeProvider time, HostSettings settings)
{
    /// <summary>How long a timed-out function gets to notice its cancelled token before the host stops waiting.</summary>
    internal static readonly TimeSpan TimeoutGrace = TimeSpan.FromSeconds(5);

    public async Task<FunctionResult> ExecuteAsync(FunctionDescriptor function, TriggerInput input, CancellationToken cancellation)
    {
        var invocationId = Guid.NewGuid().ToString();
        var logger = loggerFactory.CreateLogger("Function." + function.Name);
        using var logScope = logger.BeginScope(new InvocationLogScope(function.Name, invocationId, function.Definition.TriggerType));
        using var timeout = settings.FunctionTimeout is { } limit ? new CancellationTokenSource(limit, time) : new CancellationTokenSource();
        using var linked = CancellationTokenSource.CreateLinkedTokenSource(cancellation, timeout.Token);
        var ownScope = input.Services is null ? services.CreateAsyncScope() : (AsyncServiceScope?)null;
        var started = time.GetTimestamp();
        logger.FunctionExecuting(function.Name, input.Reason, invocationId);
        FunctionResult result;
        try
        {
            var scopeServices = input.Services ?? ownScope!.Value.ServiceProvider;
            var context = new FunctionContext(invocationId, function.Definition, scopeServices, input.BindingData, linked.Token);
            result = await RunAsync(function, input, context, timeout, logger, cancellation).ConfigureAwait(false);
        }
        finally
        {
            if (ownScope is { } scope)
            {
                await scope.DisposeAsync().ConfigureAwait(false);
            }
        }

        result = result with { Duration = time.GetElapsedTime(started) };
        var durationMs = (long)result.Duration.TotalMilliseconds;
        switch (result.Outcome)
        {
            case FunctionOutcome.Succeeded:
                logger.FunctionExecuted(function.Name, result.Outcome, function.Definition.TriggerType, invocationId, durationMs);
                break;
            case FunctionOutcome.BindingFailed:
            case FunctionOutcome.Canceled:
                logger.FunctionNotCompleted(function.Name, result.Outcome, function.Definition.TriggerType, invocationId, durationMs, result.Exception?.Message ?? string.Empty);
                break;
            default:
                logger.FunctionFailed(result.Exception, function.Name, result.Outcome, function.Definition.TriggerType, invocationId, durationMs);
                break;
        }

        return result;
    }

    private async Task<FunctionResult> RunAsync(
        FunctionDescriptor function, TriggerInput input, FunctionContext context, CancellationTokenSource timeout, ILogger logger, CancellationToken cancellation)
    {
        var state = new InvocationState(context, input.TriggerValue, input.BindingData, input.HttpContext);
        var arguments = new object?[function.Parameters.Count];
        try
        {
            for (var i = 0; i < arguments.Length; i++)
            {
                arguments[i] = function.Parameters[i].Bind(state);
            }
        }
        catch (FunctionBindingException ex)
        {
            return new FunctionResult(FunctionOutcome.BindingFailed, null, ex, TimeSpan.Zero);
        }

        object? instance = null;
        try
        {
            instance = function.CreateInstance?.Invoke(context.InstanceServices, null);
            var returned = function.Method.Invoke(instance, BindingFlags.DoNotWrapExceptions, null, arguments, null);
            var task = function.AwaitResult(returned).AsTask();
            if (!task.IsCompleted && settings.FunctionTimeout is not null)
            {
                var timedOut = Task.Delay(Timeout.InfiniteTimeSpan, time, timeout.Token);
                if (await Task.WhenAny(task, timedOut).ConfigureAwait(false) != task
                    && await Task.WhenAny(task, Task.Delay(TimeoutGrace, time, CancellationToken.None)).ConfigureAwait(false) != task)
                {
                    // The function ignores its token: stop waiting, but keep observing it so its end is logged.
                    _ = task.ContinueWith(
                        t => logger.AbandonedInvocationEnded(function.Name, context.InvocationId, t.Status.ToString()),
                        CancellationToken.None, TaskContinuationOptions.None, TaskScheduler.Default);
                    return new FunctionResult(FunctionOutcome.TimedOut, null, TimeoutException(), TimeSpan.Zero);
                }
            }

            var value = await task.ConfigureAwait(false);
            return new FunctionResult(FunctionOutcome.Succeeded, value, null, TimeSpan.Zero);
        }
        catch (Exception ex) when (timeout.IsCancellationRequested)
        {
            return new FunctionResult(FunctionOutcome.TimedOut, null, TimeoutException(ex), TimeSpan.Zero);
        }
        catch (Exception ex) when (cancellation.IsCancellationRequested)
        {
            return new FunctionResult(FunctionOutcome.Canceled, null, ex, TimeSpan.Zero);
        }
        catch (Exception ex)
        {
            return new FunctionResult(FunctionOutcome.Failed, null, ex, TimeSpan.Zero);
        }
        finally
        {
            switch (instance)
            {
                case IAsyncDisposable asyncDisposable:
                    await asyncDisposable.DisposeAsync().ConfigureAwait(false);
                    break;
                case IDisposable disposable:
                    disposable.Dispose();
                    break;
            }
        }

        TimeoutException TimeoutException(Exception? inner = null) =>
            new($"The function ran longer than functionTimeout {settings.FunctionTimeout:c}.", inner);
    }

    /// <summary>The log scope of one invocation: structured properties, readable text.</summary>
    private sealed class InvocationLogScope(string functionName, string invocationId, string triggerType) : IReadOnlyList<KeyValuePair<string, object?>>
    {
        public int Count => 3;

        public KeyValuePair<string, object?> this[int index] => index switch
        {
            0 => new("FunctionName", functionName),
            1 => new("InvocationId", invocationId),
            2 => new("TriggerType", triggerType),
            _ => throw new ArgumentOutOfRangeException(nameof(index)),
        };

        public IEnumerator<KeyValuePair<string, object?>> GetEnumerator()
        {
            for (var i = 0; i < Count; i++)
            {
                yield return this[i];
            }
        }

        IEnumerator IEnumerable.GetEnumerator() => GetEnumerator();

        public override string ToString() => $"Function {functionName}, invocation {invocationId}";
    }
}
