using System.Net;
using System.Text.Json;

namespace Fleet.Simulator.Tests;

public sealed class WireShapeTests : IAsyncLifetime
{
    private TestSim _sim = null!;

    public async Task InitializeAsync() => _sim = await TestSim.StartAsync();

    public async Task DisposeAsync() => await _sim.DisposeAsync();

    [Fact]
    public async Task Tenants_list_is_a_bare_array_of_the_callers_tenants_with_roles()
    {
        var reply = await _sim.GetAsync("v2/tenants");

        Assert.Equal(HttpStatusCode.OK, reply.Status);
        Assert.Equal(JsonValueKind.Array, reply.Json.ValueKind);
        var names = reply.Json.EnumerateArray().Select(t => t.GetProperty("Name").GetString()).ToList();
        Assert.Equal(["Contoso Fleet", "Fabrikam Fleet"], names);
        Assert.Equal("Contributor", reply.Json[0].GetProperty("Roles")[0].GetString());
        Assert.Equal(_sim.TenantA.ToString(), reply.Json[0].GetProperty("Id").GetString());
    }

    [Fact]
    public async Task Tenant_get_and_users_use_pascal_case()
    {
        var tenant = await _sim.GetAsync($"v2/tenants/{_sim.TenantA}");
        Assert.Equal("Contoso Fleet", tenant.Json.GetProperty("Name").GetString());
        Assert.Equal(["Id", "Name", "Roles"], tenant.Json.EnumerateObject().Select(p => p.Name));

        var users = await _sim.GetAsync($"v2/tenants/{_sim.TenantA}/users");
        Assert.Equal(_sim.TenantA.ToString(), users.Json.GetProperty("TenantId").GetString());
        Assert.Equal(3, users.Json.GetProperty("Principals").GetArrayLength());
    }

    [Fact]
    public async Task Every_response_carries_a_request_id_and_json_content()
    {
        var ok = await _sim.GetAsync("v2/tenants");
        var notFound = await _sim.GetAsync($"v2/tenants/{_sim.TenantA}/products/{Guid.NewGuid()}");

        Assert.True(Guid.TryParse(ok.Headers.GetValues("x-ms-request-id").Single(), out _));
        using var withClientId = new HttpRequestMessage(HttpMethod.Get, "v2/tenants");
        withClientId.Headers.Add("x-ms-client-request-id", "client-42");
        var echoed = await Reply.From(await _sim.Http.SendAsync(withClientId));
        Assert.Equal("client-42", echoed.Headers.GetValues("x-ms-client-request-id").Single());
        var requestId = notFound.Headers.GetValues("x-ms-request-id").Single();
        Assert.Equal("application/json", notFound.ContentType);
        Assert.Equal(requestId, notFound.Json[0].GetProperty("Extensions").GetProperty("requestId").GetString());
    }

    [Fact]
    public async Task Errors_are_an_array_of_public_api_error_details()
    {
        var reply = await _sim.GetAsync($"v2/tenants/{_sim.TenantA}/devicegroups/{Guid.NewGuid()}");

        Assert.Equal(HttpStatusCode.NotFound, reply.Status);
        Assert.Equal("DeviceGroupNotFound", reply.ErrorCode);
        Assert.Equal(
            ["ErrorCode", "Title", "Detail", "Status", "Type", "Instance", "Extensions"],
            reply.Json[0].EnumerateObject().Select(p => p.Name));
        Assert.Equal(404, reply.Json[0].GetProperty("Status").GetInt32());
    }

    [Fact]
    public async Task Paths_are_case_insensitive()
    {
        var product = _sim.Fleet.Contoso.Products[0];
        var lower = await _sim.GetAsync($"v2/tenants/{_sim.TenantA}/products/{product.Id}/devicegroups");
        var mixed = await _sim.GetAsync($"V2/Tenants/{_sim.TenantA}/Products/{product.Id}/deviceGroups");

        Assert.Equal(HttpStatusCode.OK, mixed.Status);
        Assert.Equal(lower.Body, mixed.Body);
        Assert.Equal(HttpStatusCode.OK, (await _sim.GetAsync($"v2/Tenants/{_sim.TenantA.ToString().ToUpperInvariant()}/DEVICES")).Status);
    }

