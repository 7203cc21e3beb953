using System.Net;
using System.Text.Json;

namespace Fleet.Simulator.Tests.IoTConnect;

/// <summary>The IoTConnect login flow as a client meets it: basic token, login, bearer calls, refresh, expiry.</summary>
public sealed class IoTConnectAuthTests
{
    [Fact]
    public async Task Basic_token_login_and_a_bearer_call_follow_the_documented_shapes()
    {
        await using var sim = await IoTConnectSim.StartAsync();

        var basic = await sim.Http.GetAsync(new Uri(sim.Urls.Auth, "Auth/basic-token"));
        var basicReply = await Reply.From(basic);
        Assert.Equal(HttpStatusCode.OK, basicReply.Status);
        Assert.Equal(JsonValueKind.String, basicReply.Json.GetProperty("data").ValueKind);
        Assert.Equal(200, basicReply.Json.GetProperty("status").GetInt32());
        Assert.True(basicReply.Json.TryGetProperty("message", out _));
        Assert.True(basicReply.Json.TryGetProperty("count", out _));

        var login = await sim.LoginAsync();
        Assert.Equal("Bearer", login.GetProperty("token_type").GetString());
        Assert.Equal(JsonValueKind.Number, login.GetProperty("expires_in").ValueKind);
        Assert.Equal(24 * 3600, login.GetProperty("expires_in").GetInt64());
        Assert.False(string.IsNullOrEmpty(login.GetProperty("refresh_token").GetString()));
        Assert.Equal(200, login.GetProperty("status").GetInt32());
        Assert.False(login.TryGetProperty("data", out _), "The login answer is not wrapped in an envelope.");

        var devices = await sim.GetAsync(sim.Urls.Device, "Device?pageSize=1", login.GetProperty("access_token").GetString());
        Assert.Equal(HttpStatusCode.OK, devices.Status);
    }

    [Fact]
    public async Task Logins_are_refused_with_the_reason_as_the_error_param()
    {
        await using var sim = await IoTConnectSim.StartAsync();
        var basic = await sim.BasicTokenAsync();
        var contoso = sim.Contoso;

        Assert.Equal("InvalidBasicToken", IoTConnectSim.ErrorParam(await sim.LoginAsync(null, contoso.SolutionKey, contoso.Username, contoso.Password)));
        Assert.Equal("InvalidBasicToken", IoTConnectSim.ErrorParam(await sim.LoginAsync("bm90LWl0", contoso.SolutionKey, contoso.Username, contoso.Password)));
        Assert.Equal("InvalidSolutionKey", IoTConnectSim.ErrorParam(await sim.LoginAsync(basic, null, contoso.Username, contoso.Password)));
        Assert.Equal("InvalidSolutionKey", IoTConnectSim.ErrorParam(await sim.LoginAsync(basic, sim.Description.Fabrikam.SolutionKey + "x", contoso.Username, contoso.Password)));
        var wrongPassword = await sim.LoginAsync(basic, contoso.SolutionKey, contoso.Username, "not-the-password");
        Assert.Equal(HttpStatusCode.Unauthorized, wrongPassword.Status);
        Assert.Equal("InvalidCredentials", IoTConnectSim.ErrorParam(wrongPassword));
        Assert.DoesNotContain("not-the-password", wrongPassword.Body, StringComparison.Ordinal);

        // Another solution's user does not log in to this one.
        var fabrikam = sim.Description.Fabrikam;
        Assert.Equal("InvalidCredentials", IoTConnectSim.ErrorParam(await sim.LoginAsync(basic, contoso.SolutionKey, fabrikam.Username, fabrikam.Password)));
    }

    [Fact]
    public async Task Calls_without_a_valid_token_are_401_with_the_reason()
    {
        await using var sim = await IoTConnectSim.StartAsync(o => o.IoTConnect.AccessTokenLifetime = TimeSpan.FromMinutes(10), fakeClock: true);
        var token = await sim.AccessTokenAsync();

        var missing = await sim.GetAsync(sim.Urls.Device, "Device", null);
        Assert.Equal(HttpStatusCode.Unauthorized, missing.Status);
        Assert.Equal("MissingToken", IoTConnectSim.ErrorParam(missing));
        Assert.Contains("invalid_token", missing.Headers.WwwAuthenticate.ToString(), StringComparison.Ordinal);
        Assert.Equal("InvalidToken", IoTConnectSim.ErrorParam(await sim.GetAsync(sim.Urls.User, "Entity", "ica_0000")));

        Assert.Equal(HttpStatusCode.OK, (await sim.GetAsync(sim.Urls.Firmware, "Firmware", token)).Status);
        sim.Clock!.Advance(TimeSpan.FromMinutes(10));
        var expired = await sim.GetAsync(sim.Urls.Firmware, "Firmware", token);
        Assert.Equal(HttpStatusCode.Unauthorized, expired.Status);
        Assert.Equal("TokenExpired", IoTConnectSim.ErrorParam(expired));
    }

