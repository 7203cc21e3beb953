using System.Diagnostics;
using Microsoft.DurableTask.Client;
using Fleet.Shared.FleetClouds;
using Fleet.Simulator;
using Fleet.Simulator.IoTCentral;
using Xunit.Abstractions;

namespace Fleet.Functions.Tests.Reliability;

/// <summary>
/// Provisioning on each cloud against a service that answers one request in ten with a 500 or 503 and throttles
/// (each Sphere tenant, the IoT Central application, the IoTConnect solution) at 100 requests/s: the client's
/// retries, the adaptive limiter and the orchestrations' retry policy absorb all of it.
/// </summary>
[Collection(FleetCollection.Name)]
public sealed class FaultToleranceTests(FleetEnvironment environment, ITestOutputHelper output)
{
    private const int Devices = 200;

    [Theory]
    [InlineData(FleetCloud.Sphere)]
    [InlineData(FleetCloud.IoTCentral)]
    [InlineData(FleetCloud.IoTConnect)]
    public async Task Two_hundred_provisionings_all_complete_with_ten_percent_injected_5xx_and_a_low_rate_limit(FleetCloud cloud)
    {
        var options = new SimulatorOptions { Devices = cloud == FleetCloud.Sphere ? 2000 : 50, OperationDelayMs = 100, InstallDelayMs = 100, FaultRate = 0.1, RateLimit = 100 };
        options.IoTCentral.FaultRate = 0.1;
        options.IoTCentral.RateLimit = 100;
        options.IoTConnect.RateLimit = 100;
        // The simulator throttles with 429 only, so its injected 503s are failures, not throttling: the documented
        // setting for such a service keeps them from teaching the IoTConnect limiter to slow down.
        await using var app = await TestFleetApp.StartAsync(environment, options,
            new Dictionary<string, string?> { ["IoTConnect:learnFromServiceUnavailable"] = "false" });
        var targets = await CloudTarget.ForAsync(cloud, app.Simulator, Devices);
        await app.Simulator.Control.ResetCountersAsync();
        await app.Simulator.Control.ResetIoTCentralCountersAsync();
        var started = Stopwatch.GetTimestamp();

        await app.Queue.CreateIfNotExistsAsync();
        foreach (var target in targets)
        {
            await app.Queue.SendMessageAsync(target.Message);
        }

        var token = TestFleetApp.Timeout(240);
        var deadline = Stopwatch.GetTimestamp() + Stopwatch.Frequency * 180;
        Dictionary<OrchestrationRuntimeStatus, int> counts;
        while ((counts = await ProvisioningTarget.CountStatusesAsync(app.Client, token)).GetValueOrDefault(OrchestrationRuntimeStatus.Completed) < Devices)
        {
            await FailOnFailedAsync(app, counts, token);
            if (Stopwatch.GetTimestamp() > deadline)
            {
                Assert.Fail($"Not all provisionings completed: {string.Join(", ", counts)}; e.g. {await UnfinishedAsync(app, token)}");
            }

            await Task.Delay(250, token);
        }

        var elapsed = Stopwatch.GetElapsedTime(started);
        Assert.Equal(Devices, counts.Values.Sum());
        Assert.Empty(await CloudTarget.FindMisplacedAsync(app.Simulator.Control, targets, token));

        // The conditions were really in force: the service answered 5xx and 429, and every provisioning still completed.
        var (requests, faults, throttled) = await AnswersAsync(app.Simulator, cloud, token);
        Assert.True(faults > 0, "no 5xx was injected");
        Assert.True(throttled > 0, "the rate limit never answered 429");
        output.WriteLine($"{cloud}: {Devices} provisionings in {elapsed.TotalSeconds:0.0} s: {requests} API requests, " +
                         $"{faults} answered 5xx ({(double)faults / requests:P1}), {throttled} answered 429");
    }

    /// <summary>The cloud's API requests, 5xx answers and 429 answers since the counters were reset.</summary>
    private static async Task<(long Requests, long Faults, long Throttled)> AnswersAsync(SimulatorHost simulator, FleetCloud cloud, CancellationToken token)
    {
        if (cloud == FleetCloud.IoTCentral)
        {
            var app = await simulator.Control.GetIoTCentralCountersAsync("contoso", token);
            return (app.Total, app.ByStatus.GetValueOrDefault(500) + app.ByStatus.GetValueOrDefault(503), app.Throttled);
        }

        var counters = await simulator.Control.GetCountersAsync(token);
        var faults = counters.CountStatus(500) + counters.CountStatus(503);
        return (counters.Total - counters.TokenRequests, faults, counters.Throttled);
    }

    private static async Task<string> UnfinishedAsync(TestFleetApp app, CancellationToken token)
    {
        var query = new OrchestrationQuery(Statuses: [OrchestrationRuntimeStatus.Running, OrchestrationRuntimeStatus.Pending], InstanceIdPrefix: "provision-", PageSize: 3);
        var found = new List<string>();
        await foreach (var instance in app.Client.GetAllInstancesAsync(query).WithCancellation(token))
        {
            found.Add($"{instance.InstanceId} {instance.RuntimeStatus} {(await app.Client.GetInstanceAsync(instance.InstanceId, getInputsAndOutputs: true, token))?.SerializedCustomStatus}");
            if (found.Count == 3)
            {
                break;
            }
        }

        return string.Join(" | ", found);
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