    [Fact]
    public async Task Device_group_has_integer_enums_and_null_current_deployment_is_written()
    {
        var development = _sim.Fleet.Contoso.Products[0].GetDeviceGroup("Development");
        var production = _sim.Fleet.Contoso.Products[0].GetDeviceGroup("Production");

        var dev = (await _sim.GetAsync($"v2/tenants/{_sim.TenantA}/devicegroups/{development.Id}")).Json;
        var prod = (await _sim.GetAsync($"v2/tenants/{_sim.TenantA}/devicegroups/{production.Id}")).Json;

        Assert.Equal(
            ["Id", "TenantId", "ProductId", "Name", "Description", "OsFeedType", "UpdatePolicy", "AllowCrashDumpsCollection", "CurrentDeployment"],
            dev.EnumerateObject().Select(p => p.Name));
        Assert.Equal(JsonValueKind.Number, dev.GetProperty("OsFeedType").ValueKind);
        Assert.Equal(1, dev.GetProperty("UpdatePolicy").GetInt32());
        Assert.Equal(JsonValueKind.Null, dev.GetProperty("CurrentDeployment").ValueKind);
        var deployment = prod.GetProperty("CurrentDeployment");
        Assert.Equal(["Id", "TenantId", "DeployedImages", "DeploymentDateUtc"], deployment.EnumerateObject().Select(p => p.Name));
        Assert.EndsWith("Z", deployment.GetProperty("DeploymentDateUtc").GetString());
    }

    [Fact]
    public async Task Device_has_the_device_v2_shape_and_unassigned_devices_have_null_product_and_group()
    {
        var unassigned = _sim.Fleet.Contoso.UnassignedDeviceIds[0];
        var device = (await _sim.GetAsync($"v2/tenants/{_sim.TenantA}/devices/{unassigned.ToLowerInvariant()}")).Json;

        Assert.Equal(
            ["DeviceId", "TenantId", "ProductId", "DeviceGroupId", "ChipSku", "LastAvailableOSVersion", "LastInstalledOSVersion", "LastOSUpdateUTC", "LastUpdateRequestUTC"],
            device.EnumerateObject().Select(p => p.Name));
        Assert.Equal(unassigned, device.GetProperty("DeviceId").GetString());
        Assert.Equal(JsonValueKind.Null, device.GetProperty("ProductId").ValueKind);
        Assert.Equal(JsonValueKind.Null, device.GetProperty("DeviceGroupId").ValueKind);
        Assert.Equal(0, device.GetProperty("ChipSku").GetInt32());
    }

    [Fact]
    public async Task Product_create_is_202_with_an_operation_and_makes_the_five_default_groups()
    {
        var reply = await _sim.SendJsonAsync(HttpMethod.Post, $"v2/tenants/{_sim.TenantA}/products",
            """{ "Name": "Smart Valve", "Description": null, "CreateDefaultGroups": true }""");

        Assert.Equal(HttpStatusCode.Accepted, reply.Status);
        var op = reply.Json;
        Assert.Equal(
            ["OperationId", "OperationType", "State", "CreatedDateUTC", "StartedDateUTC", "CompletedDateUTC", "ResourceLocation", "DetailsLocation", "Error", "TenantId"],
            op.EnumerateObject().Select(p => p.Name));
        Assert.Equal(4, op.GetProperty("OperationType").GetInt32());
        Assert.Equal(0, op.GetProperty("State").GetInt32());
        Assert.Equal(JsonValueKind.Null, op.GetProperty("Error").ValueKind);

        var done = await _sim.WaitAsync(_sim.TenantA, reply);
        Assert.Equal(2, done.GetProperty("State").GetInt32());
        var location = done.GetProperty("ResourceLocation").GetString()!;
        var product = (await _sim.GetAsync(location)).Json;
        Assert.Equal("Smart Valve", product.GetProperty("Name").GetString());
        Assert.Equal(JsonValueKind.Null, product.GetProperty("Description").ValueKind);
        Assert.Equal(["Id", "TenantId", "Name", "Description"], product.EnumerateObject().Select(p => p.Name));

        var groups = await _sim.ListAllAsync($"{location}/deviceGroups");
        Assert.Equal(
            ["Development", "Field Test", "Production", "Production OS Evaluation", "Field Test OS Evaluation"],
            groups.Select(g => g.GetProperty("Name").GetString()));
        Assert.Equal([0, 0, 0, 1, 1], groups.Select(g => g.GetProperty("OsFeedType").GetInt32()));
        Assert.Equal([1, 0, 0, 0, 0], groups.Select(g => g.GetProperty("UpdatePolicy").GetInt32()));
    }

