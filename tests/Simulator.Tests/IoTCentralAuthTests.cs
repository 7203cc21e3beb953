using System.Net;

namespace Fleet.Simulator.Tests;

public sealed class IoTCentralAuthTests
{
    [Fact]
    public async Task Bearer_tokens_must_be_for_iot_central_unexpired_and_of_an_app_user()
    {
        await using var iotc = await IoTCentralTestSim.StartAsync();
        var sim = iotc.Sim;
        var auditor = sim.Fleet.GetUserAssignedIdentity("fleet-auditor");
        var automation = sim.Fleet.GetUserAssignedIdentity("fleet-automation");

        using var none = TestSim.NewClient(sim.Host.IoTCentralEndpoint("contoso"));
        using var sphere = iotc.ClientWith("Bearer " + await sim.TokenAsync());
        var expired = await sim.Control.IssueTokenAsync(new TokenRequest(Audience: IoTCentralTestSim.IoTCentralResource, LifetimeSeconds: -60));
        using var stale = iotc.ClientWith("Bearer " + expired.AccessToken);
        using var notUser = iotc.ClientWith("Bearer " + await sim.TokenAsync(auditor.ClientId.ToString(), IoTCentralTestSim.IoTCentralResource));
        using var operatorClient = iotc.ClientWith("Bearer " + await sim.TokenAsync(automation.ClientId.ToString(), IoTCentralTestSim.IoTCentralResource));

        var missing = await iotc.GetAsync("devices", none);
        Assert.Equal(HttpStatusCode.Unauthorized, missing.Status);
        Assert.Equal("Unauthenticated", missing.IoTCentralErrorCode());
        Assert.Equal("Unauthenticated", (await iotc.GetAsync("devices", sphere)).IoTCentralErrorCode());
        Assert.Equal(HttpStatusCode.Unauthorized, (await iotc.GetAsync("devices", stale)).Status);

        var forbidden = await iotc.GetAsync("users/" + auditor.PrincipalId, notUser);
        Assert.Equal(HttpStatusCode.Forbidden, forbidden.Status);
        Assert.Equal("Forbidden", forbidden.IoTCentralErrorCode());
        Assert.Contains("not a user", forbidden.Json.GetProperty("error").GetProperty("message").GetString(), StringComparison.Ordinal);
        await sim.Control.SetIoTCentralUserAsync("contoso", auditor.PrincipalId, new IoTCentralUserRequest(IoTCentralRoleIds.Builder));
        Assert.Equal(HttpStatusCode.OK, (await iotc.GetAsync("devices", notUser)).Status);
        Assert.Equal(HttpStatusCode.Forbidden, (await iotc.SendAsync(HttpMethod.Delete, "devices/th-00001", client: notUser)).Status);

        // The Operator may manage devices but not users or API tokens.
        Assert.Equal(HttpStatusCode.OK, (await iotc.SendAsync(HttpMethod.Put, "devices/op-1", """{ "template": "dtmi:contoso:gateway;1" }""", operatorClient)).Status);
        Assert.Equal(HttpStatusCode.Forbidden, (await iotc.GetAsync("apiTokens", operatorClient)).Status);
    }

    [Fact]
    public async Task Api_tokens_are_sent_without_a_scheme_and_fail_when_expired_deleted_tampered_or_foreign()
    {
        await using var iotc = await IoTCentralTestSim.StartAsync(fakeClock: true);
        var control = iotc.Control;
        var token = await control.IssueIoTCentralApiTokenAsync("contoso", new IoTCentralApiTokenRequest("ops", Expiry: iotc.Clock!.GetUtcNow().AddDays(2)));
        var foreign = await control.IssueIoTCentralApiTokenAsync("fabrikam", new IoTCentralApiTokenRequest("ops"));

        Assert.StartsWith("SharedAccessSignature sr=", token.Token, StringComparison.Ordinal);
        Assert.Contains("&skn=ops&se=" + token.Expiry.ToUnixTimeMilliseconds(), token.Token, StringComparison.Ordinal);
        using var good = iotc.ClientWith(token.Token);
        using var prefixed = iotc.ClientWith("Bearer " + token.Token);
        using var other = iotc.ClientWith(foreign.Token);
        using var tampered = iotc.ClientWith(token.Token.Replace("skn=ops", "skn=admin", StringComparison.Ordinal));

        Assert.Equal(HttpStatusCode.OK, (await iotc.GetAsync("devices", good)).Status);
        Assert.Equal(HttpStatusCode.Unauthorized, (await iotc.GetAsync("devices", prefixed)).Status);
        Assert.Equal(HttpStatusCode.Unauthorized, (await iotc.GetAsync("devices", other)).Status);
        Assert.Equal(HttpStatusCode.Unauthorized, (await iotc.GetAsync("devices", tampered)).Status);

        iotc.Clock.Advance(TimeSpan.FromDays(2));
        var expired = await iotc.GetAsync("devices", good);
        Assert.Equal(HttpStatusCode.Unauthorized, expired.Status);
        Assert.Contains("expired", expired.Json.GetProperty("error").GetProperty("message").GetString(), StringComparison.Ordinal);
    }

    [Fact]
    public async Task Creating_an_api_token_shows_its_value_once_and_deleting_it_revokes_it()
    {
        await using var iotc = await IoTCentralTestSim.StartAsync();

        var created = await iotc.SendAsync(HttpMethod.Put, "apiTokens/rollout",
            $$"""{ "roles": [ { "role": "{{IoTCentralRoleIds.Operator}}", "organization": "contoso-east" } ] }""");
        var value = created.Json.GetProperty("token").GetString()!;
        var read = await iotc.GetAsync("apiTokens/rollout");
        var list = await iotc.GetAsync("apiTokens");
        using var scoped = iotc.ClientWith(value);
        var visible = await iotc.GetAsync("devices?$top=100", scoped);
        var outside = await iotc.GetAsync("devices/" + visible.Json.GetProperty("value")[0].GetProperty("id").GetString(), scoped);

        Assert.Equal(HttpStatusCode.OK, created.Status);
        Assert.Equal(["id", "token", "expiry", "roles"], created.Json.EnumerateObject().Select(p => p.Name));
        Assert.InRange(DateTimeOffset.Parse(created.Json.GetProperty("expiry").GetString()!) - DateTimeOffset.UtcNow,
            TimeSpan.FromDays(364), TimeSpan.FromDays(366));
        Assert.False(read.Json.TryGetProperty("token", out _));
        Assert.All(list.Json.GetProperty("value").EnumerateArray(), t => Assert.False(t.TryGetProperty("token", out _)));
        Assert.Equal(HttpStatusCode.OK, outside.Status);
        Assert.All(visible.Json.GetProperty("value").EnumerateArray(),
            d => Assert.Equal("contoso-east", d.GetProperty("organizations")[0].GetString()));
        Assert.Equal(HttpStatusCode.NotFound, (await iotc.GetAsync("devices/" + WestDevice(await iotc.GetAsync("devices?$top=100")), scoped)).Status);

        Assert.Equal(HttpStatusCode.NoContent, (await iotc.SendAsync(HttpMethod.Delete, "apiTokens/rollout")).Status);
        Assert.Equal(HttpStatusCode.Unauthorized, (await iotc.GetAsync("devices", scoped)).Status);
    }

    private static string WestDevice(Reply all) =>
        all.Json.GetProperty("value").EnumerateArray()
            .First(d => d.GetProperty("organizations")[0].GetString() == "contoso-west").GetProperty("id").GetString()!;
}
