using Fleet.Durable.Client;
using Fleet.Durable.History;
using Fleet.Testing;
using Microsoft.Extensions.Options;

namespace Fleet.Durable.Tests.Conformance;

/// <summary>Runtime behaviour: restarts, replay, non-determinism, poison handling, limits, shutdown, hubs.</summary>
public abstract class RuntimeConformanceTests : ConformanceTestBase
{
    [Fact]
    public async Task Work_in_flight_survives_a_restart_including_timers_and_buffered_events()
    {
        var time = new FakeTimeProvider();
        Action<DurableTaskRegistry> tasks = r => r
            .AddOrchestratorFunc<object?, string>("Long", async (ctx, _) =>
            {
                var a = await ctx.CallActivityAsync<string>("Echo", "a");
                await ctx.CreateTimer(TimeSpan.FromHours(1), CancellationToken.None);
                var b = await ctx.WaitForExternalEvent<string>("B");
                return a + b + await ctx.CallActivityAsync<string>("Echo", "c");
            })
            .AddActivityFunc<string, string>("Echo", (_, s) => s);

        var first = await StartAsync(tasks, time: time);
        var id = await first.Client.ScheduleNewOrchestrationInstanceAsync("Long");
        await DurableWait.UntilAsync(async () => (await first.Client.GetOrchestrationHistoryAsync(id)).OfType<TimerCreatedEvent>().Any(), "the timer is created");
        await first.Client.RaiseEventAsync(id, "B", "b");
        await StopAsync(first);

        var second = await StartAsync(tasks, time: time);
        time.Advance(TimeSpan.FromHours(1));

        Assert.Equal("abc", (await DurableWait.CompletionAsync(second.Client, id)).ReadOutputAs<string>());
    }

    [Fact]
    public async Task Evicted_instances_replay_from_stored_history()
    {
        var host = await StartAsync(
            r => r
                .AddOrchestratorFunc<int, int>("Steps", async (ctx, n) =>
                {
                    var total = 0;
                    for (var i = 0; i < 3; i++)
                    {
                        total += await ctx.WaitForExternalEvent<int>("Add");
                        total += await ctx.CallActivityAsync<int>("Id", n);
                    }

                    return total;
                })
                .AddActivityFunc<int, int>("Id", (_, n) => n),
            o => o.CacheSize = 1);

        var ids = new List<string>();
        for (var n = 0; n < 4; n++)
        {
            ids.Add(await host.Client.ScheduleNewOrchestrationInstanceAsync("Steps", n));
        }

        for (var round = 0; round < 3; round++)
        {
            foreach (var id in ids)
            {
                await host.Client.RaiseEventAsync(id, "Add", 100);
            }
        }

        for (var n = 0; n < ids.Count; n++)
        {
            Assert.Equal(300 + 3 * n, (await DurableWait.CompletionAsync(host.Client, ids[n])).ReadOutputAs<int>());
        }
    }

    [Fact]
    public async Task A_stale_episode_is_not_committed_and_is_redone_from_stored_history()
    {
        StaleOnceStore? store = null;
        var host = await DurableTestHost.StartAsync(
            new WrappingStoreFactory(Stores, inner => store = new StaleOnceStore(inner)),
            r => r
                .AddOrchestratorFunc<int, int>("Steps", async (ctx, n) =>
                    await ctx.CallActivityAsync<int>("Inc", n) + await ctx.CallActivityAsync<int>("Inc", n))
                .AddActivityFunc<int, int>("Inc", (_, n) => n + 1));
        await using var _ = host;

        var id = await host.Client.ScheduleNewOrchestrationInstanceAsync("Steps", 1);

        Assert.Equal(4, (await DurableWait.CompletionAsync(host.Client, id)).ReadOutputAs<int>());
        Assert.Equal(1, store!.Refused);
        Assert.Contains(host.Logs.Entries, e => e.EventId.Id == 3102);
        var history = await host.Client.GetOrchestrationHistoryAsync(id);
        Assert.Equal([0, 1], history.OfType<TaskScheduledEvent>().Select(e => e.EventId));
    }