    [Fact]
    public async Task Product_patch_and_delete()
    {
        var created = await _sim.WaitAsync(_sim.TenantB, await _sim.SendJsonAsync(HttpMethod.Post, $"v2/tenants/{_sim.TenantB}/products",
            """{ "Name": "Doorbell", "Description": "first" }"""));
        var location = created.GetProperty("ResourceLocation").GetString()!;
        Assert.Empty(await _sim.ListAllAsync($"{location}/devicegroups"));

        var patched = await _sim.SendJsonAsync(HttpMethod.Patch, location, """{ "Description": "second" }""");
        Assert.Equal(HttpStatusCode.OK, patched.Status);
        Assert.Equal("Doorbell", patched.Json.GetProperty("Name").GetString());
        Assert.Equal("second", patched.Json.GetProperty("Description").GetString());

        var defaults = await _sim.SendJsonAsync(HttpMethod.Post, $"{location}/devicegroups", null);
        Assert.Equal(HttpStatusCode.OK, defaults.Status);
        Assert.Equal(5, defaults.Json.GetProperty("Items").GetArrayLength());
        Assert.Equal(JsonValueKind.Null, defaults.Json.GetProperty("ContinuationToken").ValueKind);

        var delete = await _sim.SendJsonAsync(HttpMethod.Delete, location, null);
        Assert.Equal(HttpStatusCode.Accepted, delete.Status);
        Assert.Equal(10, delete.Json.GetProperty("OperationType").GetInt32());
        Assert.Equal(2, (await _sim.WaitAsync(_sim.TenantB, delete)).GetProperty("State").GetInt32());
        Assert.Equal(HttpStatusCode.NotFound, (await _sim.GetAsync(location)).Status);
    }

    [Fact]
    public async Task Device_group_create_is_synchronous_200_and_patch_accepts_both_feed_casings()
    {
        var product = _sim.Fleet.Contoso.Products[0];
        var created = await _sim.SendJsonAsync(HttpMethod.Post, $"v2/tenants/{_sim.TenantA}/devicegroups",
            $$"""{ "Name": "Wave 1", "Description": "canary", "ProductId": "{{product.Id}}", "OsFeedType": 0, "UpdatePolicy": 2 }""");

        Assert.Equal(HttpStatusCode.OK, created.Status);
        Assert.Equal("Wave 1", created.Json.GetProperty("Name").GetString());
        Assert.Equal(2, created.Json.GetProperty("UpdatePolicy").GetInt32());
        var id = created.Json.GetProperty("Id").GetString();

        var upper = await _sim.SendJsonAsync(HttpMethod.Patch, $"v2/tenants/{_sim.TenantA}/devicegroups/{id}", """{ "OSFeedType": 1 }""");
        Assert.Equal(1, upper.Json.GetProperty("OsFeedType").GetInt32());
        var pascal = await _sim.SendJsonAsync(HttpMethod.Patch, $"v2/tenants/{_sim.TenantA}/devicegroups/{id}",
            """{ "OsFeedType": 0, "UpdatePolicy": 0, "AllowCrashDumpsCollection": true, "Description": null }""");
        Assert.Equal(0, pascal.Json.GetProperty("OsFeedType").GetInt32());
        Assert.True(pascal.Json.GetProperty("AllowCrashDumpsCollection").GetBoolean());
        Assert.Equal(JsonValueKind.Null, pascal.Json.GetProperty("Description").ValueKind);
        Assert.Equal("Wave 1", pascal.Json.GetProperty("Name").GetString());

        var delete = await _sim.SendJsonAsync(HttpMethod.Delete, $"v2/tenants/{_sim.TenantA}/devicegroups/{id}", null);
        Assert.Equal(HttpStatusCode.Accepted, delete.Status);
        Assert.Equal(9, delete.Json.GetProperty("OperationType").GetInt32());
        await _sim.WaitAsync(_sim.TenantA, delete);
        Assert.Equal(HttpStatusCode.NotFound, (await _sim.GetAsync($"v2/tenants/{_sim.TenantA}/devicegroups/{id}")).Status);
    }

