using Microsoft.DurableTask.Client;
using Microsoft.DurableTask.Client.Entities;
using Microsoft.DurableTask.Entities;
using P = Microsoft.DurableTask.Protobuf;

namespace Fleet.SidecarTests;

/// <summary>Durable entities through the real SDK: the entity client, orchestrations calling and locking entities, entity actions.</summary>
public abstract partial class SidecarConformanceTests
{
    private static EntityInstanceId NewCounter(string prefix = "c") => new(nameof(Counter), prefix + Guid.NewGuid().ToString("N")[..10]);

    [Fact]
    public async Task Client_signals_reach_the_entity_and_get_reads_it_with_or_without_state()
    {
        using var cts = new CancellationTokenSource(Timeout);
        var id = NewCounter();
        Assert.Null(await Client.Entities.GetEntityAsync(id, cancellation: cts.Token));
        await Client.Entities.SignalEntityAsync(id, nameof(Counter.Add), 3, cancellation: cts.Token);
        await Client.Entities.SignalEntityAsync(id, nameof(Counter.Add), 4, cancellation: cts.Token);
        await WaitForStateAsync(id, 7, cts.Token);

        var withoutState = await Client.Entities.GetEntityAsync(id, includeState: false, cts.Token);
        Assert.NotNull(withoutState);
        Assert.False(withoutState.IncludesState);
        Assert.Equal(0, withoutState.BacklogQueueSize);
        Assert.Null(withoutState.LockedBy);
        var withState = await Client.Entities.GetEntityAsync<int>(id, includeState: true, cts.Token);
        Assert.Equal(7, withState!.State);
    }

    [Fact]
    public async Task Signals_are_applied_one_at_a_time_in_the_order_sent()
    {
        using var cts = new CancellationTokenSource(Timeout);
        var id = NewCounter();
        for (var i = 1; i <= 30; i++)
        {
            await Client.Entities.SignalEntityAsync(id, nameof(Counter.Set), i, cancellation: cts.Token);
        }

        await Client.Entities.SignalEntityAsync(id, nameof(Counter.Add), 100, cancellation: cts.Token);
        await WaitForStateAsync(id, 130, cts.Token);
    }

    [Fact]
    public async Task A_scheduled_signal_is_delivered_at_its_time()
    {
        using var cts = new CancellationTokenSource(Timeout);
        var id = NewCounter();
        var due = DateTimeOffset.UtcNow.AddMilliseconds(800);
        await Client.Entities.SignalEntityAsync(id, nameof(Counter.Add), 1, new SignalEntityOptions { SignalTime = due }, cts.Token);
        Assert.Null(await Client.Entities.GetEntityAsync(id, cancellation: cts.Token));
        await WaitForStateAsync(id, 1, cts.Token);
        Assert.True(DateTimeOffset.UtcNow >= due, "the signal ran before its time");
    }

    [Fact]
    public async Task An_orchestration_signals_and_calls_an_entity_and_sees_its_failures()
    {
        var metadata = await RunAsync("CountTo7", NewCounter().Key);
        Assert.Equal(OrchestrationRuntimeStatus.Completed, metadata.RuntimeStatus);
        Assert.Equal(7, metadata.ReadOutputAs<int>());

        // Both forms of entity messages are served: the history keeps the form the worker sent.
        var history = await fixture.Server.Backend.GetHistoryAsync(metadata.InstanceId, CancellationToken.None);
        var requests = history!.Count(e => fixture.NativeEntityEvents
            ? e.EventTypeCase is P.HistoryEvent.EventTypeOneofCase.EntityOperationCalled or P.HistoryEvent.EventTypeOneofCase.EntityOperationSignaled
            : e.EventTypeCase == P.HistoryEvent.EventTypeOneofCase.EventSent && e.EventSent.InstanceId.StartsWith('@'));
        Assert.Equal(3, requests);

        var failing = await RunAsync("CallFailing", NewCounter().Key);
        Assert.Equal("System.InvalidOperationException|entity says no", failing.ReadOutputAs<string>());
    }

