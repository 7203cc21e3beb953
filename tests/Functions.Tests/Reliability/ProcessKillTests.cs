using System.Diagnostics;
using Microsoft.DurableTask.Client;
using Fleet.Simulator;
using Xunit.Abstractions;

namespace Fleet.Functions.Tests.Reliability;

/// <summary>
/// The app as a process (the local host on its build output, settings in the environment) against Azurite and a
/// simulator: killed with SIGKILL three times while it consumes provisioning requests from its queue (each kill leaves
/// received, undeleted messages behind) and started again each time, it ends with all 200 devices claimed by the right
/// tenant and in the requested product and group.
/// </summary>
[Collection(FleetCollection.Name)]
public sealed class ProcessKillTests(FleetEnvironment environment, ITestOutputHelper output)
{
    private const int Devices = 200;
    private const int Kills = 3;

    // At most 32, so one peek sees every visible message and the rest are the ones a killed host held.
    private const int Wave = 32;

    // Short, so the messages a killed host held come back within seconds instead of the 30 s default.
    private const string MessageLease = "00:00:05";

    [Fact]
    public async Task Killed_with_SIGKILL_three_times_while_consuming_200_provisionings_the_app_ends_with_every_device_correct()
    {
        await using var simulator = await SimulatorHost.StartAsync(new SimulatorOptions
        {
            Devices = 2000, OperationDelayMs = 250, RateLimit = 100, SigningKey = FleetEnvironment.SigningKey,
        });
        var folder = Directory.CreateTempSubdirectory("fleet-kill-").FullName;
        FleetAppProcess? app = null;
        try
        {
            var queueName = "prov-kill-" + Guid.NewGuid().ToString("N")[..8];
            var settings = TestFleetApp.DefaultSettings(environment, simulator, folder, queueName);
            settings["AzureFunctionsJobHost:extensions:queues:messageLeaseDuration"] = MessageLease;
            settings["AzureFunctionsWebHost:hostid"] = "kill-" + Guid.NewGuid().ToString("N")[..12];
            settings["AzureFunctionsJobHost:logging:logLevel:default"] = "Information";
            settings["AzureFunctionsJobHost:logging:logLevel:Function"] = "Warning";
            settings["AzureFunctionsJobHost:logging:logLevel:Fleet.Hosting.Local.Durable"] = "Warning";
            settings["Orchestrations:OperationPollInterval"] = "00:00:00.150";

            var fleet = await simulator.Control.GetFleetAsync();
            var targets = ProvisioningTarget.For(fleet, Devices);
            var queue = environment.Queues.GetQueueClient(queueName);
            var token = TestFleetApp.Timeout(300);
            var started = Stopwatch.GetTimestamp();

            app = await FleetAppProcess.StartAsync(settings, TimeSpan.FromSeconds(60));
            await queue.CreateIfNotExistsAsync(cancellationToken: token);

            // Each kill lands while the host works through a fresh wave of messages, once it has received some. A kill
            // that left nothing held (the host finished them first) does not count; another wave follows.
            var sent = 0;
            var processes = 1;
            var kills = new List<string>();
            var unfinishedAfterKills = 0;
            while (kills.Count < Kills)
            {
                Assert.True(sent + Wave <= Devices, "ran out of devices before three kills left messages in flight:\n" + string.Join("\n", kills));

                // Start from an empty queue (what an earlier kill left behind has come back and been consumed), so
                // every hidden message after this kill is one this host held.
                await WaitAsync(app, _ => true, "the queue to be consumed", token, async () => (await queue.GetPropertiesAsync(token)).Value.ApproximateMessagesCount == 0);
                var sending = Task.WhenAll(targets.Skip(sent).Take(Wave).Select(target =>
                    queue.SendMessageAsync(target.Message(), cancellationToken: token)));
                sent += Wave;

                // Kill as soon as the host holds messages (received, hidden, not deleted); polled without a pause.
                while ((await queue.GetPropertiesAsync(token)).Value.ApproximateMessagesCount - (await queue.PeekMessagesAsync(32, token)).Value.Length <= 0)
                {
                    token.ThrowIfCancellationRequested();
                }

                app.Kill();
                await sending;
                var undeleted = (await queue.GetPropertiesAsync(token)).Value.ApproximateMessagesCount;
                var visible = (await queue.PeekMessagesAsync(32, token)).Value.Length;
                var held = undeleted - visible;
                app.Dispose();
                app = null;
                var at = Stopwatch.GetElapsedTime(started).TotalSeconds;

                app = await FleetAppProcess.StartAsync(settings, TimeSpan.FromSeconds(60));
                processes++;
                var counts = await app.CountProvisioningsAsync(token);
                var unfinished = counts.GetValueOrDefault(OrchestrationRuntimeStatus.Running) + counts.GetValueOrDefault(OrchestrationRuntimeStatus.Pending);
                if (held > 0)
                {
                    unfinishedAfterKills += unfinished;
                    kills.Add($"SIGKILL at {at:0.0} s after {sent} messages sent: {undeleted} not deleted, {held} of them received by the killed host; {unfinished} provisionings unfinished at the restart");
                }
            }

            foreach (var target in targets.Skip(sent))
            {
                await queue.SendMessageAsync(target.Message(), cancellationToken: token);
            }

            // The messages the killed hosts held come back after their lease and are consumed too.
            await WaitAsync(app, _ => true, "the queue to be consumed", token, async () => (await queue.GetPropertiesAsync(token)).Value.ApproximateMessagesCount == 0);
            var final = await WaitAsync(app, c => c.GetValueOrDefault(OrchestrationRuntimeStatus.Completed) == Devices, "every provisioning to complete", token);
            Assert.Equal(Devices, final.Values.Sum());
            Assert.True(unfinishedAfterKills > 0, "no kill interrupted a provisioning in the durable runtime");
            Assert.Empty(await ProvisioningTarget.FindMisplacedAsync(simulator.Control, targets, token));
            output.WriteLine(string.Join("\n", kills));
            output.WriteLine($"{Devices} provisionings done in {Stopwatch.GetElapsedTime(started).TotalSeconds:0.0} s across {processes} processes");
        }
        finally
        {
            app?.Dispose();
            Directory.Delete(folder, recursive: true);
        }
    }

    /// <summary>
    /// Polls the process's provisioning counts until <paramref name="done"/> (and <paramref name="alsoDone"/>) hold; a
    /// failed provisioning fails the test at once.
    /// </summary>
    private static async Task<Dictionary<OrchestrationRuntimeStatus, int>> WaitAsync(
        FleetAppProcess app, Func<Dictionary<OrchestrationRuntimeStatus, int>, bool> done, string what, CancellationToken token,
        Func<Task<bool>>? alsoDone = null)
    {
        Dictionary<OrchestrationRuntimeStatus, int> counts = [];
        try
        {
            while (!done(counts = await app.CountProvisioningsAsync(token)) || (alsoDone is not null && !await alsoDone()))
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
