using System.Diagnostics;
using System.Globalization;
using DurableTask.Core.History;
using Microsoft.DurableTask.Client;
using OrchestrationRuntimeStatus = Microsoft.DurableTask.Client.OrchestrationRuntimeStatus;

namespace Fleet.Hosting.Tests.Local;

/// <summary>DurableApp on its own host, since its worker is killed here; the holding functions write their markers under the copy.</summary>
public sealed class DurableCrashAppFixture : DurableAppFixture
{
    public string Markers => Path.Combine(Root, "markers");

    protected override void Edit(string root) =>
        TestApps.EditLocalSettings(root, "Values", new Dictionary<string, string?> { ["DURABLEAPP_MARKERS"] = Path.Combine(root, "markers") });
}

/// <summary>
/// The worker killed with SIGKILL in the middle of an orchestrator episode and of an activity: the host hands the work
/// back, the restarted worker runs it again, the instance completes, and the history holds each step once.
/// </summary>
public sealed class DurableWorkerCrashTests(DurableCrashAppFixture fixture) : IClassFixture<DurableCrashAppFixture>
{
    private static readonly TimeSpan Timeout = TimeSpan.FromSeconds(90);

    [Fact]
    public async Task A_worker_killed_mid_episode_has_the_episode_run_again_and_nothing_applied_twice()
    {
        using var cts = new CancellationTokenSource(Timeout);
        var id = await fixture.Durable.ScheduleNewOrchestrationInstanceAsync("HoldingOrchestrator", "Oslo", cts.Token);
        var killed = await KillWhenHeldAsync("episode-Oslo", cts.Token);

        var metadata = await fixture.Durable.WaitForInstanceCompletionAsync(id, getInputsAndOutputs: true, cts.Token);
        Assert.Equal(OrchestrationRuntimeStatus.Completed, metadata.RuntimeStatus);
        Assert.Equal("Hello Oslo!", metadata.ReadOutputAs<string>());
        Assert.NotEqual(killed, fixture.Host.Supervisor.Current!.Process.ProcessId);
        var history = await fixture.Durable.GetOrchestrationHistoryAsync(id, cts.Token);
        Assert.Single(history.OfType<ExecutionStartedEvent>());
        Assert.Single(history.OfType<TaskScheduledEvent>());
        Assert.Single(history.OfType<TaskCompletedEvent>());
        Assert.Single(history.OfType<ExecutionCompletedEvent>());
        Assert.Contains(fixture.Logs.Entries, e => e.EventId.Id == 4804 && Equals(e.State["InstanceId"], id));
    }

    [Fact]
    public async Task A_worker_killed_mid_activity_has_the_activity_run_again_and_its_result_recorded_once()
    {
        using var cts = new CancellationTokenSource(Timeout);
        var id = await fixture.Durable.ScheduleNewOrchestrationInstanceAsync("ActivityHolder", "Bergen", cts.Token);
        var killed = await KillWhenHeldAsync("activity-Bergen", cts.Token);

        var metadata = await fixture.Durable.WaitForInstanceCompletionAsync(id, getInputsAndOutputs: true, cts.Token);
        Assert.Equal(OrchestrationRuntimeStatus.Completed, metadata.RuntimeStatus);
        var output = metadata.ReadOutputAs<string>()!;
        Assert.StartsWith("Bergen done by ", output, StringComparison.Ordinal);
        Assert.NotEqual(killed.ToString(CultureInfo.InvariantCulture), output["Bergen done by ".Length..]);
        var history = await fixture.Durable.GetOrchestrationHistoryAsync(id, cts.Token);
        Assert.Single(history.OfType<TaskScheduledEvent>());
        Assert.Single(history.OfType<TaskCompletedEvent>());
        Assert.Contains(fixture.Logs.Entries, e => e.EventId.Id == 4805 && Equals(e.State["InstanceId"], id));
    }

    /// <summary>Waits until the function holding the worker wrote its marker, then kills that worker with SIGKILL.</summary>
    private async Task<int> KillWhenHeldAsync(string marker, CancellationToken cancellationToken)
    {
        var path = Path.Combine(fixture.Markers, marker);
        while (!File.Exists(path))
        {
            await Task.Delay(20, cancellationToken);
        }

        var pid = int.Parse(await File.ReadAllTextAsync(path, cancellationToken), CultureInfo.InvariantCulture);
        using var worker = Process.GetProcessById(pid);
        worker.Kill();
        await worker.WaitForExitAsync(cancellationToken);
        return pid;
    }
}
