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
public sealed partial class DurableFunctionsTests(DurableAppFixture fixture) : IClassFixture<DurableAppFixture>
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

    [Fact]
    public async Task A_chain_passes_each_result_to_the_next_activity()
    {
        var metadata = await RunAsync("Chain", 5);
        Assert.Equal(8, metadata.ReadOutputAs<int>());
        Assert.Equal(5, metadata.ReadInputAs<int>());
    }

    [Fact]
    public async Task Fan_out_and_fan_in_collects_every_result()
    {
        var metadata = await RunAsync("FanOut", 20);
        Assert.Equal(Enumerable.Range(1, 20).Sum(i => i * i), metadata.ReadOutputAs<int>());
    }

    [Fact]
    public async Task A_durable_timer_fires_after_its_delay()
    {
        var metadata = await RunAsync("TimerThenDone", null);
        Assert.Equal("fired", metadata.ReadOutputAs<string>());
    }

    [Fact]
    public async Task An_external_event_reaches_the_waiting_orchestration()
    {
        using var cts = new CancellationTokenSource(Timeout);
        var id = await Client.ScheduleNewOrchestrationInstanceAsync("WaitForApproval", cts.Token);
        await Client.WaitForInstanceStartAsync(id, cts.Token);
        await Client.RaiseEventAsync(id, "Approval", "alice", cts.Token);
        var metadata = await Client.WaitForInstanceCompletionAsync(id, getInputsAndOutputs: true, cts.Token);
        Assert.Equal("approved by alice", metadata.ReadOutputAs<string>());
    }

    [Fact]
    public async Task A_sub_orchestration_returns_its_output_to_the_parent()
    {
        var metadata = await RunAsync("Parent", 1);
        Assert.Equal(4, metadata.ReadOutputAs<int>());
    }

    [Fact]
    public async Task A_failing_sub_orchestration_reaches_the_parent_with_the_exception_type_and_message()
    {
        var metadata = await RunAsync("ParentOfFailing", null);
        Assert.Equal(OrchestrationRuntimeStatus.Completed, metadata.RuntimeStatus);
        Assert.Equal("System.InvalidOperationException|boom from Failing", metadata.ReadOutputAs<string>());
    }

    [Fact]
    public async Task An_activity_exception_is_parsed_into_failure_details_for_the_orchestration()
    {
        var caught = await RunAsync("CatchActivityFailure", null);
        Assert.Equal("System.ArgumentException|activity says caught", caught.ReadOutputAs<string>());

        var failed = await RunAsync("ActivityFails", null);
        Assert.Equal(OrchestrationRuntimeStatus.Failed, failed.RuntimeStatus);
        Assert.Equal("Microsoft.DurableTask.TaskFailedException", failed.FailureDetails!.ErrorType);
        Assert.Equal("System.ArgumentException", failed.FailureDetails.InnerFailure?.ErrorType);
        Assert.Equal("activity says kaboom", failed.FailureDetails.InnerFailure?.ErrorMessage);
    }

    [Fact]
    public async Task Continue_as_new_runs_generations_to_the_end()
    {
        var metadata = await RunAsync("Countdown", 3);
        Assert.Equal("done", metadata.ReadOutputAs<string>());
        Assert.Equal(0, metadata.ReadInputAs<int>());
    }

    [Fact]
    public async Task The_retry_policy_retries_a_failing_activity_in_the_worker()
    {
        var metadata = await RunAsync("Retrying", null);
        Assert.Equal("succeeded on attempt 3", metadata.ReadOutputAs<string>());
    }

    [Fact]
    public async Task An_orchestration_the_app_does_not_define_fails_with_its_name()
    {
        var metadata = await RunAsync("NoSuchOrchestrator", null);
        Assert.Equal(OrchestrationRuntimeStatus.Failed, metadata.RuntimeStatus);
        Assert.Equal("OrchestratorFunctionNotFound", metadata.FailureDetails!.ErrorType);
        Assert.Contains("'NoSuchOrchestrator' doesn't exist", metadata.FailureDetails.ErrorMessage, StringComparison.Ordinal);
        Assert.Contains("'HelloCities5'", metadata.FailureDetails.ErrorMessage, StringComparison.Ordinal);
    }

    private async Task<OrchestrationMetadata> RunAsync(string name, object? input)
    {
        using var cts = new CancellationTokenSource(Timeout);
        var id = await Client.ScheduleNewOrchestrationInstanceAsync(name, input, cts.Token);
        return await Client.WaitForInstanceCompletionAsync(id, getInputsAndOutputs: true, cts.Token);
    }
}
