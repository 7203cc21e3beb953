using DurableTask.Core.Exceptions;
using DurableTask.Core.History;
using Microsoft.DurableTask;
using Microsoft.DurableTask.Client;
using DurableTaskBuilder = Fleet.Durable.DurableTaskBuilder;
using StartOrchestrationOptions = Microsoft.DurableTask.StartOrchestrationOptions;

namespace Fleet.SidecarTests;

/// <summary>One sidecar server and one real SDK worker and client for a test class, with every test orchestration registered.</summary>
public abstract class SidecarFixture : IAsyncLifetime
{
    public SidecarServer Server { get; private set; } = null!;

    public SdkWorkerHost Worker { get; private set; } = null!;

    public DurableTaskClient Client => Worker.Client;

    /// <summary>Whether the worker sends entity messages as SendEntityMessage actions (see <see cref="SdkWorkerHost.StartAsync"/>).</summary>
    public virtual bool NativeEntityEvents => false;

    public virtual async Task InitializeAsync()
    {
        Server = await SidecarServer.StartAsync(Store);
        Worker = await SdkWorkerHost.StartAsync(Server.Address, SidecarOrchestrations.Register, nativeEntityEvents: NativeEntityEvents);
    }

    public virtual async Task DisposeAsync()
    {
        await Worker.DisposeAsync();
        await Server.DisposeAsync();
        await DisposeStoreAsync();
    }

    protected abstract void Store(DurableTaskBuilder builder);

    protected virtual Task DisposeStoreAsync() => Task.CompletedTask;
}

/// <summary>
/// Conformance of the sidecar backend through the real SDK: a Microsoft.DurableTask.Worker.Grpc worker runs the
/// orchestrations, a Client.Grpc client drives them, both over loopback gRPC to the backend's endpoint.
/// </summary>
public abstract partial class SidecarConformanceTests(SidecarFixture fixture)
{
    private static readonly TimeSpan Timeout = TimeSpan.FromSeconds(30);

    protected DurableTaskClient Client => fixture.Client;

    [Fact]
    public async Task Activities_run_in_sequence_and_the_output_is_returned()
    {
        var metadata = await RunAsync("Hello", "Oslo");
        Assert.Equal(OrchestrationRuntimeStatus.Completed, metadata.RuntimeStatus);
        Assert.Equal("hi Tokyo, hi Seattle, hi Oslo", metadata.ReadOutputAs<string>());
        Assert.Equal("Oslo", metadata.ReadInputAs<string>());
    }

    [Fact]
    public async Task Fan_out_and_fan_in_collects_every_result()
    {
        var metadata = await RunAsync("FanOut", 50);
        Assert.Equal(Enumerable.Range(1, 50).Sum() * 2, metadata.ReadOutputAs<int>());
    }

    [Fact]
    public async Task A_durable_timer_fires_after_its_delay()
    {
        var metadata = await RunAsync("Timer", 300);
        Assert.Equal("fired", metadata.ReadOutputAs<string>());
    }

    [Fact]
    public async Task An_external_event_raised_before_the_wait_is_kept()
    {
        using var cts = new CancellationTokenSource(Timeout);
        var id = await Client.ScheduleNewOrchestrationInstanceAsync("WaitEvent", input: null, options: null, cts.Token);
        await Client.RaiseEventAsync(id, "go", "early", cts.Token);
        var metadata = await Client.WaitForInstanceCompletionAsync(id, getInputsAndOutputs: true, cts.Token);
        Assert.Equal("got early", metadata.ReadOutputAs<string>());
    }

    [Fact]
    public async Task Custom_status_is_visible_while_waiting_and_an_orchestration_can_send_an_event()
    {
        using var cts = new CancellationTokenSource(Timeout);
        var target = await Client.ScheduleNewOrchestrationInstanceAsync("WaitEvent", input: null, options: null, cts.Token);
        var started = await Client.WaitForInstanceStartAsync(target, getInputsAndOutputs: true, cts.Token);
        Assert.NotEqual(OrchestrationRuntimeStatus.Pending, started.RuntimeStatus);
        await WaitUntilAsync(async () => (await Client.GetInstanceAsync(target, getInputsAndOutputs: true, cts.Token))?.SerializedCustomStatus == "\"waiting\"", cts.Token);

        var sender = await RunAsync("SendTo", target);
        Assert.Equal("sent", sender.ReadOutputAs<string>());
        var metadata = await Client.WaitForInstanceCompletionAsync(target, getInputsAndOutputs: true, cts.Token);
        Assert.Equal("got from-orchestration", metadata.ReadOutputAs<string>());
    }

