using Fleet.Shared.Sphere;
using Fleet.Simulator;

namespace Fleet.Shared.Tests.Sphere;

[Collection(SimulatorCollection.Name)]
public sealed class SphereClientErrorTests
{
    private static void AssertTyped(SphereApiException error, int status, string errorCode)
    {
        Assert.Equal(status, error.Status);
        Assert.Equal(errorCode, error.ErrorCode);
        Assert.False(string.IsNullOrEmpty(error.Title));
        Assert.False(string.IsNullOrEmpty(error.Detail));
        Assert.False(string.IsNullOrEmpty(error.RequestId));
        Assert.Contains(errorCode, error.Message, StringComparison.Ordinal);
        Assert.DoesNotContain("eyJ", error.Message, StringComparison.Ordinal);
        Assert.DoesNotContain("Bearer", error.Message, StringComparison.OrdinalIgnoreCase);
        Assert.False(error.IsTransient);
    }

    [Fact]
    public async Task A_token_for_another_audience_is_a_401_and_is_not_retried()
    {
        var ct = SimulatorFixture.Timeout();
        await using var sim = await SimulatorFixture.StartSimulatorAsync();
        var fleet = await sim.Control.GetFleetAsync(ct);
        var client = SimulatorFixture.CreateClient(sim, o => o.Scope = "https://management.azure.com/.default");
        await sim.Control.ResetCountersAsync(ct);

        var error = await Assert.ThrowsAsync<SphereApiException>(() => client.GetTenantAsync(fleet.Contoso.Id.ToString(), ct));

        AssertTyped(error, 401, "InvalidAudience");
        Assert.True(error.IsUnauthorized);
        Assert.Equal(1, (await sim.Control.GetCountersAsync(ct)).CountFor("v2/tenants/{tenantId}"));
    }

    [Fact]
    public async Task A_tenant_the_identity_is_no_user_of_is_a_403()
    {
        var ct = SimulatorFixture.Timeout();
        await using var sim = await SimulatorFixture.StartSimulatorAsync();
        var fleet = await sim.Control.GetFleetAsync(ct);
        var client = SimulatorFixture.CreateClient(sim);
        await sim.Control.ResetCountersAsync(ct);

        var error = await Assert.ThrowsAsync<SphereApiException>(
            async () => await client.GetDevicesAsync(fleet.Northwind.Id.ToString(), ct).AsPages().GetAsyncEnumerator(ct).MoveNextAsync());

        AssertTyped(error, 403, "PrincipalNotTenantUser");
        Assert.True(error.IsForbidden);
        Assert.Equal(1, (await sim.Control.GetCountersAsync(ct)).CountFor("v2/tenants/{tenantId}/devices"));
    }

    [Fact]
    public async Task An_unknown_device_is_a_404_and_is_not_retried()
    {
        var ct = SimulatorFixture.Timeout();
        await using var sim = await SimulatorFixture.StartSimulatorAsync();
        var fleet = await sim.Control.GetFleetAsync(ct);
        var client = SimulatorFixture.CreateClient(sim);
        await sim.Control.ResetCountersAsync(ct);

        var error = await Assert.ThrowsAsync<SphereApiException>(
            () => client.GetDeviceAsync(fleet.Contoso.Id.ToString(), new string('A', 128), ct));

        AssertTyped(error, 404, "DeviceNotFound");
        Assert.True(error.IsNotFound);
        Assert.Equal("GET", error.Method);
        Assert.StartsWith("v2/tenants/", error.Path, StringComparison.Ordinal);
        Assert.Single(error.Errors);
        Assert.Equal(1, (await sim.Control.GetCountersAsync(ct)).CountFor("v2/tenants/{tenantId}/devices/{deviceId}"));
    }

