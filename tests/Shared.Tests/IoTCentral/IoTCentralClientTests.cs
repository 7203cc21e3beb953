using System.Text.Json.Nodes;
using Fleet.Shared.IoTCentral;
using Fleet.Shared.Tests.Sphere;

namespace Fleet.Shared.Tests.IoTCentral;

[Collection(SimulatorCollection.Name)]
public sealed class IoTCentralClientTests
{
    [Fact]
    public async Task Lists_follow_next_link_as_given_with_one_api_version_per_call()
    {
        var ct = SimulatorFixture.Timeout();
        await using var sim = await IoTCentralTestSupport.StartAsync();
        var transport = new UriRecorder();
        var client = IoTCentralTestSupport.Client(sim, o =>
        {
            o.PageSize = 25;
            o.Transport = transport;
        });

        var pages = new List<int>();
        await foreach (var page in client.GetDevicesAsync(cancellationToken: ct).AsPages().WithCancellation(ct))
        {
            pages.Add(page.Values.Count);
        }

        var filtered = new List<IoTCentralDevice>();
        await foreach (var device in client.GetDevicesAsync("template eq 'dtmi:contoso:gateway;1'", ct))
        {
            filtered.Add(device);
        }

        Assert.Equal([25, 25, 10], pages);
        Assert.NotEmpty(filtered);
        Assert.All(filtered, d => Assert.Equal("dtmi:contoso:gateway;1", d.Template));
        var uris = transport.Requests.Select(r => r.Uri).Where(u => u.AbsolutePath.EndsWith("/devices", StringComparison.Ordinal)).ToList();
        Assert.All(uris, u => Assert.Single(u.Query.TrimStart('?').Split('&'), p => p.StartsWith("api-version=", StringComparison.Ordinal)));
        Assert.Contains(uris, u => u.Query.Contains("%24skiptoken=", StringComparison.Ordinal));
    }

    [Fact]
    public async Task A_service_error_carries_status_code_message_and_request_id()
    {
        var ct = SimulatorFixture.Timeout();
        await using var sim = await IoTCentralTestSupport.StartAsync();
        var client = IoTCentralTestSupport.Client(sim);

        var missing = await Assert.ThrowsAsync<IoTCentralApiException>(() => client.GetDeviceAsync("no-such-device", ct));
        var invalid = await Assert.ThrowsAsync<IoTCentralApiException>(() => client.CreateOrUpdateDeviceAsync("d1",
            new IoTCentralDevice { Template = "dtmi:contoso:toaster;1" }, ct));

        Assert.True(missing.IsNotFound);
        Assert.Equal("NotFound", missing.ErrorCode);
        Assert.NotNull(missing.RequestId);
        Assert.Contains("no-such-device", missing.ErrorMessage, StringComparison.Ordinal);
        Assert.Equal("devices/no-such-device", missing.Path);
        Assert.False(missing.IsTransient);
        Assert.Equal(422, invalid.Status);
        Assert.True(invalid.IsBadRequest);
        Assert.Equal("InvalidBody", invalid.ErrorCode);
    }

    [Fact]
    public async Task A_stale_etag_is_surfaced_as_precondition_failed()
    {
        var ct = SimulatorFixture.Timeout();
        await using var sim = await IoTCentralTestSupport.StartAsync();
        var client = IoTCentralTestSupport.Client(sim);
        var device = await client.GetDeviceAsync("th-00001", ct);

        var updated = await client.CreateOrUpdateDeviceAsync("th-00001", device with { DisplayName = "First edit" }, ct);
        var error = await Assert.ThrowsAsync<IoTCentralApiException>(() =>
            client.CreateOrUpdateDeviceAsync("th-00001", device with { DisplayName = "Lost edit" }, ct));
        var patched = await client.UpdateDeviceAsync("th-00001", new IoTCentralDevicePatch { Enabled = false, ETag = updated.ETag }, ct);

        Assert.True(error.IsPreconditionFailed);
        Assert.Equal("PreconditionFailed", error.ErrorCode);
        Assert.Contains("read it again", error.Message, StringComparison.Ordinal);
        Assert.Equal("First edit", patched.DisplayName);
        Assert.False(patched.Enabled);
    }