    [Fact]
    public async Task A_sub_orchestration_returns_its_output_to_the_parent()
    {
        var metadata = await RunAsync("Parent", "Rome");
        Assert.Equal("parent(hi Tokyo, hi Seattle, hi Rome)", metadata.ReadOutputAs<string>());
    }

    [Fact]
    public async Task An_activity_failure_propagates_through_a_sub_orchestration_to_the_parent()
    {
        var caught = await RunAsync("ParentOfFailing", "boom");
        Assert.Equal(OrchestrationRuntimeStatus.Completed, caught.RuntimeStatus);
        Assert.Contains("boom", caught.ReadOutputAs<string>(), StringComparison.Ordinal);

        var failed = await RunAsync("ActivityFails", "bang");
        Assert.Equal(OrchestrationRuntimeStatus.Failed, failed.RuntimeStatus);
        Assert.NotNull(failed.FailureDetails);
        Assert.Contains("bang", failed.FailureDetails.ToString(), StringComparison.Ordinal);
    }

    [Fact]
    public async Task The_sdk_retry_policy_retries_a_failing_activity()
    {
        var key = Guid.NewGuid().ToString("N");
        SidecarOrchestrations.FlakyFailures[key] = 2;
        var metadata = await RunAsync("Retry", key);
        Assert.Equal("recovered", metadata.ReadOutputAs<string>());
    }

    [Fact]
    public async Task Continue_as_new_restarts_with_the_new_input_and_carries_unprocessed_events()
    {
        var counter = await RunAsync("Counter", 0);
        Assert.Equal(3, counter.ReadOutputAs<int>());

        using var cts = new CancellationTokenSource(Timeout);
        var id = await Client.ScheduleNewOrchestrationInstanceAsync("CounterWithEvents", 0, cts.Token);
        foreach (var item in new[] { "a", "b", "c" })
        {
            await Client.RaiseEventAsync(id, "item", item, cts.Token);
        }

        var metadata = await Client.WaitForInstanceCompletionAsync(id, getInputsAndOutputs: true, cts.Token);
        Assert.Equal("2:c", metadata.ReadOutputAs<string>());
    }

    [Fact]
    public async Task An_orchestration_the_worker_does_not_define_fails_naming_it()
    {
        var metadata = await RunAsync("NoSuchOrchestration", "x");
        Assert.Equal(OrchestrationRuntimeStatus.Failed, metadata.RuntimeStatus);
        Assert.Contains("NoSuchOrchestration", metadata.FailureDetails!.ErrorMessage, StringComparison.Ordinal);
    }

    [Fact]
    public async Task Terminate_ends_a_waiting_instance_and_recursive_terminate_ends_its_children()
    {
        using var cts = new CancellationTokenSource(Timeout);
        var id = await Client.ScheduleNewOrchestrationInstanceAsync("ParentWaitsForever", input: null, options: null, cts.Token);
        var child = id + "-child";
        await WaitUntilAsync(async () => (await Client.GetInstanceAsync(child, cts.Token))?.RuntimeStatus == OrchestrationRuntimeStatus.Running, cts.Token);
        await Client.TerminateInstanceAsync(id, new TerminateInstanceOptions { Output = "stop", Recursive = true }, cts.Token);
        var parent = await Client.WaitForInstanceCompletionAsync(id, getInputsAndOutputs: true, cts.Token);
        Assert.Equal(OrchestrationRuntimeStatus.Terminated, parent.RuntimeStatus);
        Assert.Equal("stop", parent.ReadOutputAs<string>());
        var childState = await Client.WaitForInstanceCompletionAsync(child, cts.Token);
        Assert.Equal(OrchestrationRuntimeStatus.Terminated, childState.RuntimeStatus);
    }