    [Fact]
    public async Task An_invalid_name_is_a_400_and_is_not_retried()
    {
        var ct = SimulatorFixture.Timeout();
        await using var sim = await SimulatorFixture.StartSimulatorAsync();
        var fleet = await sim.Control.GetFleetAsync(ct);
        var client = SimulatorFixture.CreateClient(sim);
        await sim.Control.ResetCountersAsync(ct);

        var error = await Assert.ThrowsAsync<SphereApiException>(() => client.CreateDeviceGroupAsync(
            fleet.Contoso.Id.ToString(),
            new DeviceGroupCreateRequest(fleet.Contoso.Products[0].Id.ToString(), "no/slashes!"),
            ct));

        AssertTyped(error, 400, "InvalidName");
        Assert.True(error.IsBadRequest);
        Assert.Equal(1, (await sim.Control.GetCountersAsync(ct)).CountFor("v2/tenants/{tenantId}/devicegroups"));
    }

    [Fact]
    public async Task Claiming_a_device_of_another_tenant_is_a_409_conflict()
    {
        var ct = SimulatorFixture.Timeout();
        await using var sim = await SimulatorFixture.StartSimulatorAsync();
        var fleet = await sim.Control.GetFleetAsync(ct);
        var client = SimulatorFixture.CreateClient(sim);
        var fabrikamDevice = fleet.Fabrikam.Products[0].DeviceGroups.First(g => g.DeviceCount > 0).SampleDeviceIds[0];
        await sim.Control.ResetCountersAsync(ct);

        var error = await Assert.ThrowsAsync<SphereApiException>(
            () => client.ClaimDeviceAsync(fleet.Contoso.Id.ToString(), fabrikamDevice, ct));

        AssertTyped(error, 409, "DeviceClaimedByAnotherTenant");
        Assert.True(error.IsConflict);
        Assert.Null(error.OperationId);
        Assert.Equal(1, (await sim.Control.GetCountersAsync(ct)).CountFor("v2/tenants/{tenantId}/devices/{deviceId}/claim"));
    }

    [Fact]
    public async Task A_double_claim_reported_as_a_failed_operation_surfaces_as_the_same_exception()
    {
        var ct = SimulatorFixture.Timeout();
        await using var sim = await SimulatorFixture.StartSimulatorAsync(
            new SimulatorOptions { Devices = 200, ConflictReporting = ConflictReporting.FailedOperation });
        var fleet = await sim.Control.GetFleetAsync(ct);
        var client = SimulatorFixture.CreateClient(sim);
        var tenantId = fleet.Contoso.Id.ToString();
        var device = fleet.UnclaimedDeviceIds[0];
        await client.WaitForOperationAsync(await client.ClaimDeviceAsync(tenantId, device, ct), cancellationToken: ct);

        var again = await client.ClaimDeviceAsync(tenantId, device, ct);
        var error = await Assert.ThrowsAsync<SphereApiException>(() => client.WaitForOperationAsync(again, cancellationToken: ct));
        var failed = await client.WaitForOperationAsync(again, ensureSuccess: false, ct);

        Assert.True(error.IsConflict);
        Assert.Equal("Conflict", error.ErrorCode);
        Assert.Equal(again.OperationId, error.OperationId);
        Assert.Contains("DeviceAlreadyClaimed", error.Detail, StringComparison.Ordinal);
        Assert.False(error.IsTransient);
        Assert.Equal(OperationState.Failed, failed.State);
        Assert.Equal(OperationErrorCode.Conflict, failed.Error?.Code);
    }

    [Fact]
    public async Task An_injected_operation_failure_carries_its_code_and_message()
    {
        var ct = SimulatorFixture.Timeout();
        await using var sim = await SimulatorFixture.StartSimulatorAsync();
        var fleet = await sim.Control.GetFleetAsync(ct);
        var client = SimulatorFixture.CreateClient(sim);
        await sim.Control.FailNextOperationsAsync(
            new OperationFailureInjection(1, OperationType: 4, ErrorCode: 4, Message: "storage unavailable"), ct);

        var operation = await client.CreateProductAsync(fleet.Contoso.Id.ToString(), "Doomed", cancellationToken: ct);
        var error = await Assert.ThrowsAsync<SphereApiException>(() => client.WaitForOperationAsync(operation, cancellationToken: ct));

        Assert.Equal("InternalServerError", error.ErrorCode);
        Assert.Equal(500, error.Status);
        Assert.Equal("storage unavailable", error.Detail);
        Assert.True(error.IsTransient);
    }
}
