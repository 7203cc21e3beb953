using System.Net;

namespace Fleet.Simulator.Tests;

public sealed class IoTCentralWireTests : IAsyncLifetime
{
    private IoTCentralTestSim _iotc = null!;

    public async Task InitializeAsync() => _iotc = await IoTCentralTestSim.StartAsync();

    public async Task DisposeAsync() => await _iotc.DisposeAsync();

    [Fact]
    public async Task Devices_are_camel_case_pages_linked_by_an_absolute_next_link_that_carries_the_version()
    {
        var first = await _iotc.GetAsync("devices?$top=25");

        Assert.Equal(HttpStatusCode.OK, first.Status);
        Assert.Equal(["value", "nextLink"], first.Json.EnumerateObject().Select(p => p.Name));
        var device = first.Json.GetProperty("value")[0];
        Assert.Equal(["id", "etag", "displayName", "template", "enabled", "provisioned", "simulated", "organizations"],
            device.EnumerateObject().Select(p => p.Name));
        Assert.StartsWith("dtmi:contoso:", device.GetProperty("template").GetString(), StringComparison.Ordinal);
        var nextLink = first.Json.GetProperty("nextLink").GetString()!;
        Assert.StartsWith(_iotc.Http.BaseAddress + "devices?api-version=2022-07-31&%24top=25&%24skiptoken=", nextLink, StringComparison.Ordinal);

        var ids = first.Json.GetProperty("value").EnumerateArray().Select(d => d.GetProperty("id").GetString()).ToList();
        var pages = 1;
        var link = nextLink;
        while (link is not null)
        {
            // The Azure CLI adds api-version again when it follows a nextLink: the duplicate is tolerated.
            var page = await _iotc.GetAsync(pages % 2 == 0 ? link : link + "&api-version=2022-07-31");
            Assert.Equal(HttpStatusCode.OK, page.Status);
            ids.AddRange(page.Json.GetProperty("value").EnumerateArray().Select(d => d.GetProperty("id").GetString()));
            link = page.Json.TryGetProperty("nextLink", out var next) ? next.GetString() : null;
            pages++;
        }

        Assert.Equal(3, pages);
        Assert.Equal(60, ids.Distinct().Count());
        Assert.Equal(ids.Order(StringComparer.Ordinal), ids);
    }

    [Fact]
    public async Task Top_defaults_to_25_and_is_capped_at_100_and_filters_apply()
    {
        var defaults = await _iotc.GetAsync("devices");
        var capped = await _iotc.GetAsync("devices?$top=500");
        var gateways = await _iotc.GetAsync("devices?$filter=" + Uri.EscapeDataString("template eq 'dtmi:contoso:gateway;1'"));
        var badFilter = await _iotc.GetAsync("devices?$filter=" + Uri.EscapeDataString("startswith(id,'th')"));

        Assert.Equal(25, defaults.Json.GetProperty("value").GetArrayLength());
        Assert.Equal(60, capped.Json.GetProperty("value").GetArrayLength());
        Assert.False(capped.Json.TryGetProperty("nextLink", out _));
        Assert.All(gateways.Json.GetProperty("value").EnumerateArray(),
            d => Assert.Equal("dtmi:contoso:gateway;1", d.GetProperty("template").GetString()));
        Assert.Equal(HttpStatusCode.BadRequest, badFilter.Status);
        Assert.Equal("InvalidFilter", badFilter.IoTCentralErrorCode());
    }

    [Fact]
    public async Task Every_call_needs_the_api_version()
    {
        var missing = await Reply.From(await _iotc.Http.GetAsync("devices"));
        var wrong = await _iotc.GetAsync("devices?api-version=1.0");
        var mixed = await _iotc.GetAsync("devices?api-version=2022-07-31&api-version=2022-05-31");

        Assert.Equal(HttpStatusCode.BadRequest, missing.Status);
        Assert.Equal("MissingApiVersion", missing.IoTCentralErrorCode());
        Assert.Equal("InvalidApiVersion", wrong.IoTCentralErrorCode());
        Assert.Equal(HttpStatusCode.BadRequest, mixed.Status);
    }

