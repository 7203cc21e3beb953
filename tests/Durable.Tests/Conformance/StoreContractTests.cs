using Fleet.Durable.Storage;
using Fleet.Testing;
using Microsoft.Extensions.Logging.Abstractions;

namespace Fleet.Durable.Tests.Conformance;

/// <summary>
/// The <see cref="IOrchestrationStore"/> contract, exercised directly (no backend, no worker). Payloads are opaque to
/// stores, so plain strings stand in for serialized events.
/// </summary>
public abstract class StoreContractTests : IAsyncLifetime
{
    private static readonly TimeSpan LockTimeout = TimeSpan.FromSeconds(10);
    private readonly List<IOrchestrationStore> _opened = [];
    private IStoreFactory _stores = null!;

    public Task InitializeAsync()
    {
        _stores = CreateStoreFactory();
        return Task.CompletedTask;
    }

    public async Task DisposeAsync()
    {
        foreach (var store in _opened)
        {
            await store.DisposeAsync();
        }

        await _stores.DisposeAsync();
    }

    protected abstract IStoreFactory CreateStoreFactory();

    [Fact]
    public async Task Create_refuses_an_unfinished_instance_and_replaces_a_finished_one()
    {
        var (host, store) = await OpenAsync();
        Assert.True((await store.CreateInstanceAsync(NewInstance(host, "i1", "exec-1"), Token)).Created);
        var refused = await store.CreateInstanceAsync(NewInstance(host, "i1", "exec-2"), Token);
        Assert.False(refused.Created);
        Assert.Equal(InstanceStatus.Pending, refused.ExistingStatus);

        var item = await store.LockNextOrchestrationAsync(Token);
        Assert.True(await store.CommitOrchestrationAsync(item, Finish(item, "exec-1", 0, InstanceStatus.Completed, host.Time.GetUtcNow()), Token));

        Assert.True((await store.CreateInstanceAsync(NewInstance(host, "i1", "exec-3"), Token)).Created);
        var replaced = await store.GetInstanceAsync("i1", includePayloads: true, Token);
        Assert.Equal("exec-3", replaced!.ExecutionId);
        Assert.Equal(InstanceStatus.Pending, replaced.Status);
        Assert.Equal(0, replaced.HistoryCount);
        Assert.Null(replaced.Output);
        Assert.Empty((await store.GetHistoryAsync("i1", Token))!);
    }

    [Fact]
    public async Task Commit_is_refused_when_the_version_changed_and_writes_nothing()
    {
        var (host, store) = await OpenAsync();
        await store.CreateInstanceAsync(NewInstance(host, "i1", "exec-1"), Token);
        var item = await store.LockNextOrchestrationAsync(Token);

        var stale = new OrchestrationCommit
        {
            ExpectedExecutionId = "exec-1",
            ExpectedHistoryCount = 5,
            NewHistory = ["h"],
            ConsumedMessageIds = item.Messages.Select(m => m.Id).ToArray(),
            Instance = Update("exec-1", 6, InstanceStatus.Running, host.Time.GetUtcNow()),
            Activities = [new NewActivity(0, "A", null)],
        };
        Assert.False(await store.CommitOrchestrationAsync(item, stale, Token));

        var record = await store.GetInstanceAsync("i1", false, Token);
        Assert.Equal(0, record!.HistoryCount);
        Assert.Equal(InstanceStatus.Pending, record.Status);
        await store.AbandonOrchestrationAsync(item, TimeSpan.Zero, countAttempt: false, Token);
        var again = await store.LockNextOrchestrationAsync(Token);
        Assert.Equal(item.Messages.Select(m => m.Id), again.Messages.Select(m => m.Id));
        await AssertNoActivityAsync(store);
    }

