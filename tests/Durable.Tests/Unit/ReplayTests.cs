using Fleet.Durable.Client;
using Fleet.Durable.History;
using Fleet.Durable.Runtime;
using Microsoft.Extensions.Logging.Abstractions;

namespace Fleet.Durable.Tests.Unit;

/// <summary>The replay executor against recorded histories: matching, non-determinism detection, suspension.</summary>
public sealed class ReplayTests
{
    private static readonly DateTime T0 = new(2026, 1, 1, 0, 0, 0, DateTimeKind.Utc);

    [Fact]
    public void Replay_of_a_matching_history_resumes_where_it_left_off()
    {
        var replayFlags = new List<bool>();
        var executor = Create(async ctx =>
        {
            replayFlags.Add(ctx.IsReplaying);
            var a = await ctx.CallActivityAsync<string>("A", "1");
            replayFlags.Add(ctx.IsReplaying);
            var b = await ctx.CallActivityAsync<string>("B", a);
            replayFlags.Add(ctx.IsReplaying);
            return b;
        });

        executor.Replay(
        [
            new OrchestratorStartedEvent(T0),
            Started(),
            new TaskScheduledEvent(0, T0, "A", "\"1\""),
            new OrchestratorStartedEvent(T0.AddSeconds(1)),
            new TaskCompletedEvent(T0.AddSeconds(1), 0, "\"a\""),
            new TaskScheduledEvent(1, T0.AddSeconds(1), "B", "\"a\""),
        ]);
        var result = executor.RunEpisode([new TaskCompletedEvent(T0.AddSeconds(2), 1, "\"b\"")], T0.AddSeconds(2));

        Assert.Equal(OrchestrationRuntimeStatus.Completed, result.Status);
        Assert.Equal("\"b\"", result.Output);
        Assert.Empty(result.Actions);
        Assert.Equal([true, true, false], replayFlags);
        Assert.Equal(
            [HistoryEventType.OrchestratorStarted, HistoryEventType.TaskCompleted, HistoryEventType.ExecutionCompleted],
            result.NewHistory.Select(e => e.EventType));
    }

    [Fact]
    public void A_different_activity_name_fails_with_both_sides_named()
    {
        var executor = Create(async ctx => await ctx.CallActivityAsync<string>("Renamed"));
        executor.Replay([new OrchestratorStartedEvent(T0), Started(), new TaskScheduledEvent(0, T0, "Original", null)]);

        var result = executor.RunEpisode([new TaskCompletedEvent(T0, 0, "\"x\"")], T0.AddSeconds(1));

        Assert.Equal(OrchestrationRuntimeStatus.Failed, result.Status);
        Assert.True(result.Failure!.IsCausedBy<NonDeterministicOrchestrationException>());
        Assert.Contains("TaskScheduled #0 'Original'", result.Failure.ErrorMessage, StringComparison.Ordinal);
        Assert.Contains("CallActivity #0 'Renamed'", result.Failure.ErrorMessage, StringComparison.Ordinal);
        Assert.Contains("(instance 'i1')", result.Failure.ErrorMessage, StringComparison.Ordinal);
    }

    [Fact]
    public void A_different_kind_of_action_fails()
    {
        var executor = Create(async ctx =>
        {
            await ctx.CallActivityAsync("A");
            return "x";
        });
        executor.Replay([new OrchestratorStartedEvent(T0), Started(), new TimerCreatedEvent(0, T0, T0.AddHours(1))]);

        var result = executor.RunEpisode([new TimerFiredEvent(T0.AddHours(1), 0, T0.AddHours(1))], T0.AddHours(1));

        Assert.Equal(OrchestrationRuntimeStatus.Failed, result.Status);
        Assert.Contains("TimerCreated #0", result.Failure!.ErrorMessage, StringComparison.Ordinal);
        Assert.Contains("CallActivity #0 'A'", result.Failure.ErrorMessage, StringComparison.Ordinal);
    }

    [Fact]
    public void A_recorded_action_the_code_no_longer_takes_fails()
    {
        var executor = Create(ctx => Task.FromResult("done early"));
        executor.Replay([new OrchestratorStartedEvent(T0), Started(), new SubOrchestrationInstanceCreatedEvent(0, T0, "Child", "c1", null)]);

        var result = executor.RunEpisode([new SubOrchestrationInstanceCompletedEvent(T0, 0, "1")], T0);

        Assert.Equal(OrchestrationRuntimeStatus.Failed, result.Status);
        Assert.Contains("SubOrchestrationInstanceCreated #0 'Child' (instance 'c1')", result.Failure!.ErrorMessage, StringComparison.Ordinal);
        Assert.Contains("took no action with sequence ID #0", result.Failure.ErrorMessage, StringComparison.Ordinal);
    }

    [Fact]
    public void Adding_a_step_after_the_recorded_ones_is_allowed()
    {
        var executor = Create(async ctx =>
        {
            var a = await ctx.CallActivityAsync<string>("A");
            return a + await ctx.CallActivityAsync<string>("AddedLater");
        });
        executor.Replay(
        [
            new OrchestratorStartedEvent(T0), Started(), new TaskScheduledEvent(0, T0, "A", null),
            new OrchestratorStartedEvent(T0), new TaskCompletedEvent(T0, 0, "\"a\""),
        ]);

        var result = executor.RunEpisode([], T0.AddSeconds(1));

        Assert.Equal(OrchestrationRuntimeStatus.Running, result.Status);
        var action = Assert.IsType<ScheduleTaskAction>(Assert.Single(result.Actions));
        Assert.Equal((1, "AddedLater"), (action.Id, action.Name));
    }

