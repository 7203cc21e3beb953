using Fleet.Durable;
using Fleet.Durable.Client;
using Microsoft.Extensions.DependencyInjection;

namespace Fleet.Hosting.Tests;

/// <summary>
/// An activity function still running when the host's shutdown period runs out sees its <c>CancellationToken</c>
/// (and <c>FunctionContext.CancellationToken</c>) cancelled; it is handed back, not failed, and the next host runs it.
/// </summary>
public sealed class ActivityCancellationTests
{
    private const string HostJson = """
        {
          "version": "2.0",
          "extensions": { "durableTask": { "hubName": "CancelHub", "storageProvider": { "type": "sqlite", "connectionStringName": "DurableStore" } } }
        }
        """;

    /// <summary>What the activity saw, across hosts.</summary>
    public sealed class Probe
    {
        private int _attempts;
        private int _tokenCancelled;
        private int _contextCancelled;

        public TaskCompletionSource Started { get; } = new(TaskCreationOptions.RunContinuationsAsynchronously);

        public int Attempts => Volatile.Read(ref _attempts);

        public bool TokenCancelled => Volatile.Read(ref _tokenCancelled) == 1;

        public bool ContextCancelled => Volatile.Read(ref _contextCancelled) == 1;

        public int Attempt() => Interlocked.Increment(ref _attempts);

        public void Cancelled(bool token, bool context)
        {
            Volatile.Write(ref _tokenCancelled, token ? 1 : 0);
            Volatile.Write(ref _contextCancelled, context ? 1 : 0);
        }
    }

    public sealed class Functions(Probe probe)
    {
        [Function(nameof(Firmware))]
        public static Task<string> Firmware([OrchestrationTrigger] TaskOrchestrationContext context) =>
            context.CallActivityAsync<string>(nameof(Install), context.GetInput<string>());

        /// <summary>The first attempt waits (at most 30 s) for its token; later attempts finish at once.</summary>
        [Function(nameof(Install))]
        public async Task<string> Install([ActivityTrigger] string device, FunctionContext context, CancellationToken cancellationToken)
        {
            if (probe.Attempt() > 1)
            {
                return $"installed on {device}";
            }

            probe.Started.TrySetResult();
            try
            {
                await Task.Delay(TimeSpan.FromSeconds(30), cancellationToken);
            }
            finally
            {
                probe.Cancelled(cancellationToken.IsCancellationRequested, context.CancellationToken.IsCancellationRequested);
            }

            return "not cancelled";
        }
    }

    [Fact]
    public async Task An_activity_running_past_the_shutdown_period_is_cancelled_and_runs_again_on_the_next_host()
    {
        await using var app = TestApp.Create(HostJson);
        var probe = new Probe();
        var settings = new Dictionary<string, string?> { ["Host:ShutdownTimeout"] = "00:00:01" };

        // Managed here rather than by the app: it must be disposed (its store's owner lock released) before the next.
        var builder = app.Builder([typeof(Functions)], settings);
        builder.Services.AddSingleton(probe);
        await using (var first = builder.Build())
        {
            using var bound = new CancellationTokenSource(TimeSpan.FromSeconds(30));
            await first.StartAsync(bound.Token);
            await first.Services.GetRequiredService<DurableTaskClient>()
                .ScheduleNewOrchestrationInstanceAsync(nameof(Functions.Firmware), "d-7", new StartOrchestrationOptions("firmware-1"), bound.Token);
            await probe.Started.Task.WaitAsync(TimeSpan.FromSeconds(20));
            await first.StopAsync(bound.Token);
        }

        await Wait.UntilAsync(() => probe.TokenCancelled, "the activity to see its CancellationToken cancelled", TimeSpan.FromSeconds(10));
        Assert.True(probe.ContextCancelled);

        // Handed back rather than failed: the next host runs it again and the orchestration completes.
        var second = await app.StartAsync([typeof(Functions)], settings, services: s => s.AddSingleton(probe));
        using var wait = new CancellationTokenSource(TimeSpan.FromSeconds(30));
        var done = await second.Services.GetRequiredService<DurableTaskClient>()
            .WaitForInstanceCompletionAsync("firmware-1", getInputsAndOutputs: true, wait.Token);
        Assert.Equal(OrchestrationRuntimeStatus.Completed, done.RuntimeStatus);
        Assert.Equal("installed on d-7", done.ReadOutputAs<string>());
        Assert.Equal(2, probe.Attempts);
    }
}
