using DurableTask.Core.History;
using Microsoft.DurableTask;
using Microsoft.DurableTask.Client;

namespace Fleet.Durable.Tests.Conformance;

/// <summary>
/// Orchestrations written against the Microsoft.DurableTask SDK, end to end through the sidecar backend and a store,
/// with a fake clock on the backend (so the SDK's timers, retries and <c>CurrentUtcDateTime</c> follow it).
/// </summary>
public abstract class OrchestrationConformanceTests : ConformanceTestBase
{
    [Fact]
    public async Task Sequence_of_activities_completes_with_output_and_metadata()
    {
        var host = await StartAsync(r => r
            .AddOrchestratorFunc<string, string>("Hello", async (ctx, name) =>
            {
                var a = await ctx.CallActivityAsync<string>("Greet", name + "1");
                var b = await ctx.CallActivityAsync<string>("Greet", name + "2");
                var c = await ctx.CallActivityAsync<string>("Greet", name + "3");
                return string.Join(",", a, b, c);
            })
            .AddActivityFunc<string, string>("Greet", (ctx, input) => $"hi {input} from {ctx.Name} for {ctx.InstanceId}"));

        var before = host.Time.GetUtcNow();
        var id = await ScheduleAsync(host, "Hello", "x");
        var done = await DurableWait.CompletionAsync(host.Client, id);

        Assert.Equal(OrchestrationRuntimeStatus.Completed, done.RuntimeStatus);
        Assert.Equal($"hi x1 from Greet for {id},hi x2 from Greet for {id},hi x3 from Greet for {id}", done.ReadOutputAs<string>());
        Assert.Equal("x", done.ReadInputAs<string>());
        Assert.Equal("Hello", done.Name);
        Assert.Equal(id, done.InstanceId);
        Assert.True(done.IsCompleted);
        Assert.False(done.IsRunning);
        Assert.Equal(before, done.CreatedAt);
        Assert.True(done.LastUpdatedAt >= done.CreatedAt);
        Assert.Null(done.FailureDetails);
    }

    [Fact]
    public async Task Timer_fires_at_the_fake_time_and_not_before()
    {
        var host = await StartAsync(r => r.AddOrchestratorFunc<object?, string>("Sleep", async (ctx, _) =>
        {
            var start = ctx.CurrentUtcDateTime;
            await ctx.CreateTimer(TimeSpan.FromHours(1), CancellationToken.None);
            var afterRelative = ctx.CurrentUtcDateTime;
            await ctx.CreateTimer(afterRelative.AddMinutes(30), CancellationToken.None);
            return $"{(afterRelative - start).TotalMinutes}|{(ctx.CurrentUtcDateTime - start).TotalMinutes}";
        }));

        var id = await ScheduleAsync(host, "Sleep");
        await WaitForHistoryAsync(host, id, h => h.OfType<TimerCreatedEvent>().Count() == 1);
        var timer = (await HistoryAsync(host, id)).OfType<TimerCreatedEvent>().Single();
        Assert.Equal(host.Time.GetUtcNow().UtcDateTime.AddHours(1), timer.FireAt);

        host.Time.Advance(TimeSpan.FromMinutes(59));
        await AssertStaysAsync(host, id, OrchestrationRuntimeStatus.Running);
        Assert.DoesNotContain(await HistoryAsync(host, id), e => e is TimerFiredEvent);

        host.Time.Advance(TimeSpan.FromMinutes(1));
        await WaitForHistoryAsync(host, id, h => h.OfType<TimerCreatedEvent>().Count() == 2);
        host.Time.Advance(TimeSpan.FromMinutes(29));
        await AssertStaysAsync(host, id, OrchestrationRuntimeStatus.Running);
        host.Time.Advance(TimeSpan.FromMinutes(1));

        var done = await DurableWait.CompletionAsync(host.Client, id);
        Assert.Equal("60|90", done.ReadOutputAs<string>());
    }