    [Fact]
    public void Event_sent_to_another_instance_is_matched_by_target()
    {
        var executor = Create(ctx =>
        {
            ctx.SendEvent("elsewhere", "Ping", 1);
            return Task.FromResult("sent");
        });
        executor.Replay([new OrchestratorStartedEvent(T0), Started(), new EventSentEvent(0, T0, "original-target", "Ping", "1")]);

        var result = executor.RunEpisode([new EventRaisedEvent(T0, "x", null)], T0);

        Assert.Equal(OrchestrationRuntimeStatus.Failed, result.Status);
        Assert.Contains("EventSent #0 'Ping' to 'original-target'", result.Failure!.ErrorMessage, StringComparison.Ordinal);
        Assert.Contains("SendEvent #0 'Ping' to 'elsewhere'", result.Failure.ErrorMessage, StringComparison.Ordinal);
    }

    [Fact]
    public void Current_time_follows_the_recorded_episode_timestamps()
    {
        var seen = new List<DateTime>();
        var executor = Create(async ctx =>
        {
            seen.Add(ctx.CurrentUtcDateTime);
            await ctx.CreateTimer(TimeSpan.FromMinutes(1), CancellationToken.None);
            seen.Add(ctx.CurrentUtcDateTime);
            await ctx.CreateTimer(TimeSpan.FromMinutes(1), CancellationToken.None);
            seen.Add(ctx.CurrentUtcDateTime);
            return "ok";
        });
        executor.Replay(
        [
            new OrchestratorStartedEvent(T0), Started(), new TimerCreatedEvent(0, T0, T0.AddMinutes(1)),
            new OrchestratorStartedEvent(T0.AddMinutes(1.5)), new TimerFiredEvent(T0.AddMinutes(1), 0, T0.AddMinutes(1)),
            new TimerCreatedEvent(1, T0.AddMinutes(1.5), T0.AddMinutes(2.5)),
        ]);

        var result = executor.RunEpisode([new TimerFiredEvent(T0.AddMinutes(2.5), 1, T0.AddMinutes(2.5))], T0.AddMinutes(3));

        Assert.Equal(OrchestrationRuntimeStatus.Completed, result.Status);
        Assert.Equal([T0, T0.AddMinutes(1.5), T0.AddMinutes(3)], seen);
    }

    [Fact]
    public void Events_recorded_while_suspended_are_delivered_on_resume_in_replay_too()
    {
        var executor = Create(async ctx => await ctx.WaitForExternalEvent<string>("E") + await ctx.WaitForExternalEvent<string>("E"));
        executor.Replay(
        [
            new OrchestratorStartedEvent(T0), Started(),
            new OrchestratorStartedEvent(T0), new ExecutionSuspendedEvent(T0, "pause"), new EventRaisedEvent(T0, "E", "\"a\""),
        ]);

        var stillSuspended = executor.RunEpisode([new EventRaisedEvent(T0, "E", "\"b\"")], T0);
        Assert.Equal(OrchestrationRuntimeStatus.Suspended, stillSuspended.Status);
        executor.OnCommitted(stillSuspended.NewHistory.Count);

        var resumed = executor.RunEpisode([new ExecutionResumedEvent(T0, "go")], T0);
        Assert.Equal(OrchestrationRuntimeStatus.Completed, resumed.Status);
        Assert.Equal("\"ab\"", resumed.Output);
    }

    [Fact]
    public void Terminate_ends_the_execution_without_emitting_new_work()
    {
        var executor = Create(async ctx => await ctx.CallActivityAsync<string>("A"));
        var result = executor.RunEpisode([Started(), new ExecutionTerminatedEvent(T0, "\"stop\"", Recursive: true)], T0);

        Assert.Equal(OrchestrationRuntimeStatus.Terminated, result.Status);
        Assert.Equal("\"stop\"", result.Output);
        Assert.True(result.RecursiveTerminate);
        Assert.Empty(result.Actions);
    }

    [Fact]
    public void Waiting_on_nothing_durable_fails_the_execution()
    {
        var never = new TaskCompletionSource<string>();
        var executor = Create(async _ => await never.Task);

        var result = executor.RunEpisode([Started()], T0);

        Assert.Equal(OrchestrationRuntimeStatus.Failed, result.Status);
        Assert.True(result.Failure!.IsCausedBy<OrchestrationDeterminismException>());
    }

    private static ExecutionStartedEvent Started() => new(T0, "Test", "exec-1", null);

    private static OrchestrationExecutor Create(Func<TaskOrchestrationContext, Task<string>> body) =>
        new("i1", Started(), new Orchestrator(body), new PayloadSerializer(JsonDataConverter.Default, 1 << 20), NullLoggerFactory.Instance);

    private sealed class Orchestrator(Func<TaskOrchestrationContext, Task<string>> body) : TaskOrchestrator<object?, string>
    {
        public override Task<string> RunAsync(TaskOrchestrationContext context, object? input) => body(context);
    }
}