    [Fact]
    public async Task Critical_sections_serialise_orchestrations_and_a_failing_holder_releases_its_locks()
    {
        using var cts = new CancellationTokenSource(Timeout);
        var a = NewCounter("a");
        var b = NewCounter("b");
        var ids = await Task.WhenAll(Enumerable.Range(0, 5).Select(_ =>
            Client.ScheduleNewOrchestrationInstanceAsync("IncrementBothLocked", new[] { a.Key, b.Key }, cts.Token)));
        var results = await Task.WhenAll(ids.Select(id => Client.WaitForInstanceCompletionAsync(id, getInputsAndOutputs: true, cts.Token)));
        Assert.All(results, r => Assert.Equal(OrchestrationRuntimeStatus.Completed, r.RuntimeStatus));
        Assert.Equal([2, 4, 6, 8, 10], results.Select(r => r.ReadOutputAs<int>()).Order());
        Assert.Equal(5, (await Client.Entities.GetEntityAsync<int>(a, cancellation: cts.Token))!.State);

        var failed = await RunAsync("LockThenFail", a.Key);
        Assert.Equal(OrchestrationRuntimeStatus.Failed, failed.RuntimeStatus);
        var after = await RunAsync("IncrementBothLocked", new[] { a.Key, b.Key });
        Assert.Equal(12, after.ReadOutputAs<int>());
        // The release is sent as the holder completes and reaches the entity after it.
        await WaitUntilAsync(async () => (await Client.Entities.GetEntityAsync(a, cancellation: cts.Token))!.LockedBy is null, cts.Token);
    }

    [Fact]
    public async Task Entities_signal_entities_and_start_orchestrations()
    {
        using var cts = new CancellationTokenSource(Timeout);
        var source = NewCounter();
        var target = NewCounter();
        await Client.Entities.SignalEntityAsync(source, nameof(Counter.Forward), new Forwarding(target.Key, 4), cancellation: cts.Token);
        await WaitForStateAsync(target, 4, cts.Token);

        var instanceId = "from-entity-" + Guid.NewGuid().ToString("N");
        await Client.Entities.SignalEntityAsync(source, nameof(Counter.StartHello), instanceId, cancellation: cts.Token);
        await WaitUntilAsync(async () => await Client.GetInstanceAsync(instanceId, cts.Token) is not null, cts.Token);
        var started = await Client.WaitForInstanceCompletionAsync(instanceId, getInputsAndOutputs: true, cts.Token);
        Assert.Equal("hi Tokyo, hi Seattle, hi from-entity", started.ReadOutputAs<string>());
    }

    [Fact]
    public async Task Entity_queries_filter_by_prefix_and_page_and_leave_out_deleted_entities_and_orchestration_queries()
    {
        using var cts = new CancellationTokenSource(Timeout);
        var prefix = "q" + Guid.NewGuid().ToString("N")[..8] + "-";
        var ids = Enumerable.Range(0, 5).Select(i => new EntityInstanceId(nameof(Counter), prefix + i)).ToList();
        foreach (var id in ids)
        {
            await Client.Entities.SignalEntityAsync(id, nameof(Counter.Add), 1, cancellation: cts.Token);
        }

        foreach (var id in ids)
        {
            await WaitForStateAsync(id, 1, cts.Token);
        }

        var pages = new List<int>();
        var found = new List<EntityMetadata<int>>();
        var query = new EntityQuery { InstanceIdStartsWith = "Counter@" + prefix, PageSize = 2 };
        await foreach (var page in Client.Entities.GetAllEntitiesAsync<int>(query).AsPages().WithCancellation(cts.Token))
        {
            pages.Add(page.Values.Count);
            found.AddRange(page.Values);
        }

        Assert.Equal(ids.Select(i => i.ToString()).Order(), found.Select(e => e.Id.ToString()).Order());
        Assert.All(found, e => Assert.Equal(1, e.State));
        Assert.True(pages.Count >= 3, $"pages: {string.Join(",", pages)}");
        var withoutState = await Client.Entities.GetAllEntitiesAsync(query with { IncludeState = false }).ToListAsync(cts.Token);
        Assert.All(withoutState, e => Assert.False(e.IncludesState));

        await Client.Entities.SignalEntityAsync(ids[0], "delete", cancellation: cts.Token);
        await WaitUntilAsync(async () => await Client.Entities.GetEntityAsync(ids[0], cancellation: cts.Token) is null, cts.Token);
        Assert.Equal(4, (await Client.Entities.GetAllEntitiesAsync(query).ToListAsync(cts.Token)).Count);
        Assert.Equal(5, (await Client.Entities.GetAllEntitiesAsync(query with { IncludeTransient = true }).ToListAsync(cts.Token)).Count);

        var instances = await Client.GetAllInstancesAsync(new OrchestrationQuery { PageSize = 1000 }).ToListAsync(cts.Token);
        Assert.DoesNotContain(instances, i => i.InstanceId.StartsWith('@'));
    }

