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
    // No functionTimeout: the only fake-clock timers are then the lease's renewal and local deadline and the
    // schedule wait (leader) or the lease retry (follower), which lets the test see when a listener is idle.
    private const string HostJson = """{ "version": "2.0", "functionTimeout": "-1" }""";
    private static readonly DateTimeOffset Start = new(2026, 3, 1, 10, 0, 30, TimeSpan.Zero);

    // Idle fake-clock timers of a listener: the leader's lease renewal, lease deadline and schedule wait; the
    // follower's lease retry.
    private const int LeaderTimers = 3;
    private const int FollowerTimers = 1;

    public sealed class Calls
    {
        public ConcurrentQueue<(TimerInfo Timer, DateTimeOffset At)> Seen { get; } = new();

        /// <summary>Each run of <see cref="HeldSweep"/> waits for this (bounded).</summary>
        public SemaphoreSlim Hold { get; } = new(0);
    }

    /// <summary>The same schedule, but each run lasts until the test releases it.</summary>
    public sealed class HeldSweep(Calls calls, TimeProvider time)
    {
        [Function("Sweep")]
        public async Task Run([TimerTrigger("%Sweep:Schedule%")] TimerInfo timer)
        {
            calls.Seen.Enqueue((timer, time.GetUtcNow()));
            await calls.Hold.WaitAsync(TimeSpan.FromSeconds(30));
        }
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

    private static TimerListener Listener(FunctionsHost host) =>
        (TimerListener)host.Services.GetRequiredService<IReadOnlyList<IFunctionListener>>().Single();

    /// <summary>
    /// Moves the fake clock to <paramref name="to"/> one renewal interval at a time, letting each leader's renewal
    /// (real I/O against Azurite) land before the next step, as real time would. A jump of minutes in one go would
    /// rightly cost the leader its lease: its local deadline would pass with no renewal.
    /// </summary>
    internal static async Task AdvanceAsync(FakeTimeProvider clock, DateTimeOffset to, params TimerListener[] listeners)
    {
        while (clock.GetUtcNow() < to)
        {
            var step = clock.GetUtcNow() + SingletonLease.RenewInterval;
            clock.SetUtcNow(step < to ? step : to);
            await Wait.UntilAsync(
                () => listeners.Where(l => l.IsLeader).All(l => l.Lease.ValidUntil - clock.GetUtcNow() > SingletonLease.Duration - SafetyMarginAndInterval),
                "the leader's lease renewal");
        }
    }

    // A renewal that landed leaves more than Duration - SafetyMargin - RenewInterval of validity.
    private static readonly TimeSpan SafetyMarginAndInterval = SingletonLease.SafetyMargin + SingletonLease.RenewInterval;

    [Fact]
    public async Task Run_on_startup_then_on_schedule_keeping_the_status_blob()
    {
        var clock = new FakeTimeProvider(Start);
        var calls = new Calls();
        await using var app = TestApp.Create(HostJson);
        var host = await app.StartAsync([typeof(SweepOnStartup)], Settings(), clock, s => s.AddSingleton(calls));

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

        await Wait.UntilAsync(() => clock.ActiveTimerCount == LeaderTimers, "the listener to wait for 10:05");
        await AdvanceAsync(clock, At(10, 5), Listener(host));
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
        await Wait.UntilAsync(() => clock.ActiveTimerCount == LeaderTimers, "the listener to wait for 10:05");
        await AdvanceAsync(clock, At(10, 5), Listener(host));
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
        var listenerA = Listener(hostA);
        var listenerB = Listener(hostB);

        await Wait.UntilAsync(() => clock.ActiveTimerCount == LeaderTimers + FollowerTimers && listenerA.IsLeader != listenerB.IsLeader, "one leader and one follower to settle");
        foreach (var minute in new[] { 5, 10, 15 })
        {
            var total = callsA.Seen.Count + callsB.Seen.Count;
            await AdvanceAsync(clock, At(10, minute), listenerA, listenerB);
            await Wait.UntilAsync(async () => (await StatusAsync(app.HostId))?.Last == At(10, minute), $"the 10:{minute:00} occurrence");
            await Wait.UntilAsync(() => clock.ActiveTimerCount == LeaderTimers + FollowerTimers, "both listeners to be idle again");
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
        await Wait.UntilAsync(() => follower.IsLeader && clock.ActiveTimerCount == LeaderTimers, "the follower to take the lease");
        await AdvanceAsync(clock, At(10, 20), follower);
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

    /// <summary>Host A leads with its lease requests passing through <paramref name="faultsA"/>; host B then follows.</summary>
    private async Task<(FunctionsHost HostA, TimerListener Leader, TimerListener Follower)> LeaderAndFollowerAsync(
        TestApp app, FakeTimeProvider clock, Type functionA, Calls callsA, Calls callsB, StorageFaults faultsA, LogCapture? logsA = null, StorageFaults? faultsB = null)
    {
        var hostA = await app.StartAsync([functionA], Settings(), clock, s =>
        {
            s.AddSingleton(callsA);
            if (logsA is not null)
            {
                s.AddSingleton<Microsoft.Extensions.Logging.ILoggerProvider>(logsA);
            }
        }, faults: faultsA);
        var leader = Listener(hostA);
        await Wait.UntilAsync(() => leader.IsLeader && clock.ActiveTimerCount == LeaderTimers, "host A to lead");
        var hostB = await app.StartAsync([typeof(Sweep)], Settings(), clock, s => s.AddSingleton(callsB), faults: faultsB);
        var follower = Listener(hostB);
        await Wait.UntilAsync(() => clock.ActiveTimerCount == LeaderTimers + FollowerTimers, "host B to try the lease and wait");
        Assert.False(follower.IsLeader);
        return (hostA, leader, follower);
    }

    /// <summary>From now on, host A's renewals hang (storage stopped answering) and its acquires fail.</summary>
    private static void CutLeaseRequests(StorageFaults faults)
    {
        faults.Hang = m => StorageFaults.IsLease(m, "renew");
        faults.BeforeRequest = m =>
        {
            if (StorageFaults.IsLease(m, "acquire"))
            {
                throw new IOException("Injected: storage unreachable.");
            }
        };
    }

    /// <summary>
    /// Stands in for the service letting the lease expire, which Azurite does 60 s of real time after the last
    /// renewal; then moves the clock on until the follower has taken the lease.
    /// </summary>
    private async Task ExpireLeaseAndLetFollowerTakeOverAsync(string hostId, FakeTimeProvider clock, TimerListener follower)
    {
        var lockBlob = StorageConnection.Parse(azurite.ConnectionString).CreateBlobServiceClient()
            .GetBlobContainerClient("azure-webjobs-hosts").GetBlobClient($"locks/{hostId}/Sweep.Listener");
        await lockBlob.GetBlobLeaseClient().BreakAsync(TimeSpan.Zero);
        for (var i = 0; i < 4 && !follower.IsLeader; i++)
        {
            clock.Advance(TimerListener.LeaseRetryInterval);
            try
            {
                await Wait.UntilAsync(() => follower.IsLeader, "the follower to take the lease", TimeSpan.FromSeconds(5));
            }
            catch (TimeoutException) when (i < 3)
            {
                // Its retry had not come due yet.
            }
        }
    }

    [Fact]
    public async Task A_leader_whose_renewals_hang_gives_the_schedule_up_before_its_lease_can_expire()
    {
        var clock = new FakeTimeProvider(Start);
        var callsA = new Calls();
        var callsB = new Calls();
        var faultsA = new StorageFaults();
        await using var app = TestApp.Create(HostJson);
        var (_, leader, follower) = await LeaderAndFollowerAsync(app, clock, typeof(Sweep), callsA, callsB, faultsA);

        // One renewal goes through; the leader's deadline counts from the moment it was sent.
        await AdvanceAsync(clock, Start + SingletonLease.RenewInterval, leader);
        var lastRenewalSent = clock.GetUtcNow();
        Assert.Equal(lastRenewalSent + SingletonLease.Duration - SingletonLease.SafetyMargin, leader.Lease.ValidUntil);

        // Storage stops answering host A's lease requests: the next renewal hangs instead of failing.
        CutLeaseRequests(faultsA);
        clock.SetUtcNow(lastRenewalSent + SingletonLease.RenewInterval);
        await Wait.UntilAsync(() => faultsA.Requests.Count(r => r.StartsWith("LEASE-renew", StringComparison.Ordinal)) == 2, "the hanging renewal");
        clock.SetUtcNow(leader.Lease.ValidUntil - TimeSpan.FromSeconds(1));
        Assert.True(leader.IsLeader);

        // At its deadline the leader gives up, while the renewal still hangs: 10 s before the service (whose lease
        // began no earlier than that renewal was sent) could let another host take it.
        clock.SetUtcNow(leader.Lease.ValidUntil);
        await Wait.UntilAsync(() => !leader.IsLeader, "the leader to give the schedule up at its deadline", TimeSpan.FromSeconds(5));
        Assert.True(clock.GetUtcNow() < lastRenewalSent + SingletonLease.Duration);

        await ExpireLeaseAndLetFollowerTakeOverAsync(app.HostId, clock, follower);
        Assert.True(follower.IsLeader);
        Assert.False(leader.IsLeader);

        foreach (var minute in new[] { 5, 10 })
        {
            await AdvanceAsync(clock, At(10, minute), follower);
            await Wait.UntilAsync(async () => (await StatusAsync(app.HostId))?.Last == At(10, minute), $"the 10:{minute:00} occurrence");
        }

        Assert.Empty(callsA.Seen);
        Assert.Equal([At(10, 5), At(10, 10)], callsB.Seen.Select(c => c.Timer.ScheduleStatus!.Next));
    }

    [Fact]
    public async Task An_invocation_that_outlives_the_lease_does_not_overwrite_the_new_leaders_status()
    {
        var clock = new FakeTimeProvider(Start);
        var callsA = new Calls();
        var callsB = new Calls();
        var faultsA = new StorageFaults();
        var logsA = new LogCapture();
        await using var app = TestApp.Create(HostJson);
        var (_, leader, follower) = await LeaderAndFollowerAsync(app, clock, typeof(HeldSweep), callsA, callsB, faultsA, logsA);

        // Host A runs 10:05 and the run goes on; meanwhile its lease is lost and host B takes the schedule.
        await AdvanceAsync(clock, At(10, 5), leader);
        await Wait.UntilAsync(() => callsA.Seen.Count == 1, "host A to run 10:05");
        CutLeaseRequests(faultsA);
        clock.SetUtcNow(leader.Lease.ValidUntil);
        await Wait.UntilAsync(() => !leader.Lease.IsHeld, "host A to lose its lease");
        await ExpireLeaseAndLetFollowerTakeOverAsync(app.HostId, clock, follower);

        // B catches 10:05 up (A never recorded it) and runs 10:10.
        await AdvanceAsync(clock, At(10, 10), follower);
        await Wait.UntilAsync(async () => (await StatusAsync(app.HostId))?.Last == At(10, 10), "host B to record 10:10");

        // A's run of 10:05 ends now: it must not write its (older) status over B's.
        callsA.Hold.Release();
        await Wait.UntilAsync(() => logsA.Entries.Any(e => e.EventId.Id == 4308), "host A to skip its status write");
        var status = await StatusAsync(app.HostId);
        Assert.Equal(At(10, 10), status!.Last);
        Assert.Equal(At(10, 15), status.Next);
        Assert.Equal([At(10, 5), At(10, 10)], callsB.Seen.Select(c => c.Timer.ScheduleStatus!.Next));
    }

    [Fact]
    public async Task The_lock_blob_is_created_once_not_on_every_retry_of_every_follower()
    {
        var clock = new FakeTimeProvider(Start);
        var faultsA = new StorageFaults();
        var faultsB = new StorageFaults();
        await using var app = TestApp.Create(HostJson);
        var (_, leader, follower) = await LeaderAndFollowerAsync(app, clock, typeof(Sweep), new Calls(), new Calls(), faultsA, faultsB: faultsB);

        await AdvanceAsync(clock, Start + TimeSpan.FromMinutes(2), leader);
        await Wait.UntilAsync(
            () => faultsB.Requests.Count(r => r.StartsWith("LEASE-acquire", StringComparison.Ordinal)) >= 5 && clock.ActiveTimerCount == LeaderTimers + FollowerTimers,
            "the follower's retries");
        Assert.False(follower.IsLeader);

        var lockBlob = $"/devstoreaccount1/azure-webjobs-hosts/locks/{app.HostId}/Sweep.Listener";
        Assert.Equal(1, faultsA.Requests.Count(r => r == "PUT " + lockBlob));
        Assert.Equal(0, faultsB.Requests.Count(r => r == "PUT " + lockBlob));
    }
}