    [Fact]
    public async Task Changed_orchestrator_code_fails_the_instance_with_a_non_determinism_error_naming_both_sides()
    {
        var time = new FakeTimeProvider();
        var v1 = await StartAsync(r => r
            .AddOrchestratorFunc<object?, string>("Deploy", async (ctx, _) =>
            {
                await ctx.CallActivityAsync("Prepare");
                return await ctx.WaitForExternalEvent<string>("Approve");
            })
            .AddActivityFunc<object?>("Prepare", (_, _) => { }), time: time);
        var id = await v1.Client.ScheduleNewOrchestrationInstanceAsync("Deploy");
        await DurableWait.UntilAsync(async () => (await v1.Client.GetOrchestrationHistoryAsync(id)).OfType<TaskCompletedEvent>().Any(), "the first step ran");
        await StopAsync(v1);

        var v2 = await StartAsync(r => r
            .AddOrchestratorFunc<object?, string>("Deploy", async (ctx, _) =>
            {
                await ctx.CallActivityAsync("Validate");
                await ctx.CallActivityAsync("Prepare");
                return await ctx.WaitForExternalEvent<string>("Approve");
            })
            .AddActivityFunc<object?>("Prepare", (_, _) => { })
            .AddActivityFunc<object?>("Validate", (_, _) => { }), time: time);
        await v2.Client.RaiseEventAsync(id, "Approve", "yes");

        var failed = await DurableWait.CompletionAsync(v2.Client, id);
        Assert.Equal(OrchestrationRuntimeStatus.Failed, failed.RuntimeStatus);
        Assert.True(failed.FailureDetails!.IsCausedBy<NonDeterministicOrchestrationException>());
        Assert.Contains("TaskScheduled #0 'Prepare'", failed.FailureDetails.ErrorMessage, StringComparison.Ordinal);
        Assert.Contains("CallActivity #0 'Validate'", failed.FailureDetails.ErrorMessage, StringComparison.Ordinal);
    }

    [Fact]
    public async Task A_message_that_keeps_failing_fails_the_instance_after_the_attempt_limit()
    {
        var host = await StartAsync(
            r => r.AddOrchestratorFunc<object?, string>("Wait", async (ctx, _) => await ctx.WaitForExternalEvent<string>("Go")),
            o => o.MessageAttemptLimit = 3);
        var id = await host.Client.ScheduleNewOrchestrationInstanceAsync("Wait");
        await host.Client.WaitForInstanceStartAsync(id, DurableWait.Token());

        Assert.True(await host.Store.EnqueueMessageAsync(id, "{ this is not a runtime message", host.Time.GetUtcNow(), CancellationToken.None));

        // Each failed attempt is retried after a growing delay on the (fake) clock.
        await DurableWait.UntilAsync(
            async () =>
            {
                host.Time.Advance(TimeSpan.FromSeconds(1));
                return (await host.Client.GetInstanceAsync(id))!.RuntimeStatus == OrchestrationRuntimeStatus.Failed;
            },
            "the instance is failed as poisoned");
        var failed = await host.Client.GetInstanceAsync(id);
        Assert.True(failed!.FailureDetails!.IsCausedBy<PoisonMessageException>());
        Assert.Contains("3 times", failed.FailureDetails.ErrorMessage, StringComparison.Ordinal);
        Assert.Contains("MessageAttemptLimit", failed.FailureDetails.ErrorMessage, StringComparison.Ordinal);
        Assert.Contains(host.Logs.Entries, e => e.EventId.Id == 3104);

        // Each failed attempt flagged the instance for a reload; failing it as poisoned leaves no flag behind.
        await DurableWait.UntilAsync(() => Task.FromResult(host.Worker.PendingForcedLoads == 0), "no reload flag is left", TimeSpan.FromSeconds(5));
    }

