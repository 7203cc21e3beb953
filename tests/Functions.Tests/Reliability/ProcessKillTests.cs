using System.Diagnostics;
using Fleet.Durable.Client;
using Fleet.Simulator;
using Fleet.Storage;
using Xunit.Abstractions;

namespace Fleet.Functions.Tests.Reliability;

/// <summary>
/// The app as a process (<c>dotnet Fleet.Functions.dll</c>, settings in the environment) against Azurite and a
/// simulator: killed with SIGKILL three times while 200 provisionings run and started again each time, it ends with
/// every device claimed by the right tenant and in the requested product and group.
/// </summary>
[Collection(FleetCollection.Name)]
public sealed class ProcessKillTests(FleetEnvironment environment, ITestOutputHelper output)
{
    private const int Devices = 200;
    private static readonly int[] KillAfterCompleted = [30, 70, 110];

    [Fact]
    public async Task Killed_with_SIGKILL_three_times_during_200_provisionings_the_app_ends_with_every_device_correct()
    {
        await using var simulator = await SimulatorHost.StartAsync(new SimulatorOptions
        {
            Devices = 2000, OperationDelayMs = 250, RateLimit = 100, SigningKey = FleetEnvironment.SigningKey,
        });
        var folder = Directory.CreateTempSubdirectory("fleet-kill-").FullName;
        FleetAppProcess? app = null;
        try
        {
            File.Copy(Path.Combine(AppContext.BaseDirectory, "host.json"), Path.Combine(folder, "host.json"));
            var queueName = "prov-kill-" + Guid.NewGuid().ToString("N")[..8];
            var settings = TestFleetApp.DefaultSettings(environment, simulator, folder, queueName);
            settings["Host:LocalHttpPort"] = "0";
            settings["AzureWebJobsScriptRoot"] = folder;
            settings["AzureFunctionsWebHost:hostid"] = "kill-" + Guid.NewGuid().ToString("N")[..12];
            settings["AzureFunctionsJobHost:logging:logLevel:default"] = "Information";
            settings["AzureFunctionsJobHost:logging:logLevel:Function"] = "Warning";
            settings["AzureFunctionsJobHost:logging:logLevel:Fleet.Durable"] = "Warning";
            settings["Orchestrations:OperationPollInterval"] = "00:00:00.150";
            settings["IDENTITY_ENDPOINT"] = environment.Identity.IdentityEndpoint.AbsoluteUri;
            settings["IDENTITY_HEADER"] = environment.Identity.IdentityHeader;

            var fleet = await simulator.Control.GetFleetAsync();
            var targets = ProvisioningTarget.For(fleet, Devices);
            var queue = StorageConnection.Parse(environment.Azurite.ConnectionString).CreateQueueServiceClient().GetQueueClient(queueName);
            var token = TestFleetApp.Timeout(300);
            var started = Stopwatch.GetTimestamp();

            app = await FleetAppProcess.StartAsync(settings, TimeSpan.FromSeconds(60));
            await queue.CreateIfNotExistsAsync(token);
            foreach (var target in targets)
            {
                await queue.SendMessageAsync(target.Message(), cancellationToken: token);
            }

            // The host receives queue messages with a fixed 10-minute visibility (not configurable yet): a message in
            // flight at a SIGKILL would come back only after 10 minutes. So the kills come once the queue is drained
            // (every provisioning scheduled, no message in flight) and hit the provisionings themselves: claims,
            // operation waits, moves and verifications running in the durable runtime.
            var counts = await WaitAsync(app, c => c.Values.Sum() == Devices, "every provisioning to be scheduled", token);
            while ((await queue.GetPropertiesAsync(token)).ApproximateMessagesCount > 0)
            {
                await Task.Delay(50, token);
            }

            var kills = new List<string>();
            foreach (var threshold in KillAfterCompleted)
            {
                counts = await WaitAsync(app, c => c.GetValueOrDefault(OrchestrationRuntimeStatus.Completed) >= threshold, $"{threshold} completed provisionings", token);
                Assert.Equal(0, (await queue.GetPropertiesAsync(token)).ApproximateMessagesCount);
                var unfinished = counts.GetValueOrDefault(OrchestrationRuntimeStatus.Running) + counts.GetValueOrDefault(OrchestrationRuntimeStatus.Pending);
                app.Kill();
                app.Dispose();
                app = null;
                kills.Add($"SIGKILL at {Stopwatch.GetElapsedTime(started).TotalSeconds:0.0} s with {counts.GetValueOrDefault(OrchestrationRuntimeStatus.Completed)} completed, {unfinished} unfinished");
                Assert.True(unfinished > 0, $"the kill after {threshold} completions found no provisioning in flight");
                app = await FleetAppProcess.StartAsync(settings, TimeSpan.FromSeconds(60));
            }

            counts = await WaitAsync(app, c => c.GetValueOrDefault(OrchestrationRuntimeStatus.Completed) == Devices, "every provisioning to complete", token);
            Assert.Equal(Devices, counts.Values.Sum());
            Assert.Empty(await ProvisioningTarget.FindMisplacedAsync(simulator.Control, targets, token));
            output.WriteLine(string.Join("\n", kills));
            output.WriteLine($"{Devices} provisionings done in {Stopwatch.GetElapsedTime(started).TotalSeconds:0.0} s across 4 processes");
        }
        finally
        {
            app?.Dispose();
            Directory.Delete(folder, recursive: true);
        }
    }

    /// <summary>Polls the process's provisioning counts until <paramref name="done"/>; a failed provisioning fails the test at once.</summary>
    private static async Task<Dictionary<OrchestrationRuntimeStatus, int>> WaitAsync(
        FleetAppProcess app, Func<Dictionary<OrchestrationRuntimeStatus, int>, bool> done, string what, CancellationToken token)
    {
        Dictionary<OrchestrationRuntimeStatus, int> counts = [];
        try
        {
            while (!done(counts = await app.CountProvisioningsAsync(token)))
            {
                Assert.True(counts.GetValueOrDefault(OrchestrationRuntimeStatus.Failed) == 0, "a provisioning failed:\n" + app.OutputTail());
                await Task.Delay(100, token);
            }

            return counts;
        }
        catch (OperationCanceledException)
        {
            throw new TimeoutException($"Timed out waiting for {what}; counts {string.Join(", ", counts.Select(c => $"{c.Key} {c.Value}"))}\n{app.OutputTail()}");
        }
    }
}
