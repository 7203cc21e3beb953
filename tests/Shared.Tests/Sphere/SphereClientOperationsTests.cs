using Azure;
using Fleet.Shared.Sphere;
using Fleet.Simulator;

namespace Fleet.Shared.Tests.Sphere;

[Collection(SimulatorCollection.Name)]
public sealed class SphereClientOperationsTests
{
    [Fact]
    public async Task Lists_the_tenants_of_the_identity_and_reads_one()
    {
        var ct = SimulatorFixture.Timeout();
        await using var sim = await SimulatorFixture.StartSimulatorAsync();
        var fleet = await sim.Control.GetFleetAsync(ct);
        var client = SimulatorFixture.CreateClient(sim);

        var tenants = await client.GetTenantsAsync(ct);
        var contoso = await client.GetTenantAsync(fleet.Contoso.Id.ToString(), ct);

        Assert.Equal(
            new[] { fleet.Contoso.Id.ToString(), fleet.Fabrikam.Id.ToString() }.Order(),
            tenants.Select(t => t.Id).Order());
        Assert.Equal("Contoso Fleet", contoso.Name);
        Assert.Contains("Contributor", contoso.Roles!);
    }

    [Fact]
    public async Task Paging_over_ten_thousand_devices_returns_each_device_exactly_once()
    {
        var ct = SimulatorFixture.Timeout();

        // 19,608 seeded devices give tenant A exactly 10,000; the simulator's default page size is 20.
        await using var sim = await SimulatorFixture.StartSimulatorAsync(new SimulatorOptions { Devices = 19_608 });
        var fleet = await sim.Control.GetFleetAsync(ct);
        var client = SimulatorFixture.CreateClient(sim, o => o.RateLimiter.Enabled = false);
        await sim.Control.ResetCountersAsync(ct);

        var ids = new List<string>();
        await foreach (var device in client.GetDevicesAsync(fleet.Contoso.Id.ToString(), ct))
        {
            ids.Add(device.DeviceId);
        }

        Assert.Equal(10_000, fleet.Contoso.ClaimedDeviceCount);
        Assert.Equal(10_000, ids.Count);
        Assert.Equal(10_000, ids.Distinct(StringComparer.OrdinalIgnoreCase).Count());
        var counters = await sim.Control.GetCountersAsync(ct);
        Assert.Equal(500, counters.CountFor("v2/tenants/{tenantId}/devices", 200));
    }

    [Fact]
    public async Task Pages_carry_their_continuation_token_and_can_resume_from_it()
    {
        var ct = SimulatorFixture.Timeout();
        await using var sim = await SimulatorFixture.StartSimulatorAsync();
        var fleet = await sim.Control.GetFleetAsync(ct);
        var client = SimulatorFixture.CreateClient(sim, o => o.PageSize = 7);
        var tenantId = fleet.Contoso.Id.ToString();

        Page<Fleet.Shared.Sphere.Device>? first = null;
        await foreach (var page in client.GetDevicesAsync(tenantId, ct).AsPages())
        {
            first = page;
            break;
        }

        var rest = new List<string>();
        await foreach (var page in client.GetDevicesAsync(tenantId, ct).AsPages(first!.ContinuationToken))
        {
            Assert.True(page.Values.Count <= 7);
            rest.AddRange(page.Values.Select(d => d.DeviceId));
        }

        Assert.Equal(7, first.Values.Count);
        Assert.NotNull(first.ContinuationToken);
        Assert.Equal(fleet.Contoso.ClaimedDeviceCount, first.Values.Count + rest.Count);
        Assert.Empty(first.Values.Select(d => d.DeviceId).Intersect(rest));
    }

    [Fact]
    public async Task Products_are_created_patched_listed_and_deleted_through_operations()
    {
        var ct = SimulatorFixture.Timeout();
        await using var sim = await SimulatorFixture.StartSimulatorAsync(new SimulatorOptions { Devices = 100, OperationDelayMs = 100 });
        var fleet = await sim.Control.GetFleetAsync(ct);
        var client = SimulatorFixture.CreateClient(sim);
        var tenantId = fleet.Fabrikam.Id.ToString();

        var create = await client.CreateProductAsync(tenantId, "Smart Valve", "valves", createDefaultGroups: true, ct);
        Assert.Equal(OperationType.CreateProduct, create.OperationType);
        Assert.False(create.IsFinished);
        var created = await client.WaitForOperationAsync(create, cancellationToken: ct);
        Assert.Equal(OperationState.Complete, created.State);

        var product = await FindAsync(client.GetProductsAsync(tenantId, ct), p => p.Name == "Smart Valve");
        Assert.Equal(tenantId, product.TenantId);
        var groups = await ToListAsync(client.GetProductDeviceGroupsAsync(tenantId, product.Id, ct));
        Assert.Equal(5, groups.Count);
        Assert.Contains(groups, g => g.Name == "Field Test OS Evaluation" && g.OsFeedType == OsFeedType.RetailEval);

        var patched = await client.UpdateProductAsync(tenantId, product.Id, new ProductPatch { Description = "smart valves" }, ct);
        Assert.Equal("smart valves", patched.Description);
        Assert.Equal("smart valves", (await client.GetProductAsync(tenantId, product.Id, ct)).Description);
        Assert.Empty(await ToListAsync(client.GetProductDevicesAsync(tenantId, product.Id, ct)));

        var delete = await client.DeleteProductAsync(tenantId, product.Id, ct);
        Assert.Equal(OperationType.DeleteProduct, delete.OperationType);
        await client.WaitForOperationAsync(tenantId, delete.OperationId, cancellationToken: ct);
        var gone = await Assert.ThrowsAsync<SphereApiException>(() => client.GetProductAsync(tenantId, product.Id, ct));
        Assert.True(gone.IsNotFound);
        Assert.Equal("ProductNotFound", gone.ErrorCode);
    }

