using System.Collections.Concurrent;
using System.Text.Json;
using Fleet.Hosting.Timers;
using Fleet.Storage;
using Fleet.Testing;
using Microsoft.Extensions.DependencyInjection;
using NCrontab;

namespace Fleet.Hosting.Tests;

/// <summary>
/// The timer trigger on a fake clock against real Azurite: run on startup, the schedule status blob, past-due
/// catch-up after downtime, and one firing per occurrence with two hosts.
/// </summary>
[Collection("Azurite")]
public sealed class TimerTests(AzuriteFixture azurite)
{
    // No functionTimeout: the only fake-clock timers are then the lease renewal and the schedule wait, which lets
    // the test see when a listener is idle.
    private const string HostJson = """{ "version": "2.0", "functionTimeout": "-1" }""";
    private static readonly DateTimeOffset Start = new(2026, 3, 1, 10, 0, 30, TimeSpan.Zero);

    public sealed class Calls
    {
        public ConcurrentQueue<(TimerInfo Timer, DateTimeOffset At)> Seen { get; } = new();
    }

    public sealed class Sweep(Calls calls, TimeProvider time)
    {
        [Function("Sweep")]
        public void Run([TimerTrigger("%Sweep:Schedule%")] TimerInfo timer) => calls.Seen.Enqueue((timer, time.GetUtcNow()));
    }

    public sealed class SweepOnStartup(Calls calls, TimeProvider time)
    {
        [Function("Sweep")]
        public void Run([TimerTrigger("0 */5 * * * *", RunOnStartup = true)] TimerInfo timer) => calls.Seen.Enqueue((timer, time.GetUtcNow()));
    }

    private Dictionary<string, string?> Settings() => new()
    {
        ["AzureWebJobsStorage"] = azurite.ConnectionString,
        ["Sweep:Schedule"] = "0 */5 * * * *",
    };

    private async Task<ScheduleStatus?> StatusAsync(string hostId)
    {
        var blob = StorageConnection.Parse(azurite.ConnectionString).CreateBlobServiceClient()
            .GetBlobContainerClient("azure-webjobs-hosts").GetBlobClient($"timers/{hostId}/Sweep/status");
        if (!await blob.ExistsAsync())
        {
            return null;
        }

        return JsonSerializer.Deserialize<ScheduleStatus>((await blob.DownloadContentAsync()).Content.ToString());
    }

    private static DateTime At(int hour, int minute, int second = 0) => new(2026, 3, 1, hour, minute, second, DateTimeKind.Utc);

    [Fact]
    public async Task Run_on_startup_then_on_schedule_keeping_the_status_blob()
    {
        var clock = new FakeTimeProvider(Start);
        var calls = new Calls();
        await using var app = TestApp.Create(HostJson);
        await app.StartAsync([typeof(SweepOnStartup)], Settings(), clock, s => s.AddSingleton(calls));

        await Wait.UntilAsync(() => calls.Seen.Count == 1, "the run on startup");
        var startup = calls.Seen.Single();
        Assert.False(startup.Timer.IsPastDue);
        Assert.Equal(Start, startup.At);
        Assert.Equal(At(10, 5), startup.Timer.ScheduleStatus!.Next);

        var initial = await StatusAsync(app.HostId);
        Assert.NotNull(initial);
        Assert.Equal(default, initial.Last);
        Assert.Equal(At(10, 5), initial.Next);
        Assert.Equal(At(10, 0, 30), initial.LastUpdated);

        await Wait.UntilAsync(() => clock.ActiveTimerCount == 2, "the listener to wait for 10:05");
        clock.SetUtcNow(new DateTimeOffset(At(10, 5)));
        await Wait.UntilAsync(() => calls.Seen.Count == 2, "the 10:05 occurrence");
        var scheduled = calls.Seen.Last();
        Assert.False(scheduled.Timer.IsPastDue);
        Assert.Equal(At(10, 5), scheduled.Timer.ScheduleStatus!.Next);
        Assert.Equal(default, scheduled.Timer.ScheduleStatus.Last);

        await Wait.UntilAsync(async () => (await StatusAsync(app.HostId))?.Last == At(10, 5), "the status blob to record 10:05");
        var status = await StatusAsync(app.HostId);
        Assert.Equal(At(10, 10), status!.Next);
        Assert.Equal(At(10, 5), status.LastUpdated);

        var raw = await StorageConnection.Parse(azurite.ConnectionString).CreateBlobServiceClient().GetBlobContainerClient("azure-webjobs-hosts")
            .GetBlobClient($"timers/{app.HostId}/Sweep/status").DownloadContentAsync();
        Assert.Equal("""{"Last":"2026-03-01T10:05:00Z","Next":"2026-03-01T10:10:00Z","LastUpdated":"2026-03-01T10:05:00Z"}""", raw.Content.ToString());
    }

