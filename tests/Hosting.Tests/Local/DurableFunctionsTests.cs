using System.Net;
using System.Text.Json;
using System.Text.Json.Nodes;
using Microsoft.DurableTask;
using Microsoft.DurableTask.Client;
using OrchestrationRuntimeStatus = Microsoft.DurableTask.Client.OrchestrationRuntimeStatus;

namespace Fleet.Hosting.Tests.Local;

/// <summary>
/// Durable Functions through the local host and the real worker (Durable extension 1.22.0) on SQLite: the conformance
/// cases of the sidecar backend, run as functions.
/// </summary>
public sealed class DurableFunctionsTests(DurableAppFixture fixture) : IClassFixture<DurableAppFixture>
{
    private static readonly TimeSpan Timeout = TimeSpan.FromSeconds(60);

    private DurableTaskClient Client => fixture.Durable;

    [Fact]
    public async Task HelloCities5_runs_five_activities_through_the_worker()
    {
        var metadata = await RunAsync("HelloCities5", null);
        Assert.Equal(OrchestrationRuntimeStatus.Completed, metadata.RuntimeStatus);
        Assert.Equal(["Hello Tokyo!", "Hello Seattle!", "Hello London!", "Hello Cairo!", "Hello Lima!"], metadata.ReadOutputAs<string[]>()!);
    }

    private async Task<OrchestrationMetadata> RunAsync(string name, object? input)
    {
        using var cts = new CancellationTokenSource(Timeout);
        var id = await Client.ScheduleNewOrchestrationInstanceAsync(name, input, cts.Token);
        return await Client.WaitForInstanceCompletionAsync(id, getInputsAndOutputs: true, cts.Token);
    }
}