    [Fact]
    public async Task Events_raised_before_the_wait_are_buffered_and_delivered_in_order()
    {
        var host = await StartAsync(r => r.AddOrchestratorFunc<object?, string>("Collect", async (ctx, _) =>
        {
            await ctx.CreateTimer(TimeSpan.FromMinutes(5), CancellationToken.None);
            var first = await ctx.WaitForExternalEvent<string>("Approval");
            var second = await ctx.WaitForExternalEvent<string>("APPROVAL");
            var other = await ctx.WaitForExternalEvent<int>("Count");
            return $"{first}-{second}-{other}";
        }));

        var id = await ScheduleAsync(host, "Collect");
        await WaitForHistoryAsync(host, id, h => h.OfType<TimerCreatedEvent>().Any());
        await host.Client.RaiseEventAsync(id, "approval", "a");
        await host.Client.RaiseEventAsync(id, "Count", 3);
        await host.Client.RaiseEventAsync(id, "Approval", "b");
        await WaitForHistoryAsync(host, id, h => h.OfType<EventRaisedEvent>().Count() == 3);
        Assert.Equal(OrchestrationRuntimeStatus.Running, (await host.Client.GetInstanceAsync(id))!.RuntimeStatus);

        host.Time.Advance(TimeSpan.FromMinutes(5));

        Assert.Equal("a-b-3", (await DurableWait.CompletionAsync(host.Client, id)).ReadOutputAs<string>());
    }

    [Fact]
    public async Task Wait_for_event_with_timeout_times_out_at_the_fake_time_or_returns_the_event_that_arrives_first()
    {
        var host = await StartAsync(
            r => r.AddOrchestratorFunc<object?, string>("Approve", async (ctx, _) =>
            {
                try
                {
                    return await ctx.WaitForExternalEvent<string>("Approval", TimeSpan.FromDays(2));
                }
                catch (TaskCanceledException)
                {
                    return "timed out at " + ctx.CurrentUtcDateTime.ToString("O");
                }
            }),

            // The fake clock fires every periodic timer due on its way through two days: long periods keep that short.
            o =>
            {
                o.PollingInterval = TimeSpan.FromMinutes(5);
                o.LockTimeout = TimeSpan.FromDays(1);
            },
            wrapStore: inner => new RecordingStore(inner));
        var store = (RecordingStore)host.Store;

        var start = host.Time.GetUtcNow().UtcDateTime;
        var timesOut = await ScheduleAsync(host, "Approve");
        var answered = await ScheduleAsync(host, "Approve");
        await WaitForHistoryAsync(host, timesOut, h => h.OfType<TimerCreatedEvent>().Any());
        await WaitForHistoryAsync(host, answered, h => h.OfType<TimerCreatedEvent>().Any());
        await host.Client.RaiseEventAsync(answered, "Approval", "yes");
        Assert.Equal("yes", (await DurableWait.CompletionAsync(host.Client, answered)).ReadOutputAs<string>());

        host.Time.Advance(TimeSpan.FromDays(2) - TimeSpan.FromSeconds(1));
        await AssertStaysAsync(host, timesOut, OrchestrationRuntimeStatus.Running);
        host.Time.Advance(TimeSpan.FromSeconds(1));
        Assert.Equal("timed out at " + start.AddDays(2).ToString("O"), (await DurableWait.CompletionAsync(host.Client, timesOut)).ReadOutputAs<string>());

        // The answered instance's timer fell due too: its message is consumed and changes nothing.
        await store.WaitForAsync<CommitRecord>(
            c => c.InstanceId == answered && c.Applied && c.Consumed.Any(m => m.TimerFired is not null), "the late timer message is consumed");
        var after = await host.Client.GetInstanceAsync(answered, true);
        Assert.Equal(OrchestrationRuntimeStatus.Completed, after!.RuntimeStatus);
        Assert.Equal("yes", after.ReadOutputAs<string>());
        Assert.DoesNotContain(await HistoryAsync(host, answered), e => e is TimerFiredEvent);
    }