    [Fact]
    public async Task Device_groups_are_created_synchronously_patched_and_deleted()
    {
        var ct = SimulatorFixture.Timeout();
        await using var sim = await SimulatorFixture.StartSimulatorAsync();
        var fleet = await sim.Control.GetFleetAsync(ct);
        var client = SimulatorFixture.CreateClient(sim);
        var tenantId = fleet.Contoso.Id.ToString();
        var productId = fleet.Contoso.GetProduct("Thermostat").Id.ToString();

        var group = await client.CreateDeviceGroupAsync(tenantId,
            new DeviceGroupCreateRequest(productId, "Canary") { Description = "first wave", UpdatePolicy = UpdatePolicy.No3rdPartyAppUpdates },
            ct);
        Assert.Equal("Canary", group.Name);
        Assert.Equal(productId, group.ProductId);
        Assert.Equal(UpdatePolicy.No3rdPartyAppUpdates, group.UpdatePolicy);
        Assert.Null(group.CurrentDeployment);

        var patched = await client.UpdateDeviceGroupAsync(tenantId, group.Id,
            new DeviceGroupPatch { OsFeedType = OsFeedType.RetailEval, UpdatePolicy = UpdatePolicy.NoUpdates, AllowCrashDumpsCollection = true },
            ct);
        Assert.Equal(OsFeedType.RetailEval, patched.OsFeedType);
        Assert.Equal(UpdatePolicy.NoUpdates, patched.UpdatePolicy);
        Assert.True(patched.AllowCrashDumpsCollection);
        Assert.Equal("first wave", patched.Description);
        Assert.Equal(UpdatePolicy.NoUpdates, (await client.GetDeviceGroupAsync(tenantId, group.Id, ct)).UpdatePolicy);
        Assert.Contains(await ToListAsync(client.GetDeviceGroupsAsync(tenantId, ct)), g => g.Id == group.Id);
        Assert.Contains(await ToListAsync(client.GetProductDeviceGroupsAsync(tenantId, productId, ct)), g => g.Id == group.Id);

        var delete = await client.DeleteDeviceGroupAsync(tenantId, group.Id, ct);
        var done = await client.WaitForOperationAsync(delete, cancellationToken: ct);
        Assert.Equal(OperationType.DeleteDeviceGroup, done.OperationType);
        Assert.True((await Assert.ThrowsAsync<SphereApiException>(() => client.GetDeviceGroupAsync(tenantId, group.Id, ct))).IsNotFound);
    }

