using System.Net;
using System.Text.Json;

namespace Fleet.Simulator.Tests;

public sealed class PagingTests : IAsyncLifetime
{
    private TestSim _sim = null!;

    public async Task InitializeAsync() => _sim = await TestSim.StartAsync(o =>
    {
        o.Devices = 500;
        o.DefaultPageSize = 20;
        o.MaxPageSize = 100;
    });

    public async Task DisposeAsync() => await _sim.DisposeAsync();

    [Fact]
    public async Task Default_pages_are_small_and_reach_every_device_exactly_once()
    {
        var first = await _sim.GetAsync($"v2/tenants/{_sim.TenantA}/devices");
        Assert.Equal(20, first.Json.GetProperty("Items").GetArrayLength());
        Assert.Equal(JsonValueKind.String, first.Json.GetProperty("ContinuationToken").ValueKind);

        var devices = await _sim.ListAllAsync($"v2/tenants/{_sim.TenantA}/devices");

        var ids = devices.Select(d => d.GetProperty("DeviceId").GetString()!).ToList();
        Assert.Equal(_sim.Fleet.Contoso.ClaimedDeviceCount, ids.Count);
        Assert.Equal(ids.Count, ids.Distinct().Count());
        Assert.Equal(ids.Order(StringComparer.Ordinal), ids);
    }

    [Theory]
    [InlineData(1)]
    [InlineData(7)]
    [InlineData(100)]
    public async Task Max_page_size_is_honoured_and_the_last_page_has_a_null_token(int size)
    {
        var group = _sim.Fleet.Contoso.Products[0].GetDeviceGroup("Production");

        var devices = await _sim.ListAllAsync($"v2/tenants/{_sim.TenantA}/devicegroups/{group.Id}/devices", size);

        Assert.Equal(group.DeviceCount, devices.Count);
        Assert.Equal(group.DeviceCount, devices.Select(d => d.GetProperty("DeviceId").GetString()).Distinct().Count());
        Assert.All(devices, d => Assert.Equal(group.Id.ToString(), d.GetProperty("DeviceGroupId").GetString()));
    }

    [Fact]
    public async Task A_page_exactly_filling_the_list_ends_with_a_null_token()
    {
        var group = _sim.Fleet.Contoso.Products[0].GetDeviceGroup("Production");
        Assert.InRange(group.DeviceCount, 2, 100);

        var reply = await _sim.GetAsync($"v2/tenants/{_sim.TenantA}/devicegroups/{group.Id}/devices?maxPageSize={group.DeviceCount}");

        Assert.Equal(group.DeviceCount, reply.Json.GetProperty("Items").GetArrayLength());
        Assert.Equal(JsonValueKind.Null, reply.Json.GetProperty("ContinuationToken").ValueKind);
        var short1 = await _sim.GetAsync($"v2/tenants/{_sim.TenantA}/devicegroups/{group.Id}/devices?maxPageSize={group.DeviceCount - 1}");
        Assert.Equal(JsonValueKind.String, short1.Json.GetProperty("ContinuationToken").ValueKind);
    }

    [Fact]
    public async Task Max_page_size_above_the_cap_is_capped()
    {
        var reply = await _sim.GetAsync($"v2/tenants/{_sim.TenantA}/devices?maxPageSize=5000");

        Assert.Equal(HttpStatusCode.OK, reply.Status);
        Assert.Equal(100, reply.Json.GetProperty("Items").GetArrayLength());
    }

    [Theory]
    [InlineData("0")]
    [InlineData("-3")]
    [InlineData("ten")]
    public async Task Invalid_max_page_size_is_400(string value)
    {
        var reply = await _sim.GetAsync($"v2/tenants/{_sim.TenantA}/devices?maxPageSize={value}");

        Assert.Equal(HttpStatusCode.BadRequest, reply.Status);
        Assert.Equal("InvalidPageSize", reply.ErrorCode);
    }

    [Fact]
    public async Task Garbage_or_foreign_continuation_tokens_are_400()
    {
        var garbage = await _sim.GetAsync($"v2/tenants/{_sim.TenantA}/devices", "not a token!");
        Assert.Equal(HttpStatusCode.BadRequest, garbage.Status);
        Assert.Equal("InvalidContinuationToken", garbage.ErrorCode);

        var productToken = (await _sim.GetAsync($"v2/tenants/{_sim.TenantA}/products?maxPageSize=1")).Json.GetProperty("ContinuationToken").GetString();
        var foreign = await _sim.GetAsync($"v2/tenants/{_sim.TenantA}/devices", productToken);
        Assert.Equal(HttpStatusCode.BadRequest, foreign.Status);

        var otherTenant = (await _sim.GetAsync($"v2/tenants/{_sim.TenantB}/devices?maxPageSize=1")).Json.GetProperty("ContinuationToken").GetString();
        Assert.Equal(HttpStatusCode.BadRequest, (await _sim.GetAsync($"v2/tenants/{_sim.TenantA}/devices", otherTenant)).Status);
    }

