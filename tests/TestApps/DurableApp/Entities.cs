using Microsoft.Azure.Functions.Worker;
using Microsoft.DurableTask;
using Microsoft.DurableTask.Entities;

namespace DurableApp;

/// <summary>A counter entity (class-based, state = the count).</summary>
public sealed class Counter : TaskEntity<int>
{
    /// <summary>Adds <paramref name="amount"/>; returns the new count.</summary>
    public int Add(int amount) => State += amount;

    /// <summary>The count.</summary>
    public int Get() => State;

    /// <summary>Back to zero.</summary>
    public void Reset() => State = 0;

    /// <summary>Sets the count.</summary>
    public void Set(int value) => State = value;

    /// <summary>Always fails: the caller sees the exception as an entity operation failure.</summary>
    [System.Diagnostics.CodeAnalysis.SuppressMessage("Performance", "CA1822", Justification = "The SDK dispatches entity operations to instance methods only.")]
    public void Fail(string message) => throw new InvalidOperationException(message);

    /// <summary>Signals Add(amount) to another counter (entity to entity).</summary>
    public void Forward(Forwarding target) => Context.SignalEntity(new EntityInstanceId(nameof(Counter), target.Key), nameof(Add), target.Amount);

    /// <summary>Starts the Chain orchestration (input 1) with the instance ID given.</summary>
    public void StartChain(string instanceId) => Context.ScheduleNewOrchestration(nameof(Scenarios.Chain), 1, new StartOrchestrationOptions(instanceId));

    /// <summary>The entity function.</summary>
    [Function(nameof(Counter))]
    public static Task Dispatch([EntityTrigger] TaskEntityDispatcher dispatcher) => dispatcher.DispatchAsync<Counter>();
}

/// <summary>Where <see cref="Counter.Forward"/> sends, and how much.</summary>
/// <param name="Key">The other counter's key.</param>
/// <param name="Amount">What to add.</param>
public sealed record Forwarding(string Key, int Amount);

/// <summary>Orchestrations that use the counter.</summary>
public static class CounterOrchestrations
{
    /// <summary>Signals Add(5), calls Add(2), then returns Get() of counter @key (input).</summary>
    [Function(nameof(CountTo7))]
    public static async Task<int> CountTo7([OrchestrationTrigger] TaskOrchestrationContext context, string key)
    {
        var id = new EntityInstanceId(nameof(Counter), key);
        await context.Entities.SignalEntityAsync(id, nameof(Counter.Add), 5);
        await context.Entities.CallEntityAsync<int>(id, nameof(Counter.Add), 2);
        return await context.Entities.CallEntityAsync<int>(id, nameof(Counter.Get));
    }

    /// <summary>Calls Fail on counter @key and returns the failure it saw ("type|message").</summary>
    [Function(nameof(CallFailingCounter))]
    public static async Task<string> CallFailingCounter([OrchestrationTrigger] TaskOrchestrationContext context, string key)
    {
        try
        {
            await context.Entities.CallEntityAsync(new EntityInstanceId(nameof(Counter), key), nameof(Counter.Fail), "counter says no");
            return "no failure";
        }
        catch (EntityOperationFailedException ex)
        {
            return $"{ex.FailureDetails.ErrorType}|{ex.FailureDetails.ErrorMessage}";
        }
    }

    /// <summary>Read-modify-write of two counters in a critical section; returns the sum after.</summary>
    [Function(nameof(IncrementBothLocked))]
    public static async Task<int> IncrementBothLocked([OrchestrationTrigger] TaskOrchestrationContext context, string[] keys)
    {
        var a = new EntityInstanceId(nameof(Counter), keys[0]);
        var b = new EntityInstanceId(nameof(Counter), keys[1]);
        await using (await context.Entities.LockEntitiesAsync(a, b))
        {
            var va = await context.Entities.CallEntityAsync<int>(a, nameof(Counter.Get));
            var vb = await context.Entities.CallEntityAsync<int>(b, nameof(Counter.Get));
            await context.Entities.CallEntityAsync(a, nameof(Counter.Set), va + 1);
            await context.Entities.CallEntityAsync(b, nameof(Counter.Set), vb + 1);
            return va + vb + 2;
        }
    }

    /// <summary>Locks counter @key and fails inside the critical section.</summary>
    [Function(nameof(LockThenFail))]
    public static async Task LockThenFail([OrchestrationTrigger] TaskOrchestrationContext context, string key)
    {
        await using (await context.Entities.LockEntitiesAsync(new EntityInstanceId(nameof(Counter), key)))
        {
            throw new InvalidOperationException("failed inside the critical section");
        }
    }
}
