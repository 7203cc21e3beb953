using System.Net;

namespace Fleet.Simulator.Tests;

public sealed class ValidationTests : IAsyncLifetime
{
    private TestSim _sim = null!;

    public async Task InitializeAsync() => _sim = await TestSim.StartAsync();

    public async Task DisposeAsync() => await _sim.DisposeAsync();

    [Theory]
    [InlineData("abc")]
    [InlineData("ZZ")]
    [InlineData("129")]
    [InlineData("127")]
    public async Task Device_ids_must_be_128_hex_characters(string kind)
    {
        var id = kind switch
        {
            "129" => new string('A', 129),
            "127" => new string('a', 127),
            "ZZ" => "ZZ" + new string('A', 126),
            _ => kind,
        };

        var get = await _sim.GetAsync($"v2/tenants/{_sim.TenantA}/devices/{id}");
        var claim = await _sim.SendJsonAsync(HttpMethod.Put, $"v2/tenants/{_sim.TenantA}/devices/{id}/claim", null);
        var move = await _sim.SendJsonAsync(HttpMethod.Put, $"v2/tenants/{_sim.TenantA}/devices/{id}/devicegroup", $"\"{Guid.NewGuid()}\"");

        Assert.Equal(HttpStatusCode.BadRequest, get.Status);
        Assert.Equal("InvalidDeviceId", get.ErrorCode);
        Assert.Equal("InvalidDeviceId", claim.ErrorCode);
        Assert.Equal("InvalidDeviceId", move.ErrorCode);
    }

    [Fact]
    public async Task Device_ids_are_matched_case_insensitively()
    {
        var id = _sim.Fleet.Contoso.UnassignedDeviceIds[0];

        var lower = await _sim.GetAsync($"v2/tenants/{_sim.TenantA}/devices/{id.ToLowerInvariant()}");
        var unknown = await _sim.GetAsync($"v2/tenants/{_sim.TenantA}/devices/{new string('0', 128)}");

        Assert.Equal(HttpStatusCode.OK, lower.Status);
        Assert.Equal(id, lower.Json.GetProperty("DeviceId").GetString());
        Assert.Equal((HttpStatusCode.NotFound, "DeviceNotFound"), (unknown.Status, unknown.ErrorCode));
    }

    [Theory]
    [InlineData("\"\"")]
    [InlineData("\"   \"")]
    [InlineData("\"Bad-Name!\"")]
    [InlineData("\"Ünïcode\"")]
    [InlineData("\"ThisNameIsFarTooLongForSphereBecauseItHasMoreThanFifty\"")]
    [InlineData("null")]
    [InlineData("42")]
    public async Task Product_and_group_names_are_validated(string nameJson)
    {
        var product = await _sim.SendJsonAsync(HttpMethod.Post, $"v2/tenants/{_sim.TenantA}/products", $$"""{ "Name": {{nameJson}} }""");
        var group = await _sim.SendJsonAsync(HttpMethod.Post, $"v2/tenants/{_sim.TenantA}/devicegroups",
            $$"""{ "Name": {{nameJson}}, "ProductId": "{{_sim.Fleet.Contoso.Products[0].Id}}" }""");

        Assert.Equal(HttpStatusCode.BadRequest, product.Status);
        Assert.Equal(HttpStatusCode.BadRequest, group.Status);
        Assert.Contains(product.ErrorCode, new[] { "InvalidName", "InvalidRequestBody" });
    }

    [Fact]
    public async Task A_fifty_character_name_of_letters_digits_and_spaces_is_accepted()
    {
        var name = "Fifty " + new string('x', 40) + " 123";
        Assert.Equal(50, name.Length);

        var reply = await _sim.SendJsonAsync(HttpMethod.Post, $"v2/tenants/{_sim.TenantA}/products", $$"""{ "Name": "{{name}}" }""");

        Assert.Equal(HttpStatusCode.Accepted, reply.Status);
    }