    [Fact]
    public async Task A_stop_that_spans_an_occurrence_is_caught_up_as_past_due()
    {
        var clock = new FakeTimeProvider(Start);
        var first = new Calls();
        await using var app = TestApp.Create(HostJson);
        var host = await app.StartAsync([typeof(Sweep)], Settings(), clock, s => s.AddSingleton(first));
        await Wait.UntilAsync(() => clock.ActiveTimerCount == 2, "the listener to wait for 10:05");
        clock.SetUtcNow(new DateTimeOffset(At(10, 5)));
        await Wait.UntilAsync(async () => (await StatusAsync(app.HostId))?.Last == At(10, 5), "the 10:05 occurrence to be recorded");
        using (var bound = new CancellationTokenSource(TimeSpan.FromSeconds(30)))
        {
            await host.StopAsync(bound.Token);
        }

        // Down from 10:05 to 10:12: the 10:10 occurrence is missed.
        clock.SetUtcNow(new DateTimeOffset(At(10, 12)));
        var second = new Calls();
        await app.StartAsync([typeof(Sweep)], Settings(), clock, s => s.AddSingleton(second));
        await Wait.UntilAsync(() => second.Seen.Count == 1, "the past-due run");
        var (timer, at) = second.Seen.Single();
        Assert.True(timer.IsPastDue);
        Assert.Equal(new DateTimeOffset(At(10, 12)), at);
        Assert.Equal(At(10, 5), timer.ScheduleStatus!.Last);
        Assert.Equal(At(10, 10), timer.ScheduleStatus.Next);

        await Wait.UntilAsync(async () => (await StatusAsync(app.HostId))?.Last == At(10, 10), "the caught-up occurrence to be recorded");
        Assert.Equal(At(10, 15), (await StatusAsync(app.HostId))!.Next);
        Assert.Single(first.Seen);
    }

    [Fact]
    public async Task With_two_hosts_each_occurrence_fires_once_and_the_other_host_takes_over()
    {
        var clock = new FakeTimeProvider(Start);
        var callsA = new Calls();
        var callsB = new Calls();
        await using var app = TestApp.Create(HostJson);
        var hostA = await app.StartAsync([typeof(Sweep)], Settings(), clock, s => s.AddSingleton(callsA));
        var hostB = await app.StartAsync([typeof(Sweep)], Settings(), clock, s => s.AddSingleton(callsB));
        var listenerA = (TimerListener)hostA.Services.GetRequiredService<IReadOnlyList<IFunctionListener>>().Single();
        var listenerB = (TimerListener)hostB.Services.GetRequiredService<IReadOnlyList<IFunctionListener>>().Single();

        // Leader: lease renewal + schedule wait; follower: lease retry.
        await Wait.UntilAsync(() => clock.ActiveTimerCount == 3 && listenerA.IsLeader != listenerB.IsLeader, "one leader and one follower to settle");
        foreach (var minute in new[] { 5, 10, 15 })
        {
            var total = callsA.Seen.Count + callsB.Seen.Count;
            clock.SetUtcNow(new DateTimeOffset(At(10, minute)));
            await Wait.UntilAsync(async () => (await StatusAsync(app.HostId))?.Last == At(10, minute), $"the 10:{minute:00} occurrence");
            await Wait.UntilAsync(() => clock.ActiveTimerCount == 3, "both listeners to be idle again");
            Assert.Equal(total + 1, callsA.Seen.Count + callsB.Seen.Count);
        }

        var all = callsA.Seen.Concat(callsB.Seen).Select(c => c.Timer.ScheduleStatus!.Next).Order().ToList();
        Assert.Equal([At(10, 5), At(10, 10), At(10, 15)], all);

        // The leader stops: it releases the lease and the follower takes the schedule over.
        var (leader, follower, followerCalls) = listenerA.IsLeader ? (hostA, listenerB, callsB) : (hostB, listenerA, callsA);
        var followerBefore = followerCalls.Seen.Count;
        using (var bound = new CancellationTokenSource(TimeSpan.FromSeconds(30)))
        {
            await leader.StopAsync(bound.Token);
        }

        clock.Advance(TimerListener.LeaseRetryInterval);
        await Wait.UntilAsync(() => follower.IsLeader && clock.ActiveTimerCount == 2, "the follower to take the lease");
        clock.SetUtcNow(new DateTimeOffset(At(10, 20)));
        await Wait.UntilAsync(() => followerCalls.Seen.Count == followerBefore + 1, "the new leader to run 10:20");
        Assert.Equal(At(10, 20), followerCalls.Seen.Last().Timer.ScheduleStatus!.Next);
        Assert.False(followerCalls.Seen.Last().Timer.IsPastDue);
    }

    [Fact]
    public void Schedules_follow_the_configured_time_zone_across_daylight_saving()
    {
        var berlin = TimeZoneInfo.FindSystemTimeZoneById("Europe/Berlin");
        var daily = new TimerSchedule(CrontabSchedule.Parse("0 30 2 * * *", new CrontabSchedule.ParseOptions { IncludingSeconds = true }), berlin);

        // 2026-03-29: clocks jump from 02:00 to 03:00 in Berlin, so 02:30 does not exist that day.
        var next = daily.NextAfter(new DateTimeOffset(2026, 3, 28, 12, 0, 0, TimeSpan.Zero));
        Assert.Equal(new DateTimeOffset(2026, 3, 30, 0, 30, 0, TimeSpan.Zero), next);

        var utc = new TimerSchedule(CrontabSchedule.Parse("0 */5 * * * *", new CrontabSchedule.ParseOptions { IncludingSeconds = true }), TimeZoneInfo.Utc);
        Assert.Equal(new DateTimeOffset(At(10, 5)), utc.NextAfter(new DateTimeOffset(At(10, 0))));
        Assert.Equal(new DateTimeOffset(At(10, 5)), utc.NextAfter(new DateTimeOffset(At(10, 4, 59))));
    }
}
