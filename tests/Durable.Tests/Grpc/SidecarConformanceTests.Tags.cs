using DurableTask.Core.History;
using Microsoft.DurableTask.Client;
using StartOrchestrationOptions = Microsoft.DurableTask.StartOrchestrationOptions;

namespace Fleet.SidecarTests;

/// <summary>Orchestration tags through the SDK's client: kept by the store, returned by reads and queries.</summary>
public abstract partial class SidecarConformanceTests
{
    private static readonly Dictionary<string, string> FleetTags = new(StringComparer.Ordinal) { ["fleet"] = "north", ["wave"] = "1" };

    private static readonly Dictionary<string, string> NoTags = [];

    [Fact]
    public async Task Tags_given_at_start_are_returned_by_reads_and_queries_and_an_untagged_instance_has_none()
    {
        using var cts = new CancellationTokenSource(Timeout);
        var prefix = "tags-" + Guid.NewGuid().ToString("N")[..8] + "-";
        await Client.ScheduleNewOrchestrationInstanceAsync("Hello", "tagged", new StartOrchestrationOptions(prefix + "tagged") { Tags = FleetTags }, cts.Token);
        await Client.ScheduleNewOrchestrationInstanceAsync("Hello", "plain", new StartOrchestrationOptions(prefix + "plain"), cts.Token);
        await Client.WaitForInstanceCompletionAsync(prefix + "tagged", cts.Token);
        await Client.WaitForInstanceCompletionAsync(prefix + "plain", cts.Token);

        foreach (var withPayloads in new[] { false, true })
        {
            AssertTags(FleetTags, await Client.GetInstanceAsync(prefix + "tagged", withPayloads, cts.Token));
            AssertTags(NoTags, await Client.GetInstanceAsync(prefix + "plain", withPayloads, cts.Token));
            var listed = await Client.GetAllInstancesAsync(new OrchestrationQuery { InstanceIdPrefix = prefix, FetchInputsAndOutputs = withPayloads }).ToListAsync(cts.Token);
            Assert.Equal(2, listed.Count);
            AssertTags(FleetTags, listed.Single(m => m.InstanceId == prefix + "tagged"));
            AssertTags(NoTags, listed.Single(m => m.InstanceId == prefix + "plain"));
        }
    }

    [Fact]
    public async Task A_sub_orchestration_has_the_parents_tags_under_its_own_as_durable_task_core_merges_them()
    {
        using var cts = new CancellationTokenSource(Timeout);
        var id = Guid.NewGuid().ToString("N");

        // DurableTask.Core does not pass its fire-and-forget marker on to children.
        var parentTags = new Dictionary<string, string>(FleetTags, StringComparer.Ordinal) { ["FireAndForget"] = string.Empty };
        await Client.ScheduleNewOrchestrationInstanceAsync("TaggedParent", "Lima", new StartOrchestrationOptions(id) { Tags = parentTags }, cts.Token);
        var parent = await Client.WaitForInstanceCompletionAsync(id, getInputsAndOutputs: true, cts.Token);
        Assert.Equal("parent(hi Tokyo, hi Seattle, hi Lima)", parent.ReadOutputAs<string>());
        AssertTags(parentTags, parent);
        AssertTags(new Dictionary<string, string> { ["fleet"] = "north", ["wave"] = "2", ["stage"] = "child" }, await Client.GetInstanceAsync(id + "-child", cts.Token));
    }

    [Fact]
    public async Task Continue_as_new_and_restart_keep_the_tags()
    {
        using var cts = new CancellationTokenSource(Timeout);
        var counter = await Client.ScheduleNewOrchestrationInstanceAsync("Counter", 0, new StartOrchestrationOptions { Tags = FleetTags }, cts.Token);
        var continued = await Client.WaitForInstanceCompletionAsync(counter, getInputsAndOutputs: true, cts.Token);
        Assert.Equal(3, continued.ReadOutputAs<int>());
        AssertTags(FleetTags, continued);
        var started = (await Client.GetOrchestrationHistoryAsync(counter, cts.Token)).OfType<ExecutionStartedEvent>().Single();
        Assert.Equal(FleetTags.OrderBy(t => t.Key, StringComparer.Ordinal), started.Tags.OrderBy(t => t.Key, StringComparer.Ordinal));

        var hello = await Client.ScheduleNewOrchestrationInstanceAsync("Hello", "again", new StartOrchestrationOptions { Tags = FleetTags }, cts.Token);
        await Client.WaitForInstanceCompletionAsync(hello, cts.Token);
        Assert.Equal(hello, await Client.RestartAsync(hello, restartWithNewInstanceId: false, cts.Token));
        AssertTags(FleetTags, await Client.WaitForInstanceCompletionAsync(hello, cts.Token));
        var newId = await Client.RestartAsync(hello, restartWithNewInstanceId: true, cts.Token);
        AssertTags(FleetTags, await Client.WaitForInstanceCompletionAsync(newId, cts.Token));
    }

    [Fact]
    public async Task Rewind_keeps_the_tags_and_a_new_start_under_a_finished_id_replaces_them()
    {
        var key = Guid.NewGuid().ToString("N");
        SidecarOrchestrations.FlakyFailures[key] = 1;
        using var cts = new CancellationTokenSource(Timeout);
        var id = await Client.ScheduleNewOrchestrationInstanceAsync("CountedThenFlaky", key, new StartOrchestrationOptions { Tags = FleetTags }, cts.Token);
        Assert.Equal(OrchestrationRuntimeStatus.Failed, (await Client.WaitForInstanceCompletionAsync(id, cts.Token)).RuntimeStatus);
        await Client.RewindInstanceAsync(id, "the cause is fixed", cts.Token);
        AssertTags(FleetTags, await CompletedAsync(id, cts.Token));

        await Client.ScheduleNewOrchestrationInstanceAsync("Hello", "replaced", new StartOrchestrationOptions(id), cts.Token);
        var replaced = await Client.WaitForInstanceCompletionAsync(id, getInputsAndOutputs: true, cts.Token);
        Assert.Equal("hi Tokyo, hi Seattle, hi replaced", replaced.ReadOutputAs<string>());
        AssertTags(NoTags, replaced);
    }

    private static void AssertTags(IReadOnlyDictionary<string, string> expected, OrchestrationMetadata? metadata)
    {
        Assert.NotNull(metadata);
        Assert.Equal(expected.OrderBy(t => t.Key, StringComparer.Ordinal), metadata.Tags.OrderBy(t => t.Key, StringComparer.Ordinal));
    }
}
