using System.Diagnostics;
using Microsoft.DurableTask.Client;
using Fleet.Simulator;
using Xunit.Abstractions;

namespace Fleet.Functions.Tests.Reliability;

/// <summary>
/// Provisioning against a service that answers one request in ten with a 500 or 503 and throttles each tenant at
/// 100 requests/s: the client's retries, the adaptive limiter and the orchestrations' retry policy absorb all of it.
/// </summary>
[Collection(FleetCollection.Name)]
public sealed class FaultToleranceTests(FleetEnvironment environment, ITestOutputHelper output)
{
    private const int Devices = 200;

    [Fact]
    public async Task Two_hundred_provisionings_all_complete_with_ten_percent_injected_5xx_and_a_low_rate_limit()
    {
        await using var app = await TestFleetApp.StartAsync(environment,
            new SimulatorOptions { Devices = 2000, OperationDelayMs = 100, InstallDelayMs = 100, FaultRate = 0.1, RateLimit = 100 });
        var fleet = await app.Simulator.Control.GetFleetAsync();
        var targets = ProvisioningTarget.For(fleet, Devices);
        await app.Simulator.Control.ResetCountersAsync();
        var started = Stopwatch.GetTimestamp();

        await app.Queue.CreateIfNotExistsAsync();
        foreach (var target in targets)
        {
            await app.Queue.SendMessageAsync(target.Message());
        }

        var token = TestFleetApp.Timeout(240);
        Dictionary<OrchestrationRuntimeStatus, int> counts;
        while ((counts = await ProvisioningTarget.CountStatusesAsync(app.Client, token)).GetValueOrDefault(OrchestrationRuntimeStatus.Completed) < Devices)
        {
            await FailOnFailedAsync(app, counts, token);
            await Task.Delay(250, token);
        }

        var elapsed = Stopwatch.GetElapsedTime(started);
        var counters = await app.Simulator.Control.GetCountersAsync(token);
        Assert.Equal(Devices, counts.Values.Sum());
        Assert.Empty(await ProvisioningTarget.FindMisplacedAsync(app.Simulator.Control, targets, token));

        // The conditions were really in force: the service answered 5xx and 429, and every provisioning still completed.
        var faults = counters.CountStatus(500) + counters.CountStatus(503);
        Assert.True(faults > 0, "no 5xx was injected");
        Assert.True(counters.Throttled > 0, "the rate limit never answered 429");
        output.WriteLine($"{Devices} provisionings in {elapsed.TotalSeconds:0.0} s: {counters.Total - counters.TokenRequests} API requests, " +
                         $"{faults} answered 5xx ({(double)faults / (counters.Total - counters.TokenRequests):P1}), {counters.Throttled} answered 429");
    }

    private static async Task FailOnFailedAsync(TestFleetApp app, Dictionary<OrchestrationRuntimeStatus, int> counts, CancellationToken token)
    {
        if (counts.GetValueOrDefault(OrchestrationRuntimeStatus.Failed) == 0)
        {
            return;
        }

        var query = new OrchestrationQuery(Statuses: [OrchestrationRuntimeStatus.Failed], InstanceIdPrefix: "provision-", PageSize: 5);
        await foreach (var failed in app.Client.GetAllInstancesAsync(query).WithCancellation(token))
        {
            var metadata = await app.Client.GetInstanceAsync(failed.InstanceId, getInputsAndOutputs: true, token);
            Assert.Fail($"{failed.InstanceId} failed: {metadata?.FailureDetails?.ErrorMessage} {metadata?.SerializedCustomStatus}");
        }
    }
}