    [Fact]
    public async Task Move_takes_a_bare_json_string_and_returns_an_operation()
    {
        var device = _sim.Fleet.Contoso.UnassignedDeviceIds[0];
        var target = _sim.Fleet.Contoso.Products[1].GetDeviceGroup("Field Test");

        var reply = await _sim.SendJsonAsync(HttpMethod.Put, $"v2/tenants/{_sim.TenantA}/devices/{device}/devicegroup", $"\"{target.Id}\"");

        Assert.Equal(HttpStatusCode.Accepted, reply.Status);
        Assert.Equal(2, reply.Json.GetProperty("OperationType").GetInt32());
        await _sim.WaitAsync(_sim.TenantA, reply);
        var moved = (await _sim.GetAsync($"v2/tenants/{_sim.TenantA}/devices/{device}")).Json;
        Assert.Equal(target.Id.ToString(), moved.GetProperty("DeviceGroupId").GetString());
        Assert.Equal(_sim.Fleet.Contoso.Products[1].Id.ToString(), moved.GetProperty("ProductId").GetString());

        var objectBody = await _sim.SendJsonAsync(HttpMethod.Put, $"v2/tenants/{_sim.TenantA}/devices/{device}/devicegroup",
            $$"""{ "DeviceGroupId": "{{target.Id}}" }""");
        Assert.Equal(HttpStatusCode.BadRequest, objectBody.Status);
        Assert.Equal("InvalidRequestBody", objectBody.ErrorCode);
    }

    [Fact]
    public async Task Image_upload_is_octet_stream_answered_200_with_an_operation_then_listed_with_metadata()
    {
        var component = Guid.NewGuid();
        var package = SimulatedImagePackage.Create("Valve App", component, description: "valve");

        var reply = await _sim.UploadAsync(_sim.TenantA, package);

        Assert.Equal(HttpStatusCode.OK, reply.Status);
        Assert.Equal(7, reply.Json.GetProperty("OperationType").GetInt32());
        var done = await _sim.WaitAsync(_sim.TenantA, reply);
        var metadata = (await _sim.GetAsync(done.GetProperty("ResourceLocation").GetString()!)).Json;
        Assert.Equal(["Id", "Name", "ComponentId", "Description", "ImageType", "Type"], metadata.EnumerateObject().Select(p => p.Name));
        Assert.Equal("Valve App", metadata.GetProperty("Name").GetString());
        Assert.Equal(component.ToString(), metadata.GetProperty("ComponentId").GetString());
        Assert.Equal(10, metadata.GetProperty("Type").GetInt32());

        var images = await _sim.ListAllAsync($"v2/tenants/{_sim.TenantA}/images");
        Assert.Contains(images, i => i.GetProperty("Id").GetString() == metadata.GetProperty("Id").GetString());
        Assert.Equal(_sim.Fleet.Contoso.Images.Count + 1, images.Count);

        var json = await _sim.UploadAsync(_sim.TenantA, package, "application/json");
        Assert.Equal(HttpStatusCode.UnsupportedMediaType, json.Status);
        Assert.Equal("UnsupportedMediaType", json.ErrorCode);
    }

