using System.Collections.Concurrent;
using Fleet.Hosting.Queues;
using Fleet.Storage;
using Fleet.Testing;
using Microsoft.Extensions.DependencyInjection;

namespace Fleet.Hosting.Tests;

/// <summary>Polling an empty queue backs off exponentially with jitter, never beyond maxPollingInterval.</summary>
[Collection("Azurite")]
public sealed class QueueBackoffTests(AzuriteFixture azurite)
{
    public sealed class Seen
    {
        public ConcurrentQueue<string> Texts { get; } = new();
    }

    public sealed class Listener(Seen seen)
    {
        [Function("Listener")]
        public void Run([QueueTrigger("%Test:Queue%")] string text) => seen.Texts.Enqueue(text);
    }

    [Theory]
    [InlineData(0.0)]
    [InlineData(0.5)]
    [InlineData(0.999)]
    public void Backoff_grows_from_100ms_doubling_and_stays_within_the_maximum(double random)
    {
        var max = TimeSpan.FromSeconds(30);
        var backoff = new QueuePollingBackoff(max, () => random);
        var delays = Enumerable.Range(0, 20).Select(_ => backoff.Next()).ToList();

        Assert.All(delays, d => Assert.InRange(d, QueuePollingBackoff.Minimum, max));
        var factor = 0.8 + (0.4 * random);
        Assert.Equal(Math.Max(100, 100 * factor), delays[0].TotalMilliseconds, 3);
        Assert.Equal(200 * factor, delays[1].TotalMilliseconds, 3);
        Assert.Equal(400 * factor, delays[2].TotalMilliseconds, 3);
        Assert.Equal(Math.Min(max.TotalMilliseconds, max.TotalMilliseconds * factor), delays[^1].TotalMilliseconds, 3);

        backoff.Reset();
        Assert.Equal(Math.Max(100, 100 * factor), backoff.Next().TotalMilliseconds, 3);
    }

    [Fact]
    public void Backoff_never_exceeds_a_small_maximum()
    {
        var backoff = new QueuePollingBackoff(TimeSpan.FromMilliseconds(250), () => 0.999);
        Assert.All(Enumerable.Range(0, 10).Select(_ => backoff.Next()), d => Assert.InRange(d.TotalMilliseconds, 100, 250));
    }

    [Fact]
    public async Task An_idle_listener_picks_up_a_message_within_maxPollingInterval_of_the_fake_clock()
    {
        var name = $"idle-{Guid.NewGuid():N}"[..25];
        var queue = StorageConnection.Parse(azurite.ConnectionString).CreateQueueServiceClient().GetQueueClient(name);
        await queue.CreateIfNotExistsAsync();
        var clock = new FakeTimeProvider(DateTimeOffset.UtcNow);
        var seen = new Seen();
        await using var app = TestApp.Create("""{ "version": "2.0", "extensions": { "queues": { "maxPollingInterval": "00:00:02" } } }""");
        await app.StartAsync(
            [typeof(Listener)],
            new Dictionary<string, string?> { ["AzureWebJobsStorage"] = azurite.ConnectionString, ["Test:Queue"] = name },
            clock,
            s => s.AddSingleton(seen));

        // Let the listener find the queue empty many times: uncapped, its wait would now be minutes long.
        for (var i = 0; i < 12; i++)
        {
            await Wait.UntilAsync(() => clock.ActiveTimerCount == 1, "the listener to wait for its next poll");
            clock.Advance(TimeSpan.FromMinutes(1));
        }

        await Wait.UntilAsync(() => clock.ActiveTimerCount == 1, "the listener to wait for its next poll");
        await queue.SendMessageAsync("wake up");
        clock.Advance(TimeSpan.FromSeconds(2));
        await Wait.UntilAsync(() => !seen.Texts.IsEmpty, "the message to be picked up after maxPollingInterval");
        Assert.Equal("wake up", Assert.Single(seen.Texts));
    }
}