    [Fact]
    public async Task Commit_writes_history_status_and_routes_activities_timers_and_messages_atomically()
    {
        var (host, store) = await OpenAsync();
        await store.CreateInstanceAsync(NewInstance(host, "i1", "exec-1"), Token);
        await store.CreateInstanceAsync(NewInstance(host, "other", "exec-o"), Token);
        var now = host.Time.GetUtcNow();
        var item = await LockAsync(store, "i1");
        var commit = new OrchestrationCommit
        {
            ExpectedExecutionId = "exec-1",
            ExpectedHistoryCount = 0,
            NewHistory = ["h0", "h1", "h2"],
            ConsumedMessageIds = item.Messages.Select(m => m.Id).ToArray(),
            Instance = Update("exec-1", 3, InstanceStatus.Running, now) with { CustomStatusChanged = true, CustomStatus = "\"cs\"" },
            Activities = [new NewActivity(7, "Act", "\"in\"")],
            Messages =
            [
                new OutgoingMessage("i1", "exec-1", "timer", now.AddMinutes(5), OnlyIfRunning: false),
                new OutgoingMessage("other", null, "event", now, OnlyIfRunning: true),
                new OutgoingMessage("missing", null, "dropped", now, OnlyIfRunning: true),
            ],
        };
        Assert.True(await store.CommitOrchestrationAsync(item, commit, Token));

        var record = await store.GetInstanceAsync("i1", true, Token);
        Assert.Equal(InstanceStatus.Running, record!.Status);
        Assert.Equal(3, record.HistoryCount);
        Assert.Equal("\"cs\"", record.CustomStatus);
        Assert.Equal(["h0", "h1", "h2"], await store.GetHistoryAsync("i1", Token));

        var activity = await store.LockNextActivityAsync(Token);
        Assert.Equal(("i1", "exec-1", 7, "Act", "\"in\"", 0), (activity.InstanceId, activity.ExecutionId, activity.TaskId, activity.Name, activity.Input, activity.Attempts));

        var other = await LockAsync(store, "other");
        Assert.Equal(["start", "event"], other.Messages.Select(m => m.Data));
        Assert.True(await store.CommitOrchestrationAsync(other, new OrchestrationCommit
        {
            ExpectedExecutionId = "exec-o",
            ExpectedHistoryCount = 0,
            ConsumedMessageIds = other.Messages.Select(m => m.Id).ToArray(),
        }, Token));
        Assert.Null(await store.GetInstanceAsync("missing", false, Token));

        // The timer message stays hidden until its time.
        using (var early = new CancellationTokenSource(TimeSpan.FromMilliseconds(200)))
        {
            await Assert.ThrowsAnyAsync<OperationCanceledException>(() => store.LockNextOrchestrationAsync(early.Token));
        }

        host.Time.Advance(TimeSpan.FromMinutes(5));
        var timer = await store.LockNextOrchestrationAsync(Token);
        Assert.Equal(("i1", "timer", "exec-1"), (timer.InstanceId, timer.Messages.Single().Data, timer.Messages.Single().TargetExecutionId));
    }

    [Fact]
    public async Task Activity_result_is_delivered_at_most_once_and_only_to_the_same_running_execution()
    {
        var (host, store) = await OpenAsync();
        await store.CreateInstanceAsync(NewInstance(host, "i1", "exec-1"), Token);
        var item = await store.LockNextOrchestrationAsync(Token);
        var now = host.Time.GetUtcNow();
        await store.CommitOrchestrationAsync(item, new OrchestrationCommit
        {
            ExpectedExecutionId = "exec-1",
            ExpectedHistoryCount = 0,
            NewHistory = ["h"],
            ConsumedMessageIds = item.Messages.Select(m => m.Id).ToArray(),
            Instance = Update("exec-1", 1, InstanceStatus.Running, now),
            Activities = [new NewActivity(0, "A", null), new NewActivity(1, "B", null)],
        }, Token);

        var a = await store.LockNextActivityAsync(Token);
        var b = await store.LockNextActivityAsync(Token);
        Assert.True(await store.CompleteActivityAsync(a, "result-a", Token));
        Assert.False(await store.CompleteActivityAsync(a, "result-a-again", Token));
        var delivered = await store.LockNextOrchestrationAsync(Token);
        Assert.Equal(["result-a"], delivered.Messages.Select(m => m.Data));

        // Once the instance finished, a late result is discarded.
        Assert.True(await store.CommitOrchestrationAsync(delivered, Finish(delivered, "exec-1", 1, InstanceStatus.Terminated, now), Token));
        Assert.False(await store.CompleteActivityAsync(b, "result-b", Token));
        Assert.False(await store.EnqueueMessageAsync("i1", "late event", now, Token));
        Assert.False(await store.EnqueueMessageAsync("missing", "event", now, Token));
    }