    [Fact]
    public async Task SendEvent_reaches_another_instance_and_is_dropped_for_a_missing_one()
    {
        var host = await StartAsync(r => r
            .AddOrchestratorFunc<string, string>("Sender", (ctx, target) =>
            {
                ctx.SendEvent("no-such-instance", "Ping", "lost");
                ctx.SendEvent(target, "Ping", "pong");
                return Task.FromResult("sent");
            })
            .AddOrchestratorFunc<object?, string>("Receiver", async (ctx, _) => await ctx.WaitForExternalEvent<string>("Ping")));

        var receiver = await ScheduleAsync(host, "Receiver", instanceId: "receiver");
        await host.Client.WaitForInstanceStartAsync(receiver, DurableWait.Token());
        var sender = await ScheduleAsync(host, "Sender", receiver);

        Assert.Equal("sent", (await DurableWait.CompletionAsync(host.Client, sender)).ReadOutputAs<string>());
        Assert.Equal("pong", (await DurableWait.CompletionAsync(host.Client, receiver)).ReadOutputAs<string>());
        Assert.Null(await host.Client.GetInstanceAsync("no-such-instance"));
        var sent = (await HistoryAsync(host, sender)).OfType<EventSentEvent>().ToList();
        Assert.Equal(["no-such-instance", "receiver"], sent.Select(e => e.InstanceId));
    }

    [Fact]
    public async Task Retry_policy_retries_with_backoff_on_durable_timers()
    {
        var calls = 0;
        var host = await StartAsync(r => r
            .AddOrchestratorFunc<object?, string>("Retry", async (ctx, _) =>
                await ctx.CallActivityAsync<string>("Flaky", null, TaskOptions.FromRetryPolicy(
                    new RetryPolicy(4, TimeSpan.FromSeconds(10), backoffCoefficient: 2, maxRetryInterval: TimeSpan.FromSeconds(30)))))
            .AddActivityFunc<object?, string>("Flaky", (_, _) =>
                Interlocked.Increment(ref calls) < 4 ? throw new InvalidOperationException("not yet") : "ok"));

        var start = host.Time.GetUtcNow().UtcDateTime;
        var id = await ScheduleAsync(host, "Retry");
        var expectedDelays = new[] { 10, 20, 30 }; // 10, 10*2, min(10*4, 30)
        var elapsed = 0;
        for (var attempt = 0; attempt < expectedDelays.Length; attempt++)
        {
            await WaitForHistoryAsync(host, id, h => h.OfType<TimerCreatedEvent>().Count() == attempt + 1);
            var timer = (await HistoryAsync(host, id)).OfType<TimerCreatedEvent>().Last();
            elapsed += expectedDelays[attempt];
            Assert.Equal(start.AddSeconds(elapsed), timer.FireAt);
            host.Time.Advance(TimeSpan.FromSeconds(expectedDelays[attempt]));
        }

        Assert.Equal("ok", (await DurableWait.CompletionAsync(host.Client, id)).ReadOutputAs<string>());
        Assert.Equal(4, calls);
    }

    [Fact]
    public async Task Retry_stops_when_attempts_are_exhausted_or_the_failure_is_not_handled()
    {
        var host = await StartAsync(r => r
            .AddOrchestratorFunc<string, string>("Retry", async (ctx, kind) =>
            {
                var policy = new RetryPolicy(2, TimeSpan.FromSeconds(1))
                {
                    HandleFailure = f => !f.IsCausedBy<ArgumentException>(),
                };
                try
                {
                    await ctx.CallActivityAsync<string>("Fail", kind, new TaskOptions(policy));
                    return "unexpected";
                }
                catch (TaskFailedException ex)
                {
                    return $"{ex.FailureDetails.ErrorType}|{ctx.CurrentUtcDateTime:HH:mm:ss}";
                }
            })
            .AddActivityFunc<string, string>("Fail", (_, kind) => (string)(kind == "argument"
                ? throw new ArgumentException("bad")
                : throw new InvalidOperationException("broken"))));

        var notHandled = await ScheduleAsync(host, "Retry", "argument");
        Assert.Equal("System.ArgumentException|00:00:00", (await DurableWait.CompletionAsync(host.Client, notHandled)).ReadOutputAs<string>());

        var exhausted = await ScheduleAsync(host, "Retry", "invalid");
        await WaitForHistoryAsync(host, exhausted, h => h.OfType<TimerCreatedEvent>().Any());
        host.Time.Advance(TimeSpan.FromSeconds(1));
        Assert.Equal("System.InvalidOperationException|00:00:01", (await DurableWait.CompletionAsync(host.Client, exhausted)).ReadOutputAs<string>());
        Assert.Equal(2, (await HistoryAsync(host, exhausted)).OfType<TaskScheduledEvent>().Count());
    }

