using DurableTask.Core.Exceptions;
using DurableTask.Core.History;
using Fleet.Testing;
using Microsoft.DurableTask;
using Microsoft.DurableTask.Client;

namespace Fleet.Durable.Tests.Conformance;

/// <summary>The SDK's client API through the sidecar backend against a store.</summary>
public abstract class ClientConformanceTests : ConformanceTestBase
{
    [Fact]
    public async Task Second_start_of_an_unfinished_instance_is_refused_and_a_finished_one_is_replaced()
    {
        var host = await StartAsync(r => r
            .AddOrchestratorFunc<string, string>("Echo", async (ctx, s) => await ctx.WaitForExternalEvent<string>("Go") + s));

        await host.Client.ScheduleNewOrchestrationInstanceAsync("Echo", "1", new StartOrchestrationOptions("fixed"));
        await host.Client.WaitForInstanceStartAsync("fixed", DurableWait.Token());
        var refused = await Assert.ThrowsAsync<OrchestrationAlreadyExistsException>(() =>
            host.Client.ScheduleNewOrchestrationInstanceAsync("Echo", "2", new StartOrchestrationOptions("fixed")));
        Assert.Contains("fixed", refused.Message, StringComparison.Ordinal);

        await host.Client.RaiseEventAsync("fixed", "Go", "a");
        Assert.Equal("a1", (await DurableWait.CompletionAsync(host.Client, "fixed")).ReadOutputAs<string>());

        host.Time.Advance(TimeSpan.FromMinutes(1));
        Assert.Equal("fixed", await host.Client.ScheduleNewOrchestrationInstanceAsync("Echo", "3", new StartOrchestrationOptions("fixed")));
        var restarted = await host.Client.WaitForInstanceStartAsync("fixed", true, DurableWait.Token());
        Assert.Equal("3", restarted.ReadInputAs<string>());
        Assert.Equal(host.Time.GetUtcNow(), restarted.CreatedAt);
        Assert.Null(restarted.SerializedOutput);
        await host.Client.RaiseEventAsync("fixed", "Go", "b");
        Assert.Equal("b3", (await DurableWait.CompletionAsync(host.Client, "fixed")).ReadOutputAs<string>());
        Assert.Single((await HistoryOf(host, "fixed")).OfType<ExecutionStartedEvent>());
    }

    [Fact]
    public async Task Scheduled_start_stays_pending_until_the_fake_time()
    {
        var host = await StartAsync(r => r.AddOrchestratorFunc<object?, string>("Later", (ctx, _) =>
            Task.FromResult(ctx.CurrentUtcDateTime.ToString("O"))));

        var startAt = host.Time.GetUtcNow().AddHours(2);
        var id = await host.Client.ScheduleNewOrchestrationInstanceAsync("Later", null, new StartOrchestrationOptions("later", startAt));
        Assert.Equal(OrchestrationRuntimeStatus.Pending, (await host.Client.GetInstanceAsync(id))!.RuntimeStatus);
        await Assert.ThrowsAsync<OrchestrationAlreadyExistsException>(() =>
            host.Client.ScheduleNewOrchestrationInstanceAsync("Later", null, new StartOrchestrationOptions("later")));
        using var shortWait = new CancellationTokenSource(TimeSpan.FromMilliseconds(200));
        await Assert.ThrowsAnyAsync<OperationCanceledException>(() => host.Client.WaitForInstanceStartAsync(id, shortWait.Token));

        host.Time.Advance(TimeSpan.FromHours(2));

        var done = await DurableWait.CompletionAsync(host.Client, id);
        Assert.Equal(startAt.UtcDateTime.ToString("O"), done.ReadOutputAs<string>());
    }

    [Fact]
    public async Task Get_and_wait_report_missing_instances()
    {
        var host = await StartAsync(_ => { });

        Assert.Null(await host.Client.GetInstanceAsync("missing"));
        await Assert.ThrowsAsync<ArgumentException>(() => HistoryOf(host, "missing"));

        // Signals to missing instances are silently dropped.
        await host.Client.RaiseEventAsync("missing", "x", 1);
        await host.Client.TerminateInstanceAsync("missing", (object)"why");
        await host.Client.SuspendInstanceAsync("missing");
        await host.Client.ResumeInstanceAsync("missing");
        Assert.Null(await host.Client.GetInstanceAsync("missing"));
    }