    [Fact]
    public async Task A_terminated_orchestration_releases_its_locks_and_the_next_request_gets_the_entity()
    {
        using var cts = new CancellationTokenSource(Timeout);
        var id = NewCounter("terminated");
        var first = await Client.ScheduleNewOrchestrationInstanceAsync("LockThenWait", id.Key, cts.Token);
        await WaitForLockAsync(id, first, cts.Token);
        var second = await Client.ScheduleNewOrchestrationInstanceAsync("LockThenWait", id.Key, cts.Token);
        await WaitForBacklogAsync(id, cts.Token);

        // Without any clean-up: the terminated holder's lock goes to the waiting request, then is released in turn.
        await Client.TerminateInstanceAsync(first, cancellation: cts.Token);
        await WaitForLockAsync(id, second, cts.Token);
        await Client.TerminateInstanceAsync(second, cancellation: cts.Token);
        await WaitForLockAsync(id, null, cts.Token);
    }

    [Fact]
    public async Task Clean_entity_storage_releases_orphaned_locks_and_removes_empty_entities()
    {
        using var cts = new CancellationTokenSource(Timeout);
        var id = NewCounter("orphan");
        var transient = new EntityQuery { InstanceIdStartsWith = id.ToString(), IncludeTransient = true };
        var holder = await Client.ScheduleNewOrchestrationInstanceAsync("LockThenWait", id.Key, cts.Token);
        await WaitForLockAsync(id, holder, cts.Token);

        // An orphan: a request that waits for the lock outlives its orchestration (terminated meanwhile; its release
        // finds the entity locked by the holder) and gets the lock when the holder lets go.
        var late = await Client.ScheduleNewOrchestrationInstanceAsync("LockThenWait", id.Key, cts.Token);
        await WaitForBacklogAsync(id, cts.Token);
        await Client.TerminateInstanceAsync(late, cancellation: cts.Token);
        await Client.WaitForInstanceCompletionAsync(late, cts.Token);
        await Client.RaiseEventAsync(holder, "go", "done", cts.Token);
        await Client.WaitForInstanceCompletionAsync(holder, cts.Token);
        await WaitForLockAsync(id, late, cts.Token);

        var released = await Client.Entities.CleanEntityStorageAsync(new CleanEntityStorageRequest { ReleaseOrphanedLocks = true, RemoveEmptyEntities = false }, cancellation: cts.Token);
        Assert.Equal(1, released.OrphanedLocksReleased);
        await WaitForLockAsync(id, null, cts.Token);

        // An entity with a message still pending (a second release on its way) is kept until that message is consumed.
        var removed = 0;
        await WaitUntilAsync(async () =>
        {
            removed += (await Client.Entities.CleanEntityStorageAsync(new CleanEntityStorageRequest { ReleaseOrphanedLocks = false, RemoveEmptyEntities = true }, cancellation: cts.Token)).EmptyEntitiesRemoved;
            return (await Client.Entities.GetAllEntitiesAsync(transient).ToListAsync(cts.Token)).Count == 0;
        }, cts.Token);
        Assert.True(removed >= 1, $"removed {removed}");
    }

    [Fact]
    public async Task A_batch_that_fails_in_the_worker_runs_again_and_is_applied_once()
    {
        using var cts = new CancellationTokenSource(Timeout);
        var id = new EntityInstanceId("Flaky", Guid.NewGuid().ToString("N"));
        SidecarEntities.FlakyFactoryFailures = 1;
        await Client.Entities.SignalEntityAsync(id, nameof(Counter.Add), 5, cancellation: cts.Token);
        await WaitForStateAsync(id, 5, cts.Token);
        Assert.True(SidecarEntities.FlakyFactoryFailures < 0, "the factory never failed");
        await Client.Entities.SignalEntityAsync(id, nameof(Counter.Add), 1, cancellation: cts.Token);
        await WaitForStateAsync(id, 6, cts.Token);
    }

    private async Task WaitForLockAsync(EntityInstanceId id, string? holder, CancellationToken ct) =>
        await WaitUntilAsync(async () => (await Client.Entities.GetAllEntitiesAsync(Transient(id)).ToListAsync(ct)).SingleOrDefault()?.LockedBy == holder, ct);

    private async Task WaitForBacklogAsync(EntityInstanceId id, CancellationToken ct) =>
        await WaitUntilAsync(async () => (await Client.Entities.GetAllEntitiesAsync(Transient(id)).ToListAsync(ct)).SingleOrDefault()?.BacklogQueueSize >= 1, ct);

    private static EntityQuery Transient(EntityInstanceId id) => new() { InstanceIdStartsWith = id.ToString(), IncludeTransient = true };

    protected async Task WaitForStateAsync(EntityInstanceId id, int expected, CancellationToken ct) =>
        await WaitUntilAsync(async () => (await Client.Entities.GetEntityAsync<int>(id, includeState: true, ct))?.State == expected, ct);
}
