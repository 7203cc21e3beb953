using System.Net;
using System.Text.Json;

namespace Fleet.Simulator.Tests;

/// <summary>Operation lifecycle on a fake clock: NotStarted → InProgress (half-way) → Complete/Failed at the delay.</summary>
public sealed class OperationTests : IAsyncLifetime
{
    private TestSim _sim = null!;

    public async Task InitializeAsync() => _sim = await TestSim.StartAsync(o => o.OperationDelayMs = 10_000, fakeClock: true);

    public async Task DisposeAsync() => await _sim.DisposeAsync();

    private async Task<JsonElement> PollAsync(Guid tenantId, JsonElement op) =>
        (await _sim.GetAsync($"v2/tenants/{tenantId}/operations/{op.GetProperty("OperationId").GetString()}")).Json;

    [Fact]
    public async Task States_and_dates_follow_the_clock_and_side_effects_wait_for_completion()
    {
        var clock = _sim.Clock!;
        var created = clock.GetUtcNow().UtcDateTime;
        var op = (await _sim.SendJsonAsync(HttpMethod.Post, $"v2/tenants/{_sim.TenantA}/products", """{ "Name": "Pump", "CreateDefaultGroups": true }""")).Json;
        Assert.Equal(0, op.GetProperty("State").GetInt32());
        Assert.Equal(created, op.GetProperty("CreatedDateUTC").GetDateTime());
        Assert.Equal(JsonValueKind.Null, op.GetProperty("StartedDateUTC").ValueKind);
        var location = op.GetProperty("ResourceLocation").GetString()!;

        clock.Advance(TimeSpan.FromSeconds(4));
        Assert.Equal(0, (await PollAsync(_sim.TenantA, op)).GetProperty("State").GetInt32());
        Assert.Equal(HttpStatusCode.NotFound, (await _sim.GetAsync(location)).Status);

        clock.Advance(TimeSpan.FromSeconds(2));
        var running = await PollAsync(_sim.TenantA, op);
        Assert.Equal(1, running.GetProperty("State").GetInt32());
        Assert.Equal(created.AddSeconds(5), running.GetProperty("StartedDateUTC").GetDateTime());
        Assert.Equal(JsonValueKind.Null, running.GetProperty("CompletedDateUTC").ValueKind);
        Assert.Equal(HttpStatusCode.NotFound, (await _sim.GetAsync(location)).Status);

        clock.Advance(TimeSpan.FromSeconds(4));
        var done = await PollAsync(_sim.TenantA, op);
        Assert.Equal(2, done.GetProperty("State").GetInt32());
        Assert.Equal(created.AddSeconds(10), done.GetProperty("CompletedDateUTC").GetDateTime());
        Assert.Equal(JsonValueKind.Null, done.GetProperty("Error").ValueKind);
        Assert.Equal(HttpStatusCode.OK, (await _sim.GetAsync(location)).Status);
        Assert.Equal(5, (await _sim.ListAllAsync($"{location}/devicegroups")).Count);
    }

    [Fact]
    public async Task Move_is_visible_only_when_its_operation_completes()
    {
        var device = _sim.Fleet.Contoso.UnassignedDeviceIds[0];
        var group = _sim.Fleet.Contoso.Products[0].GetDeviceGroup("Field Test");

        var op = (await _sim.SendJsonAsync(HttpMethod.Put, $"v2/tenants/{_sim.TenantA}/devices/{device}/devicegroup", $"\"{group.Id}\"")).Json;
        Assert.Equal(JsonValueKind.Null, (await _sim.GetAsync($"v2/tenants/{_sim.TenantA}/devices/{device}")).Json.GetProperty("DeviceGroupId").ValueKind);

        _sim.Clock!.Advance(TimeSpan.FromSeconds(10));
        Assert.Equal(2, (await PollAsync(_sim.TenantA, op)).GetProperty("State").GetInt32());
        Assert.Equal(group.Id.ToString(), (await _sim.GetAsync($"v2/tenants/{_sim.TenantA}/devices/{device}")).Json.GetProperty("DeviceGroupId").GetString());
    }

    [Fact]
    public async Task Move_into_a_group_deleted_meanwhile_fails_with_not_found()
    {
        var created = await _sim.SendJsonAsync(HttpMethod.Post, $"v2/tenants/{_sim.TenantA}/devicegroups",
            $$"""{ "Name": "Short Lived", "ProductId": "{{_sim.Fleet.Contoso.Products[0].Id}}" }""");
        var groupId = created.Json.GetProperty("Id").GetString();
        var device = _sim.Fleet.Contoso.UnassignedDeviceIds[1];

        var delete = (await _sim.SendJsonAsync(HttpMethod.Delete, $"v2/tenants/{_sim.TenantA}/devicegroups/{groupId}", null)).Json;
        _sim.Clock!.Advance(TimeSpan.FromSeconds(5));
        var move = (await _sim.SendJsonAsync(HttpMethod.Put, $"v2/tenants/{_sim.TenantA}/devices/{device}/devicegroup", $"\"{groupId}\"")).Json;
        _sim.Clock.Advance(TimeSpan.FromSeconds(10));

        Assert.Equal(2, (await PollAsync(_sim.TenantA, delete)).GetProperty("State").GetInt32());
        var failed = await PollAsync(_sim.TenantA, move);
        Assert.Equal(3, failed.GetProperty("State").GetInt32());
        Assert.Equal(8, failed.GetProperty("Error").GetProperty("Code").GetInt32());
        Assert.False(string.IsNullOrEmpty(failed.GetProperty("Error").GetProperty("Message").GetString()));
        Assert.Equal(JsonValueKind.Null, (await _sim.GetAsync($"v2/tenants/{_sim.TenantA}/devices/{device}")).Json.GetProperty("DeviceGroupId").ValueKind);
    }

