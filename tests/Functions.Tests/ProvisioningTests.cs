using System.Net;
using System.Net.Http.Json;
using System.Text.Json;
using Microsoft.DurableTask.Client;
using Fleet.Functions.Orchestration;
using Fleet.Functions.Provisioning;
using Fleet.Simulator;

namespace Fleet.Functions.Tests;

/// <summary>Queue- and HTTP-started provisioning against the simulator, checked through the simulator's control API.</summary>
[Collection(FleetCollection.Name)]
public sealed class ProvisioningTests(FleetEnvironment environment)
{
    private static string Message(string deviceId, string product = "Thermostat", string group = "Field Test", string? tenant = null, string? requestId = null) =>
        JsonSerializer.Serialize(new { tenantId = tenant, deviceId, product, deviceGroup = group, requestId }, TestFleetApp.Json);

    [Fact]
    public async Task A_queued_request_ends_with_the_device_claimed_and_in_its_group()
    {
        await using var app = await TestFleetApp.StartAsync(environment);
        var fleet = await app.Simulator.Control.GetFleetAsync();
        var contoso = fleet.Contoso;
        var fieldTest = contoso.GetProduct("Thermostat").GetDeviceGroup("Field Test");
        var deviceId = fleet.UnclaimedDeviceIds[0];

        await app.EnqueueAsync(Message(deviceId.ToLowerInvariant(), requestId: "req-1"));
        var done = await app.WaitForCompletionAsync(ProvisioningStarter.InstanceIdFor(deviceId));

        TestFleetApp.AssertCompleted(done);
        var result = done.ReadOutputAs<ProvisionResult>()!;
        Assert.True(result.Claimed);
        Assert.True(result.Moved);
        Assert.Equal("req-1", result.RequestId);
        Assert.Equal(fieldTest.Id.ToString(), result.DeviceGroupId, ignoreCase: true);
        Assert.Equal(ProvisionStep.Done, done.ReadCustomStatusAs<ProvisionStatus>()!.Step);

        var view = await app.Simulator.Control.GetDeviceAsync(deviceId);
        Assert.True(view.Claimed);
        Assert.Equal(contoso.Id, view.TenantId);
        Assert.Equal(fieldTest.Id, view.DeviceGroupId);
    }

    [Fact]
    public async Task Invalid_messages_are_rejected_with_their_reasons_and_the_host_keeps_serving()
    {
        await using var app = await TestFleetApp.StartAsync(environment);
        var fleet = await app.Simulator.Control.GetFleetAsync();
        string[] invalid =
        [
            "not json at all",
            Message("1234"),
            """{ "product": "Thermostat", "deviceGroup": "Field Test" }""",
            Message(fleet.UnclaimedDeviceIds[1], group: "Field/Test"),
            Message(fleet.UnclaimedDeviceIds[1], tenant: " "),
        ];
        foreach (var text in invalid)
        {
            await app.EnqueueAsync(text);
        }

        var valid = fleet.UnclaimedDeviceIds[2];
        await app.EnqueueAsync(Message(valid));

        // Each invalid message is answered once, on {queue}-rejected, with the original text and what is wrong with it.
        var rejected = await app.ReceiveRejectedAsync(invalid.Length);

        Assert.Equal(invalid.Order(), rejected.Select(r => r.Message).Order());
        Assert.All(rejected, r => Assert.Equal(app.QueueName, r.Queue));
        var reasons = string.Join("\n", rejected.SelectMany(r => r.Errors));
        Assert.Contains("not valid JSON", reasons, StringComparison.Ordinal);
        Assert.Contains("deviceId must be 128 hexadecimal characters", reasons, StringComparison.Ordinal);
        Assert.Contains("deviceId is required", reasons, StringComparison.Ordinal);
        Assert.Contains("deviceGroup must be 1-50 letters, digits and spaces", reasons, StringComparison.Ordinal);
        Assert.Contains("tenantId must not be blank", reasons, StringComparison.Ordinal);

        var done = await app.WaitForCompletionAsync(ProvisioningStarter.InstanceIdFor(valid));
        Assert.Equal(OrchestrationRuntimeStatus.Completed, done.RuntimeStatus);

        // Rejected is done with: nothing was retried into the poison queue.
        var token = TestFleetApp.Timeout(30);
        Assert.False(await app.Queues.GetQueueClient(app.QueueName + "-poison").ExistsAsync(token)
            && (await app.Queues.GetQueueClient(app.QueueName + "-poison").PeekMessagesAsync(32, token)).Value.Length > 0);
    }

