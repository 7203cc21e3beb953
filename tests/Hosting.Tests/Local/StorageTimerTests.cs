using System.Text.Json;

namespace Fleet.Hosting.Tests.Local;

/// <summary>
/// Two hosts of StorageApp on one storage account. Before they start, the Tick schedule's status says its last
/// occurrence was missed (Next is in the past), so the first host to take the schedule runs it as past due.
/// </summary>
public sealed class TwoHostTimerFixture : StorageAppFixture
{
    public static readonly DateTime MissedLast = new(2025, 1, 1, 0, 0, 0, DateTimeKind.Utc);
    public static readonly DateTime MissedNext = new(2026, 1, 1, 0, 0, 0, DateTimeKind.Utc);

    protected override async Task PrepareAsync()
    {
        var container = Blobs.GetBlobContainerClient("azure-webjobs-hosts");
        await container.CreateIfNotExistsAsync();
        var status = JsonSerializer.Serialize(new { Last = MissedLast, Next = MissedNext, LastUpdated = MissedLast });
        await container.GetBlobClient($"timers/{HostId}/Tick/status").UploadAsync(BinaryData.FromString(status));
    }
}

/// <summary>
/// Timer triggers of the real worker under the local host: NCRONTAB from a %setting%, TimeSpan schedules,
/// runOnStartup, past-due detection from the status blob, and one runner per schedule across two hosts.
/// </summary>
public sealed class StorageTimerTests(TwoHostTimerFixture app) : IClassFixture<TwoHostTimerFixture>
{
    [Fact]
    public async Task Past_due_run_on_startup_and_interval_schedules_each_fire_on_one_host_only()
    {
        var second = await app.StartAnotherHostAsync();
        var pids = new[] { app.Host.Supervisor.Current!.Process.ProcessId, second.Supervisor.Current!.Process.ProcessId };

        // The missed yearly occurrence (2026-01-01) runs once, as past due, with the stored status.
        var tick = (await app.NextAsync("ticks", _ => true, TimeSpan.FromSeconds(40))).Split('|');
        Assert.Equal("tick", tick[0]);
        Assert.Equal("True", tick[1]);
        Assert.Equal(TwoHostTimerFixture.MissedLast, DateTime.Parse(tick[2], null, System.Globalization.DateTimeStyles.AdjustToUniversal | System.Globalization.DateTimeStyles.AssumeUniversal));
        Assert.Equal(TwoHostTimerFixture.MissedNext, DateTime.Parse(tick[3], null, System.Globalization.DateTimeStyles.AdjustToUniversal | System.Globalization.DateTimeStyles.AssumeUniversal));

        // The status now records the caught-up occurrence; the next is next year's.
        var status = JsonDocument.Parse((await app.Blobs.GetBlobContainerClient("azure-webjobs-hosts")
            .GetBlobClient($"timers/{StorageAppFixture.HostId}/Tick/status").DownloadContentAsync()).Value.Content.ToString()).RootElement;
        Assert.Equal(TwoHostTimerFixture.MissedNext, status.GetProperty("Last").GetDateTime().ToUniversalTime());
        Assert.Equal(new DateTime(DateTime.UtcNow.Year + 1, 1, 1, 0, 0, 0, DateTimeKind.Utc), status.GetProperty("Next").GetDateTime().ToUniversalTime());

        // runOnStartup: once, by the host that took that schedule's lease.
        var startup = (await app.NextAsync("startup-ticks", _ => true)).Split('|');
        Assert.Equal(["startup", "False"], startup[..2]);
        Assert.Contains(int.Parse(startup[4], System.Globalization.CultureInfo.InvariantCulture), pids);

        // The TimeSpan schedule (every 2 s): each occurrence once, all from the one leading worker.
        var intervals = new List<string[]>();
        while (intervals.Count < 3)
        {
            intervals.Add((await app.NextAsync("interval-ticks", _ => true)).Split('|'));
        }

        Assert.Single(intervals.Select(i => i[4]).Distinct());
        Assert.Equal(intervals.Count, intervals.Select(i => i[3]).Distinct().Count());
        Assert.All(intervals, i => Assert.Equal("False", i[1]));
        Assert.Empty(await app.PeekAsync("ticks"));
        Assert.Empty(await app.PeekAsync("startup-ticks"));
    }
}
