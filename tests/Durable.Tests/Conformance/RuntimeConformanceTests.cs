using DurableTask.Core.History;
using Fleet.Durable.Grpc;
using Fleet.Durable.Storage;
using Fleet.Testing;
using Microsoft.DurableTask;
using Microsoft.DurableTask.Client;
using Microsoft.Extensions.Options;

namespace Fleet.Durable.Tests.Conformance;

/// <summary>The backend's side of running orchestrations: restarts, reloads, stale commits, poison, leases, worker loss, hubs, settings.</summary>
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
        var id = await ScheduleAsync(first, "Long");
        await WaitForHistoryAsync(first, id, h => h.OfType<TimerCreatedEvent>().Any());
        await first.Client.RaiseEventAsync(id, "B", "b");
        await StopAsync(first);

        var second = await StartAsync(tasks, time: time);
        time.Advance(TimeSpan.FromHours(1));

        Assert.Equal("abc", (await DurableWait.CompletionAsync(second.Client, id)).ReadOutputAs<string>());
    }

    [Fact]
    public async Task Instances_evicted_from_the_history_cache_are_reloaded_from_the_store()
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
            backend: o => o.HistoryCacheSize = 1);

        var ids = new List<string>();
        for (var n = 0; n < 4; n++)
        {
            ids.Add(await ScheduleAsync(host, "Steps", n));
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
        var host = await StartAsync(
            r => r
                .AddOrchestratorFunc<int, int>("Steps", async (ctx, n) =>
                    await ctx.CallActivityAsync<int>("Inc", n) + await ctx.CallActivityAsync<int>("Inc", n))
                .AddActivityFunc<int, int>("Inc", (_, n) => n + 1),
            wrapStore: inner => new StaleOnceStore(inner));
        var store = (StaleOnceStore)host.Store;

        var id = await ScheduleAsync(host, "Steps", 1);

        Assert.Equal(4, (await DurableWait.CompletionAsync(host.Client, id)).ReadOutputAs<int>());
        Assert.Equal(1, store.Refused);
        Assert.Contains(host.Logs.Entries, e => e.EventId.Id == 3102);
        Assert.Equal([0, 1], (await HistoryAsync(host, id)).OfType<TaskScheduledEvent>().Select(e => e.EventId));
    }

    [Fact]
    public async Task Changed_orchestrator_code_fails_the_instance_as_non_deterministic()
    {
        var time = new FakeTimeProvider();
        var v1 = await StartAsync(
            r => r
                .AddOrchestratorFunc<object?, string>("Deploy", async (ctx, _) =>
                {
                    await ctx.CallActivityAsync("Prepare");
                    return await ctx.WaitForExternalEvent<string>("Approve");
                })
                .AddActivityFunc("Prepare", _ => { }),
            time: time);
        var id = await ScheduleAsync(v1, "Deploy");
        await WaitForHistoryAsync(v1, id, h => h.OfType<TaskCompletedEvent>().Any());
        await StopAsync(v1);

        var v2 = await StartAsync(
            r => r
                .AddOrchestratorFunc<object?, string>("Deploy", async (ctx, _) =>
                {
                    await ctx.CallActivityAsync("Validate");
                    await ctx.CallActivityAsync("Prepare");
                    return await ctx.WaitForExternalEvent<string>("Approve");
                })
                .AddActivityFunc("Prepare", _ => { })
                .AddActivityFunc("Validate", _ => { }),
            time: time);
        await v2.Client.RaiseEventAsync(id, "Approve", "yes");

        var failed = await DurableWait.CompletionAsync(v2.Client, id);
        Assert.Equal(OrchestrationRuntimeStatus.Failed, failed.RuntimeStatus);
        Assert.Contains("NonDeterministic", failed.FailureDetails!.ErrorType, StringComparison.Ordinal);
    }

    [Fact]
    public async Task A_message_that_keeps_failing_fails_the_instance_after_the_attempt_limit()
    {
        var host = await StartAsync(
            r => r.AddOrchestratorFunc<object?, string>("Wait", async (ctx, _) => await ctx.WaitForExternalEvent<string>("Go")),
            o => o.MessageAttemptLimit = 3);
        var id = await ScheduleAsync(host, "Wait");
        await host.Client.WaitForInstanceStartAsync(id, DurableWait.Token());

        Assert.True(await host.Store.EnqueueMessageAsync(id, "{ this is not a history event", host.Time.GetUtcNow(), CancellationToken.None));

        // Each failed attempt is retried after a growing delay on the (fake) clock.
        await DurableWait.UntilAsync(
            async () =>
            {
                host.Time.Advance(TimeSpan.FromSeconds(1));
                return (await host.Client.GetInstanceAsync(id))!.RuntimeStatus == OrchestrationRuntimeStatus.Failed;
            },
            "the instance is failed as poisoned");
        var failed = await host.Client.GetInstanceAsync(id, getInputsAndOutputs: true);
        Assert.Equal("PoisonMessage", failed!.FailureDetails!.ErrorType);
        Assert.Contains("3 times", failed.FailureDetails.ErrorMessage, StringComparison.Ordinal);
        Assert.Contains("MessageAttemptLimit", failed.FailureDetails.ErrorMessage, StringComparison.Ordinal);
        Assert.Contains(host.Logs.Entries, e => e.EventId.Id == 3104);
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

        var id = await ScheduleAsync(host, "Long");
        await DurableWait.UntilAsync(() => Task.FromResult(Volatile.Read(ref episodes) == 1), "the episode runs");

        // Three lock timeouts pass on the fake clock while the episode runs; renewals every half timeout keep the lock.
        await DurableWait.UntilAsync(
            () =>
            {
                host.Time.Advance(TimeSpan.FromSeconds(1));
                return Task.FromResult(store.OrchestrationLockRenewals >= 6);
            },
            "the episode's lock was renewed through three lock timeouts");
        Assert.Equal(1, Volatile.Read(ref episodes)); // never handed to a second worker meanwhile
        release.Set();

        Assert.Equal("done", (await DurableWait.CompletionAsync(host.Client, id)).ReadOutputAs<string>());
        Assert.Equal(1, Volatile.Read(ref episodes));
        Assert.DoesNotContain(host.Logs.Entries, e => e.EventId.Id is 3303 or 3502);
    }

    [Fact]
    public async Task The_worker_s_concurrency_limits_hold_for_activities_and_orchestrations()
    {
        var running = 0;
        var peak = 0;
        var episodesRunning = 0;
        var episodePeak = 0;
        var host = await StartAsync(
            r => r
                .AddOrchestratorFunc<object?, int>("Fan", async (ctx, _) =>
                {
                    // Blocking inside the episode (fine for a test) widens the window in which episodes would overlap.
                    InterlockedMax(ref episodePeak, Interlocked.Increment(ref episodesRunning));
                    Thread.Sleep(5);
                    Interlocked.Decrement(ref episodesRunning);
                    return (await Task.WhenAll(Enumerable.Range(0, 6).Select(i => ctx.CallActivityAsync<int>("Slow", i)))).Sum();
                })
                .AddActivityFunc<int, int>("Slow", async (_, i) =>
                {
                    InterlockedMax(ref peak, Interlocked.Increment(ref running));
                    await Task.Delay(20);
                    Interlocked.Decrement(ref running);
                    return i;
                }),
            worker: o =>
            {
                o.Concurrency.MaximumConcurrentActivityWorkItems = 2;
                o.Concurrency.MaximumConcurrentOrchestrationWorkItems = 1;
            });

        var ids = await Task.WhenAll(Enumerable.Range(0, 4).Select(_ => ScheduleAsync(host, "Fan")));

        foreach (var id in ids)
        {
            Assert.Equal(15, (await DurableWait.CompletionAsync(host.Client, id)).ReadOutputAs<int>());
        }

        Assert.Equal(2, peak);
        Assert.Equal(1, episodePeak);
    }

    [Fact]
    public async Task Work_a_stopped_worker_held_runs_again_on_the_next_worker_and_completes_once()
    {
        var runs = 0;
        using var entered = new SemaphoreSlim(0);
        using var gate = new SemaphoreSlim(0);
        var host = await StartAsync(r => r
            .AddOrchestratorFunc<object?, int>("One", async (ctx, _) => await ctx.CallActivityAsync<int>("Stuck"))
            .AddActivityFunc<object?, int>("Stuck", async (_, _) =>
            {
                var run = Interlocked.Increment(ref runs);
                entered.Release();
                if (run == 1)
                {
                    await gate.WaitAsync(DurableWait.Token());
                }

                return run;
            }));
        var id = await ScheduleAsync(host, "One");
        Assert.True(await entered.WaitAsync(DurableWait.Default), "the activity did not start");

        // The worker's stream ends while it holds the activity: the backend gives the activity back at once.
        var stopping = host.StopWorkerAsync();
        await using var next = await host.StartWorkerAsync(r => r
            .AddOrchestratorFunc<object?, int>("One", async (ctx, _) => await ctx.CallActivityAsync<int>("Stuck"))
            .AddActivityFunc<object?, int>("Stuck", (_, _) => Interlocked.Increment(ref runs)));
        gate.Release();
        await stopping;

        // The activity given back is due again after a retry delay on the backend's (fake) clock.
        await DurableWait.UntilAsync(
            async () =>
            {
                host.Time.Advance(TimeSpan.FromSeconds(1));
                return (await next.Client.GetInstanceAsync(id))?.RuntimeStatus == OrchestrationRuntimeStatus.Completed;
            },
            "the orchestration completes on the next worker");
        var done = await DurableWait.CompletionAsync(next.Client, id);
        Assert.Equal(OrchestrationRuntimeStatus.Completed, done.RuntimeStatus);
        Assert.Equal(2, done.ReadOutputAs<int>()); // the stopped worker's late result was not applied
        Assert.Single((await next.Client.GetOrchestrationHistoryAsync(id)).OfType<TaskCompletedEvent>());
    }

    [Fact]
    public async Task Hubs_sharing_a_database_do_not_see_each_other()
    {
        Action<DurableTaskRegistry> tasks = r => r.AddOrchestratorFunc<string, string>("Hub", (ctx, s) => Task.FromResult(s));
        var a = await StartAsync(tasks, o => o.HubName = "hub-a");
        var b = await StartAsync(tasks, o => o.HubName = "hub-b");

        await ScheduleAsync(a, "Hub", "from a", "same-id");
        await ScheduleAsync(b, "Hub", "from b", "same-id");

        Assert.Equal("from a", (await DurableWait.CompletionAsync(a.Client, "same-id")).ReadOutputAs<string>());
        Assert.Equal("from b", (await DurableWait.CompletionAsync(b.Client, "same-id")).ReadOutputAs<string>());
        await ScheduleAsync(a, "Hub", "only a", "a-only");
        Assert.Null(await b.Client.GetInstanceAsync("a-only"));
        Assert.Single(await b.Client.GetAllInstancesAsync().ToListAsync());
        Assert.Equal("hub-a", a.Backend.HubName);
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

    private static void InterlockedMax(ref int target, int value)
    {
        int current;
        while (value > (current = Volatile.Read(ref target)) && Interlocked.CompareExchange(ref target, value, current) != current)
        {
        }
    }

    /// <summary>Refuses the second episode commit once, as if another host had advanced the instance meanwhile.</summary>
    private sealed class StaleOnceStore(IOrchestrationStore inner) : DelegatingStore(inner)
    {
        private int _commits;

        public int Refused { get; private set; }

        public override Task<bool> CommitOrchestrationAsync(OrchestrationWorkItem workItem, OrchestrationCommit commit, CancellationToken cancellationToken)
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