    [Fact]
    public async Task History_is_returned_in_order_with_sequence_ids()
    {
        var host = await StartAsync(r => r
            .AddOrchestratorFunc<object?, int>("Two", async (ctx, _) => await ctx.CallActivityAsync<int>("One") + await ctx.CallActivityAsync<int>("One"))
            .AddActivityFunc<object?, int>("One", (_, _) => 1));

        var id = await host.Client.ScheduleNewOrchestrationInstanceAsync("Two");
        await DurableWait.CompletionAsync(host.Client, id);
        var history = await HistoryOf(host, id);

        Assert.Equal(
            [
                EventType.OrchestratorStarted, EventType.ExecutionStarted, EventType.TaskScheduled, EventType.OrchestratorCompleted,
                EventType.OrchestratorStarted, EventType.TaskCompleted, EventType.TaskScheduled, EventType.OrchestratorCompleted,
                EventType.OrchestratorStarted, EventType.TaskCompleted, EventType.ExecutionCompleted, EventType.OrchestratorCompleted,
            ],
            history.Select(e => e.EventType));
        Assert.Equal([0, 1], history.OfType<TaskScheduledEvent>().Select(e => e.EventId));
        Assert.Equal([0, 1], history.OfType<TaskCompletedEvent>().Select(e => e.TaskScheduledId));
        Assert.Equal("2", history.OfType<ExecutionCompletedEvent>().Single().Result);
    }

    [Fact]
    public async Task Terminate_while_an_activity_runs_discards_its_later_result()
    {
        using var entered = new SemaphoreSlim(0);
        using var release = new SemaphoreSlim(0);
        var host = await StartAsync(
            r => r
                .AddOrchestratorFunc<object?, string>("Slow", async (ctx, _) => await ctx.CallActivityAsync<string>("Block"))
                .AddActivityFunc<object?, string>("Block", async (_, _) =>
                {
                    entered.Release();
                    await release.WaitAsync(DurableWait.Token());
                    return "late";
                }),
            wrapStore: inner => new RecordingStore(inner));
        var store = (RecordingStore)host.Store;

        var id = await host.Client.ScheduleNewOrchestrationInstanceAsync("Slow");
        Assert.True(await entered.WaitAsync(DurableWait.Default));
        await host.Client.TerminateInstanceAsync(id, new TerminateInstanceOptions { Output = "stopped by operator" });
        var terminated = await DurableWait.CompletionAsync(host.Client, id);
        Assert.Equal(OrchestrationRuntimeStatus.Terminated, terminated.RuntimeStatus);
        Assert.Equal("stopped by operator", terminated.ReadOutputAs<string>());

        // Once the store has refused the late result, nothing can bring it to the instance any more.
        release.Release();
        var late = await store.WaitForAsync<ActivityCompletionRecord>(c => c.Item.InstanceId == id, "the late result reached the store");
        Assert.False(late.Delivered);
        var after = await host.Client.GetInstanceAsync(id, true);
        Assert.Equal(OrchestrationRuntimeStatus.Terminated, after!.RuntimeStatus);
        Assert.Equal("stopped by operator", after.ReadOutputAs<string>());
        var history = await HistoryOf(host, id);
        Assert.DoesNotContain(history, e => e is TaskCompletedEvent);
        Assert.Contains(history, e => e is ExecutionTerminatedEvent);
        Assert.Equal(DurableTask.Core.OrchestrationStatus.Terminated, history.OfType<ExecutionCompletedEvent>().Single().OrchestrationStatus);

        // Terminating a finished instance does nothing: the store refuses the message.
        await host.Client.TerminateInstanceAsync(id, (object)"again");
        var again = await store.WaitForAsync<EnqueueRecord>(
            e => e.InstanceId == id && e.Message?.ExecutionTerminated?.Input == "\"again\"", "the second terminate reached the store");
        Assert.False(again.Accepted);
        Assert.Equal("stopped by operator", (await host.Client.GetInstanceAsync(id, true))!.ReadOutputAs<string>());
    }

