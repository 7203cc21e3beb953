using System.Text.Json.Nodes;
using Azure.Storage.Blobs;
using Fleet.Functions.Settings;
using Fleet.Functions.Storage;
using Fleet.Shared.Resilience;
using Fleet.Simulator;
using Fleet.Testing;
using Microsoft.DurableTask.Client;
using Microsoft.Extensions.Logging.Abstractions;
using Microsoft.Extensions.Options;

namespace Fleet.Functions.Tests;

/// <summary>
/// The limiters' memory across worker processes, in the app's storage (real Azurite): what one worker learned, the
/// next one starts from.
/// </summary>
[Collection(FleetCollection.Name)]
public sealed class LearnedRateMemoryTests(FleetEnvironment environment)
{
    // The limiter's default start (10/s) against a 5/s service, and pages small enough that the sweep reads long
    // enough for the limiter to measure the service's rate.
    private static readonly Dictionary<string, string?> Remember = new()
    {
        ["LearnedRates:Remember"] = "true",
        ["Sphere:rateLimiter:initialRate"] = "10",
        ["ComplianceSweep:PageSize"] = "2",
    };

    [Fact]
    public async Task A_restarted_worker_starts_at_the_rate_its_predecessor_learned_and_is_not_throttled_again()
    {
        await Memory(environment.Blobs).DeleteIfExistsAsync();
        await using var simulator = await SimulatorHost.StartAsync(
            new SimulatorOptions { Devices = 200, OperationDelayMs = 30, RateLimit = 5, SigningKey = FleetEnvironment.SigningKey });
        var fleet = await simulator.Control.GetFleetAsync();

        // The first worker meets the limit and learns it.
        var first = await DryRunSweepAsync(simulator, fleet);
        Assert.True(first.Throttled > 0, "the first worker was never throttled, so it learned nothing");

        var stored = JsonNode.Parse((await Memory(environment.Blobs).DownloadContentAsync()).Value.Content.ToString())!["rates"]!.AsObject();
        var contoso = stored.Single(r => r.Key.EndsWith("|" + fleet.Contoso.Id, StringComparison.OrdinalIgnoreCase)).Value!;
        Assert.InRange((double)contoso["rate"]!, 3, 5.5);

        await simulator.Control.SetLimitsAsync(5);
        var second = await DryRunSweepAsync(simulator, fleet);
        Assert.Equal(first.Total - first.Throttled, second.Total - second.Throttled);
        Assert.Equal(0, second.Throttled);
    }

    [Fact]
    public async Task Rates_older_than_max_age_are_forgotten_and_other_instances_rates_are_kept()
    {
        var clock = new FakeTimeProvider(DateTimeOffset.Parse("2026-12-01T00:00:00Z", System.Globalization.CultureInfo.InvariantCulture));
        var blob = Memory(environment.Blobs);
        await blob.DeleteIfExistsAsync();
        await environment.Blobs.GetBlobContainerClient(LearnedRateOptions.Container).CreateIfNotExistsAsync();
        await blob.UploadAsync(BinaryData.FromString("""
            {"rates":{
              "https://sphere|fresh":{"rate":40,"learnedAt":"2026-11-30T00:00:00Z"},
              "https://sphere|stale":{"rate":90,"learnedAt":"2026-11-01T00:00:00Z"},
              "https://sphere|other-instance":{"rate":12,"learnedAt":"2026-11-30T12:00:00Z"}}}
            """), overwrite: true);

        using var registry = new RateLimiterRegistry(clock);
        var memory = new LearnedRateMemory(registry, environment.Blobs, Options.Create(new LearnedRateOptions()), clock, NullLogger<LearnedRateMemory>.Instance);
        await memory.StartAsync(TestFleetApp.Timeout());
        var fresh = registry.GetOrAdd("https://sphere|fresh", new AdaptiveRateLimiterOptions());
        var stale = registry.GetOrAdd("https://sphere|stale", new AdaptiveRateLimiterOptions());
        var learning = registry.GetOrAdd("https://sphere|learning", new AdaptiveRateLimiterOptions());

        Assert.Equal(40 * 0.97, fresh.CurrentRate, 3);
        Assert.Null(stale.LearnedRate);
        Assert.Equal(10, stale.CurrentRate);

        // This instance learns a rate of its own; on stop it is written beside what another instance remembered.
        using (var lease = learning.AttemptAcquire(1))
        {
            clock.Advance(TimeSpan.FromSeconds(2));
            learning.RecordThrottled(lease, null);
        }

        await memory.StopAsync(TestFleetApp.Timeout());
        var rates = JsonNode.Parse((await blob.DownloadContentAsync()).Value.Content.ToString())!["rates"]!.AsObject();
        Assert.Equal(["https://sphere|fresh", "https://sphere|learning", "https://sphere|other-instance"], rates.Select(r => r.Key).Order());
        Assert.Equal(learning.LearnedRate!.Value, (double)rates["https://sphere|learning"]!["rate"]!, 6);
        Assert.Equal(12, (double)rates["https://sphere|other-instance"]!["rate"]!);
    }

    [Fact]
    public async Task Unreadable_memory_leaves_the_limiters_learning_from_scratch()
    {
        var clock = new FakeTimeProvider();
        var blob = Memory(environment.Blobs);
        await environment.Blobs.GetBlobContainerClient(LearnedRateOptions.Container).CreateIfNotExistsAsync();
        await blob.UploadAsync(BinaryData.FromString("{\"rates\": [not json"), overwrite: true);

        using var registry = new RateLimiterRegistry(clock);
        var memory = new LearnedRateMemory(registry, environment.Blobs, Options.Create(new LearnedRateOptions()), clock, NullLogger<LearnedRateMemory>.Instance);
        await memory.StartAsync(TestFleetApp.Timeout());
        var limiter = registry.GetOrAdd("https://sphere|any", new AdaptiveRateLimiterOptions());

        Assert.Null(limiter.LearnedRate);
        Assert.Equal(10, limiter.CurrentRate);
        await memory.StopAsync(TestFleetApp.Timeout());
    }

    private static BlobClient Memory(BlobServiceClient blobs) =>
        blobs.GetBlobContainerClient(LearnedRateOptions.Container).GetBlobClient(LearnedRateOptions.Blob);

    /// <summary>A worker's life: start the app on <paramref name="simulator"/>, sweep without remediating, stop it; the simulator's counters of that sweep.</summary>
    private async Task<(long Total, long Throttled)> DryRunSweepAsync(SimulatorHost simulator, FleetDescription fleet)
    {
        var policy = new { tenants = new[] { new { tenant = fleet.Contoso.Name } } };
        await simulator.Control.ResetCountersAsync();
        await using var app = await TestFleetApp.StartAsync(environment, settings: Remember, sharedSimulator: simulator);
        var payload = await ProvisioningTests.ReadPayloadAsync(await app.PostAsync("api/sweeps", new { dryRun = true, policy }));
        Assert.Equal(OrchestrationRuntimeStatus.Completed, (await app.WaitForCompletionAsync(payload.Id, 120)).RuntimeStatus);
        var counters = await simulator.Control.GetCountersAsync();
        return (counters.Total - counters.TokenRequests, counters.Throttled);
    }
}