    [Fact]
    public async Task Suspend_holds_events_until_resume()
    {
        using var cts = new CancellationTokenSource(Timeout);
        var id = await Client.ScheduleNewOrchestrationInstanceAsync("WaitEvent", input: null, options: null, cts.Token);
        await Client.WaitForInstanceStartAsync(id, cts.Token);
        await Client.SuspendInstanceAsync(id, "hold", cts.Token);
        await WaitUntilAsync(async () => (await Client.GetInstanceAsync(id, cts.Token))?.RuntimeStatus == OrchestrationRuntimeStatus.Suspended, cts.Token);
        await Client.RaiseEventAsync(id, "go", "while-suspended", cts.Token);

        // The event is recorded but held: the instance stays suspended until resumed.
        await WaitUntilAsync(async () => (await Client.GetOrchestrationHistoryAsync(id, cts.Token)).Any(e => e is EventRaisedEvent), cts.Token);
        Assert.Equal(OrchestrationRuntimeStatus.Suspended, (await Client.GetInstanceAsync(id, cts.Token))!.RuntimeStatus);
        await Client.ResumeInstanceAsync(id, "go on", cts.Token);
        var metadata = await Client.WaitForInstanceCompletionAsync(id, getInputsAndOutputs: true, cts.Token);
        Assert.Equal("got while-suspended", metadata.ReadOutputAs<string>());
    }

    [Fact]
    public async Task Starting_a_running_instance_id_again_is_refused_and_a_scheduled_start_waits()
    {
        using var cts = new CancellationTokenSource(Timeout);
        var id = Guid.NewGuid().ToString("N");
        await Client.ScheduleNewOrchestrationInstanceAsync("WaitEvent", new StartOrchestrationOptions(id), cts.Token);
        await Assert.ThrowsAsync<OrchestrationAlreadyExistsException>(() => Client.ScheduleNewOrchestrationInstanceAsync("WaitEvent", new StartOrchestrationOptions(id), cts.Token));
        await Client.TerminateInstanceAsync(id, cancellation: cts.Token);
        await Client.WaitForInstanceCompletionAsync(id, cts.Token);

        var later = await Client.ScheduleNewOrchestrationInstanceAsync("Hello", "later", new StartOrchestrationOptions { StartAt = DateTimeOffset.UtcNow.AddMilliseconds(700) }, cts.Token);
        Assert.Equal(OrchestrationRuntimeStatus.Pending, (await Client.GetInstanceAsync(later, cts.Token))!.RuntimeStatus);
        var done = await Client.WaitForInstanceCompletionAsync(later, getInputsAndOutputs: true, cts.Token);
        Assert.Equal("hi Tokyo, hi Seattle, hi later", done.ReadOutputAs<string>());
    }

    [Fact]
    public async Task Queries_filter_by_prefix_and_status_and_page()
    {
        using var cts = new CancellationTokenSource(Timeout);
        var prefix = "q-" + Guid.NewGuid().ToString("N")[..8] + "-";
        for (var i = 0; i < 5; i++)
        {
            await Client.ScheduleNewOrchestrationInstanceAsync("Hello", $"n{i}", new StartOrchestrationOptions(prefix + i), cts.Token);
        }

        for (var i = 0; i < 5; i++)
        {
            await Client.WaitForInstanceCompletionAsync(prefix + i, cts.Token);
        }

        var pages = new List<int>();
        var ids = new List<string>();
        await foreach (var page in Client.GetAllInstancesAsync(new OrchestrationQuery { InstanceIdPrefix = prefix, PageSize = 2, Statuses = [OrchestrationRuntimeStatus.Completed] }).AsPages().WithCancellation(cts.Token))
        {
            pages.Add(page.Values.Count);
            ids.AddRange(page.Values.Select(m => m.InstanceId));
        }

        Assert.Equal(Enumerable.Range(0, 5).Select(i => prefix + i).Order(), ids.Order());
        Assert.True(pages.Count >= 3, $"pages: {string.Join(",", pages)}");
        var none = await Client.GetAllInstancesAsync(new OrchestrationQuery { InstanceIdPrefix = prefix, Statuses = [OrchestrationRuntimeStatus.Running] }).ToListAsync(cts.Token);
        Assert.Empty(none);
    }