    [Fact]
    public async Task An_episode_that_outlasts_the_lock_timeout_keeps_its_lock()
    {
        var episodes = 0;
        using var release = new ManualResetEventSlim();
        var host = await StartAsync(
            r => r.AddOrchestratorFunc<object?, string>("Long", (_, _) =>
            {
                // Blocking inside the episode (fine for a test) stands in for a long replay or a huge fan-in.
                Interlocked.Increment(ref episodes);
                release.Wait(DurableWait.Token());
                return Task.FromResult("done");
            }),
            o => o.LockTimeout = TimeSpan.FromSeconds(10),
            wrapStore: inner => new RecordingStore(inner));
        var store = (RecordingStore)host.Store;

        var id = await host.Client.ScheduleNewOrchestrationInstanceAsync("Long");
        await DurableWait.UntilAsync(() => Task.FromResult(Volatile.Read(ref episodes) == 1), "the episode runs");

        // Three lock timeouts pass on the fake clock while the episode runs; renewals every half timeout keep the lock.
        await DurableWait.UntilAsync(
            () =>
            {
                host.Time.Advance(TimeSpan.FromSeconds(1));
                return Task.FromResult(store.OrchestrationLockRenewals >= 6);
            },
            "the episode's lock was renewed through three lock timeouts");
        Assert.Equal(1, Volatile.Read(ref episodes)); // never handed to a second dispatcher meanwhile
        release.Set();

        Assert.Equal("done", (await DurableWait.CompletionAsync(host.Client, id)).ReadOutputAs<string>());
        Assert.Equal(1, Volatile.Read(ref episodes));
        Assert.DoesNotContain(host.Logs.Entries, e => e.EventId.Id is 3106 or 3303);
    }

    [Fact]
    public async Task Activity_concurrency_is_limited()
    {
        var running = 0;
        var peak = 0;
        var host = await StartAsync(
            r => r
                .AddOrchestratorFunc<object?, int>("Fan", async (ctx, _) =>
                    (await Task.WhenAll(Enumerable.Range(0, 12).Select(i => ctx.CallActivityAsync<int>("Slow", i)))).Sum())
                .AddActivityFunc<int, int>("Slow", async (_, i) =>
                {
                    var now = Interlocked.Increment(ref running);
                    InterlockedMax(ref peak, now);
                    await Task.Delay(30);
                    Interlocked.Decrement(ref running);
                    return i;
                }),
            o => o.MaxConcurrentActivities = 2);

        var id = await host.Client.ScheduleNewOrchestrationInstanceAsync("Fan");

        Assert.Equal(66, (await DurableWait.CompletionAsync(host.Client, id)).ReadOutputAs<int>());
        Assert.Equal(2, peak);
    }

    [Fact]
    public async Task Orchestration_episode_concurrency_is_limited()
    {
        var running = 0;
        var peak = 0;
        var host = await StartAsync(
            r => r
                .AddOrchestratorFunc<object?, int>("Busy", async (ctx, _) =>
                {
                    for (var i = 0; i < 3; i++)
                    {
                        // Blocking inside the episode (fine for a test) widens the window in which episodes would overlap.
                        var now = Interlocked.Increment(ref running);
                        InterlockedMax(ref peak, now);
                        Thread.Sleep(20);
                        Interlocked.Decrement(ref running);
                        await ctx.CallActivityAsync("Noop");
                    }

                    return ctx.GetInput<object?>() is null ? 1 : 0;
                })
                .AddActivityFunc<object?>("Noop", (_, _) => { }),
            o => o.MaxConcurrentOrchestrations = 1);

        var ids = await Task.WhenAll(Enumerable.Range(0, 12).Select(_ => host.Client.ScheduleNewOrchestrationInstanceAsync("Busy")));

        foreach (var id in ids)
        {
            Assert.Equal(1, (await DurableWait.CompletionAsync(host.Client, id)).ReadOutputAs<int>());
        }

        Assert.Equal(1, peak);
    }