    [Fact]
    public async Task Retry_handler_decides_and_can_wait()
    {
        var calls = 0;
        var host = await StartAsync(r => r
            .AddOrchestratorFunc<object?, int>("Handled", async (ctx, _) =>
                await ctx.CallActivityAsync<int>("Flaky", null, TaskOptions.FromRetryHandler(async retry =>
                {
                    await retry.OrchestrationContext.CreateTimer(TimeSpan.FromMinutes(retry.LastAttemptNumber), CancellationToken.None);
                    return retry.LastAttemptNumber < 3 && retry.LastFailure.IsCausedBy<TimeoutException>();
                })))
            .AddActivityFunc<object?, int>("Flaky", (_, _) => Interlocked.Increment(ref calls) < 3 ? throw new TimeoutException() : calls));

        var id = await ScheduleAsync(host, "Handled");
        await WaitForHistoryAsync(host, id, h => h.OfType<TimerCreatedEvent>().Count() == 1);
        host.Time.Advance(TimeSpan.FromMinutes(1));
        await WaitForHistoryAsync(host, id, h => h.OfType<TimerCreatedEvent>().Count() == 2);
        host.Time.Advance(TimeSpan.FromMinutes(2));

        Assert.Equal(3, (await DurableWait.CompletionAsync(host.Client, id)).ReadOutputAs<int>());
    }

    [Fact]
    public async Task Activity_failure_surfaces_as_TaskFailedException_with_details()
    {
        var host = await StartAsync(r => r
            .AddOrchestratorFunc<object?, string>("Catch", async (ctx, _) =>
            {
                try
                {
                    await ctx.CallActivityAsync("Throw");
                    return "no";
                }
                catch (TaskFailedException ex)
                {
                    return $"{ex.TaskName}|{ex.FailureDetails.IsCausedBy<InvalidOperationException>()}|{ex.FailureDetails.IsCausedBy<Exception>()}|{ex.FailureDetails.IsCausedBy<ArgumentException>()}|{ex.FailureDetails.ErrorMessage}|{ex.FailureDetails.InnerFailure?.ErrorMessage}";
                }
            })
            .AddOrchestratorFunc<object?, string>("Uncaught", async (ctx, _) => await ctx.CallActivityAsync<string>("Throw"))
            .AddActivityFunc<object?, string>("Throw", string (_, _) => throw new InvalidOperationException("outer", new FormatException("inner"))));

        var caught = await ScheduleAsync(host, "Catch");
        Assert.Equal("Throw|True|True|False|outer|inner", (await DurableWait.CompletionAsync(host.Client, caught)).ReadOutputAs<string>());

        var uncaught = await ScheduleAsync(host, "Uncaught");
        var failed = await DurableWait.CompletionAsync(host.Client, uncaught);
        Assert.Equal(OrchestrationRuntimeStatus.Failed, failed.RuntimeStatus);
        Assert.True(failed.FailureDetails!.IsCausedBy<TaskFailedException>(), failed.FailureDetails.ToString());
        Assert.Contains("outer", failed.FailureDetails.ErrorMessage, StringComparison.Ordinal);
    }

