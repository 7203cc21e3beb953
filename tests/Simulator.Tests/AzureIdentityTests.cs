using System.Net;
using Azure.Core;
using Azure.Identity;

namespace Fleet.Simulator.Tests;

/// <summary>
/// One simulator serves the managed-identity protocol for this whole test process: MSAL detects the
/// managed-identity source once per process from IDENTITY_ENDPOINT / IDENTITY_HEADER.
/// </summary>
public sealed class IdentityEndpointFixture : IAsyncLifetime
{
    internal TestSim Sim { get; private set; } = null!;

    public async Task InitializeAsync()
    {
        Sim = await TestSim.StartAsync();
        Environment.SetEnvironmentVariable("IDENTITY_ENDPOINT", Sim.Host.IdentityEndpoint.ToString());
        Environment.SetEnvironmentVariable("IDENTITY_HEADER", Sim.Host.IdentityHeader);
    }

    public async Task DisposeAsync() => await Sim.DisposeAsync();
}

public sealed class AzureIdentityTests(IdentityEndpointFixture fixture) : IClassFixture<IdentityEndpointFixture>
{
    private static readonly TokenRequestContext SphereScope = new(["https://firstparty.sphere.azure.net/api/.default"]);

    [Fact]
    public async Task The_real_managed_identity_credential_gets_working_tokens_for_both_identities()
    {
        using var cts = new CancellationTokenSource(TimeSpan.FromSeconds(30));
        var sim = fixture.Sim;
        var automation = sim.Fleet.GetUserAssignedIdentity("fleet-automation");

        var systemToken = await new ManagedIdentityCredential(ManagedIdentityId.SystemAssigned).GetTokenAsync(SphereScope, cts.Token);
        var userToken = await new ManagedIdentityCredential(ManagedIdentityId.FromUserAssignedClientId(automation.ClientId.ToString()))
            .GetTokenAsync(SphereScope, cts.Token);

        Assert.NotEqual(systemToken.Token, userToken.Token);
        Assert.InRange(systemToken.ExpiresOn - DateTimeOffset.UtcNow, TimeSpan.FromMinutes(55), TimeSpan.FromMinutes(61));
        foreach (var token in new[] { systemToken.Token, userToken.Token })
        {
            using var api = sim.ClientWithToken(token);
            Assert.Equal(HttpStatusCode.OK, (await sim.GetAsync($"v2/tenants/{sim.TenantA}/devices", client: api)).Status);
        }

        var counters = await sim.Control.GetCountersAsync(cts.Token);
        Assert.True(counters.CountFor(SimulatorRoutes.Token, 200) >= 2);
    }

    [Fact]
    public async Task An_unknown_user_assigned_client_id_fails_authentication()
    {
        using var cts = new CancellationTokenSource(TimeSpan.FromSeconds(30));
        var credential = new ManagedIdentityCredential(ManagedIdentityId.FromUserAssignedClientId(Guid.NewGuid().ToString()));

        await Assert.ThrowsAnyAsync<AuthenticationFailedException>(async () => await credential.GetTokenAsync(SphereScope, cts.Token));
    }
}