    [Fact]
    public async Task Recursive_terminate_reaches_sub_orchestrations_and_plain_terminate_does_not()
    {
        var host = await StartAsync(r => r
            .AddOrchestratorFunc<string, string>("Parent", async (ctx, name) =>
                await ctx.CallSubOrchestratorAsync<string>("Child", null, new SubOrchestrationOptions { InstanceId = $"{name}-child" }))
            .AddOrchestratorFunc<object?, string>("Child", async (ctx, _) =>
                await ctx.CallSubOrchestratorAsync<string>("Grandchild", null, new SubOrchestrationOptions { InstanceId = $"{ctx.InstanceId}-grand" }))
            .AddOrchestratorFunc<object?, string>("Grandchild", async (ctx, _) => await ctx.WaitForExternalEvent<string>("never")));

        await host.Client.ScheduleNewOrchestrationInstanceAsync("Parent", "r", new StartOrchestrationOptions("r"));
        await host.Client.ScheduleNewOrchestrationInstanceAsync("Parent", "p", new StartOrchestrationOptions("p"));
        await DurableWait.UntilAsync(async () => (await host.Client.GetInstanceAsync("r-child-grand"))?.RuntimeStatus == OrchestrationRuntimeStatus.Running, "r-child-grand runs");
        await DurableWait.UntilAsync(async () => (await host.Client.GetInstanceAsync("p-child-grand"))?.RuntimeStatus == OrchestrationRuntimeStatus.Running, "p-child-grand runs");

        await host.Client.TerminateInstanceAsync("r", new TerminateInstanceOptions { Output = "bye", Recursive = true });
        await host.Client.TerminateInstanceAsync("p", new TerminateInstanceOptions { Output = "bye" });

        Assert.Equal(OrchestrationRuntimeStatus.Terminated, (await DurableWait.CompletionAsync(host.Client, "r")).RuntimeStatus);
        Assert.Equal(OrchestrationRuntimeStatus.Terminated, (await DurableWait.CompletionAsync(host.Client, "r-child")).RuntimeStatus);
        Assert.Equal(OrchestrationRuntimeStatus.Terminated, (await DurableWait.CompletionAsync(host.Client, "r-child-grand")).RuntimeStatus);
        Assert.Equal(OrchestrationRuntimeStatus.Terminated, (await DurableWait.CompletionAsync(host.Client, "p")).RuntimeStatus);

        // A terminate sent to p's children would have been enqueued by p's final commit, before the probes.
        await AssertStaysAsync(host, "p-child", OrchestrationRuntimeStatus.Running);
        await AssertStaysAsync(host, "p-child-grand", OrchestrationRuntimeStatus.Running);
    }

    [Fact]
    public async Task Suspend_holds_events_and_activity_results_until_resume()
    {
        using var release = new SemaphoreSlim(0);
        var host = await StartAsync(r => r
            .AddOrchestratorFunc<object?, string>("Pausable", async (ctx, _) =>
            {
                var work = await ctx.CallActivityAsync<string>("Work");
                var ev = await ctx.WaitForExternalEvent<string>("Go");
                return work + ev;
            })
            .AddActivityFunc<object?, string>("Work", async (_, _) =>
            {
                await release.WaitAsync(DurableWait.Token());
                return "w";
            }));

        var id = await host.Client.ScheduleNewOrchestrationInstanceAsync("Pausable");
        await host.Client.WaitForInstanceStartAsync(id, DurableWait.Token());
        await host.Client.SuspendInstanceAsync(id, "maintenance");
        await DurableWait.UntilAsync(async () => (await host.Client.GetInstanceAsync(id))!.RuntimeStatus == OrchestrationRuntimeStatus.Suspended, "suspended");

        // Both the activity result and the event are consumed while suspended (recorded, not delivered): after that
        // nothing is left that could move the instance on.
        release.Release();
        await host.Client.RaiseEventAsync(id, "Go", "!");
        await DurableWait.UntilAsync(
            async () => (await HistoryOf(host, id)) is var h && h.OfType<EventRaisedEvent>().Any() && h.OfType<TaskCompletedEvent>().Any(),
            "the event and the activity result are recorded");
        Assert.Equal(OrchestrationRuntimeStatus.Suspended, (await host.Client.GetInstanceAsync(id))!.RuntimeStatus);

        await host.Client.ResumeInstanceAsync(id, "done");

        var done = await DurableWait.CompletionAsync(host.Client, id);
        Assert.Equal("w!", done.ReadOutputAs<string>());
        var types = (await HistoryOf(host, id)).Select(e => e.EventType).ToList();
        Assert.True(types.IndexOf(EventType.ExecutionSuspended) < types.IndexOf(EventType.EventRaised));
        Assert.True(types.IndexOf(EventType.EventRaised) < types.IndexOf(EventType.ExecutionResumed));
    }