    [Fact]
    public async Task A_duplicate_message_while_the_provisioning_runs_starts_nothing_new()
    {
        await using var app = await TestFleetApp.StartAsync(environment,
            new SimulatorOptions { Devices = 200, OperationDelayMs = 2500, InstallDelayMs = 100 });
        var fleet = await app.Simulator.Control.GetFleetAsync();
        var deviceId = fleet.UnclaimedDeviceIds[0];
        var instanceId = ProvisioningStarter.InstanceIdFor(deviceId);

        await app.EnqueueAsync(Message(deviceId));
        var running = await app.WaitForAsync(instanceId,
            m => m.ReadCustomStatusAs<ProvisionStatus>()?.Step == ProvisionStep.WaitForClaim, "the claim operation to be awaited");
        await app.EnqueueAsync(Message(deviceId));
        var token = TestFleetApp.Timeout(30);
        while ((await app.Queue.GetPropertiesAsync(token)).Value.ApproximateMessagesCount > 0)
        {
            await Task.Delay(25, token);
        }

        var during = await app.Client.GetInstanceAsync(instanceId, token);
        Assert.False(during!.IsCompleted, "the duplicate was consumed while the first provisioning still ran");
        Assert.Equal(running.CreatedAt, during.CreatedAt);

        var done = await app.WaitForCompletionAsync(instanceId);
        Assert.Equal(OrchestrationRuntimeStatus.Completed, done.RuntimeStatus);
        Assert.Equal(running.CreatedAt, done.CreatedAt);
        var counters = await app.Simulator.Control.GetCountersAsync(token);
        Assert.Equal(1, counters.CountFor("v2/tenants/{tenantId}/devices/{deviceId}/claim", method: "PUT"));
    }

    [Fact]
    public async Task Transient_failures_that_outlive_the_clients_retries_are_retried_by_the_orchestration()
    {
        await using var app = await TestFleetApp.StartAsync(environment,
            new SimulatorOptions { Devices = 200, OperationDelayMs = 30, FaultRate = 0.3 },
            new Dictionary<string, string?>
            {
                ["Sphere:retry:maxRetries"] = "0",
                ["Orchestrations:RetryMaxAttempts"] = "12",
                ["Orchestrations:RetryFirstInterval"] = "00:00:00.050",
                ["Orchestrations:RetryMaxInterval"] = "00:00:00.200",
            });
        var fleet = await app.Simulator.Control.GetFleetAsync();
        var devices = fleet.UnclaimedDeviceIds.Take(3).ToList();

        foreach (var device in devices)
        {
            await app.EnqueueAsync(Message(device));
        }

        var failedAttempts = 0;
        foreach (var device in devices)
        {
            var instanceId = ProvisioningStarter.InstanceIdFor(device);
            Assert.Equal(OrchestrationRuntimeStatus.Completed, (await app.WaitForCompletionAsync(instanceId)).RuntimeStatus);
            var history = await app.Client.GetOrchestrationHistoryAsync(instanceId, TestFleetApp.Timeout(30));
            failedAttempts += history.OfType<DurableTask.Core.History.TaskFailedEvent>()
                .Count(e => e.FailureDetails?.ErrorType == typeof(Fleet.Shared.Sphere.SphereApiException).FullName);
            Assert.Equal(fleet.Contoso.Id, (await app.Simulator.Control.GetDeviceAsync(device)).TenantId);
        }

        var counters = await app.Simulator.Control.GetCountersAsync();
        Assert.True(counters.CountStatus(500) + counters.CountStatus(503) > 0);
        Assert.True(failedAttempts > 0, "no activity failed, so the orchestration retry policy was not exercised");
    }

    [Fact]
    public async Task A_device_claimed_by_another_tenant_fails_with_the_services_error_code_and_message()
    {
        await using var app = await TestFleetApp.StartAsync(environment);
        var fleet = await app.Simulator.Control.GetFleetAsync();
        var fabrikamDevice = fleet.Fabrikam.Products[0].DeviceGroups.First(g => g.SampleDeviceIds.Count > 0).SampleDeviceIds[0];

        await app.EnqueueAsync(Message(fabrikamDevice));
        var done = await app.WaitForCompletionAsync(ProvisioningStarter.InstanceIdFor(fabrikamDevice));

        Assert.Equal(OrchestrationRuntimeStatus.Failed, done.RuntimeStatus);
        Assert.True(done.FailureDetails!.IsCausedBy<FleetStepFailedException>());
        Assert.Contains("DeviceClaimedByAnotherTenant", done.FailureDetails.ErrorMessage, StringComparison.Ordinal);
        var status = done.ReadCustomStatusAs<ProvisionStatus>()!;
        Assert.Equal(ProvisionStep.Failed, status.Step);
        Assert.Equal("Claim", status.FailedStep);
        Assert.Equal("DeviceClaimedByAnotherTenant", status.ErrorCode);
        Assert.Equal(409, status.ErrorStatus);
        Assert.False(string.IsNullOrWhiteSpace(status.ErrorMessage));
        Assert.Equal(fleet.Fabrikam.Id, (await app.Simulator.Control.GetDeviceAsync(fabrikamDevice)).TenantId);
    }

