using System.Collections.Concurrent;
using Fleet.Durable.Grpc;
using Google.Protobuf;
using Microsoft.DurableTask;
using Microsoft.DurableTask.Client;
using Microsoft.DurableTask.Worker;
using Microsoft.DurableTask.Worker.Grpc;
using P = Microsoft.DurableTask.Protobuf;

namespace Fleet.SidecarTests;

/// <summary>
/// The backend seam driven the way the Functions isolated worker runs orchestrators: the SDK's
/// <see cref="GrpcOrchestrationRunner"/> with an <see cref="ExtendedSessionsCache"/>, base64 request in and response out.
/// </summary>
public sealed class ExtendedSessionTests : IAsyncLifetime
{
    private SidecarServer _server = null!;
    private SdkWorkerHost _client = null!;

    public async Task InitializeAsync()
    {
        _server = await SidecarServer.StartOnTemporarySqliteAsync();
        _client = await SdkWorkerHost.StartAsync(_server.Address, _ => { }, startWorker: false);
    }

    public async Task DisposeAsync()
    {
        await _client.DisposeAsync();
        await _server.DisposeAsync();
    }

    [Fact]
    public async Task Only_new_events_are_sent_while_the_runner_holds_the_instance_and_the_full_history_when_it_lost_it()
    {
        using var cts = new CancellationTokenSource(TimeSpan.FromSeconds(30));
        var backend = _server.Backend;
        var orchestrator = FuncTaskOrchestrator.Create<int, int>(async (ctx, n) =>
        {
            var total = 0;
            for (var i = 0; i < n; i++)
            {
                total += await ctx.CallActivityAsync<int>("Step", i);
            }

            return total;
        });
        var requests = new ConcurrentQueue<(bool IncludeState, int Past, bool RequiredHistory)>();
        var sessions = new ExtendedSessionsCache();
        var id = await _client.Client.ScheduleNewOrchestrationInstanceAsync("Chain", 6, cts.Token);
        var episodes = 0;
        var inputs = new ConcurrentQueue<string>();
        var activities = Task.Run(async () =>
        {
            for (var i = 0; i < 6; i++)
            {
                var activity = await backend.LockNextActivityAsync(cts.Token);
                inputs.Enqueue($"{activity.Name}({activity.Request.Input})");
                await backend.CompleteActivityAsync(activity, new P.ActivityResponse { TaskId = activity.Request.TaskId, Result = "1" }, cts.Token);
            }
        });

        while (true)
        {
            var next = backend.LockNextOrchestrationAsync(cts.Token);
            await Task.WhenAny(next, activities);
            if (activities.IsFaulted)
            {
                await activities;
            }

            var lease = await next;
            Assert.Equal("Chain", lease.Name);
            if (++episodes == 4)
            {
                // The worker restarted: its sessions are gone.
                sessions.Dispose();
                sessions = new ExtendedSessionsCache();
            }

            var encoded = GrpcOrchestrationRunner.LoadAndRun(Convert.ToBase64String(lease.Request.ToByteArray()), orchestrator, sessions);
            var response = P.OrchestratorResponse.Parser.ParseFrom(Convert.FromBase64String(encoded));
            requests.Enqueue((lease.Request.Properties["IncludeState"].BoolValue, lease.Request.PastEvents.Count, response.RequiresHistory));
            await backend.CompleteOrchestrationAsync(lease, response, cts.Token);
            if (response.Actions.Any(a => a.CompleteOrchestration is not null))
            {
                break;
            }
        }

        await activities;
        sessions.Dispose();
        // The Functions-path runner wraps activity inputs in a one-element array (DurableTask.Core legacy): stored as given.
        Assert.Equal(Enumerable.Range(0, 6).Select(i => $"Step([{i}])"), inputs);
        var done = await _client.Client.WaitForInstanceCompletionAsync(id, getInputsAndOutputs: true, cts.Token);
        Assert.Equal(OrchestrationRuntimeStatus.Completed, done.RuntimeStatus);
        Assert.Equal(6, done.ReadOutputAs<int>());

        var seen = requests.ToArray();
        Assert.True(seen[0].IncludeState);
        Assert.All(seen[1..3], r => Assert.Equal((false, 0, false), r));
        Assert.Equal((false, 0, true), seen[3]); // the new runner had no state and asked for it
        Assert.True(seen[4].IncludeState && seen[4].Past > 0 && !seen[4].RequiredHistory);
        Assert.All(seen[5..], r => Assert.Equal((false, 0, false), r));
    }
}