    [Fact]
    public async Task Suspended_instance_can_be_terminated()
    {
        var host = await StartAsync(r => r.AddOrchestratorFunc<object?, string>("Wait", async (ctx, _) => await ctx.WaitForExternalEvent<string>("Go")));

        var id = await host.Client.ScheduleNewOrchestrationInstanceAsync("Wait");
        await host.Client.WaitForInstanceStartAsync(id, DurableWait.Token());
        await host.Client.SuspendInstanceAsync(id);
        await DurableWait.UntilAsync(async () => (await host.Client.GetInstanceAsync(id))!.RuntimeStatus == OrchestrationRuntimeStatus.Suspended, "suspended");
        await host.Client.TerminateInstanceAsync(id, (object)"stop");

        Assert.Equal(OrchestrationRuntimeStatus.Terminated, (await DurableWait.CompletionAsync(host.Client, id)).RuntimeStatus);
    }

    [Fact]
    public async Task Terminate_before_a_scheduled_start_terminates_the_pending_instance()
    {
        // The 2-hour jump of the fake clock must not expire the lock of the episode the due start message triggers
        // on the way (that would run a second, concurrent episode).
        var host = await StartAsync(
            r => r.AddOrchestratorFunc<object?, string>("Later", (_, _) => Task.FromResult("ran")),
            o => o.LockTimeout = TimeSpan.FromDays(1),
            wrapStore: inner => new RecordingStore(inner));
        var store = (RecordingStore)host.Store;

        var id = await host.Client.ScheduleNewOrchestrationInstanceAsync("Later", null, new StartOrchestrationOptions(StartAt: host.Time.GetUtcNow().AddHours(1)));
        await host.Client.TerminateInstanceAsync(id, (object)"cancelled");
        Assert.Equal(OrchestrationRuntimeStatus.Terminated, (await DurableWait.CompletionAsync(host.Client, id)).RuntimeStatus);

        // The start message falls due later; once it is consumed nothing is left that could run the instance.
        host.Time.Advance(TimeSpan.FromHours(2));
        await store.WaitForAsync<CommitRecord>(
            c => c.InstanceId == id && c.Applied && c.Consumed.Any(m => m.ExecutionStarted is not null), "the due start message is consumed");
        var after = await host.Client.GetInstanceAsync(id, true);
        Assert.Equal(OrchestrationRuntimeStatus.Terminated, after!.RuntimeStatus);
        Assert.Equal("cancelled", after.ReadOutputAs<string>());
    }

    [Fact]
    public async Task Purge_removes_only_finished_instances_and_recursively_their_children()
    {
        var host = await StartAsync(r => r
            .AddOrchestratorFunc<object?, string>("Parent", async (ctx, _) =>
                await ctx.CallSubOrchestratorAsync<string>("Child", null, new SubOrchestrationOptions { InstanceId = $"{ctx.InstanceId}-child" }))
            .AddOrchestratorFunc<object?, string>("Child", (_, _) => Task.FromResult("c"))
            .AddOrchestratorFunc<object?, string>("Wait", async (ctx, _) => await ctx.WaitForExternalEvent<string>("Go")));

        await host.Client.ScheduleNewOrchestrationInstanceAsync("Wait", null, new StartOrchestrationOptions("running"));
        await host.Client.WaitForInstanceStartAsync("running", DurableWait.Token());
        Assert.Equal(0, (await host.Client.PurgeInstanceAsync("running")).PurgedInstanceCount);
        Assert.Equal(0, (await host.Client.PurgeInstanceAsync("missing")).PurgedInstanceCount);

        await host.Client.ScheduleNewOrchestrationInstanceAsync("Parent", null, new StartOrchestrationOptions("flat"));
        await host.Client.ScheduleNewOrchestrationInstanceAsync("Parent", null, new StartOrchestrationOptions("tree"));
        await DurableWait.CompletionAsync(host.Client, "flat");
        await DurableWait.CompletionAsync(host.Client, "tree");

        var flat = await host.Client.PurgeInstanceAsync("flat");
        Assert.Equal(1, flat.PurgedInstanceCount);
        Assert.True(flat.IsComplete);
        Assert.Null(await host.Client.GetInstanceAsync("flat"));
        Assert.NotNull(await host.Client.GetInstanceAsync("flat-child"));
        await Assert.ThrowsAsync<ArgumentException>(() => HistoryOf(host, "flat"));

        Assert.Equal(2, (await host.Client.PurgeInstanceAsync("tree", new PurgeInstanceOptions(Recursive: true))).PurgedInstanceCount);
        Assert.Null(await host.Client.GetInstanceAsync("tree-child"));
        Assert.NotNull(await host.Client.GetInstanceAsync("running"));
    }