    [Fact]
    public async Task Graceful_shutdown_lets_in_flight_activities_finish()
    {
        using var entered = new SemaphoreSlim(0);
        var time = new FakeTimeProvider();
        Action<DurableTaskRegistry> tasks = r => r
            .AddOrchestratorFunc<object?, string>("One", async (ctx, _) => await ctx.CallActivityAsync<string>("Work"))
            .AddActivityFunc<object?, string>("Work", async (_, _) =>
            {
                entered.Release();
                await Task.Delay(200);
                return "finished";
            });
        var first = await StartAsync(tasks, time: time);
        var id = await first.Client.ScheduleNewOrchestrationInstanceAsync("One");
        Assert.True(await entered.WaitAsync(DurableWait.Default));

        await first.StopWorkerAsync(TimeSpan.FromSeconds(10));
        await StopAsync(first);
        var second = await StartAsync(tasks, time: time);

        Assert.Equal("finished", (await DurableWait.CompletionAsync(second.Client, id)).ReadOutputAs<string>());
        Assert.Equal(0, entered.CurrentCount); // the activity ran once: its result was recorded before shutdown
    }

    [Fact]
    public async Task Shutdown_timeout_releases_a_stuck_activity_to_run_again_later()
    {
        var runs = 0;
        using var gate = new SemaphoreSlim(0);
        var time = new FakeTimeProvider();
        Action<DurableTaskRegistry> tasks = r => r
            .AddOrchestratorFunc<object?, int>("One", async (ctx, _) => await ctx.CallActivityAsync<int>("Stuck"))
            .AddActivityFunc<object?, int>("Stuck", async (_, _) =>
            {
                var run = Interlocked.Increment(ref runs);
                if (run == 1)
                {
                    await gate.WaitAsync(DurableWait.Token());
                }

                return run;
            });
        var first = await StartAsync(tasks, time: time);
        var id = await first.Client.ScheduleNewOrchestrationInstanceAsync("One");
        await DurableWait.UntilAsync(() => Task.FromResult(Volatile.Read(ref runs) == 1), "the activity started");

        await first.StopWorkerAsync(TimeSpan.FromMilliseconds(200));
        Assert.Contains(first.Logs.Entries, e => e.EventId.Id == 3002 && e.Message.Contains("1 activities", StringComparison.Ordinal));
        await StopAsync(first);
        gate.Release();

        var second = await StartAsync(tasks, time: time);
        Assert.Equal(2, (await DurableWait.CompletionAsync(second.Client, id)).ReadOutputAs<int>());
    }

    [Fact]
    public async Task Activities_see_cancellation_when_the_shutdown_period_runs_out_and_run_again_later()
    {
        var runs = 0;
        var cancelled = 0;
        var time = new FakeTimeProvider();
        Action<DurableTaskRegistry> tasks = r => r
            .AddOrchestratorFunc<object?, int>("One", async (ctx, _) => await ctx.CallActivityAsync<int>("Cooperative"))
            .AddActivityFunc<object?, int>("Cooperative", async (ctx, _) =>
            {
                var run = Interlocked.Increment(ref runs);
                if (run == 1)
                {
                    try
                    {
                        await Task.Delay(Timeout.InfiniteTimeSpan, ctx.CancellationToken).WaitAsync(DurableWait.Default);
                    }
                    catch (OperationCanceledException)
                    {
                        Interlocked.Increment(ref cancelled);
                        throw;
                    }
                }

                return run;
            });
        var first = await StartAsync(tasks, time: time);
        var id = await first.Client.ScheduleNewOrchestrationInstanceAsync("One");
        await DurableWait.UntilAsync(() => Task.FromResult(Volatile.Read(ref runs) == 1), "the activity started");

        await first.StopWorkerAsync(TimeSpan.FromMilliseconds(200));
        await DurableWait.UntilAsync(() => Task.FromResult(Volatile.Read(ref cancelled) == 1), "the activity saw the cancellation");
        await StopAsync(first);

        // The cancelled run was handed back, not recorded as a failure: the next start runs it again.
        var second = await StartAsync(tasks, time: time);
        var done = await DurableWait.CompletionAsync(second.Client, id);
        Assert.Equal(OrchestrationRuntimeStatus.Completed, done.RuntimeStatus);
        Assert.Equal(2, done.ReadOutputAs<int>());
    }

