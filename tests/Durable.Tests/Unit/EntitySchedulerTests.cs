using Fleet.Durable.Grpc;
using Fleet.Durable.Storage;
using P = Microsoft.DurableTask.Protobuf;

namespace Fleet.Durable.Tests.Unit;

/// <summary>The entity scheduler's rules and the conversion of DurableTask.Core's entity requests, without a store or worker.</summary>
public sealed class EntitySchedulerTests
{
    private static readonly DateTimeOffset Now = new(2025, 3, 1, 12, 0, 0, TimeSpan.Zero);

    [Fact]
    public void While_locked_only_the_holder_runs_and_its_release_lets_the_others_run_in_order()
    {
        var scheduler = new EntitySchedulerState { LockedBy = "orch-a" };
        var work = scheduler.TakeWork([Signal("s1"), Call("c1", "orch-b"), Call("c2", "orch-a")]);
        Assert.Equal(["c2"], work.Operations.Select(Id));
        Assert.Equal(2, scheduler.Queue.Count);

        // A release from another orchestration changes nothing; the holder's frees the lock.
        Assert.Empty(scheduler.TakeWork([Unlock("orch-b")]).Operations);
        work = scheduler.TakeWork([Unlock("orch-a"), Signal("s2")]);
        Assert.Null(scheduler.LockedBy);
        Assert.Equal(["s1", "c1", "s2"], work.Operations.Select(Id));
        Assert.True(scheduler.IsIdle);
    }

    [Fact]
    public void A_batch_stops_at_a_lock_request_and_what_follows_waits_for_the_new_holder()
    {
        var scheduler = new EntitySchedulerState();
        var work = scheduler.TakeWork([Signal("s1"), Lock("cs", "orch-a", "@counter@x", "@counter@y"), Signal("s2")]);
        Assert.Equal(["s1"], work.Operations.Select(Id));
        Assert.Equal("cs", work.LockRequest!.EntityLockRequested.CriticalSectionId);

        var row = Row(scheduler);
        var commit = EntityBatchCommit.Build(Item(3), row, scheduler, work, Results(1), Now, () => "exec");
        Assert.Equal("orch-a", scheduler.LockedBy);
        var forwarded = Assert.Single(commit.Messages);
        Assert.Equal("@counter@y", forwarded.InstanceId);
        Assert.Equal("counter", forwarded.EntityName);
        Assert.Equal(1, ProtoCodec.DecodeEvent(forwarded.Data, "m").EntityLockRequested.Position);
        Assert.Equal(row.HistoryCount + 1, commit.Instance!.HistoryCount);
        Assert.Equal(3, commit.ConsumedMessageIds.Count);

        var reread = EntitySchedulerState.Parse(commit.Instance.CustomStatus, row.InstanceId);
        Assert.Equal("orch-a", reread.LockedBy);
        Assert.Equal(["s2"], reread.Queue.Select(Id));
    }

    [Fact]
    public void Operations_the_worker_left_undone_go_back_to_the_head_of_the_queue_and_callers_get_answers()
    {
        var scheduler = new EntitySchedulerState();
        var work = scheduler.TakeWork([Call("c1", "orch-a"), Call("c2", "orch-a"), Lock("cs", "orch-b", "@counter@x")]);
        var commit = EntityBatchCommit.Build(Item(3), Row(scheduler), scheduler, work, Results(1), Now, () => "exec");
        var reply = Assert.Single(commit.Messages);
        Assert.Equal("orch-a", reply.InstanceId);
        Assert.True(reply.OnlyIfRunning);
        Assert.Equal("c1", ProtoCodec.DecodeEvent(reply.Data, "m").EntityOperationCompleted.RequestId);
        Assert.Null(scheduler.LockedBy);
        Assert.Equal(["c2", "cs"], scheduler.Queue.Select(Id));
        Assert.Equal("5", commit.Instance!.Output);
    }