    [Fact]
    public async Task Recursive_bulk_purge_counts_every_instance_and_pages_to_the_end()
    {
        // More pairs than one purge page (500), so pages hold parents together with their own children.
        const int pairs = 550;
        var host = await StartAsync(r => r
            .AddOrchestratorFunc<object?, string>("Parent", async (ctx, _) =>
                await ctx.CallSubOrchestratorAsync<string>("Child", null, new SubOrchestrationOptions { InstanceId = $"{ctx.InstanceId}-child" }))
            .AddOrchestratorFunc<object?, string>("Child", (_, _) => Task.FromResult("c"))
            .AddOrchestratorFunc<object?, string>("Wait", async (ctx, _) => await ctx.WaitForExternalEvent<string>("Go")));

        await host.Client.ScheduleNewOrchestrationInstanceAsync("Wait", null, new StartOrchestrationOptions("running"));
        for (var start = 0; start < pairs; start += 50)
        {
            await Task.WhenAll(Enumerable.Range(start, Math.Min(50, pairs - start)).Select(i =>
                host.Client.ScheduleNewOrchestrationInstanceAsync("Parent", null, new StartOrchestrationOptions($"pair-{i:D4}"))));
        }

        var completed = new OrchestrationQuery(Statuses: [OrchestrationRuntimeStatus.Completed], PageSize: 1000);
        await DurableWait.UntilAsync(async () => await CountAsync(host.Client, completed) == 2 * pairs, "all pairs completed", TimeSpan.FromSeconds(90));

        var result = await host.Client.PurgeAllInstancesAsync(
            new PurgeInstancesFilter(Statuses: [OrchestrationRuntimeStatus.Completed]),
            new PurgeInstanceOptions(Recursive: true));

        Assert.Equal(0, await CountAsync(host.Client, completed));
        Assert.Equal(2 * pairs, result.PurgedInstanceCount);
        Assert.True(result.IsComplete);
        Assert.Null(await host.Client.GetInstanceAsync("pair-0549-child"));
        Assert.Equal(OrchestrationRuntimeStatus.Running, (await host.Client.GetInstanceAsync("running"))!.RuntimeStatus);
        var again = await host.Client.PurgeAllInstancesAsync(new PurgeInstancesFilter(), new PurgeInstanceOptions(Recursive: true));
        Assert.Equal(0, again.PurgedInstanceCount);
        Assert.True(again.IsComplete);
    }