    [Fact]
    public async Task Injected_failures_fail_the_next_operations_of_a_type_without_side_effects()
    {
        await _sim.Control.FailNextOperationsAsync(new OperationFailureInjection(1, OperationType: 4, ErrorCode: 4, Message: "boom"));

        var claim = (await _sim.SendJsonAsync(HttpMethod.Put, $"v2/tenants/{_sim.TenantA}/devices/{_sim.Fleet.UnclaimedDeviceIds[0]}/claim", null)).Json;
        var product = (await _sim.SendJsonAsync(HttpMethod.Post, $"v2/tenants/{_sim.TenantA}/products", """{ "Name": "Doomed" }""")).Json;
        var retry = (await _sim.SendJsonAsync(HttpMethod.Post, $"v2/tenants/{_sim.TenantA}/products", """{ "Name": "Doomed" }"""));
        Assert.Equal(HttpStatusCode.Conflict, retry.Status); // the failing create still reserves its name until it ends
        _sim.Clock!.Advance(TimeSpan.FromSeconds(10));

        Assert.Equal(2, (await PollAsync(_sim.TenantA, claim)).GetProperty("State").GetInt32());
        var failed = await PollAsync(_sim.TenantA, product);
        Assert.Equal(3, failed.GetProperty("State").GetInt32());
        Assert.Equal(4, failed.GetProperty("Error").GetProperty("Code").GetInt32());
        Assert.Equal("boom", failed.GetProperty("Error").GetProperty("Message").GetString());
        Assert.Equal(HttpStatusCode.NotFound, (await _sim.GetAsync(failed.GetProperty("ResourceLocation").GetString()!)).Status);
        Assert.Equal(HttpStatusCode.Accepted, (await _sim.SendJsonAsync(HttpMethod.Post, $"v2/tenants/{_sim.TenantA}/products", """{ "Name": "Doomed" }""")).Status);
    }

    [Fact]
    public async Task Complete_with_errors_keeps_side_effects_and_reports_state_4()
    {
        await _sim.Control.FailNextOperationsAsync(new OperationFailureInjection(1, ErrorCode: 0, CompleteWithErrors: true));

        var op = (await _sim.SendJsonAsync(HttpMethod.Post, $"v2/tenants/{_sim.TenantA}/products", """{ "Name": "Partial" }""")).Json;
        _sim.Clock!.Advance(TimeSpan.FromSeconds(10));

        var done = await PollAsync(_sim.TenantA, op);
        Assert.Equal(4, done.GetProperty("State").GetInt32());
        Assert.Equal(0, done.GetProperty("Error").GetProperty("Code").GetInt32());
        Assert.Equal(HttpStatusCode.OK, (await _sim.GetAsync(done.GetProperty("ResourceLocation").GetString()!)).Status);
    }

    [Fact]
    public async Task Conflicts_can_be_reported_as_failed_operations()
    {
        await _sim.Control.UpdateSettingsAsync(new SimulatorSettingsUpdate { ConflictReporting = ConflictReporting.FailedOperation });
        var claimed = _sim.Fleet.Contoso.UnassignedDeviceIds[0];

        var reply = await _sim.SendJsonAsync(HttpMethod.Put, $"v2/tenants/{_sim.TenantB}/devices/{claimed}/claim", null);
        Assert.Equal(HttpStatusCode.Accepted, reply.Status);
        _sim.Clock!.Advance(TimeSpan.FromSeconds(10));

        var failed = await PollAsync(_sim.TenantB, reply.Json);
        Assert.Equal(3, failed.GetProperty("State").GetInt32());
        Assert.Equal(7, failed.GetProperty("Error").GetProperty("Code").GetInt32());
        Assert.StartsWith("DeviceClaimedByAnotherTenant", failed.GetProperty("Error").GetProperty("Message").GetString());
    }

    [Fact]
    public async Task Operations_are_scoped_to_their_tenant()
    {
        var op = (await _sim.SendJsonAsync(HttpMethod.Post, $"v2/tenants/{_sim.TenantA}/products", """{ "Name": "Scoped" }""")).Json;

        var fromOther = await _sim.GetAsync($"v2/tenants/{_sim.TenantB}/operations/{op.GetProperty("OperationId").GetString()}");
        var unknown = await _sim.GetAsync($"v2/tenants/{_sim.TenantA}/operations/{Guid.NewGuid()}");

        Assert.Equal((HttpStatusCode.NotFound, "OperationNotFound"), (fromOther.Status, fromOther.ErrorCode));
        Assert.Equal(HttpStatusCode.NotFound, unknown.Status);
    }
}
