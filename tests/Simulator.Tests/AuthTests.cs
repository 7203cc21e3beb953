using System.Net;
using System.Text.Json;

namespace Fleet.Simulator.Tests;

public sealed class ManagedIdentityEndpointTests : IAsyncLifetime
{
    private TestSim _sim = null!;

    public async Task InitializeAsync() => _sim = await TestSim.StartAsync();

    public async Task DisposeAsync() => await _sim.DisposeAsync();

    private async Task<(HttpStatusCode Status, JsonElement Body)> RequestAsync(string query, string? header)
    {
        using var http = TestSim.NewClient(_sim.Host.BaseAddress);
        using var request = new HttpRequestMessage(HttpMethod.Get, "msi/token?" + query);
        if (header is not null)
        {
            request.Headers.Add("X-IDENTITY-HEADER", header);
        }

        using var response = await http.SendAsync(request);
        return (response.StatusCode, JsonDocument.Parse(await response.Content.ReadAsStringAsync()).RootElement);
    }

    private const string Resource = "resource=https%3A%2F%2Ffirstparty.sphere.azure.net%2Fapi&api-version=2019-08-01";

    [Fact]
    public async Task System_assigned_token_has_the_app_service_response_shape()
    {
        var (status, body) = await RequestAsync(Resource, _sim.Host.IdentityHeader);

        Assert.Equal(HttpStatusCode.OK, status);
        Assert.Equal(["access_token", "expires_on", "resource", "token_type", "client_id"], body.EnumerateObject().Select(p => p.Name));
        Assert.Equal("Bearer", body.GetProperty("token_type").GetString());
        Assert.Equal("https://firstparty.sphere.azure.net/api", body.GetProperty("resource").GetString());
        Assert.Equal(_sim.Fleet.SystemAssignedIdentity.ClientId.ToString(), body.GetProperty("client_id").GetString());
        var expiresOn = long.Parse(body.GetProperty("expires_on").GetString()!, System.Globalization.CultureInfo.InvariantCulture);
        Assert.InRange(expiresOn - DateTimeOffset.UtcNow.ToUnixTimeSeconds(), 3500, 3700);
        Assert.Equal(3, body.GetProperty("access_token").GetString()!.Split('.').Length);
    }

    [Theory]
    [InlineData("client_id")]
    [InlineData("object_id")]
    [InlineData("principal_id")]
    [InlineData("mi_res_id")]
    public async Task User_assigned_identities_are_selected_by_any_of_their_ids(string parameter)
    {
        var identity = _sim.Fleet.GetUserAssignedIdentity("fleet-automation");
        var value = parameter switch
        {
            "client_id" => identity.ClientId.ToString(),
            "mi_res_id" => identity.ResourceId!,
            _ => identity.PrincipalId.ToString(),
        };

        var (status, body) = await RequestAsync($"{Resource}&{parameter}={Uri.EscapeDataString(value)}", _sim.Host.IdentityHeader);

        Assert.Equal(HttpStatusCode.OK, status);
        Assert.Equal(identity.ClientId.ToString(), body.GetProperty("client_id").GetString());
        using var api = _sim.ClientWithToken(body.GetProperty("access_token").GetString());
        Assert.Equal(HttpStatusCode.OK, (await _sim.GetAsync($"v2/tenants/{_sim.TenantB}/devices", client: api)).Status);
    }

    [Fact]
    public async Task Missing_or_wrong_secret_header_is_401_and_bad_requests_are_400()
    {
        var missing = await RequestAsync(Resource, null);
        var wrong = await RequestAsync(Resource, "not-the-secret");
        var unknownClient = await RequestAsync($"{Resource}&client_id={Guid.NewGuid()}", _sim.Host.IdentityHeader);
        var noResource = await RequestAsync("api-version=2019-08-01", _sim.Host.IdentityHeader);
        var oldVersion = await RequestAsync("resource=x&api-version=2017-09-01", _sim.Host.IdentityHeader);

        Assert.Equal(HttpStatusCode.Unauthorized, missing.Status);
        Assert.Equal(HttpStatusCode.Unauthorized, wrong.Status);
        Assert.Equal(HttpStatusCode.BadRequest, unknownClient.Status);
        Assert.Equal(HttpStatusCode.BadRequest, noResource.Status);
        Assert.Equal(HttpStatusCode.BadRequest, oldVersion.Status);
        foreach (var (_, body) in new[] { missing, wrong, unknownClient, noResource, oldVersion })
        {
            Assert.False(string.IsNullOrEmpty(body.GetProperty("message").GetString()));
            Assert.True(body.GetProperty("statusCode").GetInt32() >= 400);
        }

        Assert.Contains("Managed Identity", unknownClient.Body.GetProperty("message").GetString(), StringComparison.Ordinal);
    }