    [Fact]
    public async Task Continuation_token_is_read_from_the_header_not_the_query()
    {
        var token = (await _sim.GetAsync($"v2/tenants/{_sim.TenantA}/devices")).Json.GetProperty("ContinuationToken").GetString();

        var viaQuery = await _sim.GetAsync($"v2/tenants/{_sim.TenantA}/devices?continuationToken={Uri.EscapeDataString(token!)}");
        var first = await _sim.GetAsync($"v2/tenants/{_sim.TenantA}/devices");

        Assert.Equal(first.Body, viaQuery.Body);
    }

    [Fact]
    public async Task Every_paged_list_pages_to_the_end()
    {
        var product = _sim.Fleet.Contoso.Products[0];
        var group = product.GetDeviceGroup("Production");
        var lists = new Dictionary<string, int>
        {
            [$"v2/tenants/{_sim.TenantA}/products"] = _sim.Fleet.Contoso.Products.Count,
            [$"v2/tenants/{_sim.TenantA}/devicegroups"] = _sim.Fleet.Contoso.Products.Sum(p => p.DeviceGroups.Count),
            [$"v2/tenants/{_sim.TenantA}/products/{product.Id}/devicegroups"] = product.DeviceGroups.Count,
            [$"v2/tenants/{_sim.TenantA}/products/{product.Id}/devices"] = product.DeviceCount,
            [$"v2/tenants/{_sim.TenantA}/images"] = _sim.Fleet.Contoso.Images.Count,
            [$"v2/tenants/{_sim.TenantA}/devicegroups/{group.Id}/deployments"] = 1,
        };

        foreach (var (path, expected) in lists)
        {
            var items = await _sim.ListAllAsync(path, 1);
            Assert.True(expected == items.Count, $"{path}: expected {expected}, got {items.Count}");
        }

        var insightsOneByOne = await _sim.ListAllAsync($"v2/tenants/{_sim.TenantA}/getDeviceInsights", 3);
        var insightsAtOnce = await _sim.ListAllAsync($"v2/tenants/{_sim.TenantA}/getDeviceInsights", 100);
        Assert.Equal(insightsAtOnce.Select(i => i.GetRawText()), insightsOneByOne.Select(i => i.GetRawText()));
    }

    [Fact]
    public async Task Paging_is_stable_when_devices_join_between_pages()
    {
        var group = _sim.Fleet.Contoso.Products[1].GetDeviceGroup("Field Test");
        var firstPage = await _sim.GetAsync($"v2/tenants/{_sim.TenantA}/devicegroups/{group.Id}/devices?maxPageSize=2");
        var seen = firstPage.Json.GetProperty("Items").EnumerateArray().Select(d => d.GetProperty("DeviceId").GetString()!).ToList();

        foreach (var device in _sim.Fleet.Contoso.UnassignedDeviceIds.Take(3))
        {
            await _sim.WaitAsync(_sim.TenantA, await _sim.SendJsonAsync(HttpMethod.Put, $"v2/tenants/{_sim.TenantA}/devices/{device}/devicegroup", $"\"{group.Id}\""));
        }

        var token = firstPage.Json.GetProperty("ContinuationToken").GetString();
        while (token is not null)
        {
            var page = await _sim.GetAsync($"v2/tenants/{_sim.TenantA}/devicegroups/{group.Id}/devices?maxPageSize=2", token);
            seen.AddRange(page.Json.GetProperty("Items").EnumerateArray().Select(d => d.GetProperty("DeviceId").GetString()!));
            token = page.Json.GetProperty("ContinuationToken").GetString();
        }

        Assert.Equal(seen.Count, seen.Distinct().Count());
        var now = await _sim.ListAllAsync($"v2/tenants/{_sim.TenantA}/devicegroups/{group.Id}/devices", 100);
        Assert.Equal(group.DeviceCount + 3, now.Count);
        var missed = now.Select(d => d.GetProperty("DeviceId").GetString()!).Except(seen).ToList();
        Assert.All(missed, id => Assert.True(string.CompareOrdinal(id, seen[1]) < 0, "only devices sorting before the resume point may be missed"));
    }
}
