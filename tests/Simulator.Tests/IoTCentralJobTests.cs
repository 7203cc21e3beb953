using System.Net;
using System.Text.Json;

namespace Fleet.Simulator.Tests;

public sealed class IoTCentralJobTests
{
    private const string FirmwareJob = """
        { "displayName": "Firmware 2.0", "group": "thermostats", "batch": { "type": "number", "value": 10 },
          "data": [ { "type": "PropertyJobData", "target": "dtmi:contoso:thermostat;1", "path": "firmwareVersion", "value": "2.0.0" } ] }
        """;

    [Fact]
    public async Task A_job_is_pending_then_runs_batch_by_batch_on_the_clock_and_completes()
    {
        await using var iotc = await IoTCentralTestSim.StartAsync(fakeClock: true);
        var clock = iotc.Clock!;

        var created = await iotc.SendAsync(HttpMethod.Put, "jobs/fw-2", FirmwareJob);
        Assert.Equal(HttpStatusCode.OK, created.Status);
        Assert.Equal("pending", created.Json.GetProperty("status").GetString());
        Assert.Equal("property", created.Json.GetProperty("data")[0].GetProperty("type").GetString());
        Assert.Equal(["id", "displayName", "group", "batch", "data", "progress", "status"], created.Json.EnumerateObject().Select(p => p.Name));
        var total = created.Json.GetProperty("progress").GetProperty("total").GetInt32();
        Assert.InRange(total, 40, 55);

        clock.Advance(TimeSpan.FromMilliseconds(500));
        var running = await JobAsync(iotc, "fw-2");
        Assert.Equal("running", running.GetProperty("status").GetString());
        Assert.Equal(total, Progress(running, "pending"));

        clock.Advance(TimeSpan.FromMilliseconds(1000));
        var oneBatch = await JobAsync(iotc, "fw-2");
        Assert.Equal(10, Progress(oneBatch, "completed"));
        var devices = await iotc.GetAsync("jobs/fw-2/devices");
        Assert.Equal(["value"], devices.Json.EnumerateObject().Select(p => p.Name));
        Assert.Equal(["id", "status"], devices.Json.GetProperty("value")[0].EnumerateObject().Select(p => p.Name));
        Assert.Equal(10, devices.Json.GetProperty("value").EnumerateArray().Count(d => d.GetProperty("status").GetString() == "completed"));
        Assert.Equal(total - 10, devices.Json.GetProperty("value").EnumerateArray().Count(d => d.GetProperty("status").GetString() == "pending"));

        clock.Advance(TimeSpan.FromSeconds(10));
        var done = await JobAsync(iotc, "fw-2");
        Assert.Equal("complete", done.GetProperty("status").GetString());
        Assert.Equal(total, Progress(done, "completed"));
        Assert.True(DateTimeOffset.Parse(done.GetProperty("end").GetString()!) > DateTimeOffset.Parse(done.GetProperty("start").GetString()!));
        var firstDevice = devices.Json.GetProperty("value")[0].GetProperty("id").GetString()!;
        var view = await iotc.Control.GetIoTCentralDeviceAsync("contoso", firstDevice);
        Assert.Equal("2.0.0", (string?)view["properties"]!["firmwareVersion"]);

        // The same PUT again is answered with the job as it is.
        Assert.Equal("complete", (await iotc.SendAsync(HttpMethod.Put, "jobs/fw-2", FirmwareJob)).Json.GetProperty("status").GetString());
    }

    [Fact]
    public async Task Failures_past_the_threshold_cancel_the_job_and_rerun_targets_only_failed_devices()
    {
        await using var iotc = await IoTCentralTestSim.StartAsync(o => o.JobDeviceFailureRate = 0.3, fakeClock: true);
        var clock = iotc.Clock!;
        const string Guarded = """
            { "group": "all-devices", "batch": { "type": "percentage", "value": 25 },
              "cancellationThreshold": { "type": "percentage", "value": 10, "batch": true },
              "data": [ { "type": "property", "target": "dtmi:contoso:thermostat;1", "path": "firmwareVersion", "value": "2.1.0" } ] }
            """;

        await iotc.SendAsync(HttpMethod.Put, "jobs/guarded", Guarded);
        clock.Advance(TimeSpan.FromSeconds(30));
        var job = await JobAsync(iotc, "guarded");

        Assert.Equal("cancelled", job.GetProperty("status").GetString());
        Assert.Equal(60, Progress(job, "total"));
        Assert.Equal(45, Progress(job, "pending"));
        var failed = Progress(job, "failed");
        Assert.InRange(failed, 2, 15);

        var rerun = await iotc.SendAsync(HttpMethod.Put, "jobs/guarded/rerun/guarded-2");
        Assert.Equal(HttpStatusCode.OK, rerun.Status);
        Assert.Equal("guarded-2", rerun.Json.GetProperty("id").GetString());
        Assert.Equal(failed, rerun.Json.GetProperty("progress").GetProperty("total").GetInt32());
        var failedIds = (await iotc.GetAsync("jobs/guarded/devices?$top=100")).Json.GetProperty("value").EnumerateArray()
            .Where(d => d.GetProperty("status").GetString() == "failed").Select(d => d.GetProperty("id").GetString()).ToList();
        var rerunIds = (await iotc.GetAsync("jobs/guarded-2/devices")).Json.GetProperty("value").EnumerateArray()
            .Select(d => d.GetProperty("id").GetString()).ToList();
        Assert.Equal(failedIds, rerunIds);
    }