    [Fact]
    public async Task Expired_instance_lock_is_handed_out_again()
    {
        var (host, store) = await OpenAsync();
        await store.CreateInstanceAsync(NewInstance(host, "i1", "exec-1"), Token);
        var first = await store.LockNextOrchestrationAsync(Token);
        Assert.True(first.LockedUntil <= host.Time.GetUtcNow() + LockTimeout);
        Assert.True(await store.RenewOrchestrationLockAsync(first, Token));

        var second = await AdvanceUntilLockedAsync(host, () => store.LockNextOrchestrationAsync(ShortToken()));

        Assert.Equal("i1", second.InstanceId);
        Assert.Equal(first.Messages.Select(m => m.Id), second.Messages.Select(m => m.Id));
        Assert.False(await store.RenewOrchestrationLockAsync(first, Token));
    }

    [Fact]
    public async Task Expired_activity_lock_is_handed_out_again_with_the_attempt_counted()
    {
        var (host, store) = await OpenAsync();
        await store.CreateInstanceAsync(NewInstance(host, "i1", "exec-1"), Token);
        var item = await store.LockNextOrchestrationAsync(Token);
        await store.CommitOrchestrationAsync(item, new OrchestrationCommit
        {
            ExpectedExecutionId = "exec-1",
            ExpectedHistoryCount = 0,
            ConsumedMessageIds = item.Messages.Select(m => m.Id).ToArray(),
            Instance = Update("exec-1", 0, InstanceStatus.Running, host.Time.GetUtcNow()),
            Activities = [new NewActivity(0, "A", null)],
        }, Token);
        var first = await store.LockNextActivityAsync(Token);
        Assert.Equal(0, first.Attempts);

        var second = await AdvanceUntilLockedAsync(host, () => store.LockNextActivityAsync(ShortToken()));

        Assert.Equal(first.Id, second.Id);
        Assert.Equal(1, second.Attempts);
        Assert.False(await store.RenewActivityLockAsync(first, Token));
        Assert.True(await store.CompleteActivityAsync(second, "done", Token));
    }

    [Fact]
    public async Task Abandon_hides_messages_for_the_delay_and_counts_the_attempt()
    {
        var (host, store) = await OpenAsync();
        await store.CreateInstanceAsync(NewInstance(host, "i1", "exec-1"), Token);
        var item = await store.LockNextOrchestrationAsync(Token);
        Assert.Equal(0, item.Attempts);

        await store.AbandonOrchestrationAsync(item, TimeSpan.FromSeconds(30), countAttempt: true, Token);
        using (var early = new CancellationTokenSource(TimeSpan.FromMilliseconds(200)))
        {
            await Assert.ThrowsAnyAsync<OperationCanceledException>(() => store.LockNextOrchestrationAsync(early.Token));
        }

        host.Time.Advance(TimeSpan.FromSeconds(30));
        var again = await store.LockNextOrchestrationAsync(Token);
        Assert.Equal(1, again.Attempts);
    }

    [Fact]
    public async Task Change_waits_complete_on_change_and_fall_back_after_the_interval()
    {
        var (host, store) = await OpenAsync();
        await store.CreateInstanceAsync(NewInstance(host, "i1", "exec-1"), Token);

        var changed = store.WaitForInstanceChangeAsync("i1", TimeSpan.FromMinutes(1), Token);
        Assert.False(changed.IsCompleted);
        var item = await store.LockNextOrchestrationAsync(Token);
        await store.CommitOrchestrationAsync(item, Finish(item, "exec-1", 0, InstanceStatus.Completed, host.Time.GetUtcNow()), Token);
        await changed.WaitAsync(DurableWait.Default);

        var fallback = store.WaitForInstanceChangeAsync("i1", TimeSpan.FromSeconds(5), Token);
        host.Time.Advance(TimeSpan.FromSeconds(5));
        await fallback.WaitAsync(DurableWait.Default);
    }