    [Fact]
    public async Task Product_names_are_unique_per_tenant_case_insensitively()
    {
        var duplicate = await _sim.SendJsonAsync(HttpMethod.Post, $"v2/tenants/{_sim.TenantA}/products", """{ "Name": "THERMOSTAT" }""");
        Assert.Equal(HttpStatusCode.Conflict, duplicate.Status);
        Assert.Equal("ProductNameAlreadyExists", duplicate.ErrorCode);

        var otherTenant = await _sim.SendJsonAsync(HttpMethod.Post, $"v2/tenants/{_sim.TenantB}/products", """{ "Name": "Thermostat" }""");
        Assert.Equal(HttpStatusCode.Accepted, otherTenant.Status);

        var pendingDuplicate = await _sim.SendJsonAsync(HttpMethod.Post, $"v2/tenants/{_sim.TenantB}/products", """{ "Name": "thermostat" }""");
        Assert.Equal(HttpStatusCode.Conflict, pendingDuplicate.Status);

        var renameClash = await _sim.SendJsonAsync(HttpMethod.Patch, $"v2/tenants/{_sim.TenantA}/products/{_sim.Fleet.Contoso.Products[1].Id}",
            """{ "Name": "thermostat" }""");
        Assert.Equal(HttpStatusCode.Conflict, renameClash.Status);
    }

    [Fact]
    public async Task Group_names_are_unique_per_product()
    {
        var products = _sim.Fleet.Contoso.Products;
        var clash = await _sim.SendJsonAsync(HttpMethod.Post, $"v2/tenants/{_sim.TenantA}/devicegroups",
            $$"""{ "Name": "field test", "ProductId": "{{products[0].Id}}" }""");
        Assert.Equal(HttpStatusCode.Conflict, clash.Status);
        Assert.Equal("DeviceGroupNameAlreadyExists", clash.ErrorCode);

        var created = await _sim.SendJsonAsync(HttpMethod.Post, $"v2/tenants/{_sim.TenantA}/devicegroups",
            $$"""{ "Name": "Canary", "ProductId": "{{products[0].Id}}" }""");
        Assert.Equal(HttpStatusCode.OK, created.Status);
        var sameNameOtherProduct = await _sim.SendJsonAsync(HttpMethod.Post, $"v2/tenants/{_sim.TenantA}/devicegroups",
            $$"""{ "Name": "Canary", "ProductId": "{{products[1].Id}}" }""");
        Assert.Equal(HttpStatusCode.OK, sameNameOtherProduct.Status);

        var renameClash = await _sim.SendJsonAsync(HttpMethod.Patch, $"v2/tenants/{_sim.TenantA}/devicegroups/{created.Json.GetProperty("Id").GetString()}",
            """{ "Name": "Production" }""");
        Assert.Equal(HttpStatusCode.Conflict, renameClash.Status);
    }

    [Theory]
    [InlineData("""{ "Name": "G1", "ProductId": "{0}", "OsFeedType": 2 }""", "InvalidOsFeedType")]
    [InlineData("""{ "Name": "G1", "ProductId": "{0}", "UpdatePolicy": 3 }""", "InvalidUpdatePolicy")]
    [InlineData("""{ "Name": "G1", "ProductId": "{0}", "UpdatePolicy": "NoUpdates" }""", "InvalidRequestBody")]
    [InlineData("""{ "Name": "G1" }""", "InvalidProductId")]
    [InlineData("""{ "Name": "G1", "ProductId": "nope" }""", "InvalidProductId")]
    [InlineData("""[ "G1" ]""", "InvalidRequestBody")]
    [InlineData("""{ "Name": "G1", """, "InvalidRequestBody")]
    public async Task Group_create_bodies_are_validated(string template, string errorCode)
    {
        var body = template.Replace("{0}", _sim.Fleet.Contoso.Products[0].Id.ToString(), StringComparison.Ordinal);

        var reply = await _sim.SendJsonAsync(HttpMethod.Post, $"v2/tenants/{_sim.TenantA}/devicegroups", body);

        Assert.Equal(HttpStatusCode.BadRequest, reply.Status);
        Assert.Equal(errorCode, reply.ErrorCode);
    }

    [Fact]
    public async Task Group_in_an_unknown_or_foreign_product_is_404()
    {
        var foreign = await _sim.SendJsonAsync(HttpMethod.Post, $"v2/tenants/{_sim.TenantA}/devicegroups",
            $$"""{ "Name": "G1", "ProductId": "{{_sim.Fleet.Fabrikam.Products[0].Id}}" }""");

        Assert.Equal(HttpStatusCode.NotFound, foreign.Status);
        Assert.Equal("ProductNotFound", foreign.ErrorCode);
    }