    [Fact]
    public async Task Stop_freezes_a_running_job_and_resume_continues_it()
    {
        await using var iotc = await IoTCentralTestSim.StartAsync(fakeClock: true);
        var clock = iotc.Clock!;
        await iotc.SendAsync(HttpMethod.Put, "jobs/fw-stop", FirmwareJob);
        clock.Advance(TimeSpan.FromMilliseconds(1000));

        Assert.Equal(HttpStatusCode.NoContent, (await iotc.SendAsync(HttpMethod.Post, "jobs/fw-stop/stop")).Status);
        clock.Advance(TimeSpan.FromMinutes(5));
        var stopped = await JobAsync(iotc, "fw-stop");
        Assert.Equal("stopped", stopped.GetProperty("status").GetString());
        Assert.Equal(0, Progress(stopped, "completed"));

        Assert.Equal(HttpStatusCode.NoContent, (await iotc.SendAsync(HttpMethod.Post, "jobs/fw-stop/resume")).Status);
        clock.Advance(TimeSpan.FromMilliseconds(500));
        var resumed = await JobAsync(iotc, "fw-stop");
        Assert.Equal("running", resumed.GetProperty("status").GetString());
        Assert.Equal(10, Progress(resumed, "completed"));

        clock.Advance(TimeSpan.FromMinutes(1));
        Assert.Equal("complete", (await JobAsync(iotc, "fw-stop")).GetProperty("status").GetString());
        Assert.Equal(HttpStatusCode.BadRequest, (await iotc.SendAsync(HttpMethod.Post, "jobs/fw-stop/stop")).Status);
    }

    [Fact]
    public async Task At_most_five_jobs_run_at_once_and_bad_jobs_are_refused()
    {
        await using var iotc = await IoTCentralTestSim.StartAsync(fakeClock: true);
        for (var i = 1; i <= 6; i++)
        {
            await iotc.SendAsync(HttpMethod.Put, $"jobs/j{i}", FirmwareJob);
        }

        iotc.Clock!.Advance(TimeSpan.FromMilliseconds(600));
        var statuses = new List<string>();
        for (var i = 1; i <= 6; i++)
        {
            statuses.Add((await JobAsync(iotc, $"j{i}")).GetProperty("status").GetString()!);
        }

        Assert.Equal(["running", "running", "running", "running", "running", "pending"], statuses);
        var noGroup = await iotc.SendAsync(HttpMethod.Put, "jobs/bad", """{ "group": "nope", "data": [ { "type": "command", "target": "t", "path": "reboot" } ] }""");
        var noData = await iotc.SendAsync(HttpMethod.Put, "jobs/bad", """{ "group": "thermostats", "data": [] }""");
        var badId = await iotc.SendAsync(HttpMethod.Put, "jobs/bad%20id", FirmwareJob);
        Assert.Equal((HttpStatusCode)422, noGroup.Status);
        Assert.Equal((HttpStatusCode)422, noData.Status);
        Assert.Equal(HttpStatusCode.BadRequest, badId.Status);
        Assert.Equal(7 - 1, (await iotc.GetAsync("jobs")).Json.GetProperty("value").GetArrayLength());
    }

    private static async Task<JsonElement> JobAsync(IoTCentralTestSim iotc, string id)
    {
        var reply = await iotc.GetAsync("jobs/" + id);
        Assert.Equal(HttpStatusCode.OK, reply.Status);
        return reply.Json;
    }

    private static int Progress(JsonElement job, string name) => job.GetProperty("progress").GetProperty(name).GetInt32();
}