    [Fact]
    public async Task Token_requests_are_counted()
    {
        await _sim.Control.ResetCountersAsync();
        await _sim.TokenAsync();
        await _sim.TokenAsync(_sim.Fleet.GetUserAssignedIdentity("fleet-auditor").ClientId.ToString());
        await RequestAsync(Resource, null);

        var counters = await _sim.Control.GetCountersAsync();

        Assert.Equal(3, counters.TokenRequests);
        Assert.Equal(2, counters.CountFor(SimulatorRoutes.Token, 200));
        Assert.Equal(1, counters.CountFor(SimulatorRoutes.Token, 401));
    }
}

public sealed class ApiAuthTests : IAsyncLifetime
{
    private TestSim _sim = null!;

    public async Task InitializeAsync() => _sim = await TestSim.StartAsync(o => o.SigningKey = "a-shared-signing-key-for-tests", fakeClock: true);

    public async Task DisposeAsync() => await _sim.DisposeAsync();

    private async Task<Reply> CallWithAsync(string? authorization, string path = "v2/tenants")
    {
        using var http = TestSim.NewClient(_sim.Host.BaseAddress);
        using var request = new HttpRequestMessage(HttpMethod.Get, path);
        if (authorization is not null)
        {
            request.Headers.TryAddWithoutValidation("Authorization", authorization);
        }

        return await Reply.From(await http.SendAsync(request));
    }

    [Theory]
    [InlineData(null, "MissingToken")]
    [InlineData("Basic dXNlcjpwYXNz", "MalformedToken")]
    [InlineData("Bearer not-a-jwt", "MalformedToken")]
    [InlineData("Bearer a.b.c", "MalformedToken")]
    public async Task Missing_and_malformed_tokens_are_401(string? authorization, string errorCode)
    {
        var reply = await CallWithAsync(authorization);

        Assert.Equal(HttpStatusCode.Unauthorized, reply.Status);
        Assert.Equal(errorCode, reply.ErrorCode);
        Assert.StartsWith("Bearer error=\"invalid_token\"", reply.Headers.WwwAuthenticate.ToString(), StringComparison.Ordinal);
    }

    [Fact]
    public async Task A_token_signed_with_another_key_is_401_and_the_body_never_echoes_it()
    {
        await using var stranger = await TestSim.StartAsync(o => o.SigningKey = "some-other-signing-key-123");
        var foreign = await stranger.TokenAsync();

        var reply = await CallWithAsync("Bearer " + foreign);

        Assert.Equal("InvalidTokenSignature", reply.ErrorCode);
        Assert.DoesNotContain(foreign.Split('.')[2], reply.Body, StringComparison.Ordinal);
    }

    [Fact]
    public async Task Simulators_sharing_a_signing_key_accept_each_others_tokens()
    {
        await using var twin = await TestSim.StartAsync(o => o.SigningKey = "a-shared-signing-key-for-tests");
        var token = await twin.TokenAsync();

        var reply = await CallWithAsync("Bearer " + token);

        Assert.Equal(HttpStatusCode.OK, reply.Status);
    }

    [Fact]
    public async Task An_expired_token_is_401_token_expired()
    {
        var token = await _sim.TokenAsync();
        Assert.Equal(HttpStatusCode.OK, (await CallWithAsync("Bearer " + token)).Status);

        _sim.Clock!.Advance(TimeSpan.FromMinutes(61));

        var reply = await CallWithAsync("Bearer " + token);
        Assert.Equal("TokenExpired", reply.ErrorCode);
        Assert.Equal(HttpStatusCode.OK, (await CallWithAsync("Bearer " + await _sim.TokenAsync())).Status);
    }

    [Fact]
    public async Task Token_lifetime_is_configurable_at_run_time()
    {
        await _sim.Control.UpdateSettingsAsync(new SimulatorSettingsUpdate { TokenLifetime = TimeSpan.FromMinutes(5) });
        var token = await _sim.TokenAsync();

        _sim.Clock!.Advance(TimeSpan.FromMinutes(5));

        Assert.Equal("TokenExpired", (await CallWithAsync("Bearer " + token)).ErrorCode);
    }