    [Fact]
    public async Task Sub_orchestration_returns_output_and_propagates_failure()
    {
        var host = await StartAsync(r => r
            .AddOrchestratorFunc<int, string>("Parent", async (ctx, n) =>
            {
                var ok = await ctx.CallSubOrchestratorAsync<int>("Child", n, new SubOrchestrationOptions { InstanceId = $"{ctx.InstanceId}-ok" });
                try
                {
                    await ctx.CallSubOrchestratorAsync<int>("Child", -1, new TaskOptions().WithInstanceId($"{ctx.InstanceId}-bad"));
                    return "no";
                }
                catch (TaskFailedException ex)
                {
                    return $"{ok}|{ex.FailureDetails.IsCausedBy<TaskFailedException>()}|{ex.FailureDetails.ErrorMessage}";
                }
            })
            .AddOrchestratorFunc<int, string>("ParentUncaught", async (ctx, _) => await ctx.CallSubOrchestratorAsync<string>("Child", -1))
            .AddOrchestratorFunc<int, int>("Child", async (ctx, n) =>
                ctx.Parent is null ? -100 : await ctx.CallActivityAsync<int>("Square", n))
            .AddActivityFunc<int, int>("Square", (_, n) => n >= 0 ? n * n : throw new ArgumentOutOfRangeException(nameof(n), "negative")));

        var id = await ScheduleAsync(host, "Parent", 6, "p1");
        var output = (await DurableWait.CompletionAsync(host.Client, id)).ReadOutputAs<string>();
        Assert.StartsWith("36|True|", output, StringComparison.Ordinal);
        Assert.Contains("negative", output, StringComparison.Ordinal);
        Assert.Equal(OrchestrationRuntimeStatus.Completed, (await host.Client.GetInstanceAsync("p1-ok"))!.RuntimeStatus);
        Assert.Equal("p1", (await host.Store.GetInstanceAsync("p1-ok", false, DurableWait.Token()))!.ParentInstanceId);
        Assert.Equal(OrchestrationRuntimeStatus.Failed, (await host.Client.GetInstanceAsync("p1-bad"))!.RuntimeStatus);

        var uncaught = await ScheduleAsync(host, "ParentUncaught", 0);
        var failed = await DurableWait.CompletionAsync(host.Client, uncaught);
        Assert.Equal(OrchestrationRuntimeStatus.Failed, failed.RuntimeStatus);
        Assert.True(failed.FailureDetails!.IsCausedBy<TaskFailedException>());
    }

    [Fact]
    public async Task Sub_orchestration_with_the_id_of_a_running_instance_fails_the_call()
    {
        var host = await StartAsync(r => r
            .AddOrchestratorFunc<object?, string>("Parent", async (ctx, _) =>
            {
                try
                {
                    await ctx.CallSubOrchestratorAsync("Waiter", null, new SubOrchestrationOptions { InstanceId = "busy" });
                    return "no";
                }
                catch (TaskFailedException ex)
                {
                    return ex.FailureDetails.IsCausedBy<DurableTask.Core.Exceptions.OrchestrationAlreadyExistsException>() ? "refused" : ex.FailureDetails.ToString();
                }
            })
            .AddOrchestratorFunc<object?, string>("Waiter", async (ctx, _) => await ctx.WaitForExternalEvent<string>("never")));

        await ScheduleAsync(host, "Waiter", instanceId: "busy");
        await host.Client.WaitForInstanceStartAsync("busy", DurableWait.Token());
        var id = await ScheduleAsync(host, "Parent");

        Assert.Equal("refused", (await DurableWait.CompletionAsync(host.Client, id)).ReadOutputAs<string>());
    }

    [Fact]
    public async Task ContinueAsNew_restarts_with_new_input_and_truncated_history()
    {
        var host = await StartAsync(r => r
            .AddOrchestratorFunc<int, int>("Counter", async (ctx, n) =>
            {
                var next = await ctx.CallActivityAsync<int>("Inc", n);
                ctx.SetCustomStatus(new { step = next });
                if (next < 5)
                {
                    ctx.ContinueAsNew(next);
                }

                return next;
            })
            .AddActivityFunc<int, int>("Inc", (_, n) => n + 1));

        var id = await ScheduleAsync(host, "Counter", 0);
        var done = await DurableWait.CompletionAsync(host.Client, id);

        Assert.Equal(5, done.ReadOutputAs<int>());
        Assert.Equal(4, done.ReadInputAs<int>());
        Assert.Contains("\"step\":5", done.SerializedCustomStatus, StringComparison.Ordinal);
        var history = await HistoryAsync(host, id);
        Assert.Single(history.OfType<TaskScheduledEvent>());
        Assert.Equal("4", history.OfType<ExecutionStartedEvent>().Single().Input);
    }

