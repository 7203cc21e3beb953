using Fleet.Shared.FleetClouds;
using Fleet.Shared.IoTCentral;
using Fleet.Shared.IoTConnect;
using Fleet.Shared.Tests.IoTCentral;
using Fleet.Shared.Tests.IoTConnect;
using Fleet.Shared.Tests.Sphere;
using Microsoft.Extensions.Configuration;
using Microsoft.Extensions.DependencyInjection;

namespace Fleet.Shared.Tests.FleetClouds;

/// <summary>The port's IoT Central and IoTConnect adapters over their real clients and the simulator (loopback).</summary>
[Collection(SimulatorCollection.Name)]
public sealed class FleetCloudAdapterTests
{
    private static CancellationToken Timeout() => new CancellationTokenSource(TimeSpan.FromSeconds(60)).Token;

    [Fact]
    public async Task IoT_Central_enrolls_places_verifies_and_deploys_through_the_port()
    {
        await using var sim = await IoTCentralTestSupport.StartAsync();
        var services = new ServiceCollection().AddKeyedSingleton("IoTCentral", IoTCentralTestSupport.Client(sim)).BuildServiceProvider();
        var adapter = new IoTCentralFleetAdapter(services);
        var token = Timeout();
        var target = new FleetTarget(FleetCloud.IoTCentral, "IoTCentral", "west-thermostats", "dtmi:contoso:thermostat;1", "contoso-west");

        var resolved = await adapter.ResolveTargetAsync(target, token);
        Assert.Equal(FleetStepState.Done, resolved.State);
        var location = resolved.Location!;

        Assert.True((await adapter.EnrollAsync(target, "fleet-new-1", token)).Changed);
        Assert.False((await adapter.EnrollAsync(target, "fleet-new-1", token)).Changed);
        var placed = await adapter.PlaceAsync(target, location, "fleet-new-1", cancellationToken: token);
        while (placed.State == FleetStepState.Pending)
        {
            placed = await adapter.PollAsync(target, placed.Handle!, token);
        }

        Assert.Equal(FleetStepState.Done, placed.State);
        Assert.Equal(FleetStepState.Done, (await adapter.VerifyAsync(target, location, "fleet-new-1", token)).State);
        var device = await adapter.GetDeviceAsync(target, "fleet-new-1", token);
        Assert.True(adapter.IsPlaced(device!, location));

        var missing = await adapter.ResolveTargetAsync(target with { Group = "no-such-group" }, token);
        Assert.Equal(FleetError.DeviceGroupNotFound, missing.Error!.ErrorCode);

        var start = await adapter.StartDeploymentAsync(new FleetDeploymentRequest(target, location, new FleetDeploymentSpec("2.0.0"), "wave-1-west"), token);
        Assert.Equal(FleetStepState.Pending, start.State);
        var progress = await adapter.GetDeploymentAsync(target, start.Handle!, token);
        while (!progress.Finished)
        {
            await Task.Delay(20, token);
            progress = await adapter.GetDeploymentAsync(target, start.Handle!, token);
        }

        Assert.True(progress.Devices > 1);
        Assert.Equal(progress.Devices, progress.Succeeded);

        // Every device the job reached now reports the property, as a sweep reads it.
        var versions = new List<FleetDevice>();
        string? continuation = null;
        do
        {
            var page = await adapter.GetDevicesAsync(target, continuation, 25, new FleetDeploymentSpec("2.0.0"), token);
            versions.AddRange(page.Devices);
            continuation = page.Continuation;
        }
        while (continuation is not null);

        Assert.Equal(progress.Devices, versions.Count(d => d.Version == "2.0.0"));
        Assert.Contains(versions, d => d.DeviceId == "fleet-new-1" && d.Version == "2.0.0");
    }