    [Fact]
    public async Task The_http_starter_answers_with_the_check_status_payload_and_a_finished_device_can_be_provisioned_again()
    {
        await using var app = await TestFleetApp.StartAsync(environment);
        var fleet = await app.Simulator.Control.GetFleetAsync();
        var production = fleet.Contoso.GetProduct("Thermostat").GetDeviceGroup("Production");
        var deviceId = fleet.UnclaimedDeviceIds[0];

        var invalid = await app.PostAsync("api/provision", new { deviceId = "42", product = "Thermostat", deviceGroup = "Production" });
        Assert.Equal(HttpStatusCode.BadRequest, invalid.StatusCode);
        Assert.Contains("deviceId must be 128 hexadecimal characters", await invalid.Content.ReadAsStringAsync(), StringComparison.Ordinal);

        var first = await app.PostAsync("api/provision", new { deviceId, product = "Thermostat", deviceGroup = "Field Test" });
        var payload = await ReadPayloadAsync(first);
        Assert.Equal(ProvisioningStarter.InstanceIdFor(deviceId), payload.Id);
        Assert.Equal(OrchestrationRuntimeStatus.Completed, (await app.WaitForCompletionAsync(payload.Id)).RuntimeStatus);

        var status = await app.Http.GetAsync(new Uri(payload.StatusQueryGetUri), TestFleetApp.Timeout(30));
        Assert.Equal(HttpStatusCode.OK, status.StatusCode);
        using (var body = JsonDocument.Parse(await status.Content.ReadAsStringAsync()))
        {
            Assert.Equal("Completed", body.RootElement.GetProperty("runtimeStatus").GetString());
            Assert.Equal("Done", body.RootElement.GetProperty("customStatus").GetProperty("step").GetString());
        }

        // Re-provisioning: the finished instance is replaced; the device is claimed already and moves.
        var again = await ReadPayloadAsync(await app.PostAsync("api/provision", new { deviceId, product = "Thermostat", deviceGroup = "Production" }));
        var done = await app.WaitForCompletionAsync(again.Id);
        var result = done.ReadOutputAs<ProvisionResult>()!;
        Assert.False(result.Claimed);
        Assert.True(result.Moved);
        Assert.Equal(production.Id, (await app.Simulator.Control.GetDeviceAsync(deviceId)).DeviceGroupId);
    }

    [Fact]
    public async Task Missing_groups_are_created_only_when_the_policy_allows_it()
    {
        const string policy = """
            { "tenants": [
              { "tenant": "Contoso Fleet", "allowCreate": true,
                "products": [ { "name": "Pump", "deviceGroups": [ { "name": "Canary", "osFeedType": "RetailEval", "updatePolicy": "NoUpdates" } ] } ] },
              { "tenant": "Fabrikam Fleet", "products": [ { "name": "Sensor Hub", "deviceGroups": [ { "name": "Canary" } ] } ] } ] }
            """;
        await using var app = await TestFleetApp.StartAsync(environment, settings: new Dictionary<string, string?> { ["ComplianceSweep:Policy"] = policy });
        var fleet = await app.Simulator.Control.GetFleetAsync();
        var allowed = fleet.UnclaimedDeviceIds[0];
        var refused = fleet.UnclaimedDeviceIds[1];

        await app.EnqueueAsync(Message(allowed, product: "Pump", group: "Canary"));
        await app.EnqueueAsync(Message(refused, product: "Sensor Hub", group: "Canary", tenant: "Fabrikam Fleet"));
        var created = await app.WaitForCompletionAsync(ProvisioningStarter.InstanceIdFor(allowed));
        var notCreated = await app.WaitForCompletionAsync(ProvisioningStarter.InstanceIdFor(refused));

        Assert.Equal(OrchestrationRuntimeStatus.Completed, created.RuntimeStatus);
        var pump = (await app.Simulator.Control.GetFleetAsync()).Contoso.GetProduct("Pump");
        var canary = pump.GetDeviceGroup("Canary");
        Assert.Equal(1, canary.OsFeedType);
        Assert.Equal(2, canary.UpdatePolicy);
        Assert.Equal(canary.Id, (await app.Simulator.Control.GetDeviceAsync(allowed)).DeviceGroupId);

        Assert.Equal(OrchestrationRuntimeStatus.Failed, notCreated.RuntimeStatus);
        var status = notCreated.ReadCustomStatusAs<ProvisionStatus>()!;
        Assert.Equal("ResolveGroup", status.FailedStep);
        Assert.Equal("DeviceGroupNotFound", status.ErrorCode);
        var view = await app.Simulator.Control.GetDeviceAsync(refused);
        Assert.True(view.Claimed);
        Assert.Null(view.DeviceGroupId);
    }

    internal static async Task<CheckStatusPayload> ReadPayloadAsync(HttpResponseMessage response)
    {
        Assert.Equal(HttpStatusCode.Accepted, response.StatusCode);
        var payload = (await response.Content.ReadFromJsonAsync<CheckStatusPayload>(TestFleetApp.Json))!;
        Assert.Equal(payload.StatusQueryGetUri, response.Headers.Location?.ToString());
        Assert.Contains($"/runtime/webhooks/durabletask/instances/{payload.Id}", payload.StatusQueryGetUri, StringComparison.Ordinal);
        Assert.Contains("code=", payload.SendEventPostUri, StringComparison.Ordinal);
        return payload;
    }
}