    [Fact]
    public async Task Errors_are_the_error_envelope_with_the_error_code_header()
    {
        var device = await _iotc.GetAsync("devices/no-such-device");
        var route = await _iotc.GetAsync("gadgets");
        var method = await _iotc.SendAsync(HttpMethod.Post, "devices");
        var app = await _iotc.GetAsync(_iotc.Sim.Host.IoTCentralEndpoint("nowhere") + "devices?api-version=2022-07-31");

        Assert.Equal(HttpStatusCode.NotFound, device.Status);
        Assert.Equal("NotFound", device.IoTCentralErrorCode());
        Assert.Equal(["error"], device.Json.EnumerateObject().Select(p => p.Name));
        Assert.Equal(["code", "message", "requestId", "time"], device.Json.GetProperty("error").EnumerateObject().Select(p => p.Name));
        Assert.Equal("NotFound", route.IoTCentralErrorCode());
        Assert.Equal(HttpStatusCode.MethodNotAllowed, method.Status);
        Assert.Equal("MethodNotAllowed", method.IoTCentralErrorCode());
        Assert.Equal(HttpStatusCode.NotFound, app.Status);
    }

    [Fact]
    public async Task Put_creates_or_replaces_a_device_and_a_stale_etag_is_answered_412()
    {
        const string Body = """{ "displayName": "New thermostat", "template": "dtmi:contoso:thermostat;1", "enabled": true, "organizations": ["contoso-east"] }""";
        var created = await _iotc.SendAsync(HttpMethod.Put, "devices/new-th-1", Body);
        var etag = created.Json.GetProperty("etag").GetString()!;
        var replaced = await _iotc.SendAsync(HttpMethod.Put, "devices/new-th-1",
            $$"""{ "etag": "{{etag}}", "displayName": "Renamed", "template": "dtmi:contoso:thermostat;1", "enabled": false }""");
        var stale = await _iotc.SendAsync(HttpMethod.Put, "devices/new-th-1",
            $$"""{ "etag": "{{etag}}", "displayName": "Lost update", "template": "dtmi:contoso:thermostat;1" }""");
        var patched = await _iotc.SendAsync(HttpMethod.Patch, "devices/new-th-1", """{ "organizations": ["contoso-lab"] }""");
        var badTemplate = await _iotc.SendAsync(HttpMethod.Put, "devices/new-th-2", """{ "template": "dtmi:contoso:toaster;1" }""");
        var twoOrgs = await _iotc.SendAsync(HttpMethod.Put, "devices/new-th-2", """{ "organizations": ["contoso-east", "contoso-west"] }""");
        var deleted = await _iotc.SendAsync(HttpMethod.Delete, "devices/new-th-1");
        var gone = await _iotc.GetAsync("devices/new-th-1");

        Assert.Equal(HttpStatusCode.OK, created.Status);
        Assert.False(created.Json.GetProperty("provisioned").GetBoolean());
        Assert.Equal("contoso-east", created.Json.GetProperty("organizations")[0].GetString());
        Assert.Equal(HttpStatusCode.OK, replaced.Status);
        Assert.False(replaced.Json.TryGetProperty("organizations", out _));
        Assert.NotEqual(etag, replaced.Json.GetProperty("etag").GetString());
        Assert.Equal(HttpStatusCode.PreconditionFailed, stale.Status);
        Assert.Equal("PreconditionFailed", stale.IoTCentralErrorCode());
        Assert.Equal("contoso-lab", patched.Json.GetProperty("organizations")[0].GetString());
        Assert.Equal("Renamed", patched.Json.GetProperty("displayName").GetString());
        Assert.Equal((HttpStatusCode)422, badTemplate.Status);
        Assert.Equal((HttpStatusCode)422, twoOrgs.Status);
        Assert.Equal(HttpStatusCode.NoContent, deleted.Status);
        Assert.Equal(HttpStatusCode.NotFound, gone.Status);
    }

    [Fact]
    public async Task Group_membership_follows_the_filter_and_the_groups_organization()
    {
        await _iotc.SendAsync(HttpMethod.Put, "devices/member-1",
            """{ "template": "dtmi:contoso:thermostat;1", "organizations": ["contoso-lab"] }""");
        var group = await _iotc.GetAsync("deviceGroups/west-thermostats");

        Assert.Equal(["id", "displayName", "filter", "description", "etag", "organizations"], group.Json.EnumerateObject().Select(p => p.Name));
        Assert.Contains("$template = \"dtmi:contoso:thermostat;1\"", group.Json.GetProperty("filter").GetString(), StringComparison.Ordinal);
        Assert.Contains("member-1", await MembersAsync("west-thermostats"));
        Assert.Contains("member-1", await MembersAsync("thermostats"));
        Assert.DoesNotContain("member-1", await MembersAsync("gateways"));

        // A lab device is in west's subtree; moving it east takes it out of the west group.
        await _iotc.SendAsync(HttpMethod.Patch, "devices/member-1", """{ "organizations": ["contoso-east"] }""");
        Assert.DoesNotContain("member-1", await MembersAsync("west-thermostats"));
    }

