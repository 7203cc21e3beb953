using System.Net;

namespace Fleet.Simulator.Tests;

public sealed class ClaimTests : IAsyncLifetime
{
    private TestSim _sim = null!;

    public async Task InitializeAsync() => _sim = await TestSim.StartAsync();

    public async Task DisposeAsync() => await _sim.DisposeAsync();

    [Fact]
    public async Task Claiming_an_unclaimed_device_brings_it_into_the_tenant_unassigned()
    {
        var device = _sim.Fleet.UnclaimedDeviceIds[0];
        Assert.Equal(HttpStatusCode.NotFound, (await _sim.GetAsync($"v2/tenants/{_sim.TenantB}/devices/{device}")).Status);

        var reply = await _sim.SendJsonAsync(HttpMethod.Put, $"v2/tenants/{_sim.TenantB}/devices/{device}/claim", null);

        Assert.Equal(HttpStatusCode.Accepted, reply.Status);
        Assert.Equal(0, reply.Json.GetProperty("OperationType").GetInt32());
        var done = await _sim.WaitAsync(_sim.TenantB, reply);
        Assert.Equal(2, done.GetProperty("State").GetInt32());
        var claimed = await _sim.GetAsync(done.GetProperty("ResourceLocation").GetString()!);
        Assert.Equal(HttpStatusCode.OK, claimed.Status);
        Assert.Equal(_sim.TenantB.ToString(), claimed.Json.GetProperty("TenantId").GetString());
        var view = await _sim.Control.GetDeviceAsync(device);
        Assert.True(view.Claimed);
        Assert.Equal(_sim.TenantB, view.TenantId);
        Assert.Null(view.DeviceGroupId);
        Assert.DoesNotContain(device, (await _sim.Control.GetFleetAsync()).UnclaimedDeviceIds);
    }

    [Fact]
    public async Task A_second_claim_by_the_same_tenant_and_a_claim_by_another_tenant_are_different_409s()
    {
        var device = _sim.Fleet.UnclaimedDeviceIds[1];
        await _sim.WaitAsync(_sim.TenantA, await _sim.SendJsonAsync(HttpMethod.Put, $"v2/tenants/{_sim.TenantA}/devices/{device}/claim", null));

        var again = await _sim.SendJsonAsync(HttpMethod.Put, $"v2/tenants/{_sim.TenantA}/devices/{device}/claim", null);
        var other = await _sim.SendJsonAsync(HttpMethod.Put, $"v2/tenants/{_sim.TenantB}/devices/{device}/claim", null);

        Assert.Equal((HttpStatusCode.Conflict, "DeviceAlreadyClaimed"), (again.Status, again.ErrorCode));
        Assert.Equal((HttpStatusCode.Conflict, "DeviceClaimedByAnotherTenant"), (other.Status, other.ErrorCode));
    }

    [Fact]
    public async Task A_claim_in_flight_already_blocks_other_claims()
    {
        await _sim.Control.SetDelaysAsync(operationDelayMs: 60_000);
        var device = _sim.Fleet.UnclaimedDeviceIds[2];

        var first = await _sim.SendJsonAsync(HttpMethod.Put, $"v2/tenants/{_sim.TenantA}/devices/{device}/claim", null);
        var same = await _sim.SendJsonAsync(HttpMethod.Put, $"v2/tenants/{_sim.TenantA}/devices/{device}/claim", null);
        var other = await _sim.SendJsonAsync(HttpMethod.Put, $"v2/tenants/{_sim.TenantB}/devices/{device}/claim", null);

        Assert.Equal(HttpStatusCode.Accepted, first.Status);
        Assert.Equal("DeviceAlreadyClaimed", same.ErrorCode);
        Assert.Equal("DeviceClaimedByAnotherTenant", other.ErrorCode);
        Assert.False((await _sim.Control.GetDeviceAsync(device)).Claimed);
    }

    [Fact]
    public async Task Claiming_an_unknown_device_is_404()
    {
        var reply = await _sim.SendJsonAsync(HttpMethod.Put, $"v2/tenants/{_sim.TenantA}/devices/{new string('F', 128)}/claim", null);

        Assert.Equal((HttpStatusCode.NotFound, "DeviceNotFound"), (reply.Status, reply.ErrorCode));
    }

    [Fact]
    public async Task A_device_of_another_tenant_is_invisible_and_cannot_be_moved()
    {
        var fabrikamDevice = _sim.Fleet.Fabrikam.UnassignedDeviceIds[0];
        var group = _sim.Fleet.Contoso.Products[0].GetDeviceGroup("Production");

        Assert.Equal(HttpStatusCode.NotFound, (await _sim.GetAsync($"v2/tenants/{_sim.TenantA}/devices/{fabrikamDevice}")).Status);
        var move = await _sim.SendJsonAsync(HttpMethod.Put, $"v2/tenants/{_sim.TenantA}/devices/{fabrikamDevice}/devicegroup", $"\"{group.Id}\"");
        Assert.Equal("DeviceNotFound", move.ErrorCode);
        var foreignGroup = await _sim.SendJsonAsync(HttpMethod.Put, $"v2/tenants/{_sim.TenantB}/devices/{fabrikamDevice}/devicegroup", $"\"{group.Id}\"");
        Assert.Equal("DeviceGroupNotFound", foreignGroup.ErrorCode);
    }
}