    [Fact]
    public async Task A_refresh_rotates_the_refresh_token_and_a_revoked_one_is_refused()
    {
        await using var sim = await IoTConnectSim.StartAsync();
        var login = await sim.LoginAsync();
        var first = login.GetProperty("refresh_token").GetString()!;

        var refreshed = await sim.RefreshAsync(first);
        Assert.Equal(HttpStatusCode.OK, refreshed.Status);
        var second = refreshed.Json.GetProperty("refresh_token").GetString()!;
        Assert.NotEqual(first, second);
        Assert.Equal(HttpStatusCode.OK, (await sim.GetAsync(sim.Urls.Device, "Device?pageSize=1", refreshed.Json.GetProperty("access_token").GetString())).Status);

        var reused = await sim.RefreshAsync(first);
        Assert.Equal(HttpStatusCode.Unauthorized, reused.Status);
        Assert.Equal("InvalidRefreshToken", IoTConnectSim.ErrorParam(reused));

        Assert.Equal(1, (await sim.Host.Control.RevokeIoTConnectRefreshTokensAsync("Contoso")).Affected);
        Assert.Equal("InvalidRefreshToken", IoTConnectSim.ErrorParam(await sim.RefreshAsync(second)));
    }

    [Fact]
    public async Task Expiring_access_tokens_through_the_control_api_makes_the_next_call_401()
    {
        await using var sim = await IoTConnectSim.StartAsync();
        var contoso = await sim.AccessTokenAsync();
        var fabrikam = await sim.AccessTokenAsync(sim.Description.Fabrikam);

        Assert.Equal(1, (await sim.Host.Control.ExpireIoTConnectAccessTokensAsync("A")).Affected);

        Assert.Equal("TokenExpired", IoTConnectSim.ErrorParam(await sim.GetAsync(sim.Urls.Device, "Device", contoso)));
        Assert.Equal(HttpStatusCode.OK, (await sim.GetAsync(sim.Urls.Device, "Device", fabrikam)).Status);
        var unknown = await Assert.ThrowsAsync<SimulatorControlException>(() => sim.Host.Control.ExpireIoTConnectAccessTokensAsync("Northwind"));
        Assert.Equal(HttpStatusCode.NotFound, unknown.Status);
    }

    [Fact]
    public async Task Discovery_gives_the_service_base_urls_of_a_known_solution()
    {
        await using var sim = await IoTConnectSim.StartAsync();

        var found = await sim.GetAsync(sim.Urls.Discovery, $"api/uisdk/solutionkey/{sim.Contoso.SolutionKey}/env/prod?version=2&pf=az", null);
        Assert.Equal(HttpStatusCode.OK, found.Status);
        var data = found.Json.GetProperty("data");
        Assert.Equal(sim.Urls.Auth.AbsoluteUri, data.GetProperty("authBaseUrl").GetString());
        Assert.Equal(sim.Urls.Device.AbsoluteUri, data.GetProperty("deviceBaseUrl").GetString());
        Assert.Equal(sim.Urls.User.AbsoluteUri, data.GetProperty("userBaseUrl").GetString());
        Assert.Equal(sim.Urls.Firmware.AbsoluteUri, data.GetProperty("firmwareBaseUrl").GetString());

        Assert.Equal("SolutionNotFound", IoTConnectSim.ErrorParam(await sim.GetAsync(sim.Urls.Discovery, "api/uisdk/solutionkey/nope/env/prod", null)));
        Assert.Equal("EnvironmentNotFound", IoTConnectSim.ErrorParam(await sim.GetAsync(sim.Urls.Discovery, $"api/uisdk/solutionkey/{sim.Contoso.SolutionKey}/env/qa", null)));
        Assert.Equal("VersionNotFound", IoTConnectSim.ErrorParam(await sim.GetAsync(sim.Urls.Discovery, $"api/uisdk/solutionkey/{sim.Contoso.SolutionKey}/env/prod?version=2.1", null)));
    }

    [Fact]
    public async Task Reset_ends_sessions_and_restores_the_seeded_solutions()
    {
        await using var sim = await IoTConnectSim.StartAsync();
        var token = await sim.AccessTokenAsync();

        await sim.Host.Control.ResetAsync();

        Assert.Equal("InvalidToken", IoTConnectSim.ErrorParam(await sim.GetAsync(sim.Urls.Device, "Device", token)));
        var after = await sim.Host.Control.GetIoTConnectAsync();
        Assert.Equal(sim.Contoso.SolutionKey, after.Contoso.SolutionKey);
        Assert.Equal(sim.Contoso.Password, after.Contoso.Password);
        Assert.Equal(sim.Contoso.RootEntityGuid, after.Contoso.RootEntityGuid);
    }
}