    [Fact]
    public async Task Hubs_sharing_a_database_do_not_see_each_other()
    {
        Action<DurableTaskRegistry> tasks = r => r.AddOrchestratorFunc<string, string>("Hub", (ctx, s) => Task.FromResult(s));
        var a = await StartAsync(tasks, o => o.HubName = "hub-a");
        var b = await StartAsync(tasks, o => o.HubName = "hub-b");

        await a.Client.ScheduleNewOrchestrationInstanceAsync("Hub", "from a", new StartOrchestrationOptions("same-id"));
        await b.Client.ScheduleNewOrchestrationInstanceAsync("Hub", "from b", new StartOrchestrationOptions("same-id"));

        Assert.Equal("from a", (await DurableWait.CompletionAsync(a.Client, "same-id")).ReadOutputAs<string>());
        Assert.Equal("from b", (await DurableWait.CompletionAsync(b.Client, "same-id")).ReadOutputAs<string>());
        await a.Client.ScheduleNewOrchestrationInstanceAsync("Hub", "only a", new StartOrchestrationOptions("a-only"));
        Assert.Null(await b.Client.GetInstanceAsync("a-only"));
        Assert.Equal(1, await CountAsync(b.Client));
        Assert.Equal("hub-a", a.Client.Name);
    }

    [Fact]
    public async Task Invalid_options_stop_start_up_with_a_message_naming_the_setting()
    {
        var error = await Assert.ThrowsAsync<OptionsValidationException>(() => StartAsync(_ => { }, o =>
        {
            o.MaxConcurrentActivities = 0;
            o.HubName = "bad hub!";
        }));
        Assert.Contains("DurableTask:MaxConcurrentActivities", error.Message, StringComparison.Ordinal);
        Assert.Contains("DurableTask:HubName", error.Message, StringComparison.Ordinal);
    }

    [Fact]
    public async Task Context_use_off_the_orchestrator_thread_is_rejected()
    {
        var host = await StartAsync(r => r
            .AddOrchestratorFunc<object?, string>("OffThread", async (ctx, _) =>
            {
                try
                {
                    await Task.Run(() => ctx.CallActivityAsync("Noop"));
                    return "allowed";
                }
                catch (OrchestrationDeterminismException)
                {
                    return "rejected";
                }
            })
            .AddActivityFunc<object?>("Noop", (_, _) => { }));

        var id = await host.Client.ScheduleNewOrchestrationInstanceAsync("OffThread");
        var done = await DurableWait.CompletionAsync(host.Client, id);

        // The call itself throws. If Task.Run finished before the await, the code catches that; otherwise awaiting it
        // resumes off the orchestrator's scheduler, which fails the instance. Either way the call was never allowed.
        if (done.RuntimeStatus == OrchestrationRuntimeStatus.Completed)
        {
            Assert.Equal("rejected", done.ReadOutputAs<string>());
        }
        else
        {
            Assert.Equal(OrchestrationRuntimeStatus.Failed, done.RuntimeStatus);
            Assert.True(done.FailureDetails!.IsCausedBy<OrchestrationDeterminismException>());
        }

        Assert.DoesNotContain(await host.Client.GetOrchestrationHistoryAsync(id), e => e is TaskScheduledEvent);
    }

    private static void InterlockedMax(ref int target, int value)
    {
        int current;
        while (value > (current = Volatile.Read(ref target)) && Interlocked.CompareExchange(ref target, value, current) != current)
        {
        }
    }

    private static async Task<int> CountAsync(DurableTaskClient client)
    {
        var count = 0;
        await foreach (var _ in client.GetAllInstancesAsync())
        {
            count++;
        }

        return count;
    }

    /// <summary>Refuses the second episode commit once, as if another host had advanced the instance meanwhile.</summary>
    private sealed class StaleOnceStore(Fleet.Durable.Storage.IOrchestrationStore inner) : DelegatingStore(inner)
    {
        private int _commits;

        public int Refused { get; private set; }

        public override Task<bool> CommitOrchestrationAsync(Fleet.Durable.Storage.OrchestrationWorkItem workItem, Fleet.Durable.Storage.OrchestrationCommit commit, CancellationToken cancellationToken)
        {
            if (commit.Instance is not null && Interlocked.Increment(ref _commits) == 2)
            {
                Refused++;
                return Task.FromResult(false);
            }

            return base.CommitOrchestrationAsync(workItem, commit, cancellationToken);
        }
    }
}