    [Fact]
    public async Task Provisioning_creates_or_updates_once_and_checks_the_group_lists_the_device()
    {
        var ct = SimulatorFixture.Timeout();
        await using var sim = await IoTCentralTestSupport.StartAsync();
        var client = IoTCentralTestSupport.Client(sim);
        var request = new IoTCentralProvisioningRequest
        {
            DeviceId = "new-thermostat",
            Template = "dtmi:contoso:thermostat;1",
            Organization = "contoso-lab",
            DeviceGroupId = "west-thermostats",
        };

        var created = await client.ProvisionDeviceAsync(request, ct);
        await sim.Control.ResetIoTCentralCountersAsync(ct);
        var again = await client.ProvisionDeviceAsync(request, ct);
        var counters = await sim.Control.GetIoTCentralCountersAsync("contoso", ct);
        var moved = await client.ProvisionDeviceAsync(request with { Organization = "contoso-west" }, ct);
        var wrongGroup = await client.ProvisionDeviceAsync(request with { DeviceGroupId = "gateways" }, ct);

        Assert.Equal(ProvisioningChange.Created, created.Change);
        Assert.True(created.ListedInGroup);
        Assert.Equal(["contoso-lab"], created.Device.Organizations);
        Assert.Equal(ProvisioningChange.Unchanged, again.Change);
        Assert.True(again.ListedInGroup);
        Assert.Equal(3, counters.Total); // group, device, group members: nothing written
        Assert.Equal(ProvisioningChange.Updated, moved.Change);
        Assert.Equal(["contoso-west"], moved.Device.Organizations);
        Assert.False(wrongGroup.ListedInGroup);
        Assert.Contains("gateway", wrongGroup.DeviceGroup.Filter, StringComparison.Ordinal);
        await Assert.ThrowsAsync<IoTCentralApiException>(() => client.ProvisionDeviceAsync(request with { DeviceGroupId = "nope" }, ct));
    }

    [Fact]
    public async Task A_job_in_batches_is_watched_to_the_end_and_rerun_on_its_failed_devices()
    {
        var ct = SimulatorFixture.Timeout();
        await using var sim = await IoTCentralTestSupport.StartAsync(o => o.JobDeviceFailureRate = 0.2);
        var client = IoTCentralTestSupport.Client(sim);
        var job = new IoTCentralJob
        {
            DisplayName = "Firmware 2.0",
            Group = "thermostats",
            Batch = IoTCentralJobBatch.Number(10),
            CancellationThreshold = IoTCentralJobCancellationThreshold.Percentage(50),
            Data = [IoTCentralJobData.Property("dtmi:contoso:thermostat;1", "firmwareVersion", JsonValue.Create("2.0.0"))],
        };

        var created = await client.CreateJobAsync("fw-2", job, ct);
        var polls = 0;
        var outcome = await client.WatchJobAsync("fw-2", (j, _) =>
        {
            polls++;
            return ValueTask.FromResult(true);
        }, ct);
        var rerun = await client.RerunJobAsync("fw-2", "fw-2-rerun", ct);
        var rerunOutcome = await client.WatchJobAsync("fw-2-rerun", cancellationToken: ct);

        Assert.Equal(IoTCentralJobStatus.Pending, created.Status);
        Assert.Equal(IoTCentralJobStatus.Complete, outcome.Job.Status);
        Assert.False(outcome.StoppedByHealthGate);
        Assert.True(polls > 0);
        Assert.Equal(outcome.Job.Progress!.Total, outcome.Devices.Count);
        Assert.Equal(outcome.Job.Progress.Failed, outcome.FailedDeviceIds.Count);
        Assert.NotEmpty(outcome.FailedDeviceIds);
        Assert.Equal(outcome.FailedDeviceIds.Count, rerun.Progress!.Total);
        Assert.Equal(outcome.FailedDeviceIds, rerunOutcome.Devices.Select(d => d.Id));
        var jobs = new List<string?>();
        await foreach (var j in client.GetJobsAsync(ct))
        {
            jobs.Add(j.Id);
        }

        Assert.Equal(["fw-2", "fw-2-rerun"], jobs);
    }