    [Fact]
    public async Task Query_filters_and_pages_with_continuation_tokens()
    {
        var (host, store) = await OpenAsync();
        for (var i = 0; i < 25; i++)
        {
            await store.CreateInstanceAsync(NewInstance(host, $"{(i < 10 ? "a" : "b")}-{i:D2}", $"e{i}"), Token);
            host.Time.Advance(TimeSpan.FromSeconds(1));
        }

        var all = new List<string>();
        string? token = null;
        do
        {
            var page = await store.QueryInstancesAsync(new InstanceQuery(new InstanceFilter(), 10, false, token), Token);
            all.AddRange(page.Instances.Select(r => r.InstanceId));
            token = page.ContinuationToken;
        }
        while (token is not null);

        Assert.Equal(Enumerable.Range(0, 25).Select(i => $"{(i < 10 ? "a" : "b")}-{i:D2}"), all);
        var prefixed = await store.QueryInstancesAsync(new InstanceQuery(new InstanceFilter { InstanceIdPrefix = "a-" }, 100, false, null), Token);
        Assert.Equal(10, prefixed.Instances.Count);
        Assert.Null(prefixed.ContinuationToken);
        var pending = await store.QueryInstancesAsync(new InstanceQuery(new InstanceFilter { Statuses = [InstanceStatus.Pending] }, 100, false, null), Token);
        Assert.Equal(25, pending.Instances.Count);
        var none = await store.QueryInstancesAsync(new InstanceQuery(new InstanceFilter { Statuses = [InstanceStatus.Completed] }, 100, false, null), Token);
        Assert.Empty(none.Instances);
    }

    private static CancellationToken Token => DurableWait.Token();

    private static CancellationToken ShortToken() => new CancellationTokenSource(TimeSpan.FromMilliseconds(100)).Token;

    private async Task<(OpenedStore Host, IOrchestrationStore Store)> OpenAsync()
    {
        var time = new FakeTimeProvider();
        var store = _stores.Create(
            new DurableTaskOptions { HubName = "test", LockTimeout = LockTimeout, PollingInterval = TimeSpan.FromSeconds(1) },
            time,
            NullLoggerFactory.Instance);
        _opened.Add(store);
        await store.InitializeAsync(Token);
        await store.StartDispatchAsync(Token);
        return (new OpenedStore(time), store);
    }

    private static NewInstance NewInstance(OpenedStore host, string id, string executionId)
    {
        var now = host.Time.GetUtcNow();
        return new NewInstance(id, executionId, "Test", null, "\"input\"", now, now, "start");
    }

    private static InstanceUpdate Update(string executionId, int historyCount, InstanceStatus status, DateTimeOffset now) => new()
    {
        Status = status,
        ExecutionId = executionId,
        HistoryCount = historyCount,
        LastUpdatedAt = now,
        CompletedAt = status.IsTerminal() ? now : null,
    };

    private static OrchestrationCommit Finish(OrchestrationWorkItem item, string executionId, int historyCount, InstanceStatus status, DateTimeOffset now) => new()
    {
        ExpectedExecutionId = executionId,
        ExpectedHistoryCount = historyCount,
        NewHistory = ["done"],
        ConsumedMessageIds = item.Messages.Select(m => m.Id).ToArray(),
        Instance = Update(executionId, historyCount + 1, status, now) with { Output = "\"out\"" },
    };

    private static async Task<OrchestrationWorkItem> LockAsync(IOrchestrationStore store, string instanceId)
    {
        var skipped = new List<OrchestrationWorkItem>();
        try
        {
            while (true)
            {
                var item = await store.LockNextOrchestrationAsync(Token);
                if (item.InstanceId == instanceId)
                {
                    return item;
                }

                skipped.Add(item);
            }
        }
        finally
        {
            foreach (var item in skipped)
            {
                await store.AbandonOrchestrationAsync(item, TimeSpan.Zero, countAttempt: false, Token);
            }
        }
    }

    private static async Task AssertNoActivityAsync(IOrchestrationStore store)
    {
        using var cts = new CancellationTokenSource(TimeSpan.FromMilliseconds(150));
        await Assert.ThrowsAnyAsync<OperationCanceledException>(() => store.LockNextActivityAsync(cts.Token));
    }

    private static async Task<T> AdvanceUntilLockedAsync<T>(OpenedStore host, Func<Task<T>> tryLock)
    {
        var deadline = DateTime.UtcNow + DurableWait.Default;
        while (true)
        {
            host.Time.Advance(TimeSpan.FromSeconds(1));
            try
            {
                return await tryLock();
            }
            catch (OperationCanceledException) when (DateTime.UtcNow < deadline)
            {
                // Not expired yet on the fake clock.
            }
        }
    }

    /// <summary>The clock of an opened store.</summary>
    private sealed record OpenedStore(FakeTimeProvider Time);
}