    [Fact]
    public async Task IoTConnect_enrolls_moves_and_updates_firmware_through_the_port()
    {
        await using var host = await IoTConnectTestHost.StartAsync();
        var services = new ServiceCollection().AddKeyedSingleton("IoTConnect", host.Client()).BuildServiceProvider();
        var adapter = new IoTConnectFleetAdapter(services, TimeProvider.System);
        var token = Timeout();
        var east = new FleetTarget(FleetCloud.IoTConnect, "IoTConnect", "Production/Production East", "THERMO");
        var fieldTest = east with { Group = "Field Test" };

        var eastLocation = (await adapter.ResolveTargetAsync(east, token)).Location!;
        var fieldLocation = (await adapter.ResolveTargetAsync(fieldTest, token)).Location!;
        Assert.True((await adapter.EnrollAsync(east, "fleet-new-1", token)).Changed);
        Assert.False((await adapter.EnrollAsync(east, "fleet-new-1", token)).Changed);
        Assert.Equal(FleetStepState.Done, (await adapter.PlaceAsync(east, eastLocation, "fleet-new-1", cancellationToken: token)).State);

        var moved = await adapter.PlaceAsync(fieldTest, fieldLocation, "fleet-new-1", cancellationToken: token);
        while (moved.State == FleetStepState.Pending)
        {
            moved = await adapter.PollAsync(fieldTest, moved.Handle!, token);
        }

        Assert.True(moved.Changed);
        Assert.Equal(FleetStepState.Done, (await adapter.VerifyAsync(fieldTest, fieldLocation, "fleet-new-1", token)).State);
        Assert.Equal(FleetError.VerificationFailed, (await adapter.VerifyAsync(east, eastLocation, "fleet-new-1", token)).Error!.ErrorCode);

        var start = await adapter.StartDeploymentAsync(new FleetDeploymentRequest(fieldTest, fieldLocation, new FleetDeploymentSpec("1.1"), "d1", ["fleet-new-1"]), token);
        var progress = await adapter.GetDeploymentAsync(fieldTest, start.Handle!, token);
        while (!progress.Finished)
        {
            await Task.Delay(20, token);
            progress = await adapter.GetDeploymentAsync(fieldTest, start.Handle!, token);
        }

        Assert.Equal(1, progress.Devices);
        Assert.Equal(1, progress.Succeeded);
        Assert.Equal("1.1", (await adapter.GetDeviceAsync(fieldTest, "fleet-new-1", token))!.Version);

        var missing = await adapter.StartDeploymentAsync(new FleetDeploymentRequest(fieldTest, fieldLocation, new FleetDeploymentSpec("9.9"), "d2"), token);
        Assert.Equal(FleetError.VersionNotFound, missing.Error!.ErrorCode);
    }

    [Fact]
    public void Connections_are_the_sections_named_after_the_cloud_that_hold_settings()
    {
        var configuration = new ConfigurationBuilder().AddInMemoryCollection(new Dictionary<string, string?>
        {
            ["IoTCentral:endpoint"] = "http://127.0.0.1:1/iotc/contoso/api/",
            ["IoTCentral_Fabrikam:endpoint"] = "http://127.0.0.1:1/iotc/fabrikam/api/",
            ["IoTCentralish:endpoint"] = "http://127.0.0.1:1/",
            ["IoTConnect_Lab:username"] = "ops",
        }).Build();

        Assert.Equal(["IoTCentral", "IoTCentral_Fabrikam"], FleetCloudServiceCollectionExtensions.ConnectionsOf(configuration, "IoTCentral"));
        Assert.Equal(["IoTConnect_Lab"], FleetCloudServiceCollectionExtensions.ConnectionsOf(configuration, "IoTConnect"));
        Assert.True(FleetCloudJsonConverter.TryParse("IoTConnect", out var cloud));
        Assert.Equal(FleetCloud.IoTConnect, cloud);
    }

    [Fact]
    public async Task A_scope_without_a_connection_is_a_refusal_naming_it()
    {
        var adapter = new IoTCentralFleetAdapter(new ServiceCollection().BuildServiceProvider());
        var ex = await Assert.ThrowsAsync<FleetConnectionNotConfiguredException>(() =>
            adapter.ResolveTargetAsync(new FleetTarget(FleetCloud.IoTCentral, "IoTCentral_Nowhere", "g", "t")));
        var error = adapter.Refusal(ex);
        Assert.Equal(FleetConnectionNotConfiguredException.ErrorCode, error!.ErrorCode);
        Assert.Contains("IoTCentral_Nowhere", error.Message, StringComparison.Ordinal);
        Assert.Null(adapter.Refusal(new IoTCentralApiException(503, "ServiceUnavailable", "busy", null, "busy")));
        Assert.NotNull(new IoTConnectFleetAdapter(new ServiceCollection().BuildServiceProvider(), TimeProvider.System)
            .Refusal(new IoTConnectApiException(409, "UniqueIdAlreadyExists", "taken", null, "taken")));
    }
}
