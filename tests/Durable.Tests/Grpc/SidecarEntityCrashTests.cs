using Microsoft.DurableTask.Client.Entities;
using Microsoft.DurableTask.Entities;

namespace Fleet.SidecarTests;

/// <summary>
/// Entity batches that do not complete: a worker that goes away in the middle of one (nothing is lost, nothing applied
/// twice), a worker that keeps failing one (its callers get the reason once the attempts run out).
/// </summary>
public sealed class SidecarEntityCrashTests : IAsyncLifetime
{
    private SidecarServer _server = null!;

    public async Task InitializeAsync() => _server = await SidecarServer.StartOnTemporarySqliteAsync(o => o.MessageAttemptLimit = 2);

    public Task DisposeAsync() => _server.DisposeAsync().AsTask();

    [Fact]
    public async Task A_batch_whose_worker_disconnects_runs_again_on_the_next_worker_and_is_applied_once()
    {
        using var cts = new CancellationTokenSource(TimeSpan.FromSeconds(30));
        var id = new EntityInstanceId("Blocking", Guid.NewGuid().ToString("N"));
        var hung = new TaskCompletionSource(TaskCreationOptions.RunContinuationsAsynchronously);
        SidecarEntities.Block = hung;
        SidecarEntities.BlockingStarts = 0;
        var first = await SdkWorkerHost.StartAsync(_server.Address, SidecarOrchestrations.Register);
        await first.Client.Entities.SignalEntityAsync(id, "Add", 2, cancellation: cts.Token);
        while (SidecarEntities.BlockingStarts == 0)
        {
            await Task.Delay(20, cts.Token);
        }

        // The worker goes away while its operation hangs: its stream ends and the batch is given back.
        await first.DisposeAsync();
        SidecarEntities.Block = new TaskCompletionSource(TaskCreationOptions.RunContinuationsAsynchronously);
        SidecarEntities.Block.SetResult();
        await using var second = await SdkWorkerHost.StartAsync(_server.Address, SidecarOrchestrations.Register);
        EntityMetadata<int>? entity;
        while ((entity = await second.Client.Entities.GetEntityAsync<int>(id, includeState: true, cts.Token)) is null)
        {
            await Task.Delay(20, cts.Token);
        }

        hung.SetResult();
        Assert.Equal(2, entity.State);
        Assert.Equal(2, SidecarEntities.BlockingStarts);
    }

    [Fact]
    public async Task A_batch_that_keeps_failing_in_the_worker_fails_its_callers_after_the_attempt_limit()
    {
        using var cts = new CancellationTokenSource(TimeSpan.FromSeconds(30));
        await using var worker = await SdkWorkerHost.StartAsync(_server.Address, SidecarOrchestrations.Register);
        var id = await worker.Client.ScheduleNewOrchestrationInstanceAsync("CallBroken", Guid.NewGuid().ToString("N"), cts.Token);
        var metadata = await worker.Client.WaitForInstanceCompletionAsync(id, getInputsAndOutputs: true, cts.Token);
        var output = metadata.ReadOutputAs<string>()!;
        Assert.StartsWith("PoisonMessage|", output, StringComparison.Ordinal);
        Assert.Contains("DurableTask:MessageAttemptLimit = 2", output, StringComparison.Ordinal);
    }
}