    [Fact]
    public async Task Query_and_purge_page_through_twelve_hundred_instances()
    {
        const int total = 1_200;

        // The 10-minute jumps of the fake clock must not expire the locks of episodes in flight. Each purge page moves
        // the clock by a second, so a purge with a 1-second timeout stops after its first page.
        var time = new FakeTimeProvider();
        var host = await StartAsync(
            r => r.AddOrchestratorFunc<int, int>("Id", (_, n) => Task.FromResult(n)),
            o => o.LockTimeout = TimeSpan.FromDays(1),
            time,
            wrapStore: inner => new ClockMovingPurgeStore(inner, time));

        // Two batches with distinct creation times, ids in two prefixes.
        for (var batch = 0; batch < 2; batch++)
        {
            for (var start = batch * total / 2; start < (batch + 1) * total / 2; start += 300)
            {
                await Task.WhenAll(Enumerable.Range(start, 300).Select(i =>
                    host.Client.ScheduleNewOrchestrationInstanceAsync("Id", i, new StartOrchestrationOptions($"{(i % 2 == 0 ? "even" : "odd")}-{i:D5}"))));
            }

            host.Time.Advance(TimeSpan.FromMinutes(10));
        }

        var midpoint = host.Time.GetUtcNow().AddMinutes(-15);
        await DurableWait.UntilAsync(
            async () => await CountAsync(host.Client, new OrchestrationQuery(Statuses: [OrchestrationRuntimeStatus.Completed], PageSize: 1000)) == total,
            "all instances completed",
            TimeSpan.FromSeconds(90));

        // Paging with continuation tokens returns every instance exactly once, in creation then id order.
        var seen = new List<string>();
        string? token = null;
        var pages = 0;
        do
        {
            await using var pagesEnumerator = host.Client.GetAllInstancesAsync(new OrchestrationQuery(PageSize: 80, ContinuationToken: token)).AsPages().GetAsyncEnumerator();
            Assert.True(await pagesEnumerator.MoveNextAsync());
            var page = pagesEnumerator.Current;
            Assert.True(page.Values.Count <= 80);
            seen.AddRange(page.Values.Select(m => m.InstanceId));
            token = page.ContinuationToken;
            pages++;
        }
        while (token is not null);
        Assert.Equal(total, seen.Count);
        Assert.Equal(total, seen.Distinct().Count());
        Assert.Equal(15, pages);

        Assert.Equal(total / 2, await CountAsync(host.Client, new OrchestrationQuery(InstanceIdPrefix: "even-", PageSize: 1000)));
        Assert.Equal(total / 2, await CountAsync(host.Client, new OrchestrationQuery(CreatedTo: midpoint, PageSize: 1000)));
        Assert.Equal(total / 2, await CountAsync(host.Client, new OrchestrationQuery(CreatedFrom: midpoint, PageSize: 1000)));
        Assert.Equal(0, await CountAsync(host.Client, new OrchestrationQuery(Statuses: [OrchestrationRuntimeStatus.Running])));
        Assert.Equal(0, await CountAsync(host.Client, new OrchestrationQuery(TaskHubNames: ["another-hub"])));
        var withPayload = await host.Client.GetAllInstancesAsync(new OrchestrationQuery(InstanceIdPrefix: "odd-00001", FetchInputsAndOutputs: true)).SingleAsync();
        Assert.Equal(1, withPayload.ReadOutputAs<int>());
        var withoutPayload = await host.Client.GetAllInstancesAsync(new OrchestrationQuery(InstanceIdPrefix: "odd-00001")).SingleAsync();
        Assert.Null(withoutPayload.SerializedOutput);

        // A purge stopped by its timeout reports itself incomplete and can be repeated.
        var partial = await host.Client.PurgeAllInstancesAsync(new PurgeInstancesFilter(CreatedTo: midpoint) { Timeout = TimeSpan.FromSeconds(1) });
        Assert.False(partial.IsComplete);
        Assert.True(partial.PurgedInstanceCount is > 0 and < total / 2);
        var rest = await host.Client.PurgeAllInstancesAsync(new PurgeInstancesFilter(CreatedTo: midpoint));
        Assert.True(rest.IsComplete);
        Assert.Equal(total / 2, partial.PurgedInstanceCount + rest.PurgedInstanceCount);
        Assert.Equal(total / 2, await CountAsync(host.Client, new OrchestrationQuery(PageSize: 1000)));
        var running = await host.Client.PurgeAllInstancesAsync(new PurgeInstancesFilter(Statuses: [OrchestrationRuntimeStatus.Running]));
        Assert.Equal(0, running.PurgedInstanceCount);
        Assert.Equal(total / 2, (await host.Client.PurgeAllInstancesAsync(new PurgeInstancesFilter(Statuses: [OrchestrationRuntimeStatus.Completed]))).PurgedInstanceCount);
        Assert.Equal(0, await CountAsync(host.Client, new OrchestrationQuery()));
    }

    /// <summary>Moves the fake clock a second after each purge page, as if each took that long.</summary>
    private sealed class ClockMovingPurgeStore(Fleet.Durable.Storage.IOrchestrationStore inner, FakeTimeProvider time) : DelegatingStore(inner)
    {
        public override async Task<int> PurgeInstancesAsync(Fleet.Durable.Storage.InstanceFilter filter, int maxInstances, bool recursive, CancellationToken cancellationToken)
        {
            var purged = await base.PurgeInstancesAsync(filter, maxInstances, recursive, cancellationToken);
            time.Advance(TimeSpan.FromSeconds(1));
            return purged;
        }
    }

    private static Task<IList<HistoryEvent>> HistoryOf(SdkTestHost host, string id) => HistoryAsync(host, id);

    private static async Task<int> CountAsync(DurableTaskClient client, OrchestrationQuery query)
    {
        var count = 0;
        await foreach (var _ in client.GetAllInstancesAsync(query))
        {
            count++;
        }

        return count;
    }
}