    [Fact]
    public async Task Wrong_audience_is_401_and_the_trailing_slash_form_is_accepted()
    {
        var management = await _sim.TokenAsync(resource: "https://management.azure.com/");
        var slash = await _sim.TokenAsync(resource: "https://firstparty.sphere.azure.net/api/");

        Assert.Equal("InvalidAudience", (await CallWithAsync("Bearer " + management)).ErrorCode);
        Assert.Equal(HttpStatusCode.OK, (await CallWithAsync("Bearer " + slash)).Status);
    }

    [Fact]
    public async Task Minted_tokens_cover_expired_and_foreign_audience_cases()
    {
        var expired = await _sim.Control.IssueTokenAsync(new TokenRequest(LifetimeSeconds: -60));
        var other = await _sim.Control.IssueTokenAsync(new TokenRequest(Audience: "api://something-else"));

        Assert.Equal("TokenExpired", (await CallWithAsync("Bearer " + expired.AccessToken)).ErrorCode);
        Assert.Equal("InvalidAudience", (await CallWithAsync("Bearer " + other.AccessToken)).ErrorCode);
    }

    [Fact]
    public async Task A_tenant_the_identity_is_not_a_user_of_is_403_for_every_call()
    {
        var northwind = _sim.Fleet.Northwind.Id;

        var get = await _sim.GetAsync($"v2/tenants/{northwind}/devices");
        var post = await _sim.SendJsonAsync(HttpMethod.Post, $"v2/tenants/{northwind}/products", """{ "Name": "Nope" }""");
        var tenant = await _sim.GetAsync($"v2/tenants/{northwind}");

        Assert.Equal((HttpStatusCode.Forbidden, "PrincipalNotTenantUser"), (get.Status, get.ErrorCode));
        Assert.Equal(HttpStatusCode.Forbidden, post.Status);
        Assert.Equal(HttpStatusCode.Forbidden, tenant.Status);
        Assert.DoesNotContain(northwind.ToString(), (await _sim.GetAsync("v2/tenants")).Body, StringComparison.Ordinal);
    }

    [Fact]
    public async Task A_reader_may_read_but_not_write()
    {
        var auditor = _sim.Fleet.GetUserAssignedIdentity("fleet-auditor");
        using var reader = _sim.ClientWithToken(await _sim.TokenAsync(auditor.ClientId.ToString()));

        var tenants = await _sim.GetAsync("v2/tenants", client: reader);
        var read = await _sim.GetAsync($"v2/tenants/{_sim.TenantA}/devices", client: reader);
        var write = await _sim.SendJsonAsync(HttpMethod.Post, $"v2/tenants/{_sim.TenantA}/products", """{ "Name": "Readers Cannot" }""", reader);
        var claim = await _sim.SendJsonAsync(HttpMethod.Put, $"v2/tenants/{_sim.TenantA}/devices/{_sim.Fleet.UnclaimedDeviceIds[0]}/claim", null, reader);
        var otherTenant = await _sim.GetAsync($"v2/tenants/{_sim.TenantB}/devices", client: reader);

        var only = Assert.Single(tenants.Json.EnumerateArray());
        Assert.Equal("Reader", only.GetProperty("Roles")[0].GetString());
        Assert.Equal(HttpStatusCode.OK, read.Status);
        Assert.Equal((HttpStatusCode.Forbidden, "InsufficientRole"), (write.Status, write.ErrorCode));
        Assert.Equal("InsufficientRole", claim.ErrorCode);
        Assert.Equal("PrincipalNotTenantUser", otherTenant.ErrorCode);
    }

    [Fact]
    public async Task Tenant_users_and_roles_change_at_run_time()
    {
        var principal = _sim.Fleet.SystemAssignedIdentity.PrincipalId;
        var path = $"v2/tenants/{_sim.TenantB}/products";

        await _sim.Control.SetTenantUserAsync(_sim.TenantB, principal, TenantRole.Reader);
        Assert.Equal("InsufficientRole", (await _sim.SendJsonAsync(HttpMethod.Post, path, """{ "Name": "Roles" }""")).ErrorCode);

        await _sim.Control.RemoveTenantUserAsync(_sim.TenantB, principal);
        Assert.Equal("PrincipalNotTenantUser", (await _sim.GetAsync(path)).ErrorCode);

        await _sim.Control.SetTenantUserAsync(_sim.Fleet.Northwind.Id, principal, TenantRole.Administrator);
        Assert.Equal(HttpStatusCode.OK, (await _sim.GetAsync($"v2/tenants/{_sim.Fleet.Northwind.Id}/devices")).Status);
        Assert.Contains(
            (await _sim.Control.GetFleetAsync()).Northwind.Users,
            u => u.PrincipalId == principal && u.Role == TenantRole.Administrator && u.DisplayName == "system-assigned");
    }
}