    [Fact]
    public async Task Deployments_check_their_images()
    {
        var group = _sim.Fleet.Contoso.Products[0].GetDeviceGroup("Development");
        var images = _sim.Fleet.Contoso.Images.Where(i => i.Name.StartsWith("ThermostatApp", StringComparison.Ordinal)).ToList();
        var path = $"v2/tenants/{_sim.TenantA}/devicegroups/{group.Id}/deployments";

        var empty = await _sim.SendJsonAsync(HttpMethod.Post, path, "[]");
        var unknown = await _sim.SendJsonAsync(HttpMethod.Post, path, $"[\"{Guid.NewGuid()}\"]");
        var foreign = await _sim.SendJsonAsync(HttpMethod.Post, path, $"[\"{_sim.Fleet.Fabrikam.Images[0].Id}\"]");
        var sameComponent = await _sim.SendJsonAsync(HttpMethod.Post, path, $"[\"{images[0].Id}\", \"{images[1].Id}\"]");
        var repeated = await _sim.SendJsonAsync(HttpMethod.Post, path, $"[\"{images[0].Id}\", \"{images[0].Id}\"]");
        var notUuid = await _sim.SendJsonAsync(HttpMethod.Post, path, "[\"x\"]");

        Assert.Equal("InvalidRequestBody", empty.ErrorCode);
        Assert.Equal((HttpStatusCode.NotFound, "ImageNotFound"), (unknown.Status, unknown.ErrorCode));
        Assert.Equal((HttpStatusCode.NotFound, "ImageNotFound"), (foreign.Status, foreign.ErrorCode));
        Assert.Equal((HttpStatusCode.BadRequest, "DuplicateComponentId"), (sameComponent.Status, sameComponent.ErrorCode));
        Assert.Equal("DuplicateImageId", repeated.ErrorCode);
        Assert.Equal("InvalidRequestBody", notUuid.ErrorCode);
    }

    [Fact]
    public async Task Uploading_the_same_image_twice_is_a_conflict_and_empty_packages_are_rejected()
    {
        var package = SimulatedImagePackage.Create("Twice", Guid.NewGuid());
        var first = await _sim.UploadAsync(_sim.TenantA, package);
        Assert.Equal(HttpStatusCode.OK, first.Status);

        var second = await _sim.UploadAsync(_sim.TenantA, package);
        Assert.Equal(HttpStatusCode.Conflict, second.Status);
        Assert.Equal("ImageAlreadyExists", second.ErrorCode);

        var otherTenant = await _sim.UploadAsync(_sim.TenantB, package);
        Assert.Equal(HttpStatusCode.OK, otherTenant.Status);

        Assert.Equal("InvalidImagePackage", (await _sim.UploadAsync(_sim.TenantA, [])).ErrorCode);
        Assert.Equal("InvalidImagePackage", (await _sim.UploadAsync(_sim.TenantA, "SIMIMG1\nnonsense\n"u8.ToArray())).ErrorCode);
    }

    [Fact]
    public async Task Non_uuid_resource_ids_are_404_and_json_bodies_need_a_json_content_type()
    {
        var product = await _sim.GetAsync($"v2/tenants/{_sim.TenantA}/products/not-a-guid");
        Assert.Equal((HttpStatusCode.NotFound, "ProductNotFound"), (product.Status, product.ErrorCode));
        Assert.Equal(HttpStatusCode.NotFound, (await _sim.GetAsync("v2/tenants/not-a-guid/devices")).Status);
        Assert.Equal("TenantNotFound", (await _sim.GetAsync($"v2/tenants/{Guid.NewGuid()}/devices")).ErrorCode);

        using var request = new HttpRequestMessage(HttpMethod.Post, $"v2/tenants/{_sim.TenantA}/products")
        {
            Content = new StringContent("""{ "Name": "Plain" }""", System.Text.Encoding.UTF8, "text/plain"),
        };
        var reply = await Reply.From(await _sim.Http.SendAsync(request));
        Assert.Equal(HttpStatusCode.UnsupportedMediaType, reply.Status);
    }

    [Fact]
    public async Task Product_and_group_deletes_with_devices_are_conflicts()
    {
        var product = _sim.Fleet.Contoso.Products[0];
        var deleteProduct = await _sim.SendJsonAsync(HttpMethod.Delete, $"v2/tenants/{_sim.TenantA}/products/{product.Id}", null);
        var deleteGroup = await _sim.SendJsonAsync(HttpMethod.Delete, $"v2/tenants/{_sim.TenantA}/devicegroups/{product.GetDeviceGroup("Production").Id}", null);

        Assert.Equal((HttpStatusCode.Conflict, "ProductHasDevices"), (deleteProduct.Status, deleteProduct.ErrorCode));
        Assert.Equal((HttpStatusCode.Conflict, "DeviceGroupNotEmpty"), (deleteGroup.Status, deleteGroup.ErrorCode));
    }
}
