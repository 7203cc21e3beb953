using System.Text.Json;
using Fleet.Hosting.Configuration;
using Fleet.Hosting.Rpc.Protocol;
using Fleet.Hosting.Timers;
using Microsoft.Extensions.Logging;

namespace Fleet.Hosting.Local.Storage;

/// <summary>
/// Creates timer listeners for <c>timerTrigger</c> functions: an NCRONTAB (six fields) or TimeSpan <c>schedule</c>,
/// <c>%Setting%</c> references resolved, <c>runOnStartup</c>, <c>useMonitor</c> (status in
/// <c>azure-webjobs-hosts/timers/{hostId}/{function}/status</c>, for schedules a minute apart or more) and one runner
/// per schedule across hosts (lease <c>azure-webjobs-hosts/locks/{hostId}/{function}.Listener</c>), as the in-process
/// host runs them (<see cref="TimerScheduleRunner"/>).
/// </summary>
internal sealed class TimerTriggerListenerFactory(StorageAccounts accounts) : ITriggerListenerFactory, IAdminInvocationFactory
{
    public string TriggerType => "timerTrigger";

    /// <summary>A run by hand: not past due and without a schedule status, as the Functions host gives it; the input is not used.</summary>
    public TriggerInvocation ForAdminInput(FunctionSpec function, string? input, TimeProvider time) =>
        new(Payload(new TimerInfo()), NoMetadata, Retry: null);

    public bool TryCreate(FunctionSpec function, TriggerListenerContext context, out ITriggerListener? listener, out string? notLoadedReason)
    {
        ArgumentNullException.ThrowIfNull(function);
        ArgumentNullException.ThrowIfNull(context);
        listener = null;
        var trigger = function.Trigger;
        var expression = BindingSettings.Resolved(trigger, "schedule", context.AppSettings, out notLoadedReason);
        if (expression is null)
        {
            notLoadedReason ??= $"binding '{trigger.Name}' names no schedule";
            return false;
        }

        if (!TimerSchedule.TryParse(expression, HostSettingsReader.ReadTimeZone(context.AppSettings), out var schedule, out var error))
        {
            notLoadedReason = $"binding '{trigger.Name}': {error}";
            return false;
        }

        try
        {
            // The lease (and the status) live in the host's own storage.
            accounts.Connection(StorageAccountConnection.DefaultName).RequireBlobs();
        }
        catch (HostConfigurationException ex)
        {
            notLoadedReason = ex.Message;
            return false;
        }

        var logger = context.LoggerFactory.CreateLogger("Host.Triggers." + function.Name);
        var hostId = accounts.HostId(function.Metadata);
        var useMonitor = BindingSettings.Flag(trigger, "useMonitor", true) && schedule!.MinimumInterval() >= TimeSpan.FromMinutes(1);
        var runOnStartup = BindingSettings.Flag(trigger, "runOnStartup", false);
        var lease = new SingletonLease(accounts.HostBlobs, $"locks/{hostId}/{function.Name}.Listener", context.Time, logger);
        var runner = new TimerScheduleRunner(
            function.Name, schedule!, runOnStartup, useMonitor ? new ScheduleMonitor(accounts.HostBlobs, hostId, logger) : null, lease,
            (timer, _, ct) => InvokeAsync(context.Invoker, function, timer, logger, ct), context.Time, logger);
        listener = new TimerTriggerListener(runner, () => logger.TimerListenerStarted(function.Name, expression, useMonitor, runOnStartup));
        return true;
    }

    /// <summary>The TimerInfo payload the worker's timer extension reads: <c>{"ScheduleStatus":{"Last","Next","LastUpdated"},"IsPastDue"}</c>.</summary>
    internal static TypedData Payload(TimerInfo timer) => new() { Json = JsonSerializer.Serialize(timer) };

    private static async Task InvokeAsync(IFunctionInvoker invoker, FunctionSpec function, TimerInfo timer, ILogger logger, CancellationToken cancellationToken)
    {
        var outcome = await invoker.InvokeAsync(function, new TriggerInvocation(Payload(timer), NoMetadata, Retry: null), cancellationToken).ConfigureAwait(false);
        if (!outcome.Succeeded)
        {
            // The invoker logged the user's exception; a timer has no retry, so the next occurrence is the next try.
            logger.TimerInvocationFailed(function.Name, timer.ScheduleStatus?.Next ?? default, QueueTriggerListener.Describe(outcome.Exception));
        }
    }

    private static readonly IReadOnlyDictionary<string, TypedData> NoMetadata = new Dictionary<string, TypedData>();
}

/// <summary>A timer trigger of the local host: a <see cref="TimerScheduleRunner"/> that invokes the worker.</summary>
internal sealed class TimerTriggerListener(TimerScheduleRunner runner, Action started) : ITriggerListener
{
    /// <summary>The runner, for tests (leadership, lease).</summary>
    internal TimerScheduleRunner Runner => runner;

    public Task StartAsync(CancellationToken cancellationToken)
    {
        runner.Start();
        started();
        return Task.CompletedTask;
    }

    public Task StopAsync(CancellationToken cancellationToken) => runner.StopAsync(cancellationToken);

    public ValueTask DisposeAsync()
    {
        runner.Dispose();
        return ValueTask.CompletedTask;
    }
}