    [Fact]
    public async Task ContinueAsNew_carries_unprocessed_events_unless_told_not_to()
    {
        var host = await StartAsync(r => r.AddOrchestratorFunc<int, int>("Eternal", async (ctx, total) =>
        {
            var value = await ctx.WaitForExternalEvent<int>("Add");
            await ctx.CreateTimer(TimeSpan.FromSeconds(1), CancellationToken.None);
            if (total + value >= 6)
            {
                return total + value;
            }

            ctx.ContinueAsNew(total + value, preserveUnprocessedEvents: ctx.InstanceId.EndsWith("True", StringComparison.Ordinal));
            return 0;
        }));

        foreach (var preserve in new[] { true, false })
        {
            var id = await ScheduleAsync(host, "Eternal", 0, $"eternal-{preserve}");
            await host.Client.WaitForInstanceStartAsync(id, DurableWait.Token());
            await host.Client.RaiseEventAsync(id, "Add", 1);
            await WaitForHistoryAsync(host, id, h => h.OfType<TimerCreatedEvent>().Any());
            await host.Client.RaiseEventAsync(id, "Add", 2);
            await host.Client.RaiseEventAsync(id, "Add", 3);
            await WaitForHistoryAsync(host, id, h => h.OfType<EventRaisedEvent>().Count() == 3);
            host.Time.Advance(TimeSpan.FromSeconds(1));
            if (preserve)
            {
                await WaitForHistoryAsync(host, id, h => h.OfType<TimerCreatedEvent>().Any() && h.OfType<ExecutionStartedEvent>().Single().Input == "1");
                host.Time.Advance(TimeSpan.FromSeconds(1));
                await WaitForHistoryAsync(host, id, h => h.OfType<TimerCreatedEvent>().Any() && h.OfType<ExecutionStartedEvent>().Single().Input == "3");
                host.Time.Advance(TimeSpan.FromSeconds(1));
                Assert.Equal(6, (await DurableWait.CompletionAsync(host.Client, id)).ReadOutputAs<int>());
            }
            else
            {
                await WaitForHistoryAsync(host, id, h => h.OfType<ExecutionStartedEvent>().SingleOrDefault()?.Input == "1");
                await AssertStaysAsync(host, id, OrchestrationRuntimeStatus.Running);
                Assert.DoesNotContain((await HistoryAsync(host, id)).OfType<EventRaisedEvent>(), e => e.Name == "Add");
            }
        }
    }

    [Fact]
    public async Task Results_for_an_earlier_execution_never_reach_the_next_one()
    {
        using var fastDone = new SemaphoreSlim(0);
        var host = await StartAsync(r => r
            .AddOrchestratorFunc<int, string>("Generations", async (ctx, generation) =>
            {
                if (generation == 0)
                {
                    _ = ctx.CallActivityAsync<string>("Fast"); // task #0 of the first execution, not awaited
                    ctx.ContinueAsNew(1);
                    return "first";
                }

                return await ctx.CallActivityAsync<string>("Slow"); // task #0 of the second execution
            })
            .AddActivityFunc<object?, string>("Fast", (_, _) =>
            {
                fastDone.Release();
                return "fast";
            })
            .AddActivityFunc<object?, string>("Slow", async (_, _) =>
            {
                await fastDone.WaitAsync(DurableWait.Token());
                await Task.Delay(100); // let the first execution's result be recorded (and discarded) first
                return "slow";
            }));

        var id = await ScheduleAsync(host, "Generations", 0);

        Assert.Equal("slow", (await DurableWait.CompletionAsync(host.Client, id)).ReadOutputAs<string>());
    }

