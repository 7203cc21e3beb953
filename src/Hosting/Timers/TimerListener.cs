using Fleet.Hosting.Indexing;
using Fleet.Hosting.Invocation;
using Microsoft.Extensions.Logging;

namespace Fleet.Hosting.Timers;

/// <summary>The in-process host's timer trigger: a <see cref="TimerScheduleRunner"/> that runs the function in process.</summary>
internal sealed class TimerListener : IFunctionListener
{
    /// <summary>How often a host without the lease tries to take it.</summary>
    internal static readonly TimeSpan LeaseRetryInterval = TimerScheduleRunner.LeaseRetryInterval;

    private static readonly IReadOnlyDictionary<string, object?> EmptyBindingData = new Dictionary<string, object?>();

    private readonly TimerTrigger _trigger;
    private readonly TimerScheduleRunner _runner;
    private readonly ILogger _logger;

    public TimerListener(
        FunctionDescriptor function, TimerSchedule schedule, ScheduleMonitor monitor, SingletonLease lease, FunctionExecutor executor,
        TimeProvider time, ILogger logger)
    {
        Function = function;
        _trigger = function.Timer!;
        _logger = logger;
        _runner = new TimerScheduleRunner(
            function.Name, schedule, _trigger.RunOnStartup, _trigger.UseMonitor ? monitor : null, lease,
            (timer, reason, ct) => executor.ExecuteAsync(function, new TriggerInput(timer, EmptyBindingData, reason), ct),
            time, logger);
    }

    public FunctionDescriptor Function { get; }

    public ListenerHealth Health => _runner.Health;

    /// <summary>True while this host runs the schedule: it leads and its lease has not been lost.</summary>
    internal bool IsLeader => _runner.IsLeader;

    internal SingletonLease Lease => _runner.Lease;

    public void Dispose() => _runner.Dispose();

    public Task StartAsync(CancellationToken cancellationToken)
    {
        _runner.Start();
        _logger.TimerListenerStarted(Function.Name, _trigger.Expression, _trigger.UseMonitor, _trigger.RunOnStartup);
        return Task.CompletedTask;
    }

    public Task StopAsync(CancellationToken cancellationToken) => _runner.StopAsync(cancellationToken);
}
