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

    /// <summary>The entity function.</summary>
    [Function(nameof(Counter))]
    public static Task Dispatch([EntityTrigger] TaskEntityDispatcher dispatcher) => dispatcher.DispatchAsync<Counter>();
}

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
}
