using Microsoft.DurableTask;
using Microsoft.DurableTask.Entities;

namespace Fleet.SidecarTests;

/// <summary>A counter entity: state = the count.</summary>
public sealed class Counter : TaskEntity<int>
{
    public int Add(int amount) => State += amount;

    public int Get() => State;

    public void Set(int value) => State = value;

    public void Fail(string message) => throw new InvalidOperationException(message);

    /// <summary>Signals Add(amount) to the counter named by <paramref name="target"/> (entity to entity).</summary>
    public void Forward(Forwarding target) => Context.SignalEntity(new EntityInstanceId(nameof(Counter), target.Key), nameof(Add), target.Amount);

    /// <summary>Starts the "Hello" orchestration with the instance ID given.</summary>
    public void StartHello(string instanceId) =>
        Context.ScheduleNewOrchestration("Hello", "from-entity", new StartOrchestrationOptions(instanceId));
}

public sealed record Forwarding(string Key, int Amount);

/// <summary>The entities and orchestrations of the entity tests on the real SDK worker.</summary>
public static class SidecarEntities
{
    private static int _flakyFactoryFailures;
    private static int _blockingStarts;

    /// <summary>Factory failures left for "flaky" entities (below 0 once all happened): a failing factory fails the whole batch in the worker.</summary>
    public static int FlakyFactoryFailures
    {
        get => Volatile.Read(ref _flakyFactoryFailures);
        set => Volatile.Write(ref _flakyFactoryFailures, value);
    }

    /// <summary>How often a "blocking" entity's operation started.</summary>
    public static int BlockingStarts
    {
        get => Volatile.Read(ref _blockingStarts);
        set => Volatile.Write(ref _blockingStarts, value);
    }

    /// <summary>The gate a "blocking" entity's operation waits at.</summary>
    public static TaskCompletionSource Block { get; set; } = new(TaskCreationOptions.RunContinuationsAsynchronously);

    public static void Register(DurableTaskRegistry r)
    {
        r.AddEntity<Counter>(nameof(Counter));
        r.AddEntity("Flaky", _ => Interlocked.Decrement(ref _flakyFactoryFailures) >= 0
            ? throw new InvalidOperationException("flaky factory")
            : new Counter());
        r.AddEntity("Blocking", _ => new BlockingCounter());
        r.AddEntity("Broken", _ => throw new InvalidOperationException("broken factory"));
        r.AddOrchestratorFunc<string, string>("CallBroken", async (ctx, key) =>
        {
            try
            {
                return $"ok {await ctx.Entities.CallEntityAsync<int>(new EntityInstanceId("Broken", key), nameof(Counter.Add), 1)}";
            }
            catch (EntityOperationFailedException ex)
            {
                return $"{ex.FailureDetails.ErrorType}|{ex.FailureDetails.ErrorMessage}";
            }
        });

        r.AddOrchestratorFunc<string, int>("CountTo7", async (ctx, key) =>
        {
            var id = new EntityInstanceId(nameof(Counter), key);
            await ctx.Entities.SignalEntityAsync(id, nameof(Counter.Add), 5);
            await ctx.Entities.CallEntityAsync<int>(id, nameof(Counter.Add), 2);
            return await ctx.Entities.CallEntityAsync<int>(id, nameof(Counter.Get));
        });
        r.AddOrchestratorFunc<string, string>("CallFailing", async (ctx, key) =>
        {
            try
            {
                await ctx.Entities.CallEntityAsync(new EntityInstanceId(nameof(Counter), key), nameof(Counter.Fail), "entity says no");
                return "no failure";
            }
            catch (EntityOperationFailedException ex)
            {
                return $"{ex.FailureDetails.ErrorType}|{ex.FailureDetails.ErrorMessage}";
            }
        });
        r.AddOrchestratorFunc<string[], int>("IncrementBothLocked", async (ctx, keys) =>
        {
            // Read-modify-write of two counters: only a critical section keeps concurrent orchestrations from losing updates.
            var a = new EntityInstanceId(nameof(Counter), keys[0]);
            var b = new EntityInstanceId(nameof(Counter), keys[1]);
            await using (await ctx.Entities.LockEntitiesAsync(a, b))
            {
                if (!ctx.Entities.InCriticalSection(out var locked) || locked.Count != 2)
                {
                    throw new InvalidOperationException("not in a critical section over both entities");
                }

                var va = await ctx.Entities.CallEntityAsync<int>(a, nameof(Counter.Get));
                var vb = await ctx.Entities.CallEntityAsync<int>(b, nameof(Counter.Get));
                await ctx.Entities.CallEntityAsync(a, nameof(Counter.Set), va + 1);
                await ctx.Entities.CallEntityAsync(b, nameof(Counter.Set), vb + 1);
                return va + vb + 2;
            }
        });
        r.AddOrchestratorFunc<string, string>("LockThenFail", async (ctx, key) =>
        {
            await using (await ctx.Entities.LockEntitiesAsync(new EntityInstanceId(nameof(Counter), key)))
            {
                throw new InvalidOperationException("failed inside the critical section");
            }
        });
        r.AddOrchestratorFunc<string, string>("LockThenWait", async (ctx, key) =>
        {
            await using (await ctx.Entities.LockEntitiesAsync(new EntityInstanceId(nameof(Counter), key)))
            {
                return await ctx.WaitForExternalEvent<string>("go");
            }
        });
    }

    /// <summary>A counter whose Add waits at <see cref="Block"/> (a worker that hangs mid-batch).</summary>
    private sealed class BlockingCounter : TaskEntity<int>
    {
        public async Task<int> Add(int amount)
        {
            Interlocked.Increment(ref _blockingStarts);
            await Block.Task;
            return State += amount;
        }

        public int Get() => State;
    }
}
