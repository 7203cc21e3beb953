using DurableTask.Core.History;
using Microsoft.DurableTask.Client;

namespace Fleet.SidecarTests;

/// <summary>Rewind of failed instances through the SDK's client.</summary>
public abstract partial class SidecarConformanceTests
{
    [Fact]
    public async Task Rewind_runs_only_the_failed_activity_again_and_the_instance_completes()
    {
        var key = Guid.NewGuid().ToString("N");
        SidecarOrchestrations.FlakyFailures[key] = 1;
        using var cts = new CancellationTokenSource(Timeout);
        var failed = await RunAsync("CountedThenFlaky", key);
        Assert.Equal(OrchestrationRuntimeStatus.Failed, failed.RuntimeStatus);
        Assert.Contains($"flaky {key}", failed.FailureDetails!.ErrorMessage, StringComparison.Ordinal);

        await Client.RewindInstanceAsync(failed.InstanceId, "the cause is fixed", cts.Token);
        var rewound = await CompletedAsync(failed.InstanceId, cts.Token);
        Assert.Equal("counted, recovered", rewound.ReadOutputAs<string>());
        Assert.Equal(1, SidecarRewind.CountedCalls[key]);
        Assert.Null(rewound.FailureDetails);

        // The history of the new execution: the completed activity once, the failed one only as rescheduled, the rewind recorded.
        var history = await Client.GetOrchestrationHistoryAsync(failed.InstanceId, cts.Token);
        Assert.Equal(2, history.OfType<TaskScheduledEvent>().Count());
        Assert.Empty(history.OfType<TaskFailedEvent>());
        Assert.NotEmpty(history.OfType<ExecutionRewoundEvent>());
        Assert.Single(history.OfType<ExecutionCompletedEvent>());
    }

    [Fact]
    public async Task Rewind_of_a_parent_rewinds_its_failed_sub_orchestration_and_both_complete()
    {
        var key = Guid.NewGuid().ToString("N");
        SidecarOrchestrations.FlakyFailures[key] = 1;
        using var cts = new CancellationTokenSource(Timeout);
        var failed = await RunAsync("ParentOfFlaky", key);
        var child = failed.InstanceId + "-child";
        Assert.Equal(OrchestrationRuntimeStatus.Failed, failed.RuntimeStatus);
        Assert.Equal(OrchestrationRuntimeStatus.Failed, (await Client.GetInstanceAsync(child, cts.Token))!.RuntimeStatus);

        await Client.RewindInstanceAsync(failed.InstanceId, "retry the wave", cts.Token);
        Assert.Equal("parent(counted, recovered)", (await CompletedAsync(failed.InstanceId, cts.Token)).ReadOutputAs<string>());
        Assert.Equal(OrchestrationRuntimeStatus.Completed, (await Client.GetInstanceAsync(child, cts.Token))!.RuntimeStatus);
        Assert.Equal(1, SidecarRewind.CountedCalls[key]);
    }

    [Fact]
    public async Task Rewind_is_refused_for_an_instance_that_has_not_failed_or_does_not_exist()
    {
        using var cts = new CancellationTokenSource(Timeout);
        var completed = await RunAsync("Hello", "done");
        var refused = await Assert.ThrowsAsync<InvalidOperationException>(() => Client.RewindInstanceAsync(completed.InstanceId, "no", cts.Token));
        Assert.Contains("is Completed; only a failed orchestration can be rewound", refused.Message, StringComparison.Ordinal);

        var waiting = await Client.ScheduleNewOrchestrationInstanceAsync("WaitEvent", input: null, options: null, cts.Token);
        await Client.WaitForInstanceStartAsync(waiting, cts.Token);
        await Assert.ThrowsAsync<InvalidOperationException>(() => Client.RewindInstanceAsync(waiting, "no", cts.Token));
        await Assert.ThrowsAsync<ArgumentException>(() => Client.RewindInstanceAsync("no-such-instance", "no", cts.Token));
        await Client.TerminateInstanceAsync(waiting, cancellation: cts.Token);
    }

    /// <summary>Waits (bounded) until a rewound instance completes: right after the request it still reads Failed.</summary>
    private async Task<OrchestrationMetadata> CompletedAsync(string instanceId, CancellationToken ct)
    {
        OrchestrationMetadata? metadata = null;
        await WaitUntilAsync(
            async () => (metadata = await Client.GetInstanceAsync(instanceId, getInputsAndOutputs: true, ct))?.RuntimeStatus == OrchestrationRuntimeStatus.Completed,
            ct);
        return metadata!;
    }
}