    [Fact]
    public void DurableTask_core_requests_sent_as_events_become_entity_messages()
    {
        var call = EntityMessages.FromLegacy(Send("op", """{"op":"Add","input":"2","id":"7d1a","parent":"orch-a","parentExecution":"e1"}"""), "orch-a", "e1", Now);
        var called = ProtoCodec.DecodeEvent(call.Data, "m").EntityOperationCalled;
        Assert.Equal(("Add", "2", "orch-a", "e1"), (called.Operation, called.Input, called.ParentInstanceId, called.ParentExecutionId));
        Assert.Equal("counter", call.EntityName);

        var due = Now.AddMinutes(5);
        var signal = EntityMessages.FromLegacy(Send($"op@{due.UtcDateTime:o}", $$"""{"op":"Add","signal":true,"id":"9","due":"{{due.UtcDateTime:o}}"}"""), "orch-a", "e1", Now);
        Assert.Equal(due, signal.VisibleAt);

        var locking = EntityMessages.FromLegacy(Send("op", """{"op":null,"id":"cs","parent":"orch-a","lockset":[{"name":"counter","key":"x"},{"name":"counter","key":"y"}],"pos":0}"""), "orch-a", "e1", Now);
        Assert.Equal(["@counter@x", "@counter@y"], ProtoCodec.DecodeEvent(locking.Data, "m").EntityLockRequested.LockSet);

        var release = EntityMessages.FromLegacy(Send("release", """{"parent":"orch-a","id":"cs"}"""), "orch-a", "e1", Now);
        Assert.Equal("orch-a", ProtoCodec.DecodeEvent(release.Data, "m").EntityUnlockSent.ParentInstanceId);

        var bad = Assert.Throws<InvalidDataException>(() => EntityMessages.FromLegacy(Send("op", "{not json"), "orch-a", "e1", Now));
        Assert.Contains("orch-a", bad.Message, StringComparison.Ordinal);
        Assert.False(EntityRows.IsEntity("@noname"));
        Assert.Equal("counter", EntityRows.NameOf("@counter@with@at"));
    }

    private static P.SendEventAction Send(string name, string data) =>
        new() { Instance = new P.OrchestrationInstance { InstanceId = "@counter@x" }, Name = name, Data = data };

    private static P.HistoryEvent Signal(string id) =>
        new() { EntityOperationSignaled = new P.EntityOperationSignaledEvent { RequestId = id, Operation = "Add" } };

    private static P.HistoryEvent Call(string id, string parent) =>
        new() { EntityOperationCalled = new P.EntityOperationCalledEvent { RequestId = id, Operation = "Get", ParentInstanceId = parent } };

    private static P.HistoryEvent Unlock(string parent) =>
        new() { EntityUnlockSent = new P.EntityUnlockSentEvent { CriticalSectionId = "cs", ParentInstanceId = parent } };

    private static P.HistoryEvent Lock(string criticalSection, string parent, params string[] lockSet) =>
        new() { EntityLockRequested = new P.EntityLockRequestedEvent { CriticalSectionId = criticalSection, ParentInstanceId = parent, LockSet = { lockSet } } };

    private static string Id(P.HistoryEvent e) =>
        e.EntityOperationSignaled?.RequestId ?? e.EntityOperationCalled?.RequestId ?? e.EntityLockRequested?.CriticalSectionId ?? "?";

    private static P.EntityBatchResult Results(int count)
    {
        var result = new P.EntityBatchResult { EntityState = "5" };
        result.Results.Add(Enumerable.Range(0, count).Select(_ => new P.OperationResult { Success = new P.OperationResultSuccess { Result = "5" } }));
        return result;
    }

    private static OrchestrationWorkItem Item(int messages) => new()
    {
        InstanceId = "@counter@x",
        Messages = Enumerable.Range(1, messages).Select(i => new StoredMessage(i, null, string.Empty, 0)).ToList(),
        LockToken = "1",
    };

    private static InstanceRecord Row(EntitySchedulerState scheduler) => new()
    {
        InstanceId = "@counter@x",
        ExecutionId = EntityRows.ExecutionId,
        Name = "counter",
        Status = InstanceStatus.Running,
        CreatedAt = Now,
        LastUpdatedAt = Now,
        HistoryCount = 4,
        CustomStatus = scheduler.Serialize(),
    };
}