    [Fact]
    public async Task A_failed_health_gate_stops_the_job()
    {
        var ct = SimulatorFixture.Timeout();
        await using var sim = await IoTCentralTestSupport.StartAsync(o => o.JobBatchDurationMs = 200);
        var client = IoTCentralTestSupport.Client(sim);
        await client.CreateJobAsync("gated", new IoTCentralJob
        {
            Group = "all-devices",
            Batch = IoTCentralJobBatch.Percentage(20),
            Data = [IoTCentralJobData.Command("dtmi:contoso:thermostat;1", "reboot", null)],
        }, ct);

        var outcome = await client.WatchJobAsync("gated",
            (j, _) => ValueTask.FromResult(j.Progress is not { Completed: > 0 }), ct);
        await client.ResumeJobAsync("gated", ct);
        var resumed = await client.WatchJobAsync("gated", cancellationToken: ct);

        Assert.True(outcome.StoppedByHealthGate);
        Assert.Equal(IoTCentralJobStatus.Stopped, outcome.Job.Status);
        Assert.Contains(outcome.Devices, d => d.Status == IoTCentralJobDeviceStatus.Pending);
        Assert.Equal(IoTCentralJobStatus.Complete, resumed.Job.Status);
        Assert.All(resumed.Devices, d => Assert.Equal(IoTCentralJobDeviceStatus.Completed, d.Status));
    }

    [Fact]
    public async Task Templates_groups_organizations_and_properties_are_read()
    {
        var ct = SimulatorFixture.Timeout();
        await using var sim = await IoTCentralTestSupport.StartAsync();
        var client = IoTCentralTestSupport.Client(sim);

        var template = await client.GetDeviceTemplateAsync("dtmi:contoso:thermostat;1", ct);
        var groups = await ToListAsync(client.GetDeviceGroupsAsync(ct));
        var organizations = await ToListAsync(client.GetOrganizationsAsync(ct));
        var lab = await client.GetOrganizationAsync("contoso-lab", ct);
        var templates = await ToListAsync(client.GetDeviceTemplatesAsync(cancellationToken: ct));
        var properties = await client.GetDevicePropertiesAsync("th-00001", ct);
        var members = await ToListAsync(client.GetDeviceGroupDevicesAsync("gateways", ct));

        Assert.Equal("Thermostat", template.DisplayName);
        Assert.Contains("DeviceModel", template.Types!);
        Assert.Equal(["all-devices", "gateways", "thermostats", "west-thermostats"], groups.Select(g => g.Id));
        Assert.Equal(3, organizations.Count);
        Assert.Equal("contoso-west", lab.Parent);
        Assert.Equal(2, templates.Count);
        Assert.StartsWith("1.", properties.GetProperty("firmwareVersion").GetString(), StringComparison.Ordinal);
        Assert.All(members, d => Assert.Equal("dtmi:contoso:gateway;1", d.Template));
        await client.DeleteDeviceAsync(members[0].Id!, ct);
        Assert.True((await Assert.ThrowsAsync<IoTCentralApiException>(() => client.GetDeviceAsync(members[0].Id!, ct))).IsNotFound);
    }

    private static async Task<List<T>> ToListAsync<T>(Azure.AsyncPageable<T> pageable)
        where T : notnull
    {
        var list = new List<T>();
        await foreach (var item in pageable)
        {
            list.Add(item);
        }

        return list;
    }
}
