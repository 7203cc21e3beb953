using System.Net;
using System.Text.Json.Nodes;
using Microsoft.DurableTask.Client;
using Microsoft.DurableTask.Client.Entities;
using Microsoft.DurableTask.Entities;
using OrchestrationRuntimeStatus = Microsoft.DurableTask.Client.OrchestrationRuntimeStatus;

namespace Fleet.Hosting.Tests.Local;

/// <summary>
/// Durable entities through the local host and the real worker: DurableApp's Counter (a <c>TaskEntity&lt;int&gt;</c> behind
/// an entityTrigger function) driven by the SDK client and by orchestrations in the worker.
/// </summary>
public sealed partial class DurableFunctionsTests
{
    private static EntityInstanceId NewCounter() => new("Counter", "k" + Guid.NewGuid().ToString("N")[..10]);

    [Fact]
    public async Task Signals_reach_the_counter_and_queries_list_it_until_it_is_deleted()
    {
        using var cts = new CancellationTokenSource(Timeout);
        var id = NewCounter();
        await Client.Entities.SignalEntityAsync(id, "Add", 3, cancellation: cts.Token);
        await Client.Entities.SignalEntityAsync(id, "Add", 4, cancellation: cts.Token);
        await WaitForCounterAsync(id, 7, cts.Token);
        var withoutState = await Client.Entities.GetEntityAsync(id, includeState: false, cts.Token);
        Assert.False(withoutState!.IncludesState);

        var query = new EntityQuery { InstanceIdStartsWith = id.ToString() };
        var listed = await Client.Entities.GetAllEntitiesAsync<int>(query).ToListAsync(cts.Token);
        Assert.Equal(7, Assert.Single(listed).State);

        // The management API's instance list, like the SDK's, lists orchestrations only.
        using var response = await Http.GetAsync($"runtime/webhooks/durabletask/instances?top=1000&{Query}", cts.Token);
        Assert.Equal(HttpStatusCode.OK, response.StatusCode);
        Assert.DoesNotContain(JsonNode.Parse(await response.Content.ReadAsStringAsync(cts.Token))!.AsArray(), i => i!["instanceId"]!.GetValue<string>().StartsWith('@'));

        await Client.Entities.SignalEntityAsync(id, "delete", cancellation: cts.Token);
        await WaitUntilAsync(async () => await Client.Entities.GetEntityAsync(id, cancellation: cts.Token) is null, cts.Token);
        Assert.Empty(await Client.Entities.GetAllEntitiesAsync(query).ToListAsync(cts.Token));
    }

    [Fact]
    public async Task Orchestrations_in_the_worker_signal_and_call_the_counter_and_see_its_failures()
    {
        var counted = await RunAsync("CountTo7", NewCounter().Key);
        Assert.Equal(OrchestrationRuntimeStatus.Completed, counted.RuntimeStatus);
        Assert.Equal(7, counted.ReadOutputAs<int>());

        var failing = await RunAsync("CallFailingCounter", NewCounter().Key);
        Assert.Equal("System.InvalidOperationException|counter says no", failing.ReadOutputAs<string>());
    }

    [Fact]
    public async Task Critical_sections_in_the_worker_serialise_and_a_failing_holder_releases_its_locks()
    {
        using var cts = new CancellationTokenSource(Timeout);
        var a = NewCounter();
        var b = NewCounter();
        var ids = await Task.WhenAll(Enumerable.Range(0, 4).Select(_ =>
            Client.ScheduleNewOrchestrationInstanceAsync("IncrementBothLocked", new[] { a.Key, b.Key }, cts.Token)));
        var results = await Task.WhenAll(ids.Select(id => Client.WaitForInstanceCompletionAsync(id, getInputsAndOutputs: true, cts.Token)));
        Assert.Equal([2, 4, 6, 8], results.Select(r => r.ReadOutputAs<int>()).Order());

        var failed = await RunAsync("LockThenFail", a.Key);
        Assert.Equal(OrchestrationRuntimeStatus.Failed, failed.RuntimeStatus);
        var after = await RunAsync("IncrementBothLocked", new[] { a.Key, b.Key });
        Assert.Equal(10, after.ReadOutputAs<int>());
    }

    [Fact]
    public async Task The_counter_signals_another_counter_and_starts_an_orchestration()
    {
        using var cts = new CancellationTokenSource(Timeout);
        var source = NewCounter();
        var target = NewCounter();
        await Client.Entities.SignalEntityAsync(source, "Forward", new { Key = target.Key, Amount = 4 }, cancellation: cts.Token);
        await WaitForCounterAsync(target, 4, cts.Token);

        var instanceId = "entity-started-" + Guid.NewGuid().ToString("N");
        await Client.Entities.SignalEntityAsync(source, "StartChain", instanceId, cancellation: cts.Token);
        await WaitUntilAsync(async () => await Client.GetInstanceAsync(instanceId, cts.Token) is not null, cts.Token);
        var chain = await Client.WaitForInstanceCompletionAsync(instanceId, getInputsAndOutputs: true, cts.Token);
        Assert.Equal(4, chain.ReadOutputAs<int>());
    }

    private async Task WaitForCounterAsync(EntityInstanceId id, int expected, CancellationToken ct) =>
        await WaitUntilAsync(async () => (await Client.Entities.GetEntityAsync<int>(id, includeState: true, ct))?.State == expected, ct);

    private static async Task WaitUntilAsync(Func<Task<bool>> condition, CancellationToken ct)
    {
        while (!await condition())
        {
            await Task.Delay(20, ct);
        }
    }
}