    [Fact]
    public async Task Purge_deletes_one_instance_or_all_matching_a_filter()
    {
        using var cts = new CancellationTokenSource(Timeout);
        var one = await RunAsync("Hello", "purge-one");
        var result = await Client.PurgeInstanceAsync(one.InstanceId, cancellation: cts.Token);
        Assert.Equal(1, result.PurgedInstanceCount);
        Assert.Null(await Client.GetInstanceAsync(one.InstanceId, cts.Token));

        var from = DateTimeOffset.UtcNow.AddSeconds(-1);
        var parent = await RunAsync("Parent", "purge-tree");
        var all = await Client.PurgeAllInstancesAsync(new PurgeInstancesFilter(from, null, [OrchestrationRuntimeStatus.Completed]), new PurgeInstanceOptions(Recursive: true), cts.Token);
        Assert.True(all.PurgedInstanceCount >= 2, $"purged {all.PurgedInstanceCount}");
        Assert.Null(await Client.GetInstanceAsync(parent.InstanceId, cts.Token));
    }

    [Fact]
    public async Task Restart_runs_a_finished_instance_again_under_its_id_or_a_new_one()
    {
        using var cts = new CancellationTokenSource(Timeout);
        var first = await RunAsync("Hello", "again");
        var same = await Client.RestartAsync(first.InstanceId, restartWithNewInstanceId: false, cts.Token);
        Assert.Equal(first.InstanceId, same);
        var newId = await Client.RestartAsync(first.InstanceId, restartWithNewInstanceId: true, cts.Token);
        Assert.NotEqual(first.InstanceId, newId);
        var rerun = await Client.WaitForInstanceCompletionAsync(newId, getInputsAndOutputs: true, cts.Token);
        Assert.Equal("hi Tokyo, hi Seattle, hi again", rerun.ReadOutputAs<string>());
        await Assert.ThrowsAsync<ArgumentException>(() => Client.RestartAsync("no-such-instance", false, cts.Token));
    }

    [Fact]
    public async Task History_streams_every_event_of_the_execution()
    {
        using var cts = new CancellationTokenSource(Timeout);
        var metadata = await RunAsync("Hello", "history");
        var history = await Client.GetOrchestrationHistoryAsync(metadata.InstanceId, cts.Token);
        Assert.IsType<ExecutionStartedEvent>(history.First(e => e is not OrchestratorStartedEvent));
        Assert.Equal(3, history.OfType<TaskScheduledEvent>().Count());
        Assert.Equal(3, history.OfType<TaskCompletedEvent>().Count());
        Assert.Single(history.OfType<ExecutionCompletedEvent>());
    }

    [Fact]
    public async Task List_instance_ids_pages_over_finished_instances()
    {
        using var cts = new CancellationTokenSource(Timeout);
        var from = DateTimeOffset.UtcNow.AddSeconds(-1);
        var ids = new List<string>();
        for (var i = 0; i < 3; i++)
        {
            ids.Add((await RunAsync("Hello", $"list{i}")).InstanceId);
        }

        var seen = new List<string>();
        string? key = null;
        do
        {
            var page = await Client.ListInstanceIdsAsync([OrchestrationRuntimeStatus.Completed], from, null, pageSize: 2, key, cts.Token);
            seen.AddRange(page.Values);
            key = page.ContinuationToken;
        }
        while (key is not null);

        Assert.Subset(seen.ToHashSet(), ids.ToHashSet());
    }

    protected async Task<OrchestrationMetadata> RunAsync(string name, object? input)
    {
        using var cts = new CancellationTokenSource(Timeout);
        var id = await Client.ScheduleNewOrchestrationInstanceAsync(name, input, cts.Token);
        return await Client.WaitForInstanceCompletionAsync(id, getInputsAndOutputs: true, cts.Token);
    }

    protected static async Task WaitUntilAsync(Func<Task<bool>> condition, CancellationToken ct)
    {
        while (!await condition())
        {
            await Task.Delay(20, ct);
        }
    }
}

public sealed class SqliteSidecarFixture : SidecarFixture
{
    private readonly string _directory = Path.Combine(Path.GetTempPath(), "fleet-sidecar-tests", Guid.NewGuid().ToString("N"));

    protected override void Store(DurableTaskBuilder builder)
    {
        Directory.CreateDirectory(_directory);
        builder.UseSqlite(Path.Combine(_directory, "durable.db"));
    }

    protected override Task DisposeStoreAsync()
    {
        try
        {
            Directory.Delete(_directory, recursive: true);
        }
        catch (IOException)
        {
            // Left for the OS to clean up.
        }

        return Task.CompletedTask;
    }
}

public sealed class SqliteSidecarConformanceTests(SqliteSidecarFixture fixture) : SidecarConformanceTests(fixture), IClassFixture<SqliteSidecarFixture>;