    [Fact]
    public async Task Claim_move_upload_and_deploy_flow_with_operation_polling()
    {
        var ct = SimulatorFixture.Timeout();
        await using var sim = await SimulatorFixture.StartSimulatorAsync(new SimulatorOptions { Devices = 200, OperationDelayMs = 150 });
        var fleet = await sim.Control.GetFleetAsync(ct);
        var client = SimulatorFixture.CreateClient(sim);
        var tenantId = fleet.Contoso.Id.ToString();
        var productId = fleet.Contoso.GetProduct("Gateway").Id.ToString();
        var deviceId = fleet.UnclaimedDeviceIds[0];
        await sim.Control.ResetCountersAsync(ct);

        // Claim: one-time, asynchronous.
        var claim = await client.ClaimDeviceAsync(tenantId, deviceId, ct);
        Assert.Equal(OperationType.DeviceClaim, claim.OperationType);
        Assert.Equal(tenantId, claim.TenantId);
        await client.WaitForOperationAsync(claim, cancellationToken: ct);
        var claimed = await client.GetDeviceAsync(tenantId, deviceId, ct);
        Assert.Equal(tenantId, claimed.TenantId);
        Assert.Null(claimed.DeviceGroupId);

        // Move into a new group (the body is a bare JSON string).
        var group = await client.CreateDeviceGroupAsync(tenantId, new DeviceGroupCreateRequest(productId, "Pilot"), ct);
        await client.WaitForOperationAsync(await client.MoveDeviceAsync(tenantId, deviceId, group.Id, ct), cancellationToken: ct);
        Assert.Equal(group.Id, (await client.GetDeviceAsync(tenantId, deviceId, ct)).DeviceGroupId);
        Assert.Equal([deviceId], (await ToListAsync(client.GetDeviceGroupDevicesAsync(tenantId, group.Id, ct))).Select(d => d.DeviceId));

        // Upload an image (octet-stream) and deploy it (a bare JSON array).
        var package = SimulatedImagePackage.Create("pilot-app", Guid.NewGuid(), description: "pilot build");
        var upload = await client.UploadImageAsync(tenantId, BinaryData.FromBytes(package), ct);
        Assert.Equal(OperationType.ImageUpload, upload.OperationType);
        await client.WaitForOperationAsync(upload, cancellationToken: ct);
        var image = await FindAsync(client.GetImagesAsync(tenantId, ct), i => i.Name == "pilot-app");
        var metadata = await client.GetImageMetadataAsync(tenantId, image.Id, ct);
        Assert.Equal(ImageType.Applications, metadata.Type);
        Assert.Equal("pilot build", metadata.Description);

        var deploy = await client.CreateDeploymentAsync(tenantId, group.Id, [image.Id], ct);
        Assert.Equal(OperationType.DeployToDeviceGroup, deploy.OperationType);
        await client.WaitForOperationAsync(deploy, cancellationToken: ct);

        var deployment = Assert.Single(await ToListAsync(client.GetDeploymentsAsync(tenantId, group.Id, ct)));
        Assert.Equal([image.Id], deployment.DeployedImages);
        Assert.Equal(deployment.Id, (await client.GetDeviceGroupAsync(tenantId, group.Id, ct)).CurrentDeployment?.Id);
        Assert.Equal([image.Id], (await ToListAsync(client.GetDeviceImagesAsync(tenantId, deviceId, ct))).Select(i => i.Id));

        // Installed images show up as device insights (install delay 0: on the next request).
        var insight = await FindAsync(client.GetDeviceInsightsAsync(tenantId, ct),
            e => e.DeviceId == deviceId && e.Description!.Contains(deployment.Id, StringComparison.OrdinalIgnoreCase));
        Assert.Equal("AppUpdate", insight.EventCategory);
        Assert.Contains(image.Id, insight.Description!, StringComparison.OrdinalIgnoreCase);
        var view = await sim.Control.GetDeviceAsync(deviceId, ct);
        Assert.Equal(DeviceInstallState.Installed, view.InstallState);

        // The waiter polled: more operation reads than operations (each took 150 ms, polls are 20 ms apart).
        var counters = await sim.Control.GetCountersAsync(ct);
        Assert.True(counters.CountFor("v2/tenants/{tenantId}/operations/{operationId}", 200) >= 8,
            "the waiter should have polled each operation more than once");
    }

    [Fact]
    public async Task Enumeration_stops_when_its_cancellation_token_fires()
    {
        var ct = SimulatorFixture.Timeout();
        await using var sim = await SimulatorFixture.StartSimulatorAsync();
        var fleet = await sim.Control.GetFleetAsync(ct);
        var client = SimulatorFixture.CreateClient(sim);
        await sim.Control.ResetCountersAsync(ct);
        using var stop = CancellationTokenSource.CreateLinkedTokenSource(ct);

        var seen = 0;
        await Assert.ThrowsAnyAsync<OperationCanceledException>(async () =>
        {
            await foreach (var device in client.GetDevicesAsync(fleet.Contoso.Id.ToString()).WithCancellation(stop.Token))
            {
                if (++seen == 20)
                {
                    await stop.CancelAsync();
                }
            }
        });

        Assert.Equal(20, seen);
        Assert.Equal(1, (await sim.Control.GetCountersAsync(ct)).CountFor("v2/tenants/{tenantId}/devices"));
    }

    [Fact]
    public async Task Waiting_for_an_operation_gives_up_after_the_operation_timeout()
    {
        var ct = SimulatorFixture.Timeout();
        await using var sim = await SimulatorFixture.StartSimulatorAsync(new SimulatorOptions { Devices = 100, OperationDelayMs = 60_000 });
        var fleet = await sim.Control.GetFleetAsync(ct);
        var client = SimulatorFixture.CreateClient(sim, o => o.OperationTimeout = TimeSpan.FromMilliseconds(300));
        var tenantId = fleet.Contoso.Id.ToString();

        var operation = await client.ClaimDeviceAsync(tenantId, fleet.UnclaimedDeviceIds[0], ct);
        var error = await Assert.ThrowsAsync<TimeoutException>(() => client.WaitForOperationAsync(operation, cancellationToken: ct));

        Assert.Contains(operation.OperationId, error.Message, StringComparison.Ordinal);
        Assert.False((await client.GetOperationAsync(tenantId, operation.OperationId, ct)).IsFinished);
    }

    private static async Task<List<T>> ToListAsync<T>(AsyncPageable<T> items)
        where T : notnull
    {
        var list = new List<T>();
        await foreach (var item in items)
        {
            list.Add(item);
        }

        return list;
    }

    private static async Task<T> FindAsync<T>(AsyncPageable<T> items, Func<T, bool> match)
        where T : notnull
    {
        await foreach (var item in items)
        {
            if (match(item))
            {
                return item;
            }
        }

        throw new Xunit.Sdk.XunitException("No matching item in the list.");
    }
}
