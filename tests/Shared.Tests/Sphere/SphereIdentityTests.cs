using Azure.Core;
using Azure.Identity;
using Fleet.Shared.Resilience;
using Fleet.Shared.Sphere;
using Fleet.Simulator;
using Microsoft.Extensions.Configuration;
using Microsoft.Extensions.DependencyInjection;
using Microsoft.Extensions.Options;

namespace Fleet.Shared.Tests.Sphere;

[Collection(SimulatorCollection.Name)]
public sealed class SphereIdentityTests(SimulatorFixture fixture)
{
    /// <summary>Counts what the client asks of the real credential underneath.</summary>
    private sealed class CountingCredential(TokenCredential inner) : TokenCredential
    {
        private int _calls;

        public int Calls => Volatile.Read(ref _calls);

        public override AccessToken GetToken(TokenRequestContext requestContext, CancellationToken cancellationToken)
        {
            Interlocked.Increment(ref _calls);
            return inner.GetToken(requestContext, cancellationToken);
        }

        public override ValueTask<AccessToken> GetTokenAsync(TokenRequestContext requestContext, CancellationToken cancellationToken)
        {
            Interlocked.Increment(ref _calls);
            return inner.GetTokenAsync(requestContext, cancellationToken);
        }
    }

    private static IConfiguration Settings(params (string Key, string? Value)[] values) =>
        new ConfigurationBuilder()
            .AddInMemoryCollection(values.Select(v => new KeyValuePair<string, string?>(v.Key, v.Value)))
            .Build();

    [Fact]
    public async Task Many_calls_fetch_the_token_once()
    {
        var ct = SimulatorFixture.Timeout();
        await using var sim = await SimulatorFixture.StartSimulatorAsync();
        var fleet = await sim.Control.GetFleetAsync(ct);

        // The auditor identity is used by no other test, so MSAL has nothing cached for it.
        var auditor = fleet.GetUserAssignedIdentity("fleet-auditor");
        var credential = new CountingCredential(
            new ManagedIdentityCredential(ManagedIdentityId.FromUserAssignedClientId(auditor.ClientId.ToString())));
        var client = SimulatorFixture.CreateClient(sim, credential: credential);
        await fixture.Identity.Control.ResetCountersAsync(ct);
        var tenantId = fleet.Contoso.Id.ToString();

        await Task.WhenAll(Enumerable.Range(0, 20).Select(_ => client.GetTenantAsync(tenantId, ct)));
        for (var i = 0; i < 30; i++)
        {
            await client.GetTenantAsync(tenantId, ct);
        }

        Assert.Equal(1, credential.Calls);
        Assert.Equal(1, (await fixture.Identity.Control.GetCountersAsync(ct)).TokenRequests);
        Assert.Equal(50, (await sim.Control.GetCountersAsync(ct)).CountFor("v2/tenants/{tenantId}", 200));
    }

    [Fact]
    public async Task A_user_assigned_identity_is_chosen_by_client_id()
    {
        var ct = SimulatorFixture.Timeout();
        await using var sim = await SimulatorFixture.StartSimulatorAsync();
        var fleet = await sim.Control.GetFleetAsync(ct);
        var automation = fleet.GetUserAssignedIdentity("fleet-automation");
        var tenantId = fleet.Contoso.Id.ToString();

        // Only the user-assigned identity stays a user of tenant A.
        await sim.Control.RemoveTenantUserAsync(fleet.Contoso.Id, fleet.SystemAssignedIdentity.PrincipalId, ct);
        var settings = Settings(("Sphere:credential", "managedidentity"), ("Sphere:clientId", automation.ClientId.ToString()));
        var userAssigned = SimulatorFixture.CreateClient(sim, credential: Fleet.Shared.Identity.ConnectionCredentials.Create(settings, "Sphere"));
        var systemAssigned = SimulatorFixture.CreateClient(sim);

        Assert.Equal("Contoso Fleet", (await userAssigned.GetTenantAsync(tenantId, ct)).Name);
        var denied = await Assert.ThrowsAsync<SphereApiException>(() => systemAssigned.GetTenantAsync(tenantId, ct));
        Assert.True(denied.IsForbidden);
        Assert.Equal("PrincipalNotTenantUser", denied.ErrorCode);
    }

    [Fact]
    public async Task Dependency_injection_shares_one_client_and_one_limiter_registry()
    {
        var ct = SimulatorFixture.Timeout();
        await using var sim = await SimulatorFixture.StartSimulatorAsync();
        var fleet = await sim.Control.GetFleetAsync(ct);
        var automation = fleet.GetUserAssignedIdentity("fleet-automation");
        var configuration = Settings(
            ("Sphere:endpoint", sim.BaseAddress.AbsoluteUri),
            ("Sphere:credential", "managedidentity"),
            ("Sphere:clientId", automation.ClientId.ToString()),
            ("Sphere:retry:maxRetries", "2"),
            ("Sphere:rateLimiter:initialRate", "200"),
            ("SphereLab:endpoint", sim.BaseAddress.AbsoluteUri),
            ("SphereLab:credential", "managedidentity"));
        var services = new ServiceCollection()
            .AddSphereClient(configuration)
            .AddSphereClient(configuration, "SphereLab");
        await using var provider = services.BuildServiceProvider(new ServiceProviderOptions { ValidateOnBuild = true });

        provider.GetRequiredService<IStartupValidator>().Validate();
        var client = provider.GetRequiredService<SphereClient>();
        var lab = provider.GetRequiredKeyedService<SphereClient>("SphereLab");
        var options = provider.GetRequiredService<IOptionsMonitor<SphereClientOptions>>().Get("Sphere");

        Assert.Same(client, provider.GetRequiredService<SphereClient>());
        Assert.Same(client, provider.GetRequiredKeyedService<SphereClient>("Sphere"));
        Assert.NotSame(client, lab);
        Assert.Equal(2, options.Retry.MaxRetries);
        Assert.Equal(200, options.RateLimiter.InitialRate);
        Assert.Equal(sim.BaseAddress, client.Endpoint);

        var tenantId = fleet.Contoso.Id.ToString();
        Assert.Equal("Contoso Fleet", (await client.GetTenantAsync(tenantId, ct)).Name);
        Assert.Equal("Contoso Fleet", (await lab.GetTenantAsync(tenantId, ct)).Name);

        // Both connections point at the same tenant of the same endpoint, so they share its limiter.
        var registry = provider.GetRequiredService<RateLimiterRegistry>();
        Assert.Single(registry.Keys, k => k.EndsWith(tenantId, StringComparison.Ordinal));
    }
}