    [Fact]
    public async Task Replays_see_the_same_time_and_guids_and_IsReplaying_marks_the_replayed_steps()
    {
        var host = await StartAsync(r => r
            .AddOrchestratorFunc<object?, string>("Replayed", async (ctx, _) =>
            {
                // The standalone SDK worker replays the whole history each episode: step 0 is replayed in 3 later
                // episodes, step 1 in 2, step 2 in 1 — what the backend hands out as past and new events decides it.
                var replays = 0;
                var guids = new List<Guid>();
                var times = new List<DateTime>();
                for (var i = 0; i < 3; i++)
                {
                    replays += ctx.IsReplaying ? 1 : 0;
                    guids.Add(ctx.NewGuid());
                    times.Add(ctx.CurrentUtcDateTime);
                    await ctx.CallActivityAsync<string>("Echo", $"{guids[^1]}@{times[^1]:O}");
                }

                return $"{replays}|{string.Join(",", guids.Zip(times, (g, t) => $"{g}@{t:O}"))}";
            })
            .AddActivityFunc<string, string>("Echo", (_, s) => s));

        var id = await ScheduleAsync(host, "Replayed");
        var parts = (await DurableWait.CompletionAsync(host.Client, id)).ReadOutputAs<string>()!.Split('|');

        Assert.Equal("3", parts[0]);
        var steps = parts[1].Split(',');
        Assert.Equal(3, steps.Select(s => s.Split('@')[0]).Distinct().Count());

        // What each step scheduled when it first ran is what its last replay computed again.
        var scheduled = (await HistoryAsync(host, id)).OfType<TaskScheduledEvent>().Select(e => e.Input).ToList();
        Assert.Equal(steps.Length, scheduled.Count);
        Assert.All(steps.Zip(scheduled), pair => Assert.Contains($"\"{pair.First}\"", pair.Second, StringComparison.Ordinal));
    }

    [Fact]
    public async Task Custom_status_is_visible_while_running()
    {
        var host = await StartAsync(r => r.AddOrchestratorFunc<object?, string>("Status", async (ctx, _) =>
        {
            ctx.SetCustomStatus(new { phase = "waiting" });
            await ctx.WaitForExternalEvent<string>("Go");
            ctx.SetCustomStatus("done");
            return "ok";
        }));

        var id = await ScheduleAsync(host, "Status");
        await DurableWait.UntilAsync(async () => (await host.Client.GetInstanceAsync(id, getInputsAndOutputs: true))?.SerializedCustomStatus is not null, "the custom status is set");
        var running = await host.Client.GetInstanceAsync(id, getInputsAndOutputs: true);
        Assert.Equal("{\"phase\":\"waiting\"}", running!.SerializedCustomStatus);
        var withoutPayloads = await host.Client.GetInstanceAsync(id);
        Assert.Throws<InvalidOperationException>(() => withoutPayloads!.ReadCustomStatusAs<string>());

        await host.Client.RaiseEventAsync(id, "Go", "now");
        Assert.Equal("done", (await DurableWait.CompletionAsync(host.Client, id)).ReadCustomStatusAs<string>());
    }

    [Fact]
    public async Task Fan_out_and_fan_in_over_many_activities()
    {
        var host = await StartAsync(r => r
            .AddOrchestratorFunc<int, long>("FanOut", async (ctx, n) =>
            {
                var results = await Task.WhenAll(Enumerable.Range(1, n).Select(i => ctx.CallActivityAsync<long>("Square", i)));
                return results.Sum();
            })
            .AddActivityFunc<int, long>("Square", (_, i) => (long)i * i));

        var id = await ScheduleAsync(host, "FanOut", 300);

        Assert.Equal(Enumerable.Range(1, 300).Sum(i => (long)i * i), (await DurableWait.CompletionAsync(host.Client, id)).ReadOutputAs<long>());
    }

    [Fact]
    public async Task Unregistered_orchestrator_or_activity_fails_naming_it()
    {
        var host = await StartAsync(r => r.AddOrchestratorFunc<object?, string>("CallsMissing", async (ctx, _) =>
            await ctx.CallActivityAsync<string>("Missing")));

        var missingOrchestrator = await ScheduleAsync(host, "NoSuchOrchestrator");
        var failed = await DurableWait.CompletionAsync(host.Client, missingOrchestrator);
        Assert.Equal(OrchestrationRuntimeStatus.Failed, failed.RuntimeStatus);
        Assert.Contains("NoSuchOrchestrator", failed.FailureDetails!.ErrorMessage, StringComparison.Ordinal);

        var missingActivity = await ScheduleAsync(host, "CallsMissing");
        failed = await DurableWait.CompletionAsync(host.Client, missingActivity);
        Assert.Equal(OrchestrationRuntimeStatus.Failed, failed.RuntimeStatus);
        Assert.Contains("Missing", failed.FailureDetails!.ToString(), StringComparison.Ordinal);
    }
}