    [Fact]
    public async Task Deployment_create_takes_a_bare_array_of_image_ids_and_becomes_the_current_deployment()
    {
        var product = _sim.Fleet.Contoso.GetProduct("Gateway");
        var group = product.GetDeviceGroup("Production OS Evaluation");
        var image = _sim.Fleet.Contoso.Images.First(i => i.Name.StartsWith("GatewayApp", StringComparison.Ordinal));

        var reply = await _sim.SendJsonAsync(HttpMethod.Post, $"v2/tenants/{_sim.TenantA}/devicegroups/{group.Id}/deployments", $"[\"{image.Id}\"]");

        Assert.Equal(HttpStatusCode.Accepted, reply.Status);
        Assert.Equal(5, reply.Json.GetProperty("OperationType").GetInt32());
        await _sim.WaitAsync(_sim.TenantA, reply);
        var deployments = await _sim.ListAllAsync($"v2/tenants/{_sim.TenantA}/devicegroups/{group.Id}/deployments");
        var deployment = Assert.Single(deployments);
        Assert.Equal(image.Id.ToString(), deployment.GetProperty("DeployedImages")[0].GetString());
        var current = (await _sim.GetAsync($"v2/tenants/{_sim.TenantA}/devicegroups/{group.Id}")).Json.GetProperty("CurrentDeployment");
        Assert.Equal(deployment.GetProperty("Id").GetString(), current.GetProperty("Id").GetString());

        var notArray = await _sim.SendJsonAsync(HttpMethod.Post, $"v2/tenants/{_sim.TenantA}/devicegroups/{group.Id}/deployments",
            $$"""{ "ImageIds": ["{{image.Id}}"] }""");
        Assert.Equal(HttpStatusCode.BadRequest, notArray.Status);
    }

    [Fact]
    public async Task Device_images_lists_the_targeted_images_of_the_devices_group()
    {
        var group = _sim.Fleet.Contoso.Products[0].GetDeviceGroup("Production");
        var device = group.SampleDeviceIds[0];

        var reply = await _sim.GetAsync($"v2/tenants/{_sim.TenantA}/devices/{device}/images");

        Assert.Equal(HttpStatusCode.OK, reply.Status);
        var image = Assert.Single(reply.Json.GetProperty("Items").EnumerateArray());
        Assert.Equal(group.CurrentImageIds[0].ToString(), image.GetProperty("Id").GetString());
        Assert.Equal(JsonValueKind.Null, reply.Json.GetProperty("ContinuationToken").ValueKind);

        var unassigned = _sim.Fleet.Contoso.UnassignedDeviceIds[0];
        Assert.Empty((await _sim.GetAsync($"v2/tenants/{_sim.TenantA}/devices/{unassigned}/images")).Json.GetProperty("Items").EnumerateArray());
    }

    [Fact]
    public async Task Device_insights_report_seeded_installs_in_the_documented_vocabulary()
    {
        var insights = await _sim.ListAllAsync($"v2/tenants/{_sim.TenantA}/getDeviceInsights", 100);

        Assert.NotEmpty(insights);
        var first = insights[0];
        Assert.Equal(
            ["DeviceId", "StartTimestampInUnix", "EndTimestampInUnix", "Description", "EventType", "EventClass", "EventCategory", "EventCount"],
            first.EnumerateObject().Select(p => p.Name));
        Assert.Equal("AppUpdate", first.GetProperty("EventCategory").GetString());
        Assert.Equal("AppUpdateInstalled", first.GetProperty("EventType").GetString());
        Assert.Matches("^Installed deployment [0-9a-f-]{36} images [0-9a-f-]{36}$", first.GetProperty("Description").GetString());
        Assert.Equal(JsonValueKind.Number, first.GetProperty("StartTimestampInUnix").ValueKind);
    }

    [Fact]
    public async Task Unknown_endpoint_and_method_get_a_404_error_array()
    {
        var unknown = await _sim.GetAsync($"v2/tenants/{_sim.TenantA}/widgets");
        Assert.Equal(HttpStatusCode.NotFound, unknown.Status);
        Assert.Equal("EndpointNotFound", unknown.ErrorCode);

        var wrongMethod = await _sim.SendJsonAsync(HttpMethod.Delete, "v2/tenants", null);
        Assert.Equal(HttpStatusCode.NotFound, wrongMethod.Status);
        Assert.Equal("EndpointNotFound", wrongMethod.ErrorCode);
    }
}