    [Fact]
    public async Task Organizations_templates_and_users_have_the_documented_shapes()
    {
        var organizations = await _iotc.GetAsync("organizations");
        var lab = await _iotc.GetAsync("organizations/contoso-lab");
        var template = await _iotc.GetAsync("deviceTemplates/" + Uri.EscapeDataString("dtmi:contoso:thermostat;1"));
        var users = await _iotc.GetAsync("users");

        Assert.Equal(3, organizations.Json.GetProperty("value").GetArrayLength());
        Assert.Equal("contoso-west", lab.Json.GetProperty("parent").GetString());
        Assert.Equal(["@id", "@type", "etag", "displayName", "description", "capabilityModel"], template.Json.EnumerateObject().Select(p => p.Name));
        var user = users.Json.GetProperty("value").EnumerateArray().First();
        Assert.Equal("servicePrincipal", user.GetProperty("type").GetString());
        Assert.Equal(user.GetProperty("id").GetString(), user.GetProperty("objectId").GetString());
        Assert.Equal(IoTCentralRoleIds.Administrator, user.GetProperty("roles")[0].GetProperty("role").GetString());
    }

    [Fact]
    public async Task Throttled_requests_get_429_without_retry_after_by_default()
    {
        await _iotc.Control.UpdateIoTCentralSettingsAsync(new IoTCentralSimulatorSettingsUpdate { RateLimit = 0.01, Burst = 2 });

        var replies = new List<Reply>();
        for (var i = 0; i < 3; i++)
        {
            replies.Add(await _iotc.GetAsync("devices/th-00001"));
        }

        Assert.Equal(HttpStatusCode.TooManyRequests, replies[2].Status);
        Assert.Equal("TooManyRequests", replies[2].IoTCentralErrorCode());
        Assert.False(replies[2].Headers.Contains("Retry-After"));
        var counters = await _iotc.Control.GetIoTCentralCountersAsync("contoso");
        Assert.Equal(1, counters.Throttled);

        await _iotc.Control.UpdateIoTCentralSettingsAsync(new IoTCentralSimulatorSettingsUpdate { RetryAfter = RetryAfterMode.Seconds });
        await _iotc.GetAsync("devices/th-00001");
        await _iotc.GetAsync("devices/th-00001");
        var withHeader = await _iotc.GetAsync("devices/th-00001");
        Assert.Equal(HttpStatusCode.TooManyRequests, withHeader.Status);
        Assert.True(int.Parse(withHeader.Headers.GetValues("Retry-After").Single()) >= 1);
    }

    [Fact]
    public async Task Injected_faults_are_server_errors_or_dropped_connections()
    {
        await _iotc.Control.UpdateIoTCentralSettingsAsync(new IoTCentralSimulatorSettingsUpdate { FaultRate = 1 });
        var fault = await _iotc.GetAsync("devices/th-00001");
        Assert.Contains((int)fault.Status, new[] { 500, 503 });
        Assert.Contains(fault.IoTCentralErrorCode(), new[] { "InternalServerError", "ServiceUnavailable" });

        await _iotc.Control.UpdateIoTCentralSettingsAsync(new IoTCentralSimulatorSettingsUpdate { FaultRate = 0, DropRate = 1 });
        await Assert.ThrowsAsync<HttpRequestException>(() => _iotc.Http.GetAsync(IoTCentralTestSim.WithVersion("devices/th-00001")));

        await _iotc.Control.ResetIoTCentralAsync();
        Assert.Equal(HttpStatusCode.OK, (await _iotc.GetAsync("devices/th-00001")).Status);
    }

    private async Task<List<string>> MembersAsync(string group)
    {
        var members = new List<string>();
        string? link = $"deviceGroups/{group}/devices";
        while (link is not null)
        {
            var page = await _iotc.GetAsync(link);
            Assert.Equal(HttpStatusCode.OK, page.Status);
            members.AddRange(page.Json.GetProperty("value").EnumerateArray().Select(d => d.GetProperty("id").GetString()!));
            link = page.Json.TryGetProperty("nextLink", out var next) ? next.GetString() : null;
        }

        return members;
    }
}
